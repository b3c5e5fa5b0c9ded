"""Decimal support for `format: decimal` fields (written into the generated package by scripts/generate.py).

Money travels as decimal strings. In Python it is :class:`decimal.Decimal`, never ``float``, and the wire
string round-trips unchanged: ``Decimal("75000.50")`` is sent back as ``"75000.50"``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

__all__ = ["DecimalFieldError", "format_decimal", "parse_decimal"]


class DecimalFieldError(ValueError):
    """A value for a decimal field was refused; ``field`` names it and ``rule`` says why."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


def format_decimal(value: object, field: str) -> str:
    """The wire string of ``value``: fixed-point, never an exponent (``str(Decimal("1E-8"))`` is ``1E-8``).

    >>> format_decimal(Decimal("0.00000001"), "qty")
    '0.00000001'
    """
    # bool is an int; float is refused because it cannot carry an exact decimal (0.1 is not 0.1).
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise DecimalFieldError(
            field, f"must be a decimal.Decimal (or int), not {type(value).__name__}; e.g. Decimal('0.01')"
        )
    if isinstance(value, int):
        return str(value)
    if not value.is_finite():
        raise DecimalFieldError(field, f"must be a finite decimal, not {value}")
    return format(value, "f")


# Wire strings already parsed: responses repeat a few values ("0", the usual sizes and prices) and a
# dict lookup costs a fifth of Decimal(str). Decimals are immutable, so sharing one is safe; the cache
# is bounded (emptied when full) and a lost race between threads only parses a string twice.
_PARSED: dict[str, Decimal] = {}
_PARSED_MAX = 4096


def parse_decimal(value: object, field: str) -> Decimal:
    """The :class:`~decimal.Decimal` of a wire string; a JSON number or junk is an error naming the field."""
    if type(value) is str:
        cached = _PARSED.get(value)
        if cached is not None:
            return cached
    if not isinstance(value, str):
        raise DecimalFieldError(field, f"expected a decimal string on the wire, got {type(value).__name__}")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise DecimalFieldError(field, f"{value!r} is not a decimal string") from None
    if not result.is_finite():
        raise DecimalFieldError(field, f"{value!r} is not a finite decimal")
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[value] = result
    return result
