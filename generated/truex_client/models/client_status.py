from __future__ import annotations

from ..open_enums import OpenStrEnum


class ClientStatus(OpenStrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    INITIIALIZED = "INITIIALIZED"

    def __str__(self) -> str:
        return str(self.value)
