"""The streaming client against a fake WebSocket server (tests/stream_support.py): subscribe and sync a book,
gaps and resync, stalls and abnormal closes, auth refusal, DROPCOPY into ``Order``, reconciliation, overflow,
the sync facade, and no secret anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest
from stream_support import CLIENT, KEY, SECRET, FakeExchange, until
from websockets.exceptions import ConnectionClosed

from truex_client.models.order import Order
from truex_ext.auth import Credentials
from truex_ext.logs import clear_registered_secrets
from truex_ext.stream import (
    AsyncStream,
    Backoff,
    Gap,
    OrderUpdate,
    Reconciled,
    State,
    StateChanged,
    Stream,
    StreamOverflowError,
    StreamUnauthorizedError,
    stream_url,
)

CREDS = Credentials(KEY, SECRET, CLIENT)
FAST = {
    "backoff": Backoff(initial=0.01, maximum=0.05, healthy_after=5),
    "ping_interval": 0.1,
    "ping_timeout": 0.3,
    "request_timeout": 2.0,
    "close_timeout": 0.5,
}


@pytest.fixture
def server() -> Iterator[FakeExchange]:
    fake = FakeExchange()
    yield fake
    fake.close()


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    clear_registered_secrets()
    # Collect this test's finished streams, sockets and loops now: left to a later collection, an object of
    # theirs reports into whatever test runs then (an unraisable warning, an error under this project's
    # pytest settings).
    gc.collect()


class Collector:
    def __init__(self, stream: AsyncStream) -> None:
        self.events: list[Any] = []
        self.error: BaseException | None = None
        self.task = asyncio.ensure_future(self._run(stream))

    async def _run(self, stream: AsyncStream) -> None:
        try:
            async for event in stream:
                self.events.append(event)
        except Exception as exc:
            self.error = exc

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def states(self) -> list[str]:
        return [e.state for e in self.of(StateChanged)]


@pytest.fixture
async def stream(server: FakeExchange) -> AsyncIterator[tuple[AsyncStream, Collector]]:
    async with AsyncStream(server.url, credentials=CREDS, **FAST) as s:  # type: ignore[arg-type]
        yield s, Collector(s)


def order_json(oid: str, status: str, leaves: str, executed: str, ts: int) -> dict[str, Any]:
    return {
        "id": oid,
        "status": status,
        "external_id": f"ext-{oid}",
        "leaves_qty": leaves,
        "executed_qty": executed,
        "exeuted_qty": executed,
        "update_timestamp": str(ts),
        "text": "",
        "brand_new_field": {"kept": True},
    }


def test_stream_url_from_rest_base() -> None:
    assert stream_url("http://127.0.0.1:8765") == "ws://127.0.0.1:8765/api/v1"
    assert stream_url("https://api.truex.co/v1/cefi") == "wss://api.truex.co/api/v1"
    assert stream_url("https://prod.truex.co/api/v1/") == "wss://prod.truex.co/api/v1"


async def test_subscribe_and_book_synced(server: FakeExchange, stream: tuple[AsyncStream, Collector]) -> None:
    s, events = stream
    await s.subscribe("DEPTH", ["BTC-PYUSD"])
    book = s.book("BTC-PYUSD")
    await until(lambda: book.is_synced)
    assert book.bbo() == (Decimal("100.0"), Decimal("101.0"))
    assert book.spread == Decimal("1.0") and book.mid == Decimal("100.5")
    request = server.requests[0]
    assert request["type"] == "SUBSCRIBE" and request["channels"] == ["DEPTH"]
    assert request["key"] == KEY and "signature" in request
    await server.ado(server.send(server.conn, "DEPTH", "UPDATE", {"symbol": "BTC-PYUSD", "bids": [
        {"price": "100.0", "qty": "0"}, {"price": "100.5", "qty": "3"}], "asks": []}))  # fmt: skip
    await until(lambda: book.best_bid == Decimal("100.5"))
    assert book.bid_qty(Decimal("100.0")) is None
    snap = book.snapshot()
    assert snap.is_synced and snap.bids == ((Decimal("100.5"), Decimal("3")),)
    assert State.LIVE in events.states()
    assert s.last_message_at is not None


async def test_no_auth_subscribe_without_credentials(server: FakeExchange) -> None:
    async with AsyncStream(server.url, **FAST) as s:  # type: ignore[arg-type]
        await s.subscribe("DEPTH", "BTC-PYUSD")
        await until(lambda: s.book("BTC-PYUSD").is_synced)
    request = server.requests[0]
    assert request["type"] == "SUBSCRIBE_NO_AUTH"
    assert not {"key", "signature", "organization_id"} & set(request)


async def test_seqnum_gap_marks_stale_and_resyncs(
    server: FakeExchange, stream: tuple[AsyncStream, Collector]
) -> None:
    s, events = stream
    await s.subscribe("DEPTH", ["BTC-PYUSD"])
    book = s.book("BTC-PYUSD")
    await until(lambda: book.is_synced)
    server.depth_snapshot = lambda symbol: {
        "bids": [{"price": "99", "qty": "5"}],
        "asks": [{"price": "102", "qty": "1"}],
    }
    await server.ado(
        server.send(server.conn, "DEPTH", "UPDATE", {"symbol": "BTC-PYUSD", "bids": [], "asks": []}, skip=1)
    )
    await until(lambda: bool(events.of(Gap)))
    gap = events.of(Gap)[0]
    assert gap.channel == "DEPTH" and gap.expected == gap.received - 1 and gap.items == ("BTC-PYUSD",)
    await until(lambda: ("SUBSCRIBE", ("DEPTH",)) in server.sent_types()[1:])
    assert server.sent_types()[1:3] == [("UNSUBSCRIBE", ("DEPTH",)), ("SUBSCRIBE", ("DEPTH",))]
    await until(lambda: book.is_synced)
    assert book.bbo() == (Decimal("99"), Decimal("102"))


async def test_crossed_book_is_stale_and_resyncs(
    server: FakeExchange, stream: tuple[AsyncStream, Collector]
) -> None:
    s, events = stream
    await s.subscribe("DEPTH", ["BTC-PYUSD"])
    book = s.book("BTC-PYUSD")
    await until(lambda: book.is_synced)
    await server.ado(
        server.send(
            server.conn,
            "DEPTH",
            "UPDATE",
            {"symbol": "BTC-PYUSD", "bids": [{"price": "105", "qty": "1"}], "asks": []},
        )
    )
    await until(lambda: any(g.reason == "crossed" for g in events.of(Gap)))
    await until(lambda: server.sent_types().count(("SUBSCRIBE", ("DEPTH",))) == 2)
    await until(lambda: book.is_synced and not book.is_crossed)


async def test_stall_reconnects_and_resubscribes(
    server: FakeExchange, stream: tuple[AsyncStream, Collector]
) -> None:
    s, events = stream
    await s.subscribe("DEPTH", ["BTC-PYUSD"])
    await until(lambda: s.book("BTC-PYUSD").is_synced)
    await server.ado(server.stall())
    await until(lambda: len(server.conns) == 2)
    await until(lambda: State.RECONNECTING in events.states() and events.states()[-1] == State.LIVE)
    await until(lambda: s.book("BTC-PYUSD").is_synced)
    assert server.sent_types().count(("SUBSCRIBE", ("DEPTH",))) == 2
    await until(lambda: s.latency is not None)


async def test_abnormal_close_reconnects(server: FakeExchange, stream: tuple[AsyncStream, Collector]) -> None:
    s, events = stream
    await s.subscribe("DEPTH", ["BTC-PYUSD"])
    book = s.book("BTC-PYUSD")
    await until(lambda: book.is_synced)
    await server.ado(server.abort())
    await until(lambda: not book.is_synced or len(server.conns) == 2)
    await until(lambda: len(server.conns) == 2 and book.is_synced)
    reconnecting = [e for e in events.of(StateChanged) if e.state == State.RECONNECTING]
    assert reconnecting and reconnecting[0].reason


async def test_auth_refusal_is_a_typed_error(server: FakeExchange) -> None:
    server.refuse = "UNAUTHORIZED"
    async with AsyncStream(server.url, credentials=CREDS, **FAST) as s:  # type: ignore[arg-type]
        events = Collector(s)
        with pytest.raises(StreamUnauthorizedError) as info:
            await s.subscribe("DEPTH", ["BTC-PYUSD"])
        await until(lambda: events.task.done())
        assert isinstance(events.error, StreamUnauthorizedError)
        assert info.value.status == "UNAUTHORIZED"
    assert len(server.conns) == 1  # no reconnect after a refusal


async def test_wrong_secret_is_refused(server: FakeExchange) -> None:
    async with AsyncStream(server.url, credentials=Credentials(KEY, "another-secret-1234"), **FAST) as s:  # type: ignore[arg-type]
        with pytest.raises(StreamUnauthorizedError):
            await s.subscribe("DROPCOPY", [CLIENT])


async def test_pathless_signature_is_offered(server: FakeExchange) -> None:
    server.check_signature = False
    async with AsyncStream(server.url, credentials=CREDS, sign_path=False, **FAST) as s:  # type: ignore[arg-type]
        await s.subscribe("DEPTH", "BTC-PYUSD")
    from truex_ext.stream import ws_signature

    request = server.requests[0]
    assert request["signature"] == ws_signature(SECRET, request["timestamp"], KEY, None)


async def test_dropcopy_reports_parse_into_order(
    server: FakeExchange, stream: tuple[AsyncStream, Collector]
) -> None:
    s, events = stream
    await s.subscribe("DROPCOPY", [CLIENT])
    await server.ado(server.send(server.conn, "DROPCOPY", "UPDATE", order_json("11", "ACTIVE", "1", "0", 1)))
    await server.ado(server.send(server.conn, "DROPCOPY", "UPDATE", order_json("11", "FILLED", "0", "1", 2)))
    await until(lambda: len(events.of(OrderUpdate)) == 2)
    first, second = events.of(OrderUpdate)
    assert isinstance(first.order, Order) and first.order.id == "11"
    assert str(second.order.status) == "FILLED" and second.order.executed_qty == Decimal("1")
    assert second.raw["brand_new_field"] == {"kept": True}
    assert second.order.additional_properties["brand_new_field"] == {"kept": True}


async def test_reconcile_after_reconnect_emits_missed_changes_once(server: FakeExchange) -> None:
    rest: dict[str, dict[str, Any]] = {}
    calls: list[list[str]] = []

    def reconcile(known: list[str]) -> list[Order]:
        calls.append(known)
        return [Order.from_dict(o) for o in rest.values()]

    async with AsyncStream(server.url, credentials=CREDS, reconcile=reconcile, **FAST) as s:  # type: ignore[arg-type]
        events = Collector(s)
        await s.subscribe("DROPCOPY", [CLIENT])
        await server.ado(
            server.send(server.conn, "DROPCOPY", "UPDATE", order_json("21", "ACTIVE", "2", "0", 1))
        )
        await until(lambda: len(events.of(OrderUpdate)) == 1)
        # While away: order 21 fills, order 22 appears. REST and the new DROPCOPY snapshot both say so.
        rest["21"] = order_json("21", "FILLED", "0", "2", 5)
        rest["22"] = order_json("22", "ACTIVE", "1", "0", 6)
        server.orders = {"22": rest["22"]}
        await server.ado(server.abort())
        await until(lambda: bool(events.of(Reconciled)))
        await asyncio.sleep(0.1)
        updates = events.of(OrderUpdate)
        after = updates[1:]
        assert sorted((u.order_id, str(u.order.status)) for u in after) == [
            ("21", "FILLED"),
            ("22", "ACTIVE"),
        ]
        marker = events.of(Reconciled)[0]
        assert marker.changed == 2 and marker.reason == "reconnect"
        assert events.events.index(marker) > max(
            events.events.index(u) for u in after if u.source == "reconcile"
        )
        assert calls == [["21"]]


async def test_private_queue_overflow_fails_loudly(server: FakeExchange) -> None:
    async with AsyncStream(server.url, credentials=CREDS, max_pending=8, **FAST) as s:  # type: ignore[arg-type]
        await s.subscribe("DROPCOPY", [CLIENT])  # nobody consumes: the order updates pile up

        async def flood() -> None:
            with contextlib.suppress(ConnectionClosed):
                for i in range(20):
                    await server.send(
                        server.conn, "DROPCOPY", "UPDATE", order_json(str(100 + i), "ACTIVE", "1", "0", i)
                    )

        await server.ado(flood())
        await until(lambda: s.state == State.CLOSED)  # it stopped on its own, loudly
        with pytest.raises(StreamOverflowError):
            async with asyncio.timeout(5):
                async for _ in s:
                    pass


async def test_market_data_conflates_for_a_slow_consumer(server: FakeExchange) -> None:
    async with AsyncStream(server.url, credentials=CREDS, **FAST) as s:  # type: ignore[arg-type]
        await s.subscribe("DEPTH", ["BTC-PYUSD"])
        for i in range(50):
            level = [{"price": "100.0", "qty": str(i + 1)}]
            await server.ado(
                server.send(
                    server.conn, "DEPTH", "UPDATE", {"symbol": "BTC-PYUSD", "bids": level, "asks": []}
                )
            )
        await until(lambda: s.book("BTC-PYUSD").bid_qty(Decimal("100.0")) == Decimal(50))
        depth = []
        while s._queue:
            event = await s.__anext__()
            if getattr(event, "channel", None) == "DEPTH" and hasattr(event, "conflated"):
                depth.append(event)
        assert len(depth) == 1 and depth[0].conflated >= 49


async def test_close_ends_iteration_promptly(server: FakeExchange) -> None:
    s = AsyncStream(server.url, credentials=CREDS, **FAST)  # type: ignore[arg-type]
    await s.start()
    await s.subscribe("DEPTH", ["BTC-PYUSD"])
    events = Collector(s)
    async with asyncio.timeout(3):
        await s.close()
        await events.task
    assert events.error is None and s.state == State.CLOSED


def test_sync_facade(server: FakeExchange) -> None:
    with Stream(server.url, credentials=CREDS, **FAST) as s:
        s.subscribe("DEPTH", ["BTC-PYUSD"])
        seen = []
        for event in s:
            seen.append(event)
            if s.book("BTC-PYUSD").snapshot().is_synced:
                break
        assert s.book("BTC-PYUSD").snapshot().best_bid == (Decimal("100.0"), Decimal("1"))
        assert s.state == State.LIVE
    assert s.state == State.CLOSED


def test_sync_refusal_raises(server: FakeExchange) -> None:
    server.refuse = "UNAUTHORIZED"
    with Stream(server.url, credentials=CREDS, **FAST) as s:
        with pytest.raises(StreamUnauthorizedError):
            s.subscribe("DEPTH", ["BTC-PYUSD"])
        with pytest.raises(StreamUnauthorizedError):
            next(iter(s))


async def test_secret_never_in_logs_reprs_or_errors(
    server: FakeExchange, caplog: pytest.LogCaptureFixture
) -> None:
    server.refuse = "UNAUTHORIZED"
    caplog.set_level(logging.DEBUG, logger="truex")
    signatures: list[str] = []
    async with AsyncStream(server.url, credentials=CREDS, **FAST) as s:  # type: ignore[arg-type]
        with pytest.raises(StreamUnauthorizedError) as info:
            await s.subscribe("DEPTH", ["BTC-PYUSD"])
        texts = [repr(s), str(s), repr(info.value), str(info.value), repr(s.credentials)]
    signatures = [r["signature"] for r in server.requests]
    texts.append(caplog.text)
    texts.extend(str(r.__dict__) for r in caplog.records)
    sync = Stream(server.url, credentials=CREDS)
    texts.append(repr(sync))
    for text in texts:
        assert SECRET not in text
        for signature in signatures:
            assert signature not in text


def test_backoff_is_capped_and_jittered() -> None:
    import random

    backoff = Backoff(initial=0.5, maximum=30.0, jitter=0.5)
    rng = random.Random(1)
    delays = [backoff.delay(a, rng) for a in range(20)]
    assert all(0 <= d <= 30.0 for d in delays)
    assert max(delays[10:]) > 15.0 and delays[0] <= 0.5
    assert len({round(d, 6) for d in delays[10:]}) > 1  # jittered, not in step


def test_sync_close_is_bounded_on_a_stalled_server(server: FakeExchange) -> None:
    import time

    with Stream(server.url, credentials=CREDS, **FAST) as s:
        s.subscribe("DEPTH", ["BTC-PYUSD"])
        server.do(server.stall())
        started = time.monotonic()
    assert time.monotonic() - started < 5.0
    assert s.state == State.CLOSED
