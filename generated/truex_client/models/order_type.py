from __future__ import annotations

from ..open_enums import OpenStrEnum


class OrderType(OpenStrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"

    def __str__(self) -> str:
        return str(self.value)
