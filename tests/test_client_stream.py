"""``client.stream()`` and ``truex watch`` against a served sandbox (issue 16: the client hook, items 5 and 6)."""

from __future__ import annotations

import asyncio
import gc
import io
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sandbox_support import creds_of

from truex_ext import AsyncTruex, Truex
from truex_ext.cli import main
from truex_ext.logs import clear_registered_secrets
from truex_ext.stream import AsyncStream, Backoff, Stream
from truex_ext.types import NewOrderInfo, OrderType, Side
from truex_sandbox.app import create_app
from truex_sandbox.server import RunningServer, serve_in_thread

FAST: dict[str, Any] = {
    "backoff": Backoff(initial=0.01, maximum=0.05, healthy_after=5),
    "ping_interval": 1.0,
    "ping_timeout": 2.0,
    "request_timeout": 3.0,
    "close_timeout": 0.5,
}


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serve_in_thread(create_app(ws_coalesce=0)) as running:
        yield running
    clear_registered_secrets()
    gc.collect()


def env(server: RunningServer) -> dict[str, str]:
    alice = creds_of(server.exchange, "ALICE")
    return {
        "TRUEX_BASE_URL": server.base_url,
        "TRUEX_API_KEY": alice.key_id,
        "TRUEX_API_SECRET": alice.secret,
        "TRUEX_CLIENT_ID": alice.client_id,
    }


def test_sync_client_stream_gives_a_synced_book(server: RunningServer) -> None:
    with Truex(environ=env(server)) as client, client.stream(**FAST) as stream:
        assert isinstance(stream, Stream)
        assert stream._inner.url == f"ws://127.0.0.1:{server.port}/api/v1"
        assert stream._inner.credentials is not None and stream._inner._reconciler is not None
        stream.subscribe("DEPTH", ["BTC-PYUSD"])
        deadline = time.monotonic() + 5
        while not stream.book("BTC-PYUSD").is_synced:
            assert time.monotonic() < deadline, "the book never synced"
            time.sleep(0.02)
        snap = stream.book("BTC-PYUSD").snapshot()
        assert snap.bids and snap.asks and snap.bids[0][0] < snap.asks[0][0]


async def test_async_client_stream_gives_a_synced_book_and_reconciles(server: RunningServer) -> None:
    async with AsyncTruex(environ=env(server)) as client, client.stream(**FAST) as stream:
        assert isinstance(stream, AsyncStream)
        await stream.subscribe("DEPTH", ["BTC-PYUSD"])
        book = stream.book("BTC-PYUSD")
        async with asyncio.timeout(5):
            while not book.is_synced:
                await asyncio.sleep(0.02)
        assert book.best_bid is not None and book.best_ask is not None
        # The reconcile hook is the client's REST: it answers the active orders.
        reconcile = stream._reconciler
        assert reconcile is not None
        orders = await reconcile([])  # type: ignore[misc]
        assert all(str(o.status.value) for o in orders)


def test_watch_book_prints_the_book(server: RunningServer) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["--base-url", server.base_url, "watch", "book", "BTC-PYUSD", "--depth", "3", "--max-updates", "1"],
        out=out,
        err=err,
    )
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert "BTC-PYUSD" in text and "bid" in text and "ask" in text
    assert len(text.strip().splitlines()) == 1  # piped: one plain line per update


def test_watch_orders_prints_an_order_created_over_rest(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env(server).items():
        monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()
    placed: list[str] = []

    def place() -> None:
        # Most likely after the DROPCOPY subscription is live (an UPDATE); if earlier, the subscription's
        # SNAPSHOT carries it: either way it is the one order line.
        time.sleep(0.5)
        with Truex() as client:
            btc = client.instruments.id_of("BTC-PYUSD")
            order = client.orders.create(
                info=NewOrderInfo(
                    client_id=client.client_id or "",
                    instrument_id=btc,
                    qty=Decimal("0.0100"),
                    price=Decimal("74000"),
                    side=Side.BUY,
                    type_=OrderType.LIMIT,
                )
            )
            placed.append(order.id)

    thread = threading.Thread(target=place, daemon=True)
    thread.start()
    code = main(["watch", "orders", "--max-updates", "1"], out=out, err=err)
    thread.join(10)
    assert code == 0, err.getvalue()
    assert placed and placed[0] in out.getvalue()
    assert "ACTIVE" in out.getvalue() and "BUY" in out.getvalue()
