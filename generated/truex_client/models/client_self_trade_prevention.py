from enum import Enum


class ClientSelfTradePrevention(str, Enum):
    CANCEL_AGGRESSIVE = "CANCEL_AGGRESSIVE"
    CANCEL_BOTH = "CANCEL_BOTH"
    INVALID = "INVALID"
    NONE = "NONE"

    def __str__(self) -> str:
        return str(self.value)
