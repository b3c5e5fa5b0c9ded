from enum import Enum


class OrderFlag(str, Enum):
    USE_AGGRESSIVE_PRICING = "USE_AGGRESSIVE_PRICING"

    def __str__(self) -> str:
        return str(self.value)
