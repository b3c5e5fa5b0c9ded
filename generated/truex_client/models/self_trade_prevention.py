from __future__ import annotations

from ..open_enums import OpenStrEnum


class SelfTradePrevention(OpenStrEnum):
    CANCEL_AGGRESSIVE = "CANCEL_AGGRESSIVE"
    CANCEL_BOTH = "CANCEL_BOTH"
    NONE = "NONE"

    def __str__(self) -> str:
        return str(self.value)
