"""The sandbox's WebSocket API end to end: a served sandbox, the SDK's stream client (and a raw socket for the
protocol edges), orders over signed REST. Every frame the sandbox sends is checked against the AsyncAPI
schemas (openapi/truex-ws.asyncapi.yaml)."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from sandbox_support import V2026, Creds, Signer, creds_of
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from truex_ext.auth import Credentials
from truex_ext.logs import clear_registered_secrets
from truex_ext.stream import AsyncStream, Backoff, OrderUpdate, Stream, StreamUnauthorizedError
from truex_sandbox.app import create_app
from truex_sandbox.engine import Exchange
from truex_sandbox.server import RunningServer, serve_in_thread
from truex_sandbox.ws_server import CLOSE_PRIVATE_BEHIND, StreamServer, _Connection, ws_signature

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi" / "truex-ws.asyncapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
MESSAGES = SPEC["components"]["messages"]
BTC = "200000000000000001"
FAST = {
    "backoff": Backoff(initial=0.01, maximum=0.05, healthy_after=5),
    "ping_interval": 1.0,
    "ping_timeout": 2.0,
    "request_timeout": 3.0,
    "close_timeout": 0.5,
}


def check_frame(frame: dict[str, Any]) -> None:
    """``frame`` validates against the AsyncAPI message it is."""
    channel, update = frame.get("channel"), frame.get("update")
    if update == "WELCOME":
        name = "Welcome"
    elif channel == "WEBSOCKET":
        name = "Confirmation"
    elif update == "SNAPSHOT_COMPLETE":
        name = "SnapshotComplete"
    else:
        name = {"INSTRUMENT": "Instrument", "EBBO": "Ebbo", "TRADE": "Trade", "DEPTH": "Depth"}.get(
            str(channel), "DropCopy"
        )
    jsonschema.validate(frame, {**MESSAGES[name]["payload"], "components": SPEC["components"]})


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serve_in_thread(create_app(ws_coalesce=0)) as running:
        yield running
    clear_registered_secrets()
    gc.collect()


def url(server: RunningServer, path: str = "/api/v1") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


def rest(server: RunningServer, creds: Creds) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, auth=Signer(creds), headers={"X-Truex-Version": V2026})


def order(c: httpx.Client, creds: Creds, side: str, price: str, qty: str, ext: str) -> dict[str, Any]:
    body = {
        "external_id": ext,
        "info": {
            "client_id": creds.client_id,
            "instrument_id": BTC,
            "qty": qty,
            "price": price,
            "side": side,
            "type": "LIMIT",
        },
    }
    answer = c.post("/v1/cefi/orders", content=json.dumps(body), headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def engine_book(server: RunningServer) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    books = server.exchange.stream_state()["books"][BTC]
    return [(p, q) for p, q, _ in books["BUY"]], [(p, q) for p, q, _ in books["SELL"]]


class Raw:
    """A raw socket that checks every received frame against the schemas."""

    def __init__(self, server: RunningServer, path: str = "/api/v1") -> None:
        self.ws: ClientConnection = connect(url(server, path)).__enter__()
        self.path = path
        self.welcome = self.recv()

    def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(self.ws.recv(timeout=timeout))
        check_frame(frame)
        return frame

    def send(self, frame: Any) -> dict[str, Any]:
        """Send a request; its confirmation."""
        self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))
        while True:
            got = self.recv()
            if got.get("channel") == "WEBSOCKET":
                return got

    def request(self, kind: str, channels: list[str], items: list[str], creds: Creds | None = None,
                *, ts: int | None = None, path: str | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
        frame: dict[str, Any] = {
            "type": kind,
            "item_names": items,
            "channels": channels,
            "timestamp": str(ts if ts is not None else int(time.time())),
        }
        if creds is not None:
            frame["key"] = creds.key_id
            frame["signature"] = ws_signature(
                creds.secret, frame["timestamp"], creds.key_id, self.path if path is None else path
            )
        frame.update(extra)
        return self.send(frame)

    def drain(self, quiet: float = 0.3) -> list[dict[str, Any]]:
        frames = []
        while True:
            try:
                frames.append(self.recv(timeout=quiet))
            except TimeoutError:
                return frames

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def raw(server: RunningServer) -> Iterator[Raw]:
    sock = Raw(server)
    yield sock
    sock.close()


# ---------------------------------------------------------------------------------------------- protocol
@pytest.mark.parametrize("path", ["/api/v1", "/"])
def test_welcome_first_and_both_paths(server: RunningServer, path: str) -> None:
    sock = Raw(server, path)
    try:
        assert sock.welcome["update"] == "WELCOME"
        assert sock.welcome["connections"] == "1"
        alice = creds_of(server.exchange, "ALICE")
        # Both signature forms: with the path connected to, and without a path.
        for sign_path in (path, ""):
            confirmation = sock.request("SUBSCRIBE", ["DROPCOPY"], [alice.client_id], alice, path=sign_path)
            assert confirmation["status"] == "AUTHENTICATED"
            assert confirmation["subscriptions"] == [{"channel": "DROPCOPY", "item_names": [alice.client_id]}]
    finally:
        sock.close()
    # the HTTP API at the same path is untouched
    assert httpx.get(server.base_url + "/api/v1/health").status_code in (200, 400)


def test_subscribe_snapshot_seqnums_and_unsubscribe(raw: Raw) -> None:
    confirmation = raw.request("SUBSCRIBE_NO_AUTH", ["DEPTH", "INSTRUMENT", "EBBO", "TRADE"], ["BTC-PYUSD"])
    assert confirmation["status"] == "UNAUTHENTICATED"
    frames = raw.drain()
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for frame in frames:
        by_channel.setdefault(frame["channel"], []).append(frame)
    for channel in ("DEPTH", "INSTRUMENT", "EBBO"):
        got = by_channel[channel]
        assert [f["update"] for f in got] == ["SNAPSHOT", "SNAPSHOT_COMPLETE"]
        assert [f["seqnum"] for f in got] == ["1", "2"]
        assert got[1]["item"] == "BTC-PYUSD"
    assert [f["update"] for f in by_channel["TRADE"]] == ["SNAPSHOT_COMPLETE"]
    gone = raw.request("UNSUBSCRIBE_NO_AUTH", ["DEPTH", "INSTRUMENT", "EBBO", "TRADE"], ["BTC-PYUSD"])
    assert gone["subscriptions"] == []


def test_statuses(server: RunningServer, raw: Raw) -> None:
    alice, bob = creds_of(server.exchange, "ALICE"), creds_of(server.exchange, "BOB")
    wrong = Creds(alice.key_id, "not-the-secret", alice.client_id)
    assert raw.request("SUBSCRIBE", ["DEPTH"], ["BTC-PYUSD"], wrong)["status"] == "UNAUTHORIZED"
    stale = int(time.time()) - 60
    assert raw.request("SUBSCRIBE", ["DEPTH"], ["BTC-PYUSD"], alice, ts=stale)["status"] == "UNAUTHORIZED"
    unknown = Creds("00000000-0000-4000-8000-000000000000", "x", alice.client_id)
    assert raw.request("SUBSCRIBE", ["DEPTH"], ["BTC-PYUSD"], unknown)["status"] == "UNAUTHORIZED"
    refused = raw.request("SUBSCRIBE", ["DROPCOPY"], [bob.client_id], alice)
    assert refused["status"] == "ERROR" and refused["subscriptions"] == []
    assert "message" in refused
    assert raw.request("SUBSCRIBE_NO_AUTH", ["DROPCOPY"], [alice.client_id])["status"] == "UNAUTHORIZED"
    assert raw.request("SUBSCRIBE_NO_AUTH", ["DEPTH"], ["NOPE-PYUSD"])["status"] == "ERROR"
    # nothing of the above changed anything; then a good one
    ok = raw.request("SUBSCRIBE", ["DROPCOPY"], [alice.client_id], alice, organization_id="any")
    assert ok["status"] == "AUTHENTICATED"
    assert ok["subscriptions"] == [{"channel": "DROPCOPY", "item_names": [alice.client_id]}]
    assert raw.request("UNSUBSCRIBE", ["DROPCOPY"], [alice.client_id], alice)["subscriptions"] == []


def test_bad_frames_change_nothing_then_close(raw: Raw) -> None:
    raw.request("SUBSCRIBE_NO_AUTH", ["TRADE"], ["BTC-PYUSD"])
    raw.drain()
    base = {"type": "SUBSCRIBE_NO_AUTH", "item_names": ["BTC-PYUSD"], "channels": ["DEPTH"],
            "timestamp": str(int(time.time()))}  # fmt: skip
    bad = [
        "not json",
        "[1, 2]",
        json.dumps({**base, "type": "PING"}),
        json.dumps({k: v for k, v in base.items() if k != "channels"}),
        json.dumps({**base, "channels": ["NOPE"]}),
        json.dumps({**base, "key": "k", "signature": "s"}),
        json.dumps({**base, "pad": "x" * 70_000}),
    ]
    for frame in bad[:4]:
        answer = raw.send(frame)
        assert answer["status"] == "INVALID", frame
        assert answer["message"]
        assert answer["subscriptions"] == [{"channel": "TRADE", "item_names": ["BTC-PYUSD"]}]
    assert raw.request("SUBSCRIBE_NO_AUTH", ["EBBO"], ["BTC-PYUSD"])["status"] == "UNAUTHENTICATED"
    raw.drain()
    for frame in bad[4:]:
        assert raw.send(frame)["status"] == "INVALID"
    # five malformed frames in a row close the socket (1008)
    raw.ws.send(b"binary")
    raw.ws.send("x")
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            raw.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


# ---------------------------------------------------------------------------------------------- with the SDK
async def test_rest_order_on_dropcopy_and_depth_async(server: RunningServer) -> None:
    alice = creds_of(server.exchange, "ALICE")
    creds = Credentials(alice.key_id, alice.secret, alice.client_id)
    async with AsyncStream(url(server), credentials=creds, **FAST) as stream:  # type: ignore[arg-type]
        await stream.subscribe("DROPCOPY", [alice.client_id])
        await stream.subscribe("DEPTH", ["BTC-PYUSD"])
        book = stream.book("BTC-PYUSD")
        await _until(lambda: book.is_synced)
        with rest(server, alice) as c:
            placed = await asyncio.to_thread(order, c, alice, "BUY", "74000", "0.25", "ws-1")
        got: OrderUpdate | None = None
        async with asyncio.timeout(5):
            async for event in stream:
                if isinstance(event, OrderUpdate) and event.order_id == placed["id"]:
                    got = event
                    break
        assert got is not None and got.update == "UPDATE"
        assert got.raw["status"] == "ACTIVE"
        await _until(lambda: book.snapshot().bids == tuple(engine_book(server)[0]))
        assert any(price == Decimal("74000") for price, _ in book.snapshot().bids)


def test_cross_gives_trade_and_ebbo_sync(server: RunningServer) -> None:
    alice = creds_of(server.exchange, "ALICE")
    raw = Raw(server)
    try:
        raw.request("SUBSCRIBE_NO_AUTH", ["TRADE", "EBBO", "INSTRUMENT"], ["BTC-PYUSD"])
        raw.drain()
        with Stream(url(server), **FAST) as stream:  # type: ignore[arg-type]
            stream.subscribe("DEPTH", ["BTC-PYUSD"])
            deadline = time.monotonic() + 5
            while not stream.book("BTC-PYUSD").is_synced and time.monotonic() < deadline:
                time.sleep(0.02)
            best_ask = engine_book(server)[1][0][0]
            with rest(server, alice) as c:
                order(c, alice, "BUY", str(best_ask), "0.1", "cross-1")
            deadline = time.monotonic() + 5
            while stream.book("BTC-PYUSD").snapshot().asks != tuple(engine_book(server)[1]):
                assert time.monotonic() < deadline, "the client's book did not follow the engine's"
                time.sleep(0.02)
        frames = raw.drain(0.5)
        trades = [f for f in frames if f["channel"] == "TRADE"]
        assert trades and trades[0]["data"]["trade_price"] == str(best_ask)
        assert trades[0]["data"]["trade_qty"] == "0.1"
        ebbos = [f for f in frames if f["channel"] == "EBBO"]
        assert ebbos and ebbos[-1]["data"]["info"]["last_trade"]["price"] == str(best_ask)
        assert [f["channel"] for f in frames].count("INSTRUMENT") >= 1
        seqs = [int(f["seqnum"]) for f in frames if f["channel"] == "EBBO"]
        assert seqs == list(range(3, 3 + len(seqs)))
    finally:
        raw.close()


async def test_sdk_refused_on_bad_signature(server: RunningServer) -> None:
    alice = creds_of(server.exchange, "ALICE")
    creds = Credentials(alice.key_id, "wrong-secret-123", alice.client_id)
    async with AsyncStream(url(server), credentials=creds, **FAST) as stream:  # type: ignore[arg-type]
        with pytest.raises(StreamUnauthorizedError):
            await stream.subscribe("DEPTH", ["BTC-PYUSD"], timeout=5)


async def test_client_book_equals_engine_book_after_orders(server: RunningServer) -> None:
    alice, bob = creds_of(server.exchange, "ALICE"), creds_of(server.exchange, "BOB")
    async with AsyncStream(url(server), **FAST) as stream:  # type: ignore[arg-type]
        await stream.subscribe("DEPTH", ["BTC-PYUSD"])
        book = stream.book("BTC-PYUSD")
        with rest(server, alice) as a, rest(server, bob) as b:
            steps = [
                (a, alice, "BUY", "74990", "0.3"),
                (b, bob, "SELL", "75010", "0.2"),
                (b, bob, "SELL", "74990", "0.1"),  # trades with alice's bid
                (a, alice, "BUY", "75010", "0.5"),  # takes bob's ask and the house's, rests the rest
                (b, bob, "SELL", "74000", "0.05"),
            ]
            for i, (c, who, side, price, qty) in enumerate(steps):
                await asyncio.to_thread(order, c, who, side, price, qty, f"seq-{i}")
                await _until(lambda: (book.snapshot().bids, book.snapshot().asks) == _engine(server))
        assert book.is_synced


def _engine(server: RunningServer) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    bids, asks = engine_book(server)
    return tuple(bids), tuple(asks)


async def _until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.02)


def test_dropcopy_frames_from_a_journaled_engine(tmp_path: Path) -> None:
    # With a journal the engine runs commands (and calls its subscribers) on worker threads.
    exchange = Exchange(store=tmp_path / "journal.db")
    try:
        with serve_in_thread(create_app(exchange, ws_coalesce=0)) as running:
            alice = creds_of(exchange, "ALICE")
            sock = Raw(running)
            try:
                with rest(running, alice) as c:
                    resting = order(c, alice, "BUY", "74000", "0.2", "dc-0")
                    confirmation = sock.request("SUBSCRIBE", ["DROPCOPY"], [alice.client_id], alice)
                    assert confirmation["status"] == "AUTHENTICATED"
                    snapshot = sock.drain()
                    assert [f["update"] for f in snapshot] == ["SNAPSHOT", "SNAPSHOT_COMPLETE"]
                    assert snapshot[0]["data"]["id"] == resting["id"]
                    best_ask = engine_book(running)[1][0][0]
                    taker = order(c, alice, "BUY", str(best_ask), "0.1", "dc-1")
                    cancel = c.delete(
                        f"/v1/cefi/orders/{resting['id']}", params={"client_id": alice.client_id}
                    )
                    assert cancel.status_code == 200, cancel.text
                frames = sock.drain(0.5)
            finally:
                sock.close()
    finally:
        exchange.close()
    reports = [(f["data"]["id"], f["data"]["status"]) for f in frames]
    assert (taker["id"], "FILLED") in reports
    assert reports[-1] == (resting["id"], "CANCELED")
    assert all("text" in f["data"] and f["status"] == "AUTHENTICATED" for f in frames)
    assert [int(f["seqnum"]) for f in frames] == list(range(3, 3 + len(frames)))


# ---------------------------------------------------------------------------------------------- queues
class _FakeSocket:
    client = None

    class url:
        path = "/api/v1"


def _subscribe(conn: Any, channels: list[str], items: list[str], creds: Creds | None = None) -> None:
    frame: dict[str, Any] = {"type": "SUBSCRIBE_NO_AUTH", "item_names": items, "channels": channels,
                             "timestamp": str(int(time.time()))}  # fmt: skip
    if creds is not None:
        frame["type"] = "SUBSCRIBE"
        frame["key"] = creds.key_id
        frame["signature"] = ws_signature(creds.secret, frame["timestamp"], creds.key_id, "/api/v1")
    conn.handle(json.dumps(frame), None)


def _place(exchange: Exchange, creds: Creds, price: str, ext: str) -> None:
    body = {"external_id": ext, "info": {"client_id": creds.client_id, "instrument_id": BTC, "qty": "0.1",
                                         "price": price, "side": "BUY", "type": "LIMIT"}}  # fmt: skip
    exchange.create_order(frozenset({creds.client_id}), body)


async def _sent(conn: Any) -> list[dict[str, Any]]:
    await asyncio.sleep(0.01)  # let the loop run the engine's hand-over
    return [conn._render(conn._pop()) for _ in range(len(conn.queue))]


async def test_slow_reader_market_data_is_conflated_with_skipped_seqnums() -> None:
    exchange = Exchange()
    server = StreamServer(exchange, coalesce=0, max_queue=4)
    await server.start()
    conn = _Connection(server, _FakeSocket())  # type: ignore[arg-type]
    server.connections.add(conn)
    _subscribe(conn, ["DEPTH"], ["BTC-PYUSD"])
    alice = creds_of(exchange, "ALICE")
    for i, price in enumerate(["74000", "74001", "74002", "74003"]):
        _place(exchange, alice, price, f"slow-{i}")
        await asyncio.sleep(0.01)  # one hand-over per order (one batch would be one update anyway)
    frames = await _sent(conn)
    depth = [f for f in frames if f["channel"] == "DEPTH"]
    assert [f["update"] for f in depth] == ["SNAPSHOT", "SNAPSHOT_COMPLETE", "UPDATE"]
    assert depth[-1]["seqnum"] == "6"  # 3, 4 and 5 were merged into it
    assert sorted(lv["price"] for lv in depth[-1]["data"]["bids"]) == ["74000", "74001", "74002", "74003"]
    server.close()


async def test_private_stream_too_far_behind_is_closed_with_4008() -> None:
    exchange = Exchange()
    server = StreamServer(exchange, coalesce=0, max_private=2)
    await server.start()
    conn = _Connection(server, _FakeSocket())  # type: ignore[arg-type]
    server.connections.add(conn)
    alice = creds_of(exchange, "ALICE")
    _subscribe(conn, ["DROPCOPY"], [alice.client_id], alice)
    for i in range(3):
        _place(exchange, alice, "74000", f"private-{i}")
    await asyncio.sleep(0.01)
    assert conn.closing is not None and conn.closing[0] == CLOSE_PRIVATE_BEHIND == 4008
    server.close()


async def test_no_auth_updates_are_coalesced_until_the_flush() -> None:
    exchange = Exchange()
    server = StreamServer(exchange, coalesce=60)
    await server.start()
    conn = _Connection(server, _FakeSocket())  # type: ignore[arg-type]
    server.connections.add(conn)
    _subscribe(conn, ["DEPTH", "TRADE"], ["BTC-PYUSD"])
    await _sent(conn)
    alice = creds_of(exchange, "ALICE")
    for i, price in enumerate(["74000", "74001"]):
        _place(exchange, alice, price, f"co-{i}")
    best_ask = exchange.stream_state()["books"][BTC]["SELL"][0][0]
    _place(exchange, alice, str(best_ask), "co-take")
    assert await _sent(conn) == []
    conn.flush()
    frames = await _sent(conn)
    depth = [f for f in frames if f["channel"] == "DEPTH"]
    assert len(depth) == 1 and depth[0]["seqnum"] == "3"  # one merged update, no gap: coalescing is by design
    assert {"74000", "74001"} <= {lv["price"] for lv in depth[0]["data"]["bids"]}
    assert [f["channel"] for f in frames].count("TRADE") == 1
    server.close()
