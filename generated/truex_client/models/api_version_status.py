from __future__ import annotations

from ..open_enums import OpenStrEnum


class ApiVersionStatus(OpenStrEnum):
    CURRENT = "current"
    DEPRECATED = "deprecated"

    def __str__(self) -> str:
        return str(self.value)
