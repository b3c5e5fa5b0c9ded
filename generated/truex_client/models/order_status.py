from __future__ import annotations

from ..open_enums import OpenStrEnum


class OrderStatus(OpenStrEnum):
    ACTIVE = "ACTIVE"
    CANCELED = "CANCELED"
    CANCEL_PENDING = "CANCEL_PENDING"
    FILLED = "FILLED"
    INITIALIZED = "INITIALIZED"
    MODIFY_PENDING = "MODIFY_PENDING"
    NEW_PENDING = "NEW_PENDING"
    REJECTED = "REJECTED"

    def __str__(self) -> str:
        return str(self.value)
