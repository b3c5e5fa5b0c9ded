from enum import Enum


class ClientStatus(str, Enum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    INITIIALIZED = "INITIIALIZED"

    def __str__(self) -> str:
        return str(self.value)
