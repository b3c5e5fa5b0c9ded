"""The connections beneath the clients: a plain httpx transport, built on first use, shared by copies.

A transport sends one request and returns one response (httpx's contract): no status handling, no body
rewriting, no exception mapping; all of that is the call loop's (:mod:`truex_ext._base_client`).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

import httpx

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


class SharedTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The real transports, built on first use; pass it to both httpx clients (it implements both interfaces).

    Built lazily: a sync client never needs the async transport, and each real transport loads the CA
    bundle into an SSL context (tens of milliseconds).
    """

    def __init__(
        self,
        sync: httpx.BaseTransport | None = None,
        async_: httpx.AsyncBaseTransport | None = None,
        *,
        limits: httpx.Limits | None = None,
    ) -> None:
        self._sync = sync
        self._async = async_
        self._limits = limits or DEFAULT_LIMITS
        self._lock = threading.Lock()  # one lazily built transport even when threads race to it

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
        return self._sync_transport().handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._async_transport().handle_async_request(request)

    # Idempotent: the client's httpx clients (one per API base) share this transport and each closes it.
    def close(self) -> None:
        sync, self._sync = self._sync, None
        if sync is not None:
            sync.close()

    async def aclose(self) -> None:
        async_, self._async = self._async, None
        if async_ is not None:
            await async_.aclose()
