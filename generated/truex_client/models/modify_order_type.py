from __future__ import annotations

from ..open_enums import OpenStrEnum


class ModifyOrderType(OpenStrEnum):
    INVALID = "INVALID"
    MARKET = "MARKET"

    def __str__(self) -> str:
        return str(self.value)
