"""Streaming over the TrueX WebSocket API: ``AsyncStream`` (asyncio) and ``Stream`` (blocking).

    from truex_ext.stream import AsyncStream, stream_url
    async with AsyncStream(stream_url("http://127.0.0.1:8765"), credentials=creds) as s:
        await s.subscribe("DEPTH", ["BTC-PYUSD"])
        async for event in s:
            book = s.book("BTC-PYUSD")
            if book.is_synced:
                print(book.best_bid, book.best_ask)

Needs the ``stream`` extra (``pip install 'truex-cefi[stream]'``, the ``websockets`` library); the books,
the frame parser and :class:`Feed` work without it. ``import truex_ext`` never imports this package.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .backoff import Backoff
from .book import Books, BookSnapshot, OrderBook
from .connection import AsyncStream, Reconcile
from .errors import (
    StreamClosedError,
    StreamError,
    StreamErrorStatus,
    StreamInvalidRequestError,
    StreamOverflowError,
    StreamRefusedError,
    StreamUnauthenticatedError,
    StreamUnauthorizedError,
)
from .feed import Feed
from .messages import (
    Channel,
    Confirmation,
    DepthData,
    EbboData,
    Gap,
    InstrumentData,
    Level,
    MarketData,
    OrderUpdate,
    ProtocolError,
    Reconciled,
    ReconcileFailed,
    SnapshotComplete,
    State,
    StateChanged,
    TradeData,
    Unknown,
    Welcome,
    parse_frame,
)
from .signing import build_request, ws_signature
from .sync import Stream

__all__ = [
    "WS_PATH",
    "AsyncStream",
    "Backoff",
    "BookSnapshot",
    "Books",
    "Channel",
    "Confirmation",
    "DepthData",
    "EbboData",
    "Feed",
    "Gap",
    "InstrumentData",
    "Level",
    "MarketData",
    "OrderBook",
    "OrderUpdate",
    "ProtocolError",
    "Reconcile",
    "ReconcileFailed",
    "Reconciled",
    "SnapshotComplete",
    "State",
    "StateChanged",
    "Stream",
    "StreamClosedError",
    "StreamError",
    "StreamErrorStatus",
    "StreamInvalidRequestError",
    "StreamOverflowError",
    "StreamRefusedError",
    "StreamUnauthenticatedError",
    "StreamUnauthorizedError",
    "TradeData",
    "Unknown",
    "Welcome",
    "build_request",
    "for_client",
    "parse_frame",
    "stream_url",
    "ws_signature",
]

#: The WebSocket channel path (it did not move to ``/v1/cefi`` in v1.0.5).
WS_PATH = "/api/v1"


def stream_url(base_url: str) -> str:
    """The WebSocket URL of a REST base URL: ws for http, wss for https, path ``/api/v1``.

    >>> stream_url("http://127.0.0.1:8765/v1/cefi")
    'ws://127.0.0.1:8765/api/v1'
    >>> stream_url("https://prod.truex.co")
    'wss://prod.truex.co/api/v1'
    """
    from truex_ext.endpoints import parse_base_url

    endpoint = parse_base_url(base_url)
    parts = urlsplit(endpoint.root)
    scheme = {"http": "ws", "https": "wss"}[parts.scheme]
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}{WS_PATH}"


def for_client(client: Any, *, url: str | None = None, **options: Any) -> AsyncStream | Stream:
    """The stream of a ``Truex`` (a :class:`Stream`) or an ``AsyncTruex`` (an :class:`AsyncStream`): its URL
    derived from the client's base URL and its HMAC credentials. The hook behind ``client.stream()``.

    With credentials, order state is reconciled through the client's REST calls after a reconnect or a
    DROPCOPY gap (the active orders, then the status of each other order the stream has seen); pass
    ``reconcile=None`` to turn that off, or your own :data:`Reconcile`.
    """
    config = getattr(client, "_config", None)
    options.setdefault("credentials", getattr(config, "credentials", None))
    target = url or stream_url(client.base_url)
    is_async = type(client).__name__.startswith("Async")
    if options["credentials"] is not None and hasattr(client, "orders"):
        options.setdefault("reconcile", _async_reconcile(client) if is_async else _sync_reconcile(client))
    return AsyncStream(target, **options) if is_async else Stream(target, **options)


def _sync_reconcile(client: Any) -> Reconcile:
    def reconcile(known: list[str]) -> list[Any]:
        orders = {str(o.id): o for o in client.orders.active(size=100)}
        for order_id in known:
            if order_id not in orders:
                orders.update((str(o.id), o) for o in client.orders.status(ref_id=order_id))
        return list(orders.values())

    return reconcile


def _async_reconcile(client: Any) -> Reconcile:
    async def reconcile(known: list[str]) -> list[Any]:
        orders = {str(o.id): o async for o in client.orders.active(size=100)}
        for order_id in known:
            if order_id not in orders:
                orders.update((str(o.id), o) for o in await client.orders.status(ref_id=order_id))
        return list(orders.values())

    return reconcile
