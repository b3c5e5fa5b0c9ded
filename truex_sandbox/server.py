"""Serving the sandbox over real HTTP: uvicorn in a background thread, and the start-up banner.

``serve_in_thread`` is for tests, demos and notebooks: a real socket on a free loopback port, so a client
exercises the same bytes as against the exchange. The banner is the one place where API secrets are printed.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

import uvicorn
from starlette.applications import Starlette

from .app import SPEC_ROUTE, create_app
from .connections import TrackedHTTPProtocol
from .engine import Exchange
from .versions import CURRENT_BASE, LEGACY_BASE

__all__ = ["WS_OPTIONS", "RunningServer", "banner", "bind_socket", "print_banner", "serve_in_thread"]

#: uvicorn's WebSocket options for the sandbox. No per-message-deflate: on loopback compressing every frame
#: once per subscriber is pure cost (a sixth of the fan-out's CPU in a profile, `make bench` row 10), and
#: clients that offer it (websockets does by default) simply go uncompressed.
WS_OPTIONS: dict[str, Any] = {"ws_per_message_deflate": False}

_START_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A sandbox being served: where it listens and what it serves."""

    base_url: str
    host: str
    port: int
    app: Starlette

    @property
    def exchange(self) -> Exchange:
        exchange: Exchange = self.app.state.exchange
        return exchange


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; ``port=0`` picks a free one (read it back with ``getsockname()``).

    Made with ``proto=IPPROTO_TCP``: asyncio sets ``TCP_NODELAY`` on an accepted connection only when its
    socket says it is TCP, and with ``proto=0`` Nagle's algorithm held every answer on a kept-alive
    connection until the client's delayed ACK, about 40 ms (found by the contract run over HTTP).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets on Linux
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def serve_in_thread(
    app: Starlette | None = None, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
) -> Iterator[RunningServer]:
    """Serve ``app`` (default: :func:`~truex_sandbox.app.create_app`) with uvicorn in a daemon thread.

    Yields once the server accepts connections; stops it (and waits for the thread) on exit.
    """
    app = app if app is not None else create_app()
    sock = bind_socket(host, port)
    bound_port = int(sock.getsockname()[1])
    # The tracked protocol lets an injected fault drop a connection (truex_sandbox/connections.py).
    config = uvicorn.Config(
        app, log_level=log_level, access_log=False, lifespan="on", http=TrackedHTTPProtocol, **WS_OPTIONS
    )
    server = uvicorn.Server(config)
    # uvicorn only installs signal handlers on the main thread, so running it here leaves the host's alone.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="truex-sandbox", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server stopped during start-up (see the log)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox server did not start within {_START_TIMEOUT:g} s")
            time.sleep(0.01)
        yield RunningServer(base_url=_url(host, bound_port), host=host, port=bound_port, app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT)
        sock.close()


def banner(base_url: str, exchange: Exchange, legacy: str = "accept", jwt_key_file: str | None = None) -> str:
    """What ``truex-sandbox`` prints on start: where it listens and every seeded API key, secret included."""
    clients = {c.id: c for c in exchange.seed.clients}
    legacy_state = "deprecated, sunset 2026-08-05" if legacy == "accept" else "gone (410), --legacy gone"
    lines = [
        f"truex-sandbox listening on {base_url}",
        f"  API base:  {base_url}{CURRENT_BASE}   (give this, or just {base_url}, as the client's base URL)",
        f"  legacy:    {base_url}{LEGACY_BASE}    ({legacy_state})",
        f"  spec:      {base_url}{SPEC_ROUTE}",
        f"  web page:  {base_url}/   (the book, the clients and their controls, in a browser)",
        "",
        "API keys (the only time the secrets are shown):",
    ]
    for key in exchange.seed.api_keys:
        lines.append(f"  key id:  {key.key_id}")
        lines.append(f"  secret:  {key.secret}")
        for client_id in sorted(key.client_ids):
            client = clients.get(client_id)
            mnemonic = client.mnemonic if client is not None else "?"
            lines.append(f"  client:  {client_id}  ({mnemonic})")
        lines.append("")
    lines.extend(_jwt_lines(base_url, exchange, clients, jwt_key_file))
    return "\n".join(lines)


def _jwt_lines(base_url: str, exchange: Exchange, clients: dict[str, Any], key_file: str | None) -> list[str]:
    """The Auth API and the JWT key ids (never a private key: that goes to ``--jwt-key-file`` only)."""
    keys = exchange.seed.jwt_keys
    if not keys:
        return []
    lines = [f"JWT bearer auth: Auth API {base_url}/v1/auth", "  JWT keys:"]
    for key in keys:
        client = clients.get(key.client_id)
        lines.append(
            f"  key id:  {key.key_id}  client {key.client_id} ({client.mnemonic if client else '?'})"
        )
    if key_file:
        lines.append(f"  key file of {keys[0].key_id}: {key_file}  (TRUEX_JWT_KEY_FILE={key_file})")
    lines.append("")
    return lines


def print_banner(
    base_url: str,
    exchange: Exchange,
    file: TextIO | None = None,
    *,
    legacy: str = "accept",
    jwt_key_file: str | None = None,
) -> None:
    """Print :func:`banner` and flush (a parent process may be reading the pipe line by line)."""
    out = file if file is not None else sys.stdout
    print(banner(base_url, exchange, legacy, jwt_key_file), file=out, flush=True)
