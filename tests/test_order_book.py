"""OrderBook and Feed without a socket: snapshot/update/delete, sync state, gaps, crossing, snapshots, and a
Hypothesis model test against a naive dict book."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from truex_ext.stream import DepthData, Feed, Gap, OrderBook


def depth(
    update: str, seq: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]], symbol: str = "BTC-PYUSD"
) -> dict[str, Any]:
    return {
        "seqnum": str(seq), "channel": "DEPTH", "update": update, "status": "UNAUTHENTICATED",
        "data": {"symbol": symbol, "bids": [{"price": p, "qty": q, "order_count": "1"} for p, q in bids],
                 "asks": [{"price": p, "qty": q, "order_count": "1"} for p, q in asks]},
    }  # fmt: skip


def complete(seq: int, item: str = "BTC-PYUSD") -> dict[str, Any]:
    return {
        "seqnum": str(seq),
        "channel": "DEPTH",
        "update": "SNAPSHOT_COMPLETE",
        "status": "AUTHENTICATED",
        "item": item,
    }


def test_snapshot_update_delete_and_sync() -> None:
    feed = Feed()
    feed.process(json.dumps(depth("SNAPSHOT", 1, [("100", "1"), ("99", "2")], [("101", "1")])))
    book = feed.books["BTC-PYUSD"]
    assert not book.is_synced  # partial until SNAPSHOT_COMPLETE
    feed.process(complete(2))
    assert book.is_synced
    feed.process(depth("UPDATE", 3, [("100", "0"), ("99.5", "4")], [("101", "3")]))
    assert book.bbo() == (Decimal("99.5"), Decimal("101"))
    assert book.ask_qty(Decimal("101")) == Decimal("3")
    bids, asks = book.top(5)
    assert bids == ((Decimal("99.5"), Decimal("4")), (Decimal("99"), Decimal("2")))
    assert asks == ((Decimal("101"), Decimal("3")),)
    feed.process(depth("SNAPSHOT", 4, [("50", "1")], [("60", "1")]))
    assert book.bbo() == (Decimal("50"), Decimal("60")) and len(book) == 2 and not book.is_synced


def test_gap_and_regression_mark_stale_until_a_new_snapshot() -> None:
    feed = Feed()
    feed.process(depth("SNAPSHOT", 1, [("100", "1")], [("101", "1")]))
    feed.process(complete(2))
    _, gaps, resyncs = feed.process(depth("UPDATE", 4, [("100", "2")], []))
    assert gaps == [Gap("DEPTH", 3, 4, ("BTC-PYUSD",))] and resyncs[0].channel == "DEPTH"
    book = feed.books["BTC-PYUSD"]
    assert not book.is_synced and book.stale_reason == "gap"
    _, gaps, _ = feed.process(depth("UPDATE", 5, [], []))
    assert not gaps  # already resyncing
    feed.process(depth("SNAPSHOT", 1, [("90", "1")], [("91", "1")]))  # the server restarted its counter
    feed.process(complete(2))
    assert book.is_synced and book.bbo() == (Decimal("90"), Decimal("91"))
    _, gaps, _ = feed.process(depth("UPDATE", 2, [], []))  # a duplicate: regression
    assert gaps and gaps[0].received == 2 and not book.is_synced


def test_crossed_book_is_stale() -> None:
    feed = Feed()
    feed.process(depth("SNAPSHOT", 1, [("100", "1")], [("101", "1")]))
    feed.process(complete(2))
    _, gaps, resyncs = feed.process(depth("UPDATE", 3, [("101", "1")], []))
    assert gaps[0].reason == "crossed" and resyncs[0].items == ("BTC-PYUSD",)
    assert feed.books["BTC-PYUSD"].stale_reason == "crossed"


def test_new_connection_makes_every_book_stale() -> None:
    feed = Feed()
    feed.process(depth("SNAPSHOT", 1, [("100", "1")], [("101", "1")]))
    feed.process(complete(2))
    feed.new_connection()
    assert not feed.books["BTC-PYUSD"].is_synced
    _, gaps, _ = feed.process(depth("SNAPSHOT", 1, [("100", "1")], [("101", "1")]))
    assert not gaps


def test_snapshot_is_immutable_and_thread_safe() -> None:
    book = OrderBook("X")
    for i in range(1, 200):
        book.set_bid(Decimal(i), Decimal(1))
        book.set_ask(Decimal(1000 + i), Decimal(1))
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                snap = book.snapshot(depth=5)
                assert len(snap.bids) <= 5
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(20000):
        book.set_bid(Decimal(i % 300 + 1), Decimal(i % 3))
    stop.set()
    thread.join()
    assert not errors
    snap = book.snapshot()
    assert snap.bids == tuple(sorted(snap.bids, reverse=True)) and isinstance(snap.bids, tuple)


def test_empty_and_one_sided_books() -> None:
    book = OrderBook("X")
    assert book.bbo() == (None, None) and book.spread is None and book.mid is None
    book.set_bid(Decimal("1"), Decimal("1"))
    book.set_bid(Decimal("1"), Decimal("0"))
    book.set_bid(Decimal("2"), Decimal("0"))  # deleting a level that is not there
    assert book.best_bid is None and len(book) == 0
    assert "OrderBook('X'" in repr(book)


PRICES = st.sampled_from([Decimal(p) / 4 for p in range(380, 420)])
QTYS = st.sampled_from([Decimal(0), Decimal(0), Decimal("0.5"), Decimal(1), Decimal(3)])
LEVELS = st.lists(st.tuples(PRICES, QTYS), max_size=8)
OPS = st.lists(
    st.tuples(st.sampled_from(["SNAPSHOT", "UPDATE", "UPDATE", "UPDATE"]), LEVELS, LEVELS), max_size=40
)


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_book_equals_a_naive_dict_model(ops: list[tuple[str, list[Any], list[Any]]]) -> None:
    book = OrderBook("X")
    model: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
    for update, bids, asks in ops:
        data = DepthData.from_dict({"symbol": "X", "bids": [{"price": str(p), "qty": str(q)} for p, q in bids],
                                    "asks": [{"price": str(p), "qty": str(q)} for p, q in asks]})  # fmt: skip
        book.apply(data, update)
        for side, levels in (("bids", bids), ("asks", asks)):
            if update == "SNAPSHOT":
                model[side] = {}
            for price, qty in levels:
                if qty:
                    model[side][price] = qty
                else:
                    model[side].pop(price, None)
        snap = book.snapshot()
        assert snap.bids == tuple(sorted(model["bids"].items(), reverse=True))
        assert snap.asks == tuple(sorted(model["asks"].items()))
        assert book.best_bid == (max(model["bids"]) if model["bids"] else None)
        assert book.best_ask == (min(model["asks"]) if model["asks"] else None)
        assert book.top(3)[0] == snap.bids[:3] and book.top(3)[1] == snap.asks[:3]
        crossed = bool(model["bids"] and model["asks"] and max(model["bids"]) >= min(model["asks"]))
        assert book.is_crossed == crossed
