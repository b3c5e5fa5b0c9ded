"""What happened in the exchange, reported once by the engine as typed events.

Subscribe with :meth:`truex_sandbox.engine.Exchange.subscribe`: the callback receives each event in the
order things happened, synchronously, under the engine's lock (a callback must not block, and must not call
back into the exchange). Events carry what a market-data or drop-copy feed needs:

* DEPTH: :class:`BookLevelChanged` — a price level's total quantity and order count after each change
  (``qty == 0``: the level is gone). Applied in order onto an empty book, they rebuild the engine's book.
* TRADE: :class:`Trade` — one per match, with the taker's side.
* DROPCOPY: the order events (:class:`OrderAccepted`, :class:`OrderRejected`, :class:`OrderChanged`,
  :class:`OrderFilled`, :class:`OrderCancelled`), each with the order's wire view after the change (the
  same dict a REST call answers), plus :class:`BalanceChanged` and :class:`TransferChanged`.
* EBBO: the best level of a side is the best price among the live levels of its :class:`BookLevelChanged`.

Prices and quantities are :class:`~decimal.Decimal`; ``timestamp`` is Unix nanoseconds (the engine's clock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = [
    "BalanceChanged",
    "BookLevelChanged",
    "ClientChanged",
    "Event",
    "OrderAccepted",
    "OrderCancelled",
    "OrderChanged",
    "OrderFilled",
    "OrderRejected",
    "Subscriber",
    "Trade",
    "TransferChanged",
]


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    """A new order passed the exchange's rules (it then trades, rests, or both)."""

    timestamp: int
    order: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """A new order broke a rule: stored as ``REJECTED`` with the reason in ``text``."""

    timestamp: int
    order: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OrderChanged:
    """A modify took effect (the order may then trade: :class:`OrderFilled` events follow)."""

    timestamp: int
    order: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """One fill of one order (a trade has two: the maker's and the taker's)."""

    timestamp: int
    order: dict[str, Any]
    match_id: str
    qty: Decimal
    price: Decimal
    #: ``MAKER`` or ``TAKER``.
    liquidity: str
    fee: Decimal
    fee_rate: Decimal


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """An order closed with leaves unfilled: a cancel request, IOC/MARKET remainder, self-trade prevention."""

    timestamp: int
    order: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Trade:
    """A public trade."""

    timestamp: int
    instrument_id: str
    match_id: str
    price: Decimal
    qty: Decimal
    #: The side of the incoming (taker) order.
    taker_side: str


@dataclass(frozen=True, slots=True)
class BookLevelChanged:
    """A price level after a change: its total resting quantity and order count (0 and 0: the level is gone)."""

    timestamp: int
    instrument_id: str
    side: str
    price: Decimal
    qty: Decimal
    order_count: int


@dataclass(frozen=True, slots=True)
class BalanceChanged:
    """A (client, asset) balance row after a command changed it (one event per row and command)."""

    timestamp: int
    client_id: str
    asset_id: str
    balance: Decimal
    order_hold: Decimal
    transfer_hold: Decimal


@dataclass(frozen=True, slots=True)
class TransferChanged:
    """A transfer was created or moved on (``PENDING``, ``COMPLETED``)."""

    timestamp: int
    transfer: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClientChanged:
    """A client's settings changed."""

    timestamp: int
    client: dict[str, Any]


Event = (
    OrderAccepted
    | OrderRejected
    | OrderChanged
    | OrderFilled
    | OrderCancelled
    | Trade
    | BookLevelChanged
    | BalanceChanged
    | TransferChanged
    | ClientChanged
)
Subscriber = Callable[[Event], None]
