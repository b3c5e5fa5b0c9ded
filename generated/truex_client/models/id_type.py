from enum import Enum


class IdType(str, Enum):
    CLIENT = "client"
    EXCHANGE = "exchange"

    def __str__(self) -> str:
        return str(self.value)
