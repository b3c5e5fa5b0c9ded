"""Stream faults and recordings (truex_sandbox.ws_faults): each fault ends in what the SDK's stream client
promises (truex_ext.stream.AsyncStream against a served sandbox)."""

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
import pytest
from sandbox_support import V2026, Creds, Signer, creds_of

from truex_ext.logs import clear_registered_secrets
from truex_ext.stream import (
    AsyncStream,
    Backoff,
    Feed,
    Gap,
    MarketData,
    State,
    StateChanged,
    StreamUnauthorizedError,
)
from truex_sandbox.app import create_app
from truex_sandbox.faults import FaultError, load_faults, load_stream_faults
from truex_sandbox.server import RunningServer, serve_in_thread
from truex_sandbox.testing import Sandbox
from truex_sandbox.ws_faults import Recording, StreamFaultError, StreamFaultPlan

BTC = "200000000000000001"
SYMBOL = "BTC-PYUSD"
FAST: dict[str, Any] = {
    "backoff": Backoff(initial=0.01, maximum=0.05, healthy_after=5),
    "ping_interval": 0.2,
    "ping_timeout": 0.5,
    "idle_timeout": 0.7,
    "request_timeout": 3.0,
    "close_timeout": 0.5,
}


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serve_in_thread(create_app(ws_coalesce=0)) as running:
        yield running
    clear_registered_secrets()
    gc.collect()


def plan(server: RunningServer) -> StreamFaultPlan:
    faults: StreamFaultPlan = server.app.state.stream.faults  # type: ignore[attr-defined]
    return faults


def url(server: RunningServer) -> str:
    return f"ws://127.0.0.1:{server.port}/api/v1"


def engine(server: RunningServer) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    books = server.exchange.stream_state()["books"][BTC]
    return tuple((p, q) for p, q, _ in books["BUY"]), tuple((p, q) for p, q, _ in books["SELL"])


def place(server: RunningServer, creds: Creds, price: str, ext: str, side: str = "BUY") -> None:
    body = {"external_id": ext, "info": {"client_id": creds.client_id, "instrument_id": BTC, "qty": "0.1",
                                         "price": price, "side": side, "type": "LIMIT"}}  # fmt: skip
    with httpx.Client(base_url=server.base_url, auth=Signer(creds), headers={"X-Truex-Version": V2026}) as c:
        answer = c.post(
            "/v1/cefi/orders", content=json.dumps(body), headers={"content-type": "application/json"}
        )
        assert answer.status_code == 200, answer.text


async def until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.02)


def synced_equal(stream: AsyncStream, server: RunningServer) -> bool:
    book = stream.book(SYMBOL)
    snap = book.snapshot()
    return book.is_synced and (snap.bids, snap.asks) == engine(server)


async def collect(stream: AsyncStream, into: list[Any]) -> None:
    async for event in stream:
        into.append(event)


@pytest.mark.parametrize(
    "fault", [{"fault": "skip", "count": 2}, {"fault": "duplicate"}, {"fault": "reorder"}], ids=str
)
async def test_sequence_faults_give_a_gap_then_a_resynced_book(server: RunningServer, fault: Any) -> None:
    alice = creds_of(server.exchange, "ALICE")
    async with AsyncStream(url(server), **FAST) as stream:
        events: list[Any] = []
        reader = asyncio.create_task(collect(stream, events))
        await stream.subscribe("DEPTH", [SYMBOL])
        await until(lambda: synced_equal(stream, server))
        plan(server).add(channel="DEPTH", **fault)
        for i, price in enumerate(["74000", "74001", "74002"]):
            await asyncio.to_thread(place, server, alice, price, f"{fault['fault']}-{i}")
        await until(lambda: any(isinstance(e, Gap) and e.channel == "DEPTH" for e in events))
        await until(lambda: synced_equal(stream, server))
        reader.cancel()
    assert plan(server).fired(fault["fault"])


@pytest.mark.parametrize("fault", ["stall", "close", "close-clean", "drop"])
async def test_dead_or_closed_connection_reconnects_and_resubscribes(
    server: RunningServer, fault: str
) -> None:
    alice = creds_of(server.exchange, "ALICE")
    async with AsyncStream(url(server), **FAST) as stream:
        events: list[Any] = []
        reader = asyncio.create_task(collect(stream, events))
        await stream.subscribe("DEPTH", [SYMBOL])
        await until(lambda: synced_equal(stream, server))
        plan(server).add(fault, seconds=1.5) if fault == "stall" else plan(server).add(fault)
        await asyncio.to_thread(place, server, alice, "74000", f"{fault}-0")
        await until(lambda: stream.connections >= 2)
        await asyncio.to_thread(place, server, alice, "74001", f"{fault}-1")
        await until(lambda: synced_equal(stream, server))
        reader.cancel()
    changes = [e for e in events if isinstance(e, StateChanged)]
    assert State.RECONNECTING in [e.state for e in changes]
    if fault == "stall":  # the link went silent (no pong either): the client's idle deadline caught it
        assert any("pong" in (e.reason or "") for e in changes)
    assert plan(server).fired(fault)


async def test_refused_handshake_503_is_retried(server: RunningServer) -> None:
    plan(server).add("refuse", times=2, retry_after=0)
    async with AsyncStream(url(server), **FAST) as stream:
        await stream.subscribe("DEPTH", [SYMBOL], timeout=5)
        await until(lambda: synced_equal(stream, server))
    assert len(plan(server).fired("refuse")) == 2


async def test_refused_handshake_is_a_503_with_retry_after(server: RunningServer) -> None:
    plan(server).add("refuse", retry_after=3)
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip
    answer = await asyncio.to_thread(httpx.get, f"{server.base_url}/api/v1", headers=headers)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "3"


async def test_denied_auth_is_unauthorized_on_the_next_subscribe(server: RunningServer) -> None:
    plan(server).add("deny-auth")
    async with AsyncStream(url(server), **FAST) as stream:
        with pytest.raises(StreamUnauthorizedError):
            await stream.subscribe("DEPTH", [SYMBOL], timeout=5)
        with pytest.raises(StreamUnauthorizedError):  # the client stops: no retry loop on a denial
            await stream.subscribe("DEPTH", [SYMBOL], timeout=5)
    assert len(plan(server).fired("deny-auth")) == 1


async def test_delayed_snapshot_still_syncs(server: RunningServer) -> None:
    plan(server).add("delay-snapshot", channel="DEPTH", seconds=0.3)
    async with AsyncStream(url(server), **FAST) as stream:
        await stream.subscribe("DEPTH", [SYMBOL])
        await until(lambda: synced_equal(stream, server))
    assert plan(server).fired("delay-snapshot")


@pytest.mark.parametrize("fault", ["unknown-field", "unknown-enum"])
async def test_unknown_field_or_enum_is_parsed_and_kept(server: RunningServer, fault: str) -> None:
    rule = plan(server).add(fault, channel="EBBO")
    async with AsyncStream(url(server), **FAST) as stream:
        await stream.subscribe("EBBO", [SYMBOL])
        got: MarketData | None = None
        async with asyncio.timeout(5):
            async for event in stream:
                if isinstance(event, MarketData) and event.channel == "EBBO":
                    got = event
                    break
    assert got is not None
    if fault == "unknown-field":
        assert got.raw["data"][rule.field] == rule.value
    else:
        assert got.raw[rule.field] == rule.value == "X_SANDBOX"


async def test_a_recording_played_back_gives_the_live_book(server: RunningServer, tmp_path: Path) -> None:
    recording = server.app.state.stream.record(str(tmp_path / "frames.jsonl"))  # type: ignore[attr-defined]
    alice, bob = creds_of(server.exchange, "ALICE"), creds_of(server.exchange, "BOB")
    async with AsyncStream(url(server), **FAST) as stream:
        await stream.subscribe("DEPTH", [SYMBOL])
        await until(lambda: synced_equal(stream, server))
        await asyncio.to_thread(place, server, alice, "74000", "rec-0")
        await asyncio.to_thread(place, server, bob, "76000", "rec-1", "SELL")
        await until(lambda: synced_equal(stream, server))
        live = stream.book(SYMBOL).snapshot()
    lines = Recording.load(tmp_path / "frames.jsonl")
    assert lines and all({"t", "conn", "frame"} <= set(line) for line in lines)
    assert [line["frame"] for line in lines] == [line["frame"] for line in recording.frames]
    conn = lines[0]["conn"]
    feed = Feed()
    for frame in recording.connection(conn):
        _, gaps, _ = feed.process(frame)
        assert not gaps
    played = feed.books[SYMBOL]
    assert played.is_synced
    assert (played.snapshot().bids, played.snapshot().asks) == (live.bids, live.asks)
    assert any(p == Decimal("74000") for p, _ in played.snapshot().bids)


def test_fault_file_stream_section(tmp_path: Path) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text(
        "faults:\n  - {fault: 429, operation: create_order}\n"
        "stream:\n  - {fault: skip, channel: DEPTH, count: 2}\n  - {fault: refuse, times: 3, retry_after: 2}\n"
    )
    assert [r.fault for r in load_faults(path)] == ["429"]
    rules = load_stream_faults(path)
    assert [(r.fault, r.count, r.times) for r in rules] == [("skip", 2, 1), ("refuse", 1, 3)]
    sandbox = Sandbox(faults=path)
    assert [r.fault for r in sandbox.stream_faults.rules] == ["skip", "refuse"]
    sandbox.close()
    path.write_text("stream:\n  - {fault: explode}\n")
    with pytest.raises(FaultError, match="explode"):
        load_stream_faults(path)
    with pytest.raises(StreamFaultError, match="count"):
        StreamFaultPlan().add("skip", count=0)


def test_command_line_refuses_a_bad_stream_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from truex_sandbox.__main__ import main

    path = tmp_path / "faults.yaml"
    path.write_text("stream:\n  - {fault: skip, count: -1}\n")
    assert main(["--faults", str(path), "--port", "0"]) == 2
    assert "count" in capsys.readouterr().err


async def test_through_the_sandbox_handle() -> None:
    sandbox = Sandbox()
    try:
        with sandbox.serve():
            assert sandbox.base_url is not None
            recording = sandbox.record_stream()
            sandbox.stream_faults.add("close", channel="DEPTH")  # on the first DEPTH frame
            target = sandbox.base_url.replace("http://", "ws://") + "/api/v1"
            async with AsyncStream(target, **FAST) as stream:
                await stream.subscribe("DEPTH", [SYMBOL])
                await until(lambda: stream.connections >= 2 and stream.book(SYMBOL).is_synced)
            assert sandbox.stream_faults.fired("close")
            assert {line["conn"] for line in recording.frames} >= {1, 2}
    finally:
        sandbox.close()
        clear_registered_secrets()
