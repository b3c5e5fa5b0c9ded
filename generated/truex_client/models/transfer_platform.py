from enum import Enum


class TransferPlatform(str, Enum):
    CRYPTO = "CRYPTO"
    FIAT = "FIAT"
    INTERNAL = "INTERNAL"

    def __str__(self) -> str:
        return str(self.value)
