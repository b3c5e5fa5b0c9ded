from __future__ import annotations

from ..open_enums import OpenStrEnum


class InstrumentStatus(OpenStrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    HALTED = "HALTED"
    OPENING = "OPENING"

    def __str__(self) -> str:
        return str(self.value)
