from enum import Enum


class LiquidityFlag(str, Enum):
    MAKER = "MAKER"
    TAKER = "TAKER"

    def __str__(self) -> str:
        return str(self.value)
