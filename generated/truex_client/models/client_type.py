from enum import Enum


class ClientType(str, Enum):
    APPLICATION = "APPLICATION"
    INDIVIDUAL = "INDIVIDUAL"
    INSTITUTION = "INSTITUTION"

    def __str__(self) -> str:
        return str(self.value)
