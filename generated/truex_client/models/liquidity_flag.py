from __future__ import annotations

from ..open_enums import OpenStrEnum


class LiquidityFlag(OpenStrEnum):
    MAKER = "MAKER"
    TAKER = "TAKER"

    def __str__(self) -> str:
        return str(self.value)
