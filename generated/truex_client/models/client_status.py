from __future__ import annotations

from enum import Enum


class ClientStatus(str, Enum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
    INITIIALIZED = "INITIIALIZED"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> ClientStatus | None:
        # A value the server added after this client was generated: keep it rather than fail the
        # response (DECISIONS §9). It is an instance of this enum whose value is the raw string.
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member
