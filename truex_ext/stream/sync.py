"""``Stream``: the blocking facade. It runs an :class:`AsyncStream` on a background thread's event loop.

    with Stream(url, credentials=creds) as s:
        s.subscribe("DEPTH", ["BTC-PYUSD"])
        for event in s:
            print(s.book("BTC-PYUSD").snapshot().best_bid)

Every call blocks until the async call finishes and raises what it raised. Ctrl-C in the loop body (or
anywhere) leaves the ``with`` block, which closes everything within about ``close_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from .book import Books, OrderBook
from .connection import AsyncStream
from .errors import StreamClosedError

__all__ = ["Stream"]

T = TypeVar("T")


class Stream:
    """Blocking twin of :class:`AsyncStream`; takes the same arguments."""

    def __init__(self, url: str, **options: Any) -> None:
        self._options = options
        self._url = url
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stream: AsyncStream | None = None
        self._close_timeout = float(options.get("close_timeout", 2.0))

    def __repr__(self) -> str:
        inner = self._stream
        return f"Stream({inner!r})" if inner is not None else f"Stream(url={self._url!r}, not started)"

    def __enter__(self) -> Stream:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="truex-stream", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread

        async def make() -> AsyncStream:
            stream = AsyncStream(self._url, **self._options)
            await stream.start()
            return stream

        self._stream = self._call(make())

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        loop = self._loop
        if loop is None or not loop.is_running():
            coro.close()
            raise StreamClosedError("the stream is not running: use 'with' or start()")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    @property
    def _inner(self) -> AsyncStream:
        if self._stream is None:
            raise StreamClosedError("the stream is not running: use 'with' or start()")
        return self._stream

    def subscribe(self, channel: str, items: Sequence[str] | str, *, timeout: float | None = 30.0) -> None:
        self._call(self._inner.subscribe(channel, items, timeout=timeout))

    def unsubscribe(self, channel: str, items: Sequence[str] | str, *, timeout: float | None = 30.0) -> None:
        self._call(self._inner.unsubscribe(channel, items, timeout=timeout))

    def book(self, symbol: str) -> OrderBook:
        """The live book (written by the stream's thread: read it through ``.snapshot()`` here)."""
        return self._inner.book(symbol)

    @property
    def books(self) -> Books:
        return self._inner.books

    @property
    def state(self) -> str:
        return self._inner.state

    @property
    def latency(self) -> float | None:
        return self._inner.latency

    @property
    def last_message_at(self) -> float | None:
        return self._inner.last_message_at

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> Any:
        try:
            return self._call(self._inner.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def next(self, timeout: float | None = None) -> Any:
        """The next event, waiting at most ``timeout`` seconds (``TimeoutError`` then)."""
        try:
            return self._call(self._inner.__anext__(), timeout)
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        """Close the stream and stop its thread (bounded by ``close_timeout``). Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._stream is not None and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._stream.close(), loop)
            try:
                future.result(self._close_timeout + 2.0)
            except Exception:
                future.cancel()
        if loop.is_running():
            # What the socket library left running (a stalled server's reader): ended here, on its own loop,
            # not by the garbage collector after the loop is closed (an error in whatever code runs then).
            leftovers = asyncio.run_coroutine_threadsafe(_cancel_other_tasks(), loop)
            with contextlib.suppress(Exception):
                leftovers.result(self._close_timeout + 2.0)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(self._close_timeout + 2.0)
        if not thread.is_alive():
            loop.close()
        self._loop = None


async def _cancel_other_tasks() -> None:
    """Cancel every task of this loop but the caller, and wait (bounded) for them to end."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=1.0)
