"""``AsyncStream``: one WebSocket that stays connected, resubscribes, keeps books and never loses order updates.

    async with AsyncStream(url, credentials=creds) as s:
        await s.subscribe("DEPTH", ["BTC-PYUSD"])
        async for event in s:
            ...

The run loop connects, waits for WELCOME, re-sends every subscription the user asked for (signed afresh) and
checks each confirmation, reconciles order state with REST after a reconnect, then reads frames until the link
dies: a closed socket, an error, or no inbound frame (data or pong) within ``idle_timeout``. It reconnects
forever with :class:`Backoff`; only a refusal (``UNAUTHORIZED``, ``UNAUTHENTICATED`` to a signed request,
``INVALID``, ``ERROR``), a private-queue overflow or :meth:`close` stops it. Errors are raised from the iterator
and from the awaited call, never only logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from truex_ext.auth import Credentials
from truex_ext.logs import logger, register_secret

from .backoff import Backoff
from .book import Books, OrderBook
from .errors import StreamClosedError, StreamError, StreamOverflowError, StreamRefusedError, refusal
from .feed import Feed, Resync
from .messages import (
    AUTH_OK,
    Channel,
    Confirmation,
    MarketData,
    OrderUpdate,
    Reconciled,
    ReconcileFailed,
    State,
    StateChanged,
    Unknown,
)
from .orders import OrderTracker
from .queue import EventQueue
from .signing import build_request

__all__ = ["AsyncStream", "Reconcile"]

#: ``reconcile(known_order_ids)`` -> the current REST state of the active orders and of those ids (``Order``
#: models). A coroutine function is awaited; a plain function runs in a worker thread.
Reconcile = Callable[[list[str]], "Iterable[Any] | Awaitable[Iterable[Any]]"]


class _ConnectionLost(StreamError):
    """The connection ended while a request waited for its confirmation (internal: the run loop retries)."""


class _DeadLink(StreamError):
    pass


def _reason(exc: BaseException) -> str:
    # Never str() of arbitrary exceptions blindly into events: they could quote a frame. Type plus a short text.
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class AsyncStream:
    """The TrueX WebSocket client (asyncio). See the module docstring and the README's "Streaming"."""

    def __init__(
        self,
        url: str,
        *,
        credentials: Credentials | None = None,
        organization_id: str | None = None,
        sign_path: bool | str = True,
        reconcile: Reconcile | None = None,
        ping_interval: float = 20.0,
        ping_timeout: float = 20.0,
        idle_timeout: float | None = None,
        open_timeout: float = 10.0,
        request_timeout: float = 10.0,
        close_timeout: float = 2.0,
        backoff: Backoff | None = None,
        max_pending: int = 10_000,
        clock: Callable[[], float] = time.time,
        connect: Callable[..., Any] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.netloc:
            raise ValueError(f"stream url {url!r} is not a ws:// or wss:// URL with a host")
        self.url = url
        self.credentials = credentials
        if credentials is not None:
            register_secret(credentials.secret)
        self.organization_id = organization_id
        path = parts.path or "/"
        self._sign_path: str | None = path if sign_path is True else (sign_path or None)
        self._reconciler = reconcile
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.idle_timeout = idle_timeout if idle_timeout is not None else ping_interval + ping_timeout
        self.open_timeout, self.request_timeout, self.close_timeout = (
            open_timeout,
            request_timeout,
            close_timeout,
        )
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._connect = connect
        self._max_pending = max_pending

        self.books = Books()
        self._feed = Feed(self.books)
        self._orders = OrderTracker()
        self._subs: dict[str, set[str]] = {}
        self._confirmed: dict[str, frozenset[str]] = {}
        self._queue: EventQueue | None = None
        self._ws: Any = None
        self._run_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._resyncing: set[str] = set()
        # A gap after the new baseline while that channel's resync was still in flight.
        self._resync_again: dict[str, Resync] = {}
        self._request_lock: asyncio.Lock | None = None
        self._pending: asyncio.Future[Confirmation] | None = None
        self._changed: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._closed = False
        self._reconciling = False
        self._held: list[OrderUpdate] = []
        self.state = State.CLOSED
        self.latency: float | None = None
        self.last_message_at: float | None = None
        self._last_inbound = 0.0
        self.connections = 0

    # ------------------------------------------------------------------------------------ public API
    def __repr__(self) -> str:
        return f"AsyncStream(url={self.url!r}, state={self.state!r}, credentials={self.credentials!r})"

    async def __aenter__(self) -> AsyncStream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start connecting in the background (``async with`` does this)."""
        if self._run_task is not None:
            return
        if self._closed:
            raise StreamClosedError("this stream was closed; make a new one")
        self._queue = EventQueue(self._max_pending)
        self._request_lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._run_task = asyncio.get_running_loop().create_task(self._run(), name="truex-stream")

    def book(self, symbol: str) -> OrderBook:
        """The DEPTH book of ``symbol`` (empty and not synced until its snapshot completes)."""
        return self.books[symbol]

    @property
    def subscriptions(self) -> dict[str, frozenset[str]]:
        """What the user asked for, by channel (re-sent after every reconnect)."""
        return {c: frozenset(i) for c, i in self._subs.items() if i}

    async def subscribe(
        self, channel: str, items: Sequence[str] | str, *, timeout: float | None = 30.0
    ) -> None:
        """Subscribe ``items`` of ``channel`` and wait until a confirmation lists them.

        Signed (``SUBSCRIBE``) with credentials, ``SUBSCRIBE_NO_AUTH`` without. The subscription is kept and
        re-sent after every reconnect. A refusal raises its typed error here and ends the stream.
        """
        channel, names = self._check(channel, items)
        self._subs.setdefault(channel, set()).update(names)
        await self._until(
            lambda: set(names) <= self._confirmed.get(channel, frozenset()), timeout, channel, True
        )

    async def unsubscribe(
        self, channel: str, items: Sequence[str] | str, *, timeout: float | None = 30.0
    ) -> None:
        """Unsubscribe and forget ``items`` of ``channel``; waits until a confirmation no longer lists them."""
        channel, names = self._check(channel, items)
        self._subs.get(channel, set()).difference_update(names)
        if self._ws is not None:
            with contextlib.suppress(_ConnectionLost):
                await self._request(False, channel, names)
        if channel == Channel.DEPTH:
            self.books.mark_stale("unsubscribed", [n for n in names if n in self.books])

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> Any:
        """The next event: a market message, an :class:`OrderUpdate`, a gap, a state change, a marker.

        Raises the stream's terminal error (a refusal, an overflow) as soon as it happens; stops after
        :meth:`close`.
        """
        queue = self._queue
        if queue is None:
            raise StreamClosedError("the stream is not started: use 'async with' or await start()")
        while True:
            if self._error is not None:
                raise self._error
            if queue:
                return queue.get_nowait()
            if self._closed:
                raise StopAsyncIteration
            await queue.wait()

    async def close(self) -> None:
        """Close the socket and stop every task, within about ``close_timeout`` seconds. Idempotent."""
        if self._closed:
            return
        self._closed = True
        tasks = [t for t in (self._run_task, *self._tasks) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self.close_timeout + 1.0)
        self._ws = None
        self.state = State.CLOSED
        self._wake()

    # ------------------------------------------------------------------------------------ internals
    def _check(self, channel: str, items: Sequence[str] | str) -> tuple[str, tuple[str, ...]]:
        if self._error is not None:
            raise self._error
        if self._closed or self._run_task is None:
            raise StreamClosedError("the stream is not running: use 'async with' or await start()")
        names = (items,) if isinstance(items, str) else tuple(items)
        if not names:
            raise ValueError("items must name at least one symbol or client id")
        channel = channel.upper()
        if channel == Channel.DROPCOPY and self.credentials is None:
            raise ValueError("DROPCOPY needs credentials (it is authenticated only)")
        return channel, names

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
        if self._queue is not None:
            self._queue.wake()

    async def _until(self, done: Callable[[], bool], timeout: float | None, channel: str, send: bool) -> None:
        assert self._changed is not None
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        sent_on = -1
        while not done():
            if self._error is not None:
                raise self._error
            if self._closed:
                raise StreamClosedError("the stream was closed")
            if send and self._ws is not None and sent_on != self.connections:
                sent_on = self.connections
                # On a lost connection the run loop re-sends it on the next one.
                with contextlib.suppress(_ConnectionLost):
                    await self._request(True, channel, tuple(self._subs.get(channel, ())))
                continue
            self._changed.clear()
            remaining = None if deadline is None else deadline - asyncio.get_running_loop().time()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"no confirmation of the {channel} subscription within {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def _emit(self, event: Any) -> None:
        assert self._queue is not None
        try:
            self._queue.put(event)
        except StreamOverflowError as exc:
            self._fail(exc)
            raise

    def _fail(self, exc: BaseException) -> None:
        if self._error is None and not self._closed:
            self._error = exc
            logger.warning("truex stream stopped: %s", _reason(exc))
            if self._run_task is not None and self._run_task is not asyncio.current_task():
                self._run_task.cancel()
        self._wake()

    def _set_state(self, state: str, attempt: int = 0, reason: str | None = None) -> None:
        self.state = state
        logger.info("truex stream %s (attempt %d)%s", state, attempt, f": {reason}" if reason else "")
        self._emit(StateChanged(state, attempt, reason))

    async def _run(self) -> None:
        attempt, first, reason = 0, True, None
        try:
            while True:
                if not first:
                    delay = self.backoff.delay(attempt - 1)
                    self._set_state(State.RECONNECTING, attempt, reason)
                    await asyncio.sleep(delay)
                else:
                    self._set_state(State.CONNECTING)
                started: float | None = None
                try:
                    ws = await self._open()
                    started = time.monotonic()
                    try:
                        await self._session(ws, first)
                    finally:
                        self._ws = None
                        self._fail_pending(_ConnectionLost("connection closed"))
                        # Not when the garbage collector closes an abandoned task (its loop is gone): there
                        # is nothing left to close the socket with.
                        if sys.exc_info()[0] is not GeneratorExit:
                            with contextlib.suppress(Exception):
                                await asyncio.wait_for(ws.close(), self.close_timeout)
                except (StreamRefusedError, StreamOverflowError):
                    raise
                except (OSError, TimeoutError, StreamError, Exception) as exc:
                    reason = _reason(exc)
                    logger.info("truex stream connection lost: %s", reason)
                if started is not None:
                    first = False
                    if time.monotonic() - started >= self.backoff.healthy_after:
                        attempt = 0
                first = False
                attempt += 1
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            self._fail(exc)
        finally:
            self.state = State.CLOSED
            self._ws = None
            for task in list(self._tasks):
                task.cancel()
            if self._error is None and self._queue is not None:
                with contextlib.suppress(StreamOverflowError):
                    self._queue.put(StateChanged(State.CLOSED))
            self._wake()

    async def _open(self) -> Any:
        connect: Callable[..., Any] | None = self._connect
        if connect is None:
            from websockets.asyncio.client import connect as ws_connect

            connect = ws_connect
        return await connect(
            self.url,
            ping_interval=None,  # our own pings: a pong counts as an inbound frame for the idle deadline
            open_timeout=self.open_timeout,
            close_timeout=self.close_timeout,
            max_size=2**24,
        )

    async def _session(self, ws: Any, first: bool) -> None:
        first_frame = await asyncio.wait_for(ws.recv(), self.open_timeout)
        self.connections += 1
        self._feed.new_connection("reconnect" if not first else "connecting")
        self._confirmed = {}
        self._last_inbound = time.monotonic()
        self._handle(first_frame)
        self._ws = ws
        reader = asyncio.ensure_future(self._reader(ws))
        pinger = asyncio.ensure_future(self._pinger(ws))
        try:
            setup = asyncio.ensure_future(self._setup(first))
            done, _ = await asyncio.wait({reader, setup}, return_when=asyncio.FIRST_COMPLETED)
            if setup in done:
                setup.result()  # a refusal raises here
                await reader
            else:
                setup.cancel()
                with contextlib.suppress(BaseException):
                    await setup
                reader.result()
        finally:
            for task in (reader, pinger):
                task.cancel()
            await asyncio.gather(reader, pinger, return_exceptions=True)

    async def _setup(self, first: bool) -> None:
        if not first and self._reconciler is not None and self._subs.get(Channel.DROPCOPY):
            # Order reports of the new session wait for the reconciliation (released after its marker): the
            # snapshot can arrive before it starts, and what changed while away is reported first.
            self._reconciling = True
        for channel in sorted(self._subs, key=lambda c: c != Channel.DROPCOPY):  # orders first
            names = tuple(sorted(self._subs[channel]))
            if names:
                await self._request(True, channel, names)
        self._set_state(State.LIVE, 0)
        if not first and self._subs.get(Channel.DROPCOPY):
            await self._reconcile("reconnect")

    async def _request(self, subscribe: bool, channel: str, names: Sequence[str]) -> Confirmation:
        assert self._request_lock is not None
        async with self._request_lock:
            ws = self._ws
            if ws is None:
                raise _ConnectionLost("not connected")
            signed = self.credentials is not None
            kind = ("SUBSCRIBE" if subscribe else "UNSUBSCRIBE") + ("" if signed else "_NO_AUTH")
            frame = build_request(
                kind,
                [channel],
                names,
                int(self._clock()),
                credentials=self.credentials,
                organization_id=self.organization_id,
                path=self._sign_path,
            )
            self._pending = asyncio.get_running_loop().create_future()
            try:
                await ws.send(json.dumps(frame))
                confirmation = await asyncio.wait_for(self._pending, self.request_timeout)
            except TimeoutError as exc:
                raise _ConnectionLost(f"no confirmation of {kind} within {self.request_timeout} s") from exc
            except Exception as exc:
                if isinstance(exc, StreamError):
                    raise
                raise _ConnectionLost(_reason(exc)) from exc
            finally:
                self._pending = None
        status = confirmation.status
        if status not in AUTH_OK or (signed and status == "UNAUTHENTICATED"):
            error = refusal(status, confirmation.message, kind)
            self._fail(error)
            raise error
        listed = confirmation.items(channel)
        if subscribe and not set(names) <= listed:
            logger.warning(
                "truex stream: %s %s not in the confirmation %s",
                channel,
                sorted(set(names) - listed),
                sorted(listed),
            )
        return confirmation

    def _fail_pending(self, exc: BaseException) -> None:
        if self._pending is not None and not self._pending.done():
            self._pending.set_exception(exc)

    async def _reader(self, ws: Any) -> None:
        """Frames in until the link dies: the socket closes, or no frame or pong arrives for ``idle_timeout``.

        The deadline is one timer per idle period watching ``_last_inbound``, not a timeout around every
        ``recv()``: per frame that timer cost as much as decoding the frame (``make bench``, row 9).
        """
        idle = self.idle_timeout
        receiving = asyncio.ensure_future(self._receive(ws))
        try:
            while not receiving.done():
                remaining = self._last_inbound + idle - time.monotonic()
                if remaining <= 0:
                    raise _DeadLink(f"no frame or pong for {idle} s")
                await asyncio.wait((receiving,), timeout=remaining)
            receiving.result()
        finally:
            receiving.cancel()
            await asyncio.gather(receiving, return_exceptions=True)

    async def _receive(self, ws: Any) -> None:
        while True:
            frame = await ws.recv()
            self._last_inbound = time.monotonic()
            self.last_message_at = self._clock()
            self._handle(frame)

    async def _pinger(self, ws: Any) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(self.ping_interval)
                sent = time.monotonic()
                waiter = await ws.ping()
                await asyncio.wait_for(waiter, self.ping_timeout)
                self.latency = time.monotonic() - sent
                self._last_inbound = time.monotonic()

    def _handle(self, frame: Any) -> None:
        try:
            msg, gaps, resyncs = self._feed.process(frame)
        except StreamError:
            raise
        except Exception as exc:  # a frame the models cannot read: kept, never dropped silently
            logger.warning("truex stream: unreadable frame (%s)", _reason(exc))
            self._emit(Unknown({"frame": frame if isinstance(frame, str) else repr(frame)[:2000]}))
            return
        assert self._queue is not None
        if isinstance(msg, Confirmation):
            self._confirmed = {s.channel: msg.items(s.channel) for s in msg.subscriptions}
            if self._pending is not None and not self._pending.done():
                self._pending.set_result(msg)
            self._wake()
        elif isinstance(msg, MarketData):
            self._queue.put_market((msg.channel, msg.item), msg)
        elif isinstance(msg, OrderUpdate):
            if self._reconciling:
                if len(self._held) >= self._max_pending:
                    overflow = StreamOverflowError(self._max_pending)
                    self._fail(overflow)
                    raise overflow
                self._held.append(msg)
            elif self._orders.is_new(msg):
                self._emit(msg)
        elif not hasattr(msg, "version"):  # Welcome is not an event
            self._emit(msg)
        for gap in gaps:
            logger.info(
                "truex stream: %s gap on %s (expected %s, got %s)",
                gap.reason,
                gap.channel,
                gap.expected,
                gap.received,
            )
            self._emit(gap)
        for resync in resyncs:
            self._start_resync(resync)

    def _start_resync(self, resync: Resync) -> None:
        if not self._subs.get(resync.channel):
            return
        if resync.channel in self._resyncing:
            # The feed ignores the old subscription's frames, so this gap is past the new snapshot: once the
            # resync in flight ends, another one (dropping it would leave the book stale for good).
            self._resync_again[resync.channel] = resync
            return
        self._resyncing.add(resync.channel)
        task = asyncio.ensure_future(self._resync(resync))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resync(self, resync: Resync) -> None:
        channel = resync.channel
        try:
            names = resync.items or tuple(sorted(self._subs.get(channel, ())))
            self._feed.resyncing(channel)
            if channel == Channel.DROPCOPY and self._reconciler is not None:
                self._reconciling = True  # as after a reconnect (see _setup)
            await self._request(False, channel, names)
            await self._request(True, channel, tuple(sorted(self._subs.get(channel, ()))))
            if channel == Channel.DROPCOPY:
                await self._reconcile("gap")
        except _ConnectionLost:
            pass  # the reconnect resubscribes everything
        except StreamRefusedError:
            pass  # already failed the stream
        finally:
            self._resyncing.discard(channel)
            again = self._resync_again.pop(channel, None)
            if again is not None and not self._closed:
                self._start_resync(again)

    async def _reconcile(self, reason: str) -> None:
        fn = self._reconciler
        if fn is None:
            return
        self._reconciling = True
        try:
            ids = self._orders.known_ids()
            if inspect.iscoroutinefunction(fn):
                result = await fn(ids)
            else:
                result = await asyncio.to_thread(fn, ids)
                if inspect.isawaitable(result):
                    result = await result
            changed = 0
            for order in result:
                raw = order.to_dict() if hasattr(order, "to_dict") else dict(order)
                update = OrderUpdate(order, "RECONCILE", None, "reconcile", raw)
                if self._orders.is_new(update):
                    self._emit(update)
                    changed += 1
            self._emit(Reconciled(changed, reason))
        except (StreamOverflowError, asyncio.CancelledError):
            raise
        except Exception as exc:
            logger.warning("truex stream: reconciliation failed: %s", _reason(exc))
            self._emit(ReconcileFailed(exc, reason))
        finally:
            self._reconciling = False
            held, self._held = self._held, []
            for update in held:
                if self._orders.is_new(update):
                    self._emit(update)
