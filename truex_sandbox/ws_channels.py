"""The WebSocket channels' state: a mirror of the engine's market built from its events, and the ``data`` of
every frame (``openapi/truex-ws.asyncapi.yaml``; money as decimal strings).

:class:`Market` starts from :meth:`~truex_sandbox.engine.Exchange.stream_state` and applies the engine's
events (:mod:`truex_sandbox.events`) in order, on the event loop: snapshots are read from it, never from the
engine, so a snapshot and the updates after it always agree. :meth:`Market.apply` turns a batch of events
into :class:`Out` records (channel, item, data) for the connections:

* DROPCOPY: every order event (accepted, rejected, changed, filled, cancelled) as the REST order object plus
  ``text``; item = the order's client id.
* TRADE: one per :class:`~truex_sandbox.events.Trade`; item = the symbol.
* DEPTH: one UPDATE per instrument and batch with the levels that changed (``qty`` ``"0"``: gone).
* EBBO: when the best bid/ask or the last trade of an instrument changed in the batch.
* INSTRUMENT: when a trade changed its 24 h statistics (added up from the trades seen; not aged out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .events import (
    BookLevelChanged,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderChanged,
    OrderFilled,
    OrderRejected,
    Trade,
)
from .models import fmt
from .views import wire_order

__all__ = ["CHANNELS", "MARKET_CHANNELS", "Market", "Out", "merge_depth"]

MARKET_CHANNELS = frozenset({"INSTRUMENT", "EBBO", "TRADE", "DEPTH"})
CHANNELS = MARKET_CHANNELS | {"DROPCOPY"}
_ORDER_EVENTS = (OrderAccepted, OrderRejected, OrderChanged, OrderFilled, OrderCancelled)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Out:
    """One UPDATE for the subscribers of ``item`` on ``channel``."""

    channel: str
    item: str
    data: dict[str, Any]


def _level(price: Decimal, qty: Decimal, count: int) -> dict[str, str]:
    return {"price": fmt(price), "qty": fmt(qty), "order_count": str(count)}


def merge_depth(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Two DEPTH UPDATEs of one symbol as one: the latest state of every level either touched."""
    merged: dict[str, Any] = {"symbol": new["symbol"]}
    for side in ("bids", "asks"):
        levels = {lv["price"]: lv for lv in old.get(side, ())}
        levels.update((lv["price"], lv) for lv in new.get(side, ()))
        merged[side] = list(levels.values())
    return merged


def order_report(view: dict[str, Any]) -> dict[str, Any]:
    """DROPCOPY ``data``: the REST order object (both spellings of the executed quantity) plus ``text``."""
    report = wire_order(view)
    report.setdefault("text", "")
    return report


class Market:
    """The engine's market as the feeds see it (see the module docstring). Not thread-safe: one loop owns it."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.instruments: dict[str, dict[str, Any]] = {x["id"]: x for x in state["instruments"]}
        self.ids: dict[str, str] = {x["info"]["symbol"]: x["id"] for x in state["instruments"]}
        self.books: dict[str, dict[str, dict[Decimal, tuple[Decimal, int]]]] = {}
        for instrument_id in self.instruments:
            sides = state["books"].get(instrument_id, {})
            self.books[instrument_id] = {
                side: {p: (q, c) for p, q, c in sides.get(side, ()) if q > 0} for side in ("BUY", "SELL")
            }
        self.book_updates: dict[str, int] = dict(state.get("book_updates", {}))
        self.last_trades: dict[str, tuple[Decimal, Decimal, int]] = dict(state["last_trades"])
        self.orders: dict[str, dict[str, dict[str, Any]]] = {
            client: {o["id"]: o for o in orders} for client, orders in state["open_orders"].items()
        }
        self._ebbo: dict[str, dict[str, Any]] = {i: self.ebbo(i) for i in self.instruments}

    # ------------------------------------------------------------------------------------ reads
    def symbol(self, instrument_id: str) -> str:
        return str(self.instruments[instrument_id]["info"]["symbol"])

    def instrument(self, instrument_id: str) -> dict[str, Any]:
        view = self.instruments[instrument_id]
        return {**view, "info": dict(view["info"]), "stats": dict(view["stats"])}

    def depth(self, instrument_id: str) -> dict[str, Any]:
        """DEPTH SNAPSHOT ``data``: every level, best first."""
        book = self.books[instrument_id]
        bids = sorted(book["BUY"].items(), reverse=True)
        asks = sorted(book["SELL"].items())
        return {
            "symbol": self.symbol(instrument_id),
            "bids": [_level(p, q, c) for p, (q, c) in bids],
            "asks": [_level(p, q, c) for p, (q, c) in asks],
        }

    def ebbo(self, instrument_id: str) -> dict[str, Any]:
        """EBBO ``data`` (an empty side or no trade yet reads ``"0"``; ``symbol`` is a sandbox extra)."""
        book = self.books[instrument_id]
        bid = max(book["BUY"]) if book["BUY"] else None
        ask = min(book["SELL"]) if book["SELL"] else None
        last = self.last_trades.get(instrument_id)
        info = {
            "last_trade": {"price": fmt(last[0]), "qty": fmt(last[1])}
            if last
            else {"price": "0", "qty": "0"},
            "best_bid": {"price": fmt(bid), "qty": fmt(book["BUY"][bid][0])} if bid is not None else _EMPTY,
            "best_ask": {"price": fmt(ask), "qty": fmt(book["SELL"][ask][0])} if ask is not None else _EMPTY,
            "last_update": str(max(self.book_updates.get(instrument_id, 0), last[2] if last else 0)),
        }
        status = "ENABLED" if self.instruments[instrument_id]["status"] == "ACTIVE" else "DISABLED"
        return {"id": instrument_id, "symbol": self.symbol(instrument_id), "status": status, "info": info}

    def open_orders(self, client_id: str) -> list[dict[str, Any]]:
        return [order_report(o) for o in self.orders.get(client_id, {}).values()]

    # ------------------------------------------------------------------------------------ events
    def apply(self, events: Iterable[Event]) -> list[Out]:
        """Apply ``events`` (in engine order); the updates they make, channel by channel."""
        outs: list[Out] = []
        depth: dict[str, dict[tuple[str, Decimal], tuple[Decimal, int]]] = {}
        traded: dict[str, None] = {}
        for event in events:
            if isinstance(event, BookLevelChanged):
                if event.instrument_id not in self.books:
                    continue
                side = self.books[event.instrument_id][event.side]
                if event.qty > 0:
                    side[event.price] = (event.qty, event.order_count)
                else:
                    side.pop(event.price, None)
                self.book_updates[event.instrument_id] = event.timestamp
                changes = depth.setdefault(event.instrument_id, {})
                changes[event.side, event.price] = (event.qty, event.order_count)
            elif isinstance(event, Trade):
                if event.instrument_id not in self.instruments:
                    continue
                self.last_trades[event.instrument_id] = (event.price, event.qty, event.timestamp)
                stats = self.instruments[event.instrument_id]["stats"]
                stats["last_24hr_notional"] = fmt(
                    Decimal(stats["last_24hr_notional"]) + event.price * event.qty
                )
                stats["last_24hr_quantity"] = fmt(Decimal(stats["last_24hr_quantity"]) + event.qty)
                traded[event.instrument_id] = None
                outs.append(
                    Out(
                        "TRADE",
                        self.symbol(event.instrument_id),
                        {
                            "id": event.instrument_id,
                            "symbol": self.symbol(event.instrument_id),
                            "match_id": event.match_id,
                            "trade_price": fmt(event.price),
                            "trade_qty": fmt(event.qty),
                            "liq_flag": "TAKER",
                            "timestamp": str(event.timestamp),
                        },
                    )
                )
            elif isinstance(event, _ORDER_EVENTS):
                view = event.order
                client_id = str(view["order_info"]["client_id"])
                open_orders = self.orders.setdefault(client_id, {})
                if view["status"] == "ACTIVE":
                    open_orders[view["id"]] = view
                else:
                    open_orders.pop(view["id"], None)
                outs.append(Out("DROPCOPY", client_id, order_report(view)))
        for instrument_id, changes in depth.items():
            bids = [_level(p, q, c) for (s, p), (q, c) in changes.items() if s == "BUY"]
            asks = [_level(p, q, c) for (s, p), (q, c) in changes.items() if s == "SELL"]
            outs.append(Out("DEPTH", self.symbol(instrument_id), {"symbol": self.symbol(instrument_id),
                                                                   "bids": bids, "asks": asks}))  # fmt: skip
        for instrument_id in {**dict.fromkeys(depth), **traded}:
            ebbo = self.ebbo(instrument_id)
            if instrument_id in traded or _quotes(ebbo) != _quotes(self._ebbo.get(instrument_id)):
                self._ebbo[instrument_id] = ebbo
                outs.append(Out("EBBO", self.symbol(instrument_id), ebbo))
        for instrument_id in traded:
            outs.append(Out("INSTRUMENT", self.symbol(instrument_id), self.instrument(instrument_id)))
        return outs


_EMPTY = {"price": "0", "qty": "0"}


def _quotes(ebbo: dict[str, Any] | None) -> Any:
    if ebbo is None:
        return None
    info = ebbo["info"]
    return info["best_bid"], info["best_ask"], info["last_trade"]
