"""A replaying WebSocket server for the client-path row of ``make bench`` (section ``wspath``).

``python bench/serve.py ws-replay N`` serves it: on every connection it sends WELCOME, answers the client's
first request (SUBSCRIBE or SUBSCRIBE_NO_AUTH, anything is accepted) with the confirmation the sandbox sends,
then the DEPTH frames of :func:`depth_frames` (a SNAPSHOT, SNAPSHOT_COMPLETE, ``N`` UPDATEs) as fast as the
client reads, and keeps the connection open until the client closes it.

The frames are what the sandbox sends (``truex_sandbox/ws_server.py`` ``_render``, ``ws_channels.py``
``_level``): ``json.dumps`` of the envelope, ``seqnum`` a string, prices on a 0.5 grid and quantities as the
sandbox's ``fmt`` writes them, one to three levels per UPDATE, a quarter of them deletes (``qty`` ``"0"``).
Bids stay below 110,000 and asks above it, so the book never crosses (a crossed book makes the SDK resync).

They are framed once, before the first connection (unmasked server frames, no compression: the server
declines permessage-deflate), and written to the socket in chunks, so that the server costs next to nothing
and the client measured is the bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import random
from decimal import Decimal
from typing import Any

SYMBOL = "BTC-PYUSD"
MID = Decimal(110000)
LEVELS = 50  # per side
CHUNK = 64 * 1024  # bytes per socket write


def _fmt(value: Decimal) -> str:
    from truex_sandbox.models import fmt

    return fmt(value)


def _level(price: Decimal, qty: Decimal, count: int) -> dict[str, str]:
    return {"price": _fmt(price), "qty": _fmt(qty), "order_count": str(count)}


def depth_frames(n: int, status: str = "UNAUTHENTICATED", seed: int = 16) -> list[dict[str, Any]]:
    """SNAPSHOT (seqnum 1), SNAPSHOT_COMPLETE (2), then ``n`` UPDATEs (3 .. n + 2) of BTC-PYUSD."""
    rng = random.Random(seed)
    step = Decimal("0.5")
    bid_prices = [MID - step * i for i in range(1, LEVELS + 1)]
    ask_prices = [MID + step * i for i in range(1, LEVELS + 1)]

    def qty() -> Decimal:
        return Decimal(rng.randrange(1, 250_000)) / 100_000  # 0.00001 .. 2.49999 BTC

    book = {"bids": {p: (qty(), rng.randrange(1, 5)) for p in bid_prices},
            "asks": {p: (qty(), rng.randrange(1, 5)) for p in ask_prices}}  # fmt: skip

    def envelope(seqnum: int, update: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"seqnum": str(seqnum), "channel": "DEPTH", "update": update, "status": status, "data": data}

    snapshot = {
        "symbol": SYMBOL,
        "bids": [_level(p, q, c) for p, (q, c) in sorted(book["bids"].items(), reverse=True)],
        "asks": [_level(p, q, c) for p, (q, c) in sorted(book["asks"].items())],
    }
    frames = [
        envelope(1, "SNAPSHOT", snapshot),
        {"seqnum": "2", "channel": "DEPTH", "update": "SNAPSHOT_COMPLETE", "status": status, "item": SYMBOL},
    ]
    for i in range(n):
        changed: dict[str, list[dict[str, str]]] = {"bids": [], "asks": []}
        for _ in range(rng.choices((1, 2, 3), (70, 20, 10))[0]):
            side = "bids" if rng.random() < 0.5 else "asks"
            prices = bid_prices if side == "bids" else ask_prices
            price = prices[min(int(rng.expovariate(0.15)), LEVELS - 1)]  # most activity near the top
            if rng.random() < 0.25 and price in book[side]:
                del book[side][price]
                changed[side].append(_level(price, Decimal(0), 0))
            else:
                q, c = book[side][price] = (qty(), rng.randrange(1, 5))
                changed[side].append(_level(price, q, c))
        frames.append(envelope(i + 3, "UPDATE", {"symbol": SYMBOL, **changed}))
    return frames


def _chunks(frames: list[dict[str, Any]]) -> list[bytes]:
    from websockets.frames import Frame, Opcode

    out: list[bytes] = []
    buf = bytearray()
    for frame in frames:
        buf += Frame(Opcode.TEXT, json.dumps(frame).encode()).serialize(mask=False, extensions=[])
        if len(buf) >= CHUNK:
            out.append(bytes(buf))
            buf.clear()
    if buf:
        out.append(bytes(buf))
    return out


def confirmation(status: str) -> str:
    return json.dumps(
        {
            "timestamp": "1767225600",
            "channel": "WEBSOCKET",
            "update": "SNAPSHOT",
            "status": status,
            "subscriptions": [{"channel": "DEPTH", "item_names": [SYMBOL]}],
        }
    )


async def serve(n: int) -> None:
    """Serve on a free loopback port; print ``PORT <n>`` once listening."""
    from websockets.asyncio.server import ServerConnection
    from websockets.asyncio.server import serve as ws_serve

    prepared = {s: _chunks(depth_frames(n, s)) for s in ("UNAUTHENTICATED", "AUTHENTICATED")}
    welcome = json.dumps({"channel": "WEBSOCKET", "update": "WELCOME", "version": "replay",
                          "message": "bench replay", "datetime": "2026-01-01T00:00:00Z", "connections": "1"})  # fmt: skip

    async def handler(ws: ServerConnection) -> None:
        await ws.send(welcome)
        request = json.loads(await ws.recv())
        status = "UNAUTHENTICATED" if str(request.get("type", "")).endswith("_NO_AUTH") else "AUTHENTICATED"
        await ws.send(confirmation(status))
        # Pre-framed bytes straight to the socket; drain() waits while the client is behind.
        for chunk in prepared[status]:
            ws.transport.write(chunk)
            await ws.drain()
        await ws.wait_closed()

    async with ws_serve(handler, "127.0.0.1", 0, compression=None, max_size=2**24) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"PORT {port}", flush=True)
        await server.serve_forever()


def main(n: int) -> None:
    asyncio.run(serve(n))
