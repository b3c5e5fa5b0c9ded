from enum import Enum


class ModifyOrderType(str, Enum):
    INVALID = "INVALID"
    MARKET = "MARKET"

    def __str__(self) -> str:
        return str(self.value)
