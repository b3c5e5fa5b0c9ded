"""``truex-sandbox`` / ``python -m truex_sandbox``: run the local TrueX exchange.

    truex-sandbox [--host 127.0.0.1] [--port 8765] [--seed FILE] [--db PATH] [--fresh-keys]
                  [--legacy accept|gone] [--strict]

On start it prints the base URL (the real port when ``--port 0``) and each seeded API key with its secret and
clients; then it serves until interrupted (Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from .app import LEGACY_MODES, create_app
from .engine import Exchange
from .seed import default_seed, load_seed
from .server import bind_socket, print_banner

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="truex-sandbox",
        description="A local, stateful TrueX CeFi exchange serving the REST API v1 (HMAC auth, both API versions).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    parser.add_argument(
        "--seed", type=Path, metavar="FILE", help="JSON seed: assets, instruments, clients, keys"
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="SQLite file to keep state across restarts (a new file takes the seed; an existing one keeps its own)",
    )
    parser.add_argument(
        "--fresh-keys",
        action="store_true",
        help="random API key ids and secrets instead of the seed's (deterministic by default)",
    )
    parser.add_argument(
        "--legacy",
        choices=LEGACY_MODES,
        default="accept",
        help="the legacy base /api/v1: 'accept' serves it with Deprecation/Sunset headers (default); "
        "'gone' answers it 410 naming the /v1/cefi path, as the exchange does after its removal",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse a query parameter the operation does not have with a 400 (the contract runs use it); "
        "by default it is ignored, named in an x-truex-sandbox-warning header and logged",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


class _Server(uvicorn.Server):
    """uvicorn, printing the banner once it accepts connections (a reader of the banner can connect at once)."""

    def __init__(self, config: uvicorn.Config, base_url: str, exchange: Exchange, legacy: str) -> None:
        super().__init__(config)
        self._base_url = base_url
        self._exchange = exchange
        self._legacy = legacy

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print_banner(self._base_url, self._exchange, legacy=self._legacy)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.seed is not None:
            seed = load_seed(args.seed, fresh_credentials=args.fresh_keys)
        else:
            seed = default_seed(fresh_credentials=args.fresh_keys)
        exchange = Exchange(seed=seed, store=args.db)
    except (OSError, ValueError) as exc:
        print(f"truex-sandbox: {exc}", file=sys.stderr)
        return 2
    try:
        try:
            sock = bind_socket(args.host, args.port)
        except OSError as exc:
            print(f"truex-sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 2
        host, port = sock.getsockname()[:2]
        base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        app = create_app(exchange, legacy=args.legacy, strict=args.strict)
        config = uvicorn.Config(app, log_level=args.log_level, lifespan="on")
        if threading.current_thread() is threading.main_thread():
            # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler that
            # was there before it. With the default one the process would die there, skipping the store's
            # close below; this one turns it into a normal exit.
            signal.signal(signal.SIGTERM, _terminated)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C, re-raised by uvicorn after its clean stop
            _Server(config, base_url, exchange, args.legacy).run(sockets=[sock])
    finally:
        exchange.close()
    return 0


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    raise SystemExit(main())
