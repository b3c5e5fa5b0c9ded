from __future__ import annotations

from ..open_enums import OpenStrEnum


class TransferStatus(OpenStrEnum):
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    INITIALIZED = "INITIALIZED"
    PENDING = "PENDING"
    REJECTED = "REJECTED"

    def __str__(self) -> str:
        return str(self.value)
