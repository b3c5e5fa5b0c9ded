from enum import Enum


class ExecInstFlag(str, Enum):
    ALO = "ALO"

    def __str__(self) -> str:
        return str(self.value)
