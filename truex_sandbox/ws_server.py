"""The sandbox's WebSocket API (``/api/v1`` and ``/``), served from the engine's events.

Protocol (``openapi/truex-ws.asyncapi.yaml``, DECISIONS §21-22): WELCOME first; every request
(``SUBSCRIBE``, ``SUBSCRIBE_NO_AUTH``, ``UNSUBSCRIBE``, ``UNSUBSCRIBE_NO_AUTH``) is answered by a confirmation
listing the connection's whole subscription set, with a ``status``:

* ``UNAUTHENTICATED`` / ``AUTHENTICATED``: accepted (the connection's state: signed once, it stays
  authenticated);
* ``UNAUTHORIZED``: an unknown key, a signature that matches neither form (``timestamp + "TRUEXWS" + key +
  path`` with the path connected to, or without the path), a timestamp more than 15 s old or in the future,
  DROPCOPY without a signature;
* ``ERROR``: a DROPCOPY client id that is not one of the key's clients, an unknown symbol;
* ``INVALID`` (with ``message``): a frame that is not a JSON object, binary, larger than 64 KiB, of an unknown
  type, or with missing / ill-typed fields. Nothing changes on a refused request; 5 malformed frames in a row
  close the socket (1008).

Then, per subscribed item: a SNAPSHOT (DEPTH: the whole book; EBBO, INSTRUMENT: the current state; DROPCOPY:
one per open order of the client; TRADE: none), SNAPSHOT_COMPLETE with ``item``, and UPDATEs. ``seqnum`` is one
counter per channel per connection, from 1, +1 per frame of the channel.

Flow: the engine calls :meth:`StreamServer._on_event` (under its lock, possibly from a worker thread when a
journal is configured); that only appends to a deque and wakes the event loop with
``loop.call_soon_threadsafe``. On the loop the events update the :class:`~truex_sandbox.ws_channels.Market`
mirror and are handed to each connection, which queues frames; each connection sends from its own task. So no
subscriber slows the engine or the REST path:

* no-auth subscriptions are coalesced: their updates are merged per item (DEPTH levels, the latest EBBO /
  INSTRUMENT; trades kept in order) and published every ``coalesce`` seconds (1 s default; 0 = real time);
  signed ones are real time;
* a connection's send queue is bounded (``max_queue`` frames): behind a slow reader, new market data is merged
  into the item's queued frame (latest state per item) and the ``seqnum``s it replaced are skipped, so the
  client sees a gap and resubscribes;
* DROPCOPY is never merged: more than ``max_private`` order reports waiting close the socket with
  **4008** ("DROPCOPY too far behind"); the client reconnects and reconciles through REST.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any, Final

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .connections import transport_of
from .engine import Exchange
from .events import Event
from .models import ApiKey
from .ws_channels import CHANNELS, MARKET_CHANNELS, Market, Out, merge_depth
from .ws_faults import Recording, StreamFaultPlan

__all__ = ["CLOSE_MALFORMED", "CLOSE_PRIVATE_BEHIND", "WS_PATHS", "StreamServer", "ws_signature"]

#: Where the WebSocket API is served: the documented channel path and the bare root (DECISIONS §21).
WS_PATHS: Final = ("/api/v1", "/")

#: Close code when DROPCOPY reports pile up behind a slow reader.
CLOSE_PRIVATE_BEHIND: Final = 4008
#: Close code after repeated malformed frames (policy violation).
CLOSE_MALFORMED: Final = 1008
MAX_FRAME: Final = 64 * 1024
MAX_MALFORMED: Final = 5
TIMESTAMP_WINDOW: Final = 15
VERSION: Final = "1.0.5"
REQUEST_TYPES = frozenset({"SUBSCRIBE", "SUBSCRIBE_NO_AUTH", "UNSUBSCRIBE", "UNSUBSCRIBE_NO_AUTH"})
_AUTH_FIELDS = ("organization_id", "key", "signature")
#: Seconds a frame held back by a ``reorder`` fault waits for the next one before it goes out anyway.
REORDER_HOLD = 0.2


def ws_signature(secret: str, timestamp: str, key: str, path: str) -> str:
    """Base64 HMAC-SHA256 of ``timestamp + "TRUEXWS" + key + path`` (``path=""``: the pathless form)."""
    payload = f"{timestamp}TRUEXWS{key}{path}".encode()
    return base64.b64encode(hmac.digest(secret.encode("utf-8"), payload, "sha256")).decode("ascii")


class _Refused(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Entry:
    """One queued frame: a control frame (``frame``), a data frame or a SNAPSHOT_COMPLETE marker."""

    __slots__ = ("channel", "count", "data", "frame", "item", "update")

    def __init__(
        self,
        channel: str,
        item: str,
        update: str,
        data: dict[str, Any] | None = None,
        frame: dict[str, Any] | None = None,
    ) -> None:
        self.channel, self.item, self.update, self.data, self.frame = channel, item, update, data, frame
        self.count = 1  # frames this one stands for (>1: merged behind a slow reader, seqnums skipped)


def _merge(channel: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return merge_depth(old, new) if channel == "DEPTH" else new


class StreamServer:
    """The WebSocket endpoint of one app (see the module docstring). Starts listening to the engine on the
    first connection."""

    def __init__(
        self,
        exchange: Exchange,
        *,
        clock: Callable[[], float] = time.time,
        coalesce: float = 1.0,
        max_queue: int = 1000,
        max_private: int = 10_000,
    ) -> None:
        if coalesce < 0:
            raise ValueError("coalesce must be >= 0 seconds")
        self.exchange = exchange
        self.clock = clock
        self.coalesce = coalesce
        self.max_queue = max_queue
        self.max_private = max_private
        #: Injected stream faults (:mod:`truex_sandbox.ws_faults`); empty by default.
        self.faults = StreamFaultPlan(clock=clock)
        #: Every frame sent, when recording (:meth:`record`).
        self.recording: Recording | None = None
        self._next_conn = 0
        self.market: Market | None = None
        self.connections: set[_Connection] = set()
        self._inbox: collections.deque[Event] = collections.deque()
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._starting: asyncio.Future[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ------------------------------------------------------------------------------------ engine side
    async def start(self) -> None:
        """Subscribe to the engine (once) and build the market mirror from its state at that instant."""
        if self._starting is None:
            self._loop = asyncio.get_running_loop()
            self._starting = self._loop.create_future()
            try:
                self._unsubscribe, state = await asyncio.to_thread(
                    self.exchange.subscribe_with_state, self._on_event
                )
                self.market = Market(state)
                self._drain()
                self._starting.set_result(None)
            except BaseException as exc:
                self._starting.set_exception(exc)
                self._starting = None
                raise
        else:
            await asyncio.shield(self._starting)

    def record(self, path: str | None = None) -> Recording:
        """Start recording every frame sent (in memory, and to ``path`` as JSON lines when given)."""
        self.recording = Recording(path, clock=self.clock)
        return self.recording

    def close(self) -> None:
        """Stop listening to the engine."""
        if self.recording is not None:
            self.recording.close()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_event(self, event: Event) -> None:
        # Called by the engine under its lock, on whatever thread runs the command: only enqueue.
        self._inbox.append(event)
        if not self._scheduled and self._loop is not None:
            self._scheduled = True
            with contextlib.suppress(RuntimeError):  # the loop is closed: the server is gone
                self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._scheduled = False
        if self.market is None:
            return
        events: list[Event] = []
        inbox = self._inbox
        while inbox:
            events.append(inbox.popleft())
        if not events:
            return
        outs = self.market.apply(events)
        if outs:
            for conn in tuple(self.connections):
                conn.publish(outs)

    # ------------------------------------------------------------------------------------ connections
    async def endpoint(self, websocket: WebSocket) -> None:
        """The ASGI WebSocket endpoint."""
        refuse = self.faults.take(("refuse",))
        if refuse is not None and "websocket.http.response" in websocket.scope.get("extensions", {}):
            retry = str(max(0, int(-(-refuse.retry_after // 1))))
            answer = PlainTextResponse(
                "injected fault: 503 Service Unavailable", 503, headers={"retry-after": retry}
            )
            await websocket.send_denial_response(answer)
            return
        if refuse is not None:
            await websocket.close(1013, "injected fault: try again later")
            return
        await websocket.accept()
        try:
            await self.start()
        except Exception:
            await websocket.close(1011, "the exchange feed is unavailable")
            return
        conn = _Connection(self, websocket)
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)

    def connections_from(self, host: str | None) -> int:
        return sum(1 for c in self.connections if c.host == host)


class _Connection:
    def __init__(self, server: StreamServer, websocket: WebSocket) -> None:
        self.server = server
        self.ws = websocket
        self.host = websocket.client.host if websocket.client else None
        self.path = websocket.url.path or "/"
        self.authenticated = False
        #: channel -> item -> subscribed with a signature (real time) or not (coalesced)
        self.subs: dict[str, dict[str, bool]] = {}
        self.seq: dict[str, int] = {}
        self.queue: collections.deque[_Entry] = collections.deque()
        self.index: dict[tuple[str, str], _Entry] = {}
        self.private = 0
        self.coalesced: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.malformed = 0
        self.closing: tuple[int, str, bool] | None = None  # code, reason, send what is queued first
        self.wake = asyncio.Event()
        server._next_conn += 1
        self.number = server._next_conn
        self.held: list[dict[str, Any]] | None = None  # frames held back by a reorder fault

    @property
    def status(self) -> str:
        return "AUTHENTICATED" if self.authenticated else "UNAUTHENTICATED"

    # ------------------------------------------------------------------------------------ tasks
    async def run(self) -> None:
        self.control(
            {
                "channel": "WEBSOCKET",
                "update": "WELCOME",
                "message": "Welcome to the TrueX sandbox WebSocket API",
                "version": VERSION,
                "datetime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.server.clock())),
                "connections": str(self.server.connections_from(self.host)),
            }
        )
        tasks = [asyncio.ensure_future(self._receive()), asyncio.ensure_future(self._send())]
        if self.server.coalesce > 0:
            tasks.append(asyncio.ensure_future(self._flush_every(self.server.coalesce)))
        try:
            await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.ws.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await self.ws.close()

    async def _receive(self) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if self.closing is None:
                    self.handle(message.get("text"), message.get("bytes"))

    async def _send(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            while True:
                while not self.queue and self.closing is None:
                    self.wake.clear()
                    if self.held is None:
                        await self.wake.wait()
                    elif not await self._woken_within(REORDER_HOLD):
                        # a reordered frame goes after the next one, or late on a quiet stream: never lost
                        held, self.held = self.held, None
                        for frame in held:
                            await self._send_frame(frame)
                if self.closing is not None and (not self.closing[2] or not self.queue):
                    code, reason, _ = self.closing
                    await self.ws.close(code, reason)
                    return
                entry = self._pop()
                frames = await self._faulted(entry, self._render(entry))
                if frames is None:
                    return
                for frame in frames:
                    await self._send_frame(frame)

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        await self.ws.send_text(json.dumps(frame))
        if self.server.recording is not None:
            self.server.recording.record(self.number, frame)

    async def _woken_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.wake.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _faulted(self, entry: _Entry, frame: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The frames to send for ``frame`` under the stream fault plan; None: stop sending."""
        faults = self.server.faults
        if not faults.rules:
            return [frame]
        data = entry.frame is None
        channel = entry.channel if data else None
        rule = faults.take(("stall", "close", "close-clean", "drop"), channel)
        if rule is not None and rule.fault == "stall":
            assert rule.seconds is not None
            transport = transport_of(self.ws.scope)
            if transport is not None:
                transport.pause_reading()  # pings unanswered too: a half-open link
            try:
                await asyncio.sleep(rule.seconds)
            finally:
                if transport is not None and not transport.is_closing():
                    transport.resume_reading()
            return [frame]
        if rule is not None and rule.fault == "drop":
            transport = transport_of(self.ws.scope)
            if transport is not None:
                transport.abort()
                return None
        if rule is not None:
            assert rule.code is not None
            await self.ws.close(rule.code, rule.reason)
            return None
        if not data:
            return [frame]
        if entry.update == "SNAPSHOT":
            rule = faults.take(("delay-snapshot",), channel)
            if rule is not None and rule.seconds is not None:
                await asyncio.sleep(rule.seconds)
        rule = faults.take(("skip",), channel)
        if rule is not None:
            number = int(frame["seqnum"]) + rule.count
            self.seq[entry.channel] = number
            frame["seqnum"] = str(number)
        rule = faults.take(("unknown-field", "unknown-enum"), channel)
        if rule is not None:
            assert rule.field is not None
            frame = json.loads(json.dumps(frame))  # queued data may be shared with the market mirror
            if rule.fault == "unknown-field" and isinstance(frame.get("data"), dict):
                frame["data"][rule.field] = rule.value
            else:
                frame[rule.field] = rule.value
        frames = [frame]
        rule = faults.take(("duplicate",), channel)
        if rule is not None:
            frames.append(frame)
        if self.held is not None:
            frames.extend(self.held)
            self.held = None
        elif faults.take(("reorder",), channel) is not None:
            self.held = frames  # a duplicate too: both copies go late
            return []
        return frames

    async def _flush_every(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.flush()

    def close(self, code: int, reason: str, *, drain: bool = False) -> None:
        if self.closing is None:
            self.closing = (code, reason, drain)
            self.wake.set()

    # ------------------------------------------------------------------------------------ the queue
    def control(self, frame: dict[str, Any]) -> None:
        self.queue.append(_Entry("WEBSOCKET", "", "", frame=frame))
        self.wake.set()

    def _append(self, entry: _Entry) -> None:
        self.queue.append(entry)
        if entry.channel == "DROPCOPY":
            self.private += 1
            if self.private > self.server.max_private:
                self.close(CLOSE_PRIVATE_BEHIND, "DROPCOPY too far behind")
        self.wake.set()

    def _pop(self) -> _Entry:
        entry = self.queue.popleft()
        key = (entry.channel, entry.item)
        if self.index.get(key) is entry:
            del self.index[key]
        if entry.channel == "DROPCOPY":
            self.private -= 1
        return entry

    def _render(self, entry: _Entry) -> dict[str, Any]:
        if entry.frame is not None:
            return entry.frame
        number = self.seq.get(entry.channel, 0) + entry.count
        self.seq[entry.channel] = number
        frame: dict[str, Any] = {
            "seqnum": str(number),
            "channel": entry.channel,
            "update": entry.update,
            "status": self.status,
        }
        if entry.data is not None:
            frame["data"] = entry.data
        else:
            frame["item"] = entry.item
        return frame

    def _update(self, channel: str, item: str, data: dict[str, Any]) -> None:
        """Queue an UPDATE; behind a slow reader, merge it into the item's queued one (seqnums skipped)."""
        key = (channel, item)
        if channel != "DROPCOPY" and len(self.queue) >= self.server.max_queue:
            queued = self.index.get(key)
            if queued is not None:
                assert queued.data is not None
                queued.data = _merge(channel, queued.data, data)
                queued.count += 1
                return
        entry = _Entry(channel, item, "UPDATE", data)
        if channel != "DROPCOPY":
            self.index[key] = entry
        self._append(entry)

    def publish(self, outs: list[Out]) -> None:
        """Updates from the engine: queued now (signed subscriptions) or at the next flush (no-auth ones)."""
        if self.closing is not None:
            return
        coalesce = self.server.coalesce > 0
        for out in outs:
            signed = self.subs.get(out.channel, {}).get(out.item)
            if signed is None:
                continue
            if signed or not coalesce:
                self._update(out.channel, out.item, out.data)
                continue
            pending = self.coalesced.setdefault((out.channel, out.item), [])
            if out.channel == "TRADE" or not pending:
                pending.append(out.data)
            else:
                pending[-1] = _merge(out.channel, pending[-1], out.data)

    def flush(self) -> None:
        """Publish the coalesced updates (one per item; every trade)."""
        pending, self.coalesced = self.coalesced, {}
        for (channel, item), datas in pending.items():
            for data in datas:
                self._update(channel, item, data)

    def _forget(self, keys: set[tuple[str, str]]) -> None:
        """Drop queued and coalesced updates of ``keys`` (a new snapshot or an unsubscribe supersedes them)."""
        for key in keys:
            self.coalesced.pop(key, None)
            self.index.pop(key, None)
        if any((e.channel, e.item) in keys for e in self.queue):
            kept = collections.deque(
                e for e in self.queue if e.frame is not None or (e.channel, e.item) not in keys
            )
            self.private = sum(1 for e in kept if e.channel == "DROPCOPY" and e.frame is None)
            self.queue = kept

    # ------------------------------------------------------------------------------------ requests
    def handle(self, text: str | None, data: bytes | None) -> None:
        """One client frame: a confirmation (and, for an accepted subscribe, snapshots)."""
        try:
            request = self._parse(text, data)
        except _Refused as refused:
            self.malformed += 1
            self._confirm(refused.status, refused.message)
            if self.malformed >= MAX_MALFORMED:
                self.close(CLOSE_MALFORMED, "too many malformed frames", drain=True)
            return
        self.malformed = 0
        try:
            self._apply(request)
        except _Refused as refused:
            self._confirm(refused.status, refused.message)

    def _confirm(self, status: str, message: str | None = None) -> None:
        frame: dict[str, Any] = {
            "timestamp": str(int(self.server.clock())),
            "channel": "WEBSOCKET",
            "update": "SNAPSHOT",
            "status": status,
        }
        if message:
            frame["message"] = message
        frame["subscriptions"] = [
            {"channel": channel, "item_names": sorted(items)} for channel, items in self.subs.items() if items
        ]
        self.control(frame)

    @staticmethod
    def _parse(text: str | None, data: bytes | None) -> dict[str, Any]:
        def invalid(message: str) -> _Refused:
            return _Refused("INVALID", message)

        if text is None:
            raise invalid("binary frames are not accepted: send JSON text")
        if len(text) > MAX_FRAME:
            raise invalid(f"frame larger than {MAX_FRAME} bytes")
        try:
            request = json.loads(text)
        except ValueError:
            raise invalid("the frame is not JSON") from None
        if not isinstance(request, dict):
            raise invalid("the frame is not a JSON object")
        kind = request.get("type")
        if kind not in REQUEST_TYPES:
            raise invalid(f"type must be one of {', '.join(sorted(REQUEST_TYPES))}")
        for name in ("item_names", "channels"):
            value = request.get(name)
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
                raise invalid(f"{name} must be a non-empty array of non-empty strings")
        unknown = [c for c in request["channels"] if c not in CHANNELS]
        if unknown:
            raise invalid(f"unknown channel {unknown[0]!r}; channels are {', '.join(sorted(CHANNELS))}")
        timestamp = request.get("timestamp")
        if not isinstance(timestamp, str) or not timestamp.isdigit() or len(timestamp) > 12:
            raise invalid("timestamp must be UTC Unix seconds as a string")
        if kind.endswith("_NO_AUTH"):
            present = [f for f in _AUTH_FIELDS if f in request]
            if present:
                raise invalid(f"a {kind} request must not carry {', '.join(present)}")
        else:
            for name in ("key", "signature"):
                if not isinstance(request.get(name), str) or not request[name]:
                    raise invalid(f"a {kind} request needs {name} (use {kind}_NO_AUTH without credentials)")
            org = request.get("organization_id")
            if org is not None and not isinstance(org, str):
                raise invalid("organization_id must be a string")
        return request

    def _check_time(self, timestamp: str, signed: bool) -> None:
        age = self.server.clock() - int(timestamp)
        if age > TIMESTAMP_WINDOW or age < -1:
            status = "UNAUTHORIZED" if signed else "INVALID"
            raise _Refused(
                status, f"timestamp {timestamp} is not within {TIMESTAMP_WINDOW} s of the server time"
            )

    def _verify(self, request: dict[str, Any]) -> ApiKey:
        key = self.server.exchange.authenticate_key(request["key"])
        signature = request["signature"]
        if key is None:
            raise _Refused("UNAUTHORIZED", "unknown key")
        timestamp = request["timestamp"]
        forms = {self.path, ""}
        if not any(
            hmac.compare_digest(ws_signature(key.secret, timestamp, key.key_id, path), signature)
            for path in forms
        ):
            raise _Refused(
                "UNAUTHORIZED",
                f'signature does not match Base64(HMAC-SHA256(secret, timestamp + "TRUEXWS" + key + '
                f'"{self.path}")) (the pathless form is accepted too)',
            )
        return key

    def _apply(self, request: dict[str, Any]) -> None:
        kind: str = request["type"]
        signed = not kind.endswith("_NO_AUTH")
        subscribe = kind.startswith("SUBSCRIBE")
        channels: list[str] = list(dict.fromkeys(request["channels"]))
        items: list[str] = list(dict.fromkeys(request["item_names"]))
        self._check_time(request["timestamp"], signed)
        if self.server.faults.take(("deny-auth",)) is not None:
            raise _Refused(
                "UNAUTHORIZED", "injected fault: authorization denied (truex-sandbox stream fault)"
            )
        market = self.server.market
        assert market is not None
        if "DROPCOPY" in channels and not signed:
            raise _Refused("UNAUTHORIZED", "DROPCOPY is authenticated only: send a signed SUBSCRIBE")
        key = self._verify(request) if signed else None
        if key is not None and "DROPCOPY" in channels:
            foreign = [i for i in items if i not in key.client_ids]
            if foreign:
                raise _Refused("ERROR", f"client id {foreign[0]} is not one of this key's clients")
        if subscribe and any(c in MARKET_CHANNELS for c in channels):
            unknown = [i for i in items if i not in market.ids]
            if unknown:
                raise _Refused("ERROR", f"unknown instrument symbol {unknown[0]!r}")
        if key is not None:
            self.authenticated = True
        keys = {(c, i) for c in channels for i in items}
        self._forget(keys if not subscribe else {k for k in keys if k[0] != "DROPCOPY"})
        for channel in channels:
            current = self.subs.setdefault(channel, {})
            for item in items:
                if subscribe:
                    current[item] = signed or current.get(item, False)
                else:
                    current.pop(item, None)
        self._confirm(self.status)
        if subscribe:
            for channel in channels:
                for item in items:
                    self._snapshot(market, channel, item)

    def _snapshot(self, market: Market, channel: str, item: str) -> None:
        if channel == "DROPCOPY":
            datas = market.open_orders(item)
        elif channel == "TRADE":
            datas = []
        else:
            instrument_id = market.ids[item]
            view = {"DEPTH": market.depth, "EBBO": market.ebbo, "INSTRUMENT": market.instrument}[channel]
            datas = [view(instrument_id)]
        for data in datas:
            self._append(_Entry(channel, item, "SNAPSHOT", data))
        self._append(_Entry(channel, item, "SNAPSHOT_COMPLETE"))
