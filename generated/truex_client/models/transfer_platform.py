from __future__ import annotations

from ..open_enums import OpenStrEnum


class TransferPlatform(OpenStrEnum):
    CRYPTO = "CRYPTO"
    FIAT = "FIAT"
    INTERNAL = "INTERNAL"

    def __str__(self) -> str:
        return str(self.value)
