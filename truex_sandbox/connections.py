"""Dropping a client's connection from inside the app, as a flaky network or a crashed gateway would.

ASGI gives an app no handle on its connection, so a served sandbox runs uvicorn with
:class:`TrackedHTTPProtocol` (its own HTTP protocol, registering each connection's transport under the
``(client, server)`` addresses that the request's scope carries). :func:`drop_connection` aborts that
transport: the client sees the connection reset with no answer (``httpx.RemoteProtocolError`` /
``ReadError``), exactly what a lost answer looks like.

Without a tracked transport (an in-process ASGI client, another server) it answers instead with an empty
502 carrying ``x-truex-sandbox-dropped: 1``; the pytest plugin's in-process transport turns that answer
into the same ``httpx.RemoteProtocolError``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from starlette.types import Scope, Send
from uvicorn.protocols.http.auto import AutoHTTPProtocol
from uvicorn.protocols.utils import get_local_addr, get_remote_addr

__all__ = ["DROPPED_HEADER", "TrackedHTTPProtocol", "drop_connection", "transport_of"]

#: The header of the stand-in answer when the connection cannot be dropped for real.
DROPPED_HEADER: Final = "x-truex-sandbox-dropped"

_Key = tuple[tuple[str, int] | None, tuple[str, int | None] | None]
_TRANSPORTS: dict[_Key, asyncio.Transport] = {}


def _key(client: Any, server: Any) -> _Key:
    return (
        (str(client[0]), int(client[1])) if client else None,
        (str(server[0]), None if server[1] is None else int(server[1])) if server else None,
    )


class TrackedHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol, remembering its transport so that :func:`drop_connection` can abort it."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._truex_key = _key(get_remote_addr(transport), get_local_addr(transport))
        _TRANSPORTS[self._truex_key] = transport

    def connection_lost(self, exc: Exception | None) -> None:
        key = getattr(self, "_truex_key", None)
        if key is not None and _TRANSPORTS.get(key) is self.transport:
            del _TRANSPORTS[key]
        super().connection_lost(exc)


def transport_of(scope: Scope) -> asyncio.Transport | None:
    """The transport of a request's (or WebSocket's) connection when served by a tracked uvicorn, else None."""
    transport = _TRANSPORTS.get(_key(scope.get("client"), scope.get("server")))
    return transport if transport is not None and not transport.is_closing() else None


async def drop_connection(scope: Scope, send: Send) -> None:
    """Close the request's connection without an answer (see the module docstring for the fallback)."""
    transport = _TRANSPORTS.get(_key(scope.get("client"), scope.get("server")))
    if transport is not None and not transport.is_closing():
        transport.abort()
        # Let the protocol see the connection lost, so the server does not try to answer it afterwards.
        for _ in range(3):
            await asyncio.sleep(0)
        return
    await send(
        {
            "type": "http.response.start",
            "status": 502,
            "headers": [(b"content-length", b"0"), (DROPPED_HEADER.encode(), b"1")],
        }
    )
    await send({"type": "http.response.body", "body": b""})
