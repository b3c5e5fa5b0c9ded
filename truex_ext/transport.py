"""The one place responses are normalised, beneath auth and above the network (sync and async).

* every non-2xx becomes a typed :mod:`truex_ext.errors` exception (RFC 7807 at the top level, inside
  ``{"error": ...}``, or a non-JSON body such as a proxy's HTML 502), so the generated parser only ever
  sees success bodies;
* a ``v2024_01_01`` body (raw arrays and objects) is wrapped into the ``v2026_01_23`` envelope the spec
  describes, so users get one set of types whatever version they pin;
* connection failures and timeouts become :class:`APIConnectionError` / :class:`APITimeoutError`;
* the server's ``Date`` header feeds the clock-skew tracker.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from .auth import ClockSkew
from .context import current_operation, response_received
from .errors import APIConnectionError, APITimeoutError, make_status_error
from .versions import HEADER, SERVER_DEFAULT_VERSION

_V2024 = SERVER_DEFAULT_VERSION
_DROP = {"content-length", "content-encoding", "transfer-encoding"}

#: How long an idle connection is kept for reuse. httpx's default, 5 s, makes a bot that calls every 10 s pay a
#: new TCP and TLS handshake on every call; 30 s keeps its connection, and stays under the idle timeouts of
#: the load balancers an exchange sits behind (60 s and more), so the client lets go first. A connection the
#: server closed earlier is noticed (readable at EOF) and replaced before it is used. ``make bench`` measures
#: a call after 10 s idle.
KEEPALIVE_EXPIRY = 30.0
DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY
)


def aiohttp_transport(**kwargs: Any) -> httpx.AsyncBaseTransport:
    """An aiohttp-backed transport for :class:`~truex_ext.AsyncTruex` (``pip install 'truex-cefi[aiohttp]'``).

    httpx 0.28's own async pool slows down as calls pile up (encode/httpx#3215): with 32 calls in flight
    ``make bench`` measures this one at about 3x its throughput. Worth it for a bot that keeps many calls
    in flight; one call at a time gains nothing. ``kwargs`` go to ``httpx_aiohttp.AiohttpTransport``
    (the SDK's keep-alive limits unless ``limits`` is given)::

        AsyncTruex(transport=truex_ext.aiohttp_transport())
    """
    try:
        module = importlib.import_module("httpx_aiohttp")
    except ImportError as exc:
        raise ImportError(
            "aiohttp_transport() needs httpx-aiohttp: pip install 'truex-cefi[aiohttp]'"
        ) from exc
    kwargs.setdefault("limits", DEFAULT_LIMITS)
    transport: httpx.AsyncBaseTransport = module.AiohttpTransport(**kwargs)
    return transport


class NormalisingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Wraps the real transports; pass it to both httpx clients (it implements both interfaces)."""

    def __init__(
        self,
        sync: httpx.BaseTransport | None = None,
        async_: httpx.AsyncBaseTransport | None = None,
        *,
        skew: ClockSkew | None = None,
        clock: Callable[[], float] = time.time,
        limits: httpx.Limits | None = None,
    ) -> None:
        # Built on first use: a sync client never needs the async transport (and each real transport
        # loads the CA bundle into an SSL context, tens of milliseconds).
        self._sync = sync
        self._async = async_
        self._limits = limits or DEFAULT_LIMITS
        self._lock = threading.Lock()  # one lazily built transport even when threads race to it
        self.skew = skew if skew is not None else ClockSkew()
        self._clock = clock

    def _sync_transport(self) -> httpx.BaseTransport:
        if self._sync is None:
            with self._lock:
                if self._sync is None:
                    self._sync = httpx.HTTPTransport(limits=self._limits)
        return self._sync

    def _async_transport(self) -> httpx.AsyncBaseTransport:
        if self._async is None:
            with self._lock:
                if self._async is None:
                    self._async = httpx.AsyncHTTPTransport(limits=self._limits)
        return self._async

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self._sync_transport().handle_request(request)
            response.read()
        except httpx.TimeoutException as exc:
            raise APITimeoutError(f"timed out: {exc}", method=request.method, url=request.url.path) from exc
        except httpx.TransportError as exc:
            raise APIConnectionError(
                f"connection failed: {exc}", method=request.method, url=request.url.path
            ) from exc
        return self._normalise(request, response)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._async_transport().handle_async_request(request)
            await response.aread()
        except httpx.TimeoutException as exc:
            raise APITimeoutError(f"timed out: {exc}", method=request.method, url=request.url.path) from exc
        except httpx.TransportError as exc:
            raise APIConnectionError(
                f"connection failed: {exc}", method=request.method, url=request.url.path
            ) from exc
        return self._normalise(request, response)

    # Idempotent: the client's httpx clients (one per API base) share this transport and each closes it.
    def close(self) -> None:
        sync, self._sync = self._sync, None
        if sync is not None:
            sync.close()

    async def aclose(self) -> None:
        async_, self._async = self._async, None
        if async_ is not None:
            await async_.aclose()

    def _normalise(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        self.skew.observe(response.headers.get("date"), self._clock())
        op = current_operation.get()
        status = response.status_code
        if not 200 <= status < 300 and (op is None or status not in op.ok_statuses or _is_problem(response)):
            raise make_status_error(
                status,
                response.headers,
                response.content,
                request.method,
                request.url.path,
                skew_offset=self.skew.offset,
            )
        response_received.set(response)
        if request.headers.get(HEADER, _V2024) != _V2024:
            return response  # already the shape the spec describes: no copy on the fast path
        try:
            body = json.loads(response.content)
        except ValueError:
            return response  # not JSON: let the parser report it with the operation's name
        wrapped = envelope(body, single=None if op is None else op.single)
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROP]
        return httpx.Response(
            status,
            headers=headers,
            content=json.dumps(wrapped, separators=(",", ":")).encode(),
            request=request,
            extensions=response.extensions,
        )


def _is_problem(response: httpx.Response) -> bool:
    """Whether a documented non-2xx status (health's 503) came with an error instead of its own body.

    A proxy's HTML page, a problem document (top level or ``{"error": ...}``) is an error to raise, not a
    body for the operation's parser.
    """
    if "problem+json" in response.headers.get("content-type", ""):
        return True
    try:
        body = json.loads(response.content)
    except ValueError:
        return True
    return not isinstance(body, dict) or "error" in body or "title" in body or "type" in body


def envelope(body: Any, *, single: bool | None) -> Any:
    """A ``v2024_01_01`` body in the ``v2026_01_23`` shape.

    ``single`` says what the operation returns (None: guess from the JSON type). A lookup answered with a
    one-element array, as v2024 often does, becomes the object.

    >>> envelope([{"id": "1"}], single=False)
    {'data': [{'id': '1'}], 'pagination': {'size': 1, 'next_cursor': None}}
    >>> envelope([{"id": "1"}], single=True)
    {'data': {'id': '1'}}
    """
    if isinstance(body, dict) and "data" in body:
        return body  # already enveloped (a server that ignores the header)
    if single is None:
        single = not isinstance(body, list)
    if single:
        if isinstance(body, list) and len(body) == 1:
            body = body[0]
        return {"data": body}
    items = body if isinstance(body, list) else [body]
    return {"data": items, "pagination": {"size": len(items), "next_cursor": None}}
