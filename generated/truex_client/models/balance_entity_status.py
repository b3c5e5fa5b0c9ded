from enum import Enum


class BalanceEntityStatus(str, Enum):
    INVALID = "INVALID"

    def __str__(self) -> str:
        return str(self.value)
