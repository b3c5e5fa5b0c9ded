from enum import Enum


class SelfTradePrevention(str, Enum):
    CANCEL_AGGRESSIVE = "CANCEL_AGGRESSIVE"
    CANCEL_BOTH = "CANCEL_BOTH"
    NONE = "NONE"

    def __str__(self) -> str:
        return str(self.value)
