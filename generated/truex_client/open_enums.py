"""Open string enums (written into the generated package by scripts/generate.py; DECISIONS §9).

Every string enum of the spec derives from :class:`OpenStrEnum`: a value the server adds after this client
was generated parses as a pseudo-member keeping its raw string, instead of failing the whole response.
Requests are still checked against the spec's values (truex_ext.validation).
"""

from __future__ import annotations

from enum import Enum
from typing import Self

__all__ = ["OpenStrEnum"]


class OpenStrEnum(str, Enum):  # noqa: UP042 - (str, Enum) as generated; StrEnum differs in format()
    """A ``str`` enum that accepts unknown string values as pseudo-members.

    >>> class Side(OpenStrEnum):
    ...     BUY = "BUY"
    >>> Side.from_value("BUY") is Side.BUY, Side("HOLD").value
    (True, 'HOLD')
    """

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        # Not a documented value: an instance of this enum whose value is the raw string, not listed in
        # iteration (so `value in list(Side)` stays false). Non-strings are still refused.
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @classmethod
    def from_value(cls, value: str) -> Self:
        """The member for a wire value: what ``cls(value)`` returns, at a third of its cost (a dict lookup)."""
        try:
            return cls._value2member_map_[value]  # type: ignore[return-value]
        except (KeyError, TypeError):  # an unknown value (see _missing_), or junk such as a list
            return cls(value)
