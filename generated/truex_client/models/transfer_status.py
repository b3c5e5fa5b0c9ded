from enum import Enum


class TransferStatus(str, Enum):
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    INITIALIZED = "INITIALIZED"
    PENDING = "PENDING"
    REJECTED = "REJECTED"

    def __str__(self) -> str:
        return str(self.value)
