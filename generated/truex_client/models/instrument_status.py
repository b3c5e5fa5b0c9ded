from enum import Enum


class InstrumentStatus(str, Enum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    HALTED = "HALTED"
    OPENING = "OPENING"

    def __str__(self) -> str:
        return str(self.value)
