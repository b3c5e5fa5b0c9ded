from __future__ import annotations

from ..open_enums import OpenStrEnum


class QtyUnit(OpenStrEnum):
    BASE = "BASE"
    QUOTE = "QUOTE"

    def __str__(self) -> str:
        return str(self.value)
