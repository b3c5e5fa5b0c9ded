from __future__ import annotations

from ..open_enums import OpenStrEnum


class Side(OpenStrEnum):
    BUY = "BUY"
    SELL = "SELL"

    def __str__(self) -> str:
        return str(self.value)
