"""Accounts: one balance row per (client, asset), the only place balances and holds change.

``balance`` is what the client owns; ``order_hold`` and ``transfer_hold`` are the parts reserved for open
orders and pending withdrawals; ``available = balance - order_hold - transfer_hold``. Each change notes its
row, so that the engine can report every changed row once per command (:meth:`Accounts.take_changed`).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from .models import Balance

__all__ = ["Accounts"]


class Accounts:
    def __init__(self, client_ids: Iterable[str], asset_ids: Iterable[str]) -> None:
        assets = list(asset_ids)
        self.rows: dict[str, dict[str, Balance]] = {c: {a: Balance() for a in assets} for c in client_ids}
        self._changed: dict[tuple[str, str], None] = {}

    def row(self, client_id: str, asset_id: str) -> Balance:
        return self.rows[client_id][asset_id]

    def available(self, client_id: str, asset_id: str) -> Decimal:
        return self.rows[client_id][asset_id].available

    def credit(self, client_id: str, asset_id: str, amount: Decimal) -> None:
        """Add ``amount`` to the balance (a negative amount debits it)."""
        self.rows[client_id][asset_id].balance += amount
        self._changed[client_id, asset_id] = None

    def hold_for_orders(self, client_id: str, asset_id: str, delta: Decimal) -> None:
        self.rows[client_id][asset_id].order_hold += delta
        self._changed[client_id, asset_id] = None

    def hold_for_transfers(self, client_id: str, asset_id: str, delta: Decimal) -> None:
        self.rows[client_id][asset_id].transfer_hold += delta
        self._changed[client_id, asset_id] = None

    def take_changed(self) -> list[tuple[str, str, Balance]]:
        """The rows changed since the last call, in the order they first changed."""
        changed = [(c, a, self.rows[c][a]) for c, a in self._changed]
        self._changed.clear()
        return changed
