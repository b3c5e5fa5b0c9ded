from __future__ import annotations

from ..open_enums import OpenStrEnum


class IdType(OpenStrEnum):
    CLIENT = "client"
    EXCHANGE = "exchange"

    def __str__(self) -> str:
        return str(self.value)
