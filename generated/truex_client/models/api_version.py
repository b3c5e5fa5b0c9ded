from enum import Enum


class ApiVersion(str, Enum):
    V2024_01_01 = "v2024_01_01"
    V2026_01_23 = "v2026_01_23"

    def __str__(self) -> str:
        return str(self.value)
