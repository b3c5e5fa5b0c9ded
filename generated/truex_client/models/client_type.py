from __future__ import annotations

from enum import Enum


class ClientType(str, Enum):
    APPLICATION = "APPLICATION"
    INDIVIDUAL = "INDIVIDUAL"
    INSTITUTION = "INSTITUTION"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> ClientType | None:
        # A value the server added after this client was generated: keep it rather than fail the
        # response (DECISIONS §9). It is an instance of this enum whose value is the raw string.
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @classmethod
    def from_value(cls, value: str) -> ClientType:
        """The member for a wire value: ``cls(value)`` at a third of its cost (a dict lookup)."""
        try:
            return cls._value2member_map_[value]  # type: ignore[return-value]
        except (
            KeyError,
            TypeError,
        ):  # an unknown value (see _missing_) or junk such as a list
            return cls(value)
