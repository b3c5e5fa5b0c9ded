"""Order updates: delivered in order, de-duplicated, and reconciled with REST after a reconnect or a gap.

The tracker remembers each order's last delivered state (a fingerprint of the fields that change) and its
``update_timestamp``; an update equal to what was delivered, or older than it, is not delivered again. That is
what makes "what changed while away" come out once, whether REST or the stream's new snapshot says it first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .messages import OrderUpdate

__all__ = ["OrderTracker"]

_FIELDS = ("status", "leaves_qty", "pending_qty", "executed_vwap", "external_id", "text")


def _executed(raw: Mapping[str, Any]) -> Any:
    return raw.get("executed_qty", raw.get("exeuted_qty"))


def _norm(value: Any) -> Any:
    # "0.0100" and "0.01" are the same quantity: compare decimals by value when they parse.
    if isinstance(value, str):
        try:
            return Decimal(value).normalize()
        except ArithmeticError:
            return value
    return value


def fingerprint(raw: Mapping[str, Any]) -> tuple[Any, ...]:
    return (*(_norm(raw.get(f)) for f in _FIELDS), _norm(_executed(raw)), raw.get("update_timestamp"))


def _ts(raw: Mapping[str, Any]) -> int | None:
    try:
        return int(raw["update_timestamp"])
    except (KeyError, TypeError, ValueError):
        return None


class OrderTracker:
    """Last delivered state per order id, bounded to ``limit`` orders (oldest forgotten first)."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._known: OrderedDict[str, tuple[tuple[Any, ...], int | None]] = OrderedDict()

    def known_ids(self) -> list[str]:
        return list(self._known)

    def is_new(self, update: OrderUpdate) -> bool:
        """Record ``update`` and say whether it is news (not a duplicate, not older than what was delivered)."""
        raw = update.raw
        oid = update.order_id
        fp, ts = fingerprint(raw), _ts(raw)
        seen = self._known.get(oid)
        if seen is not None:
            if seen[0] == fp:
                return False
            if ts is not None and seen[1] is not None and ts < seen[1]:
                return False
        self._known[oid] = (fp, ts)
        self._known.move_to_end(oid)
        while len(self._known) > self.limit:
            self._known.popitem(last=False)
        return True
