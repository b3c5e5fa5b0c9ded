from __future__ import annotations

from ..open_enums import OpenStrEnum


class OrderFlag(OpenStrEnum):
    USE_AGGRESSIVE_PRICING = "USE_AGGRESSIVE_PRICING"

    def __str__(self) -> str:
        return str(self.value)
