from __future__ import annotations

from ..open_enums import OpenStrEnum


class ApiVersion(OpenStrEnum):
    V2024_01_01 = "v2024_01_01"
    V2026_01_23 = "v2026_01_23"

    def __str__(self) -> str:
        return str(self.value)
