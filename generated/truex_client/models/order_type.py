from enum import Enum


class OrderType(str, Enum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"

    def __str__(self) -> str:
        return str(self.value)
