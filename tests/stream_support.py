"""A small scriptable fake of the TrueX WebSocket server, for the stream tests.

It runs ``websockets.serve`` on a free loopback port in its own thread and event loop (so sync and async tests
drive it alike), answers requests as DECISIONS §21-22 say (WELCOME first, a confirmation listing the whole
subscription set, per-channel ``seqnum`` from 1, a SNAPSHOT then SNAPSHOT_COMPLETE per item), and lets a
test skip a seqnum, stall without closing, close abnormally or refuse every signed request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from truex_ext.stream import ws_signature

KEY = "6398805c-f369-40f6-ac07-94ce683056e4"
SECRET = "FAKE-SECRET-5e0a7d22-do-not-leak"
CLIENT = "78901985048264710"


class Conn:
    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.seq: dict[str, int] = {}
        self.subs: dict[str, set[str]] = {}


class FakeExchange:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.conns: list[Conn] = []
        self.refuse: str | None = None  # a status to answer every request with
        self.check_signature = True
        self.books: dict[str, dict[str, list[dict[str, str]]]] = {}
        self.orders: dict[str, dict[str, Any]] = {}  # DROPCOPY snapshot content by order id
        self.depth_snapshot: Callable[[str], dict[str, Any]] = self._default_depth
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._server: Any = None
        self.port = self.do(self._start())

    # -------------------------------------------------------------------- thread plumbing
    def do(self, coro: Coroutine[Any, Any, Any], timeout: float = 5.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def ado(self, coro: Coroutine[Any, Any, Any]) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            for conn in self.conns:
                conn.ws.transport.abort()
            # Wait for the server's own closing task: a loop stopped under it leaves a pending task that
            # the garbage collector reports later, in whatever test is running then.
            await asyncio.wait_for(self._server.wait_closed(), 5)

        self.do(stop(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self.loop.close()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1"

    @property
    def conn(self) -> Conn:
        return self.conns[-1]

    async def _start(self) -> int:
        self._server = await serve(self._handler, "127.0.0.1", 0, ping_interval=None)
        return int(self._server.sockets[0].getsockname()[1])

    # -------------------------------------------------------------------- protocol
    def _default_depth(self, symbol: str) -> dict[str, Any]:
        return self.books.get(
            symbol,
            {
                "bids": [{"price": "100.0", "qty": "1", "order_count": "1"}],
                "asks": [{"price": "101.0", "qty": "2", "order_count": "1"}],
            },
        )

    async def send(self, conn: Conn, channel: str, update: str, data: dict[str, Any] | None = None, *,
                   item: str | None = None, skip: int = 0, seqnum: int | None = None) -> None:  # fmt: skip
        number = conn.seq.get(channel, 0) + 1 + skip if seqnum is None else seqnum
        conn.seq[channel] = number
        frame: dict[str, Any] = {
            "seqnum": str(number),
            "channel": channel,
            "update": update,
            "status": "AUTHENTICATED",
        }
        if data is not None:
            frame["data"] = data
        if item is not None:
            frame["item"] = item
        await conn.ws.send(json.dumps(frame))

    async def _snapshot(self, conn: Conn, channel: str, item: str) -> None:
        if channel == "DEPTH":
            await self.send(conn, "DEPTH", "SNAPSHOT", {"symbol": item, **self.depth_snapshot(item)})
        elif channel == "DROPCOPY":
            for order in self.orders.values():
                await self.send(conn, "DROPCOPY", "SNAPSHOT", order)
        await self.send(conn, channel, "SNAPSHOT_COMPLETE", item=item)

    async def _handler(self, ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._serve(ws)

    async def _serve(self, ws: ServerConnection) -> None:
        conn = Conn(ws)
        self.conns.append(conn)
        await ws.send(json.dumps({"channel": "WEBSOCKET", "update": "WELCOME", "message": "hi", "version": "1.0.5",
                                  "datetime": "2026-12-03T00:00:00Z", "connections": str(len(self.conns))}))  # fmt: skip
        async for raw in ws:
            request = json.loads(raw)
            self.requests.append(request)
            kind = request["type"]
            status = "UNAUTHENTICATED" if kind.endswith("_NO_AUTH") else "AUTHENTICATED"
            if not kind.endswith("_NO_AUTH") and self.check_signature:
                expected = ws_signature(SECRET, request["timestamp"], KEY, "/api/v1")
                if request.get("signature") != expected:
                    status = "UNAUTHORIZED"
            if self.refuse:
                status = self.refuse
            if status in ("AUTHENTICATED", "UNAUTHENTICATED"):
                for channel in request["channels"]:
                    items = conn.subs.setdefault(channel, set())
                    if kind.startswith("SUBSCRIBE"):
                        items.update(request["item_names"])
                    else:
                        items.difference_update(request["item_names"])
            subs = [{"channel": c, "item_names": sorted(i)} for c, i in conn.subs.items() if i]
            await ws.send(json.dumps({"timestamp": "1700000000", "channel": "WEBSOCKET", "update": "SNAPSHOT",
                                      "status": status, "subscriptions": subs}))  # fmt: skip
            if status in ("AUTHENTICATED", "UNAUTHENTICATED") and kind.startswith("SUBSCRIBE"):
                for channel in request["channels"]:
                    for item in request["item_names"]:
                        await self._snapshot(conn, channel, item)

    # -------------------------------------------------------------------- scripted faults
    async def stall(self) -> None:
        """Stop reading (so no pong either) and sending, without closing."""
        self.conn.ws.transport.pause_reading()

    async def abort(self) -> None:
        """Drop the TCP connection without a close frame (an abnormal close, 1006)."""
        self.conn.ws.transport.abort()

    def sent_types(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(r["type"], tuple(r["channels"])) for r in self.requests]


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (async) until ``predicate()`` holds; AssertionError after a generous deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.01)
