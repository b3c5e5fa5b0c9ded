"""The engine's events: what a sequence of requests reports, and that the depth events rebuild the book."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from truex_sandbox.engine import Conflict, EngineError, Exchange
from truex_sandbox.events import (
    BalanceChanged,
    BookLevelChanged,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderChanged,
    OrderFilled,
    OrderRejected,
    Trade,
    TransferChanged,
)
from truex_sandbox.seed import default_seed

ALICE, BOB = "300000000000000001", "300000000000000002"
BTC = "200000000000000001"
PYUSD = "100000000000000002"
BTC_ASSET = "100000000000000003"
D = Decimal
_ids = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000 * 1_000_000_000

    def __call__(self) -> int:
        self.now += 1_000
        return self.now


def _order(client: str, side: str, price: str, qty: str, **extra: Any) -> dict[str, Any]:
    info = {
        "client_id": client,
        "instrument_id": BTC,
        "side": side,
        "type": "LIMIT",
        "qty": qty,
        "price": price,
    }
    return {"external_id": f"e{next(_ids)}", "info": info | extra}


def _exchange(market_maker: bool = False) -> tuple[Exchange, list[Event]]:
    ex = Exchange(default_seed(market_maker=market_maker), clock=Clock())
    events: list[Event] = []
    ex.subscribe(events.append)
    return ex, events


def test_a_cross_reports_depth_fills_trade_and_balances_once() -> None:
    ex, events = _exchange()
    rest = ex.create_order(frozenset({ALICE}), _order(ALICE, "BUY", "75000", "0.3"))
    assert [type(e) for e in events] == [OrderAccepted, BookLevelChanged, BalanceChanged]
    accepted, level, balance = events
    assert isinstance(accepted, OrderAccepted) and accepted.order == rest
    assert level == BookLevelChanged(level.timestamp, BTC, "BUY", D("75000"), D("0.3"), 1)
    assert isinstance(balance, BalanceChanged) and (balance.client_id, balance.asset_id) == (ALICE, PYUSD)
    assert balance.order_hold > 0

    events.clear()
    take = ex.create_order(frozenset({BOB}), _order(BOB, "SELL", "74000", "0.1"))
    kinds = [type(e) for e in events]
    assert kinds[:5] == [OrderAccepted, BookLevelChanged, OrderFilled, OrderFilled, Trade]
    maker_fill, taker_fill, trade = events[2], events[3], events[4]
    assert isinstance(maker_fill, OrderFilled) and isinstance(taker_fill, OrderFilled)
    assert (maker_fill.liquidity, taker_fill.liquidity) == ("MAKER", "TAKER")
    assert maker_fill.price == taker_fill.price == D("75000") and maker_fill.qty == D("0.1")
    assert taker_fill.order == take and take["status"] == "FILLED"
    assert maker_fill.order["leaves_qty"] == "0.2"
    assert isinstance(trade, Trade) and (trade.taker_side, trade.match_id) == ("SELL", maker_fill.match_id)
    level = events[1]
    assert isinstance(level, BookLevelChanged) and (level.qty, level.order_count) == (D("0.2"), 1)
    changed = {(e.client_id, e.asset_id) for e in events if isinstance(e, BalanceChanged)}
    assert {(ALICE, PYUSD), (ALICE, BTC_ASSET), (BOB, PYUSD), (BOB, BTC_ASSET)} <= changed
    assert len(changed) == len([e for e in events if isinstance(e, BalanceChanged)])  # once per row

    events.clear()
    ex.modify_order(
        frozenset({ALICE}),
        {"id": rest["id"], "info": {"client_id": ALICE, "new_qty": "0.25", "new_price": "75000"}},
    )
    assert isinstance(events[0], OrderChanged) or isinstance(events[1], OrderChanged)
    events.clear()
    ex.cancel_order(frozenset({ALICE}), rest["id"])
    cancelled = [e for e in events if isinstance(e, OrderCancelled)]
    assert len(cancelled) == 1 and cancelled[0].order["status"] == "CANCELED"
    gone = [e for e in events if isinstance(e, BookLevelChanged)]
    assert [(e.qty, e.order_count) for e in gone] == [(D(0), 0)]


def test_rejections_ioc_remainders_and_transfers_are_reported() -> None:
    ex, events = _exchange()
    ex.create_order(frozenset({ALICE}), _order(ALICE, "BUY", "75000.25", "0.1"))  # off the price grid
    assert [type(e) for e in events] == [OrderRejected]
    events.clear()
    ex.create_order(frozenset({ALICE}), _order(ALICE, "BUY", "75000", "0.1", tif="IOC"))
    assert [type(e) for e in events if not isinstance(e, BalanceChanged)] == [OrderAccepted, OrderCancelled]
    events.clear()
    body = {
        "request": {
            "asset_id": PYUSD,
            "client_id": ALICE,
            "platform": "FIAT",
            "type": "DEPOSIT",
            "amount": "10",
        }
    }
    ex.create_transfer(frozenset({ALICE}), body)
    assert [type(e) for e in events] == [TransferChanged]


def test_unsubscribe_stops_the_events() -> None:
    ex = Exchange(default_seed(market_maker=False), clock=Clock())
    events: list[Event] = []
    unsubscribe = ex.subscribe(events.append)
    unsubscribe()
    ex.create_order(frozenset({ALICE}), _order(ALICE, "BUY", "75000", "0.3"))
    assert events == []


def _levels(ex: Exchange) -> dict[tuple[str, str, Decimal], tuple[Decimal, int]]:
    """The engine's books as {(instrument, side, price): (qty, order count)}."""
    return {
        (instrument_id, side, level.price): (level.qty, level.count)
        for instrument_id, book in ex._books.items()
        for side in ("BUY", "SELL")
        for level in book.levels(side)
    }


def _apply(book: dict[tuple[str, str, Decimal], tuple[Decimal, int]], events: list[Event]) -> None:
    for event in events:
        if isinstance(event, BookLevelChanged):
            key = (event.instrument_id, event.side, event.price)
            if event.order_count == 0:
                assert event.qty == 0
                book.pop(key, None)
            else:
                book[key] = (event.qty, event.order_count)


requests = st.lists(
    st.tuples(
        st.sampled_from(["create", "create", "create", "cancel", "modify"]),
        st.sampled_from([ALICE, BOB]),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(min_value=-12, max_value=12),
        st.integers(min_value=1, max_value=40),
        st.sampled_from(["GTC", "GTC", "IOC", "MARKET"]),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops=requests, market_maker=st.booleans())
def test_depth_events_replayed_onto_the_starting_book_rebuild_the_engine_book(
    ops: list[tuple[str, str, str, int, int, str]], market_maker: bool
) -> None:
    ex = Exchange(default_seed(market_maker=market_maker), clock=Clock())
    book = _levels(ex)  # the house's grid, when there is one, rests before anyone subscribes
    events: list[Event] = []
    ex.subscribe(events.append)
    ids: list[tuple[str, str]] = []
    for kind, client, side, ticks, units, how in ops:
        caller = frozenset({client})
        price = format(D("75000") + D(ticks) * 5, "f")
        qty = format(D(units) / 1000, "f")
        try:
            if kind == "cancel" and ids:
                who, order_id = ids[units % len(ids)]
                ex.cancel_order(frozenset({who}), order_id)
            elif kind == "modify" and ids:
                who, order_id = ids[units % len(ids)]
                info = {"client_id": who, "new_qty": qty, "new_price": price}
                ex.modify_order(frozenset({who}), {"id": order_id, "info": info})
            else:
                extra: dict[str, Any] = {"tif": "IOC"} if how == "IOC" else {}
                if how == "MARKET":
                    extra["type"] = "MARKET"
                order = ex.create_order(caller, _order(client, side, price, qty, **extra))
                ids.append((client, order["id"]))
        except (Conflict, EngineError):
            pass
    ex.advance()
    _apply(book, events)
    assert book == _levels(ex)
    assert ex.check_invariants() == []
