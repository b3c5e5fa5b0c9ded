from __future__ import annotations

from ..open_enums import OpenStrEnum


class TimeInForce(OpenStrEnum):
    GTC = "GTC"
    IOC = "IOC"

    def __str__(self) -> str:
        return str(self.value)
