"""The wire protocol: server frames parsed into typed, forward-compatible messages, and the stream's events.

Every message keeps the frame it came from (``raw``), so fields the server adds later are never lost; enum-like
values (``channel``, ``update``, ``status``, order statuses) stay plain strings, so a value added later is
carried, not rejected. Money and quantities are :class:`~decimal.Decimal`. The shapes are those of
``openapi/truex-ws.asyncapi.yaml``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs

from .errors import StreamError

__all__ = [
    "AUTH_OK",
    "Channel",
    "Confirmation",
    "DepthData",
    "EbboData",
    "Gap",
    "InstrumentData",
    "Level",
    "MarketData",
    "OrderUpdate",
    "ProtocolError",
    "ReconcileFailed",
    "Reconciled",
    "SnapshotComplete",
    "State",
    "StateChanged",
    "Subscription",
    "TradeData",
    "Unknown",
    "Welcome",
    "parse_frame",
]


class Channel:
    """The documented channel names (plain strings: a channel added later still parses)."""

    INSTRUMENT: Final = "INSTRUMENT"
    EBBO: Final = "EBBO"
    TRADE: Final = "TRADE"
    DEPTH: Final = "DEPTH"
    DROPCOPY: Final = "DROPCOPY"
    WEBSOCKET: Final = "WEBSOCKET"
    MARKET_DATA: Final = frozenset({"INSTRUMENT", "EBBO", "TRADE", "DEPTH"})


#: Statuses of a confirmation that accept the request.
AUTH_OK: Final = frozenset({"AUTHENTICATED", "UNAUTHENTICATED"})


class ProtocolError(StreamError):
    """A frame that is not a JSON object (the connection is dropped and re-established)."""


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------- data
@attrs.frozen(slots=True)
class Level:
    price: Decimal
    qty: Decimal
    order_count: int | None = None


def _levels(raw: Any) -> tuple[Level, ...]:
    out = []
    for level in raw if isinstance(raw, list) else ():
        if not isinstance(level, Mapping):
            continue
        price, qty = _decimal(level.get("price")), _decimal(level.get("qty"))
        if price is not None and qty is not None:
            out.append(Level(price, qty, _int(level.get("order_count"))))
    return tuple(out)


@attrs.frozen(slots=True)
class DepthData:
    """DEPTH ``data``: ``SNAPSHOT`` replaces the book, ``UPDATE`` upserts levels, qty 0 deletes."""

    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    raw: Mapping[str, Any] = attrs.field(repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DepthData:
        return cls(str(d.get("symbol", "")), _levels(d.get("bids")), _levels(d.get("asks")), d)


#: EBBO's empty-side sentinels (decimal128 extremes) and "0" read as "no price".
_EBBO_EMPTY = (Decimal("170141183460469231731"), Decimal(0))


def _quote(raw: Any) -> tuple[Decimal | None, Decimal | None]:
    if not isinstance(raw, Mapping):
        return None, None
    price = _decimal(raw.get("price"))
    if price is not None and (price == 0 or abs(price) >= _EBBO_EMPTY[0]):
        price = None
    return price, _decimal(raw.get("qty"))


@attrs.frozen(slots=True)
class EbboData:
    instrument_id: str
    status: str | None
    bid_price: Decimal | None
    bid_qty: Decimal | None
    ask_price: Decimal | None
    ask_qty: Decimal | None
    last_price: Decimal | None
    last_qty: Decimal | None
    last_update: int | None
    raw: Mapping[str, Any] = attrs.field(repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EbboData:
        info = d.get("info") if isinstance(d.get("info"), Mapping) else {}
        assert isinstance(info, Mapping)
        bid, ask, last = (
            _quote(info.get("best_bid")),
            _quote(info.get("best_ask")),
            _quote(info.get("last_trade")),
        )
        return cls(str(d.get("id", "")), d.get("status"), *bid, *ask, *last, _int(info.get("last_update")), d)


@attrs.frozen(slots=True)
class TradeData:
    instrument_id: str | None
    match_id: str | None
    price: Decimal | None
    qty: Decimal | None
    liq_flag: str | None
    raw: Mapping[str, Any] = attrs.field(repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TradeData:
        return cls(
            d.get("id"), d.get("match_id"), _decimal(d.get("trade_price")), _decimal(d.get("trade_qty")),
            d.get("liq_flag"), d,
        )  # fmt: skip


@attrs.frozen(slots=True)
class InstrumentData:
    instrument_id: str
    symbol: str | None
    status: str | None
    reference_price: Decimal | None
    raw: Mapping[str, Any] = attrs.field(repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> InstrumentData:
        info = d.get("info") if isinstance(d.get("info"), Mapping) else {}
        assert isinstance(info, Mapping)
        return cls(
            str(d.get("id", "")),
            info.get("symbol"),
            d.get("status"),
            _decimal(info.get("reference_price")),
            d,
        )


_DATA: dict[str, Any] = {
    "DEPTH": DepthData,
    "EBBO": EbboData,
    "TRADE": TradeData,
    "INSTRUMENT": InstrumentData,
}

# --------------------------------------------------------------------------------------------- messages


@attrs.frozen(slots=True)
class Welcome:
    version: str | None
    message: str | None
    datetime: str | None
    connections: int | None
    raw: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen(slots=True)
class Subscription:
    channel: str
    items: frozenset[str]


@attrs.frozen(slots=True)
class Confirmation:
    """The answer to a request: ``status`` and the connection's whole subscription set."""

    status: str
    subscriptions: tuple[Subscription, ...]
    message: str | None
    raw: Mapping[str, Any] = attrs.field(repr=False)

    def items(self, channel: str) -> frozenset[str]:
        found: set[str] = set()
        for sub in self.subscriptions:
            if sub.channel == channel:
                found |= sub.items
        return frozenset(found)


@attrs.frozen(slots=True)
class MarketData:
    """A market-data frame (INSTRUMENT, EBBO, TRADE, DEPTH, or a channel added later: ``data`` raw).

    ``conflated`` counts the frames of the same item this one replaced while the consumer was behind.
    """

    channel: str
    update: str
    seqnum: int | None
    status: str | None
    item: str
    data: DepthData | EbboData | TradeData | InstrumentData | Mapping[str, Any]
    raw: Mapping[str, Any] = attrs.field(repr=False)
    conflated: int = 0


@attrs.frozen(slots=True)
class SnapshotComplete:
    channel: str
    item: str
    seqnum: int | None
    status: str | None
    raw: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen(slots=True)
class OrderUpdate:
    """A DROPCOPY order report as the REST :class:`truex_client.models.Order` (plus ``text``).

    ``source`` is ``"stream"`` for a live report and ``"reconcile"`` for a change found through REST after a
    reconnect or a gap. ``update`` is the envelope's (``SNAPSHOT``/``UPDATE``; ``RECONCILE`` from REST).
    """

    order: Any  # truex_client.models.Order (imported lazily: the generated models cost import time)
    update: str
    seqnum: int | None
    source: str
    raw: Mapping[str, Any] = attrs.field(repr=False)

    @property
    def order_id(self) -> str:
        return str(self.raw.get("id", getattr(self.order, "id", "")))


@attrs.frozen(slots=True)
class Unknown:
    """A frame the client does not know (kept whole, never an error)."""

    raw: Mapping[str, Any]


# --------------------------------------------------------------------------------------------- events
class State:
    CONNECTING: Final = "connecting"
    LIVE: Final = "live"
    RECONNECTING: Final = "reconnecting"
    CLOSED: Final = "closed"


@attrs.frozen(slots=True)
class StateChanged:
    """The connection's state changed; ``reason`` says why it left ``live`` (never a secret)."""

    state: str
    attempt: int = 0
    reason: str | None = None


@attrs.frozen(slots=True)
class Gap:
    """A ``seqnum`` gap or regression (or a crossed book) on ``channel``: its books are stale and it resyncs."""

    channel: str
    expected: int | None
    received: int | None
    items: tuple[str, ...]
    reason: str = "seqnum"


@attrs.frozen(slots=True)
class Reconciled:
    """Reconciliation with REST finished; ``changed`` order updates (``source="reconcile"``) came before."""

    changed: int
    reason: str


@attrs.frozen(slots=True)
class ReconcileFailed:
    """The reconciliation callable raised; the stream goes on and retries after the next reconnect or gap."""

    error: BaseException
    reason: str


def parse_frame(
    frame: str | bytes | Mapping[str, Any],
) -> Welcome | Confirmation | MarketData | SnapshotComplete | Unknown | Mapping[str, Any]:
    """Parse one server frame. DROPCOPY data frames come back as their dict (``channel == "DROPCOPY"``):
    :func:`order_update` turns them into :class:`OrderUpdate` (it needs the generated models).

    Raises :class:`ProtocolError` only for a frame that is not a JSON object.
    """
    if isinstance(frame, Mapping):
        obj: Any = frame
    else:
        try:
            obj = json.loads(frame)
        except ValueError as exc:
            raise ProtocolError(f"a frame that is not JSON ({len(frame)} bytes)") from exc
    if not isinstance(obj, Mapping):
        raise ProtocolError(f"a frame that is not a JSON object ({type(obj).__name__})")
    channel = obj.get("channel")
    update = obj.get("update")
    if channel == "WEBSOCKET" or (channel is None and "subscriptions" in obj):
        if update == "WELCOME":
            return Welcome(
                obj.get("version"), obj.get("message"), obj.get("datetime"), _int(obj.get("connections")), obj
            )
        if "subscriptions" in obj or "status" in obj:
            subs = []
            for sub in obj.get("subscriptions") or ():
                if isinstance(sub, Mapping):
                    names = sub.get("item_names") or ()
                    subs.append(Subscription(str(sub.get("channel")), frozenset(str(n) for n in names)))
            return Confirmation(str(obj.get("status", "")), tuple(subs), obj.get("message"), obj)
        return Unknown(obj)
    if not isinstance(channel, str):
        return Unknown(obj)
    seqnum = _int(obj.get("seqnum"))
    if update == "SNAPSHOT_COMPLETE":
        return SnapshotComplete(channel, str(obj.get("item", "")), seqnum, obj.get("status"), obj)
    if channel == "DROPCOPY":
        return obj
    data = obj.get("data")
    if not isinstance(data, Mapping):
        return Unknown(obj)
    kind = _DATA.get(channel)
    parsed: Any = kind.from_dict(data) if kind is not None else data
    return MarketData(
        channel, str(update), seqnum, obj.get("status"), _item(channel, parsed, data), parsed, obj
    )


def _item(channel: str, parsed: Any, data: Mapping[str, Any]) -> str:
    if isinstance(parsed, DepthData):
        return parsed.symbol
    if isinstance(parsed, InstrumentData):
        return parsed.symbol or parsed.instrument_id
    return str(data.get("symbol") or data.get("id") or "")


def order_update(frame: Mapping[str, Any], source: str = "stream") -> OrderUpdate:
    """A DROPCOPY frame as an :class:`OrderUpdate` whose ``order`` is the REST ``Order`` model."""
    from truex_client.models.order import Order

    data = frame.get("data")
    if not isinstance(data, Mapping):
        raise ProtocolError("a DROPCOPY frame without a data object")
    return OrderUpdate(
        Order.from_dict(dict(data)), str(frame.get("update", "")), _int(frame.get("seqnum")), source, data
    )
