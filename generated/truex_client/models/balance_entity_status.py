from __future__ import annotations

from ..open_enums import OpenStrEnum


class BalanceEntityStatus(OpenStrEnum):
    INVALID = "INVALID"

    def __str__(self) -> str:
        return str(self.value)
