from enum import Enum


class QtyUnit(str, Enum):
    BASE = "BASE"
    QUOTE = "QUOTE"

    def __str__(self) -> str:
        return str(self.value)
