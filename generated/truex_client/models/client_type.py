from __future__ import annotations

from ..open_enums import OpenStrEnum


class ClientType(OpenStrEnum):
    APPLICATION = "APPLICATION"
    INDIVIDUAL = "INDIVIDUAL"
    INSTITUTION = "INSTITUTION"

    def __str__(self) -> str:
        return str(self.value)
