from enum import Enum


class ApiVersionStatus(str, Enum):
    CURRENT = "current"
    DEPRECATED = "deprecated"

    def __str__(self) -> str:
        return str(self.value)
