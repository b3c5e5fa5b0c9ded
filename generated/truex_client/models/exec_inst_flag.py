from __future__ import annotations

from ..open_enums import OpenStrEnum


class ExecInstFlag(OpenStrEnum):
    ALO = "ALO"

    def __str__(self) -> str:
        return str(self.value)
