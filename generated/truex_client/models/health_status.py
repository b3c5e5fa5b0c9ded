from __future__ import annotations

from ..open_enums import OpenStrEnum


class HealthStatus(OpenStrEnum):
    DEGRADED = "degraded"
    HEALTHY = "healthy"

    def __str__(self) -> str:
        return str(self.value)
