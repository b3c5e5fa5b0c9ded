from __future__ import annotations

from ..open_enums import OpenStrEnum


class TransferType(OpenStrEnum):
    DEPOSIT = "DEPOSIT"
    WITHDRAW = "WITHDRAW"

    def __str__(self) -> str:
        return str(self.value)
