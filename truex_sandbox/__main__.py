"""``truex-sandbox`` / ``python -m truex_sandbox``: run the local TrueX exchange.

    truex-sandbox [--host 127.0.0.1] [--port 8765] [--seed FILE] [--db PATH] [--fresh-keys]
                  [--legacy accept|gone] [--strict] [--jwt-key-file PATH]
                  [--ws-coalesce SECONDS] [--faults FILE] [--rate-limits PROFILE|FILE]
                  [--record FILE]

On start it prints the base URL (the real port when ``--port 0``), the web page's address (``/``) and each seeded API key with its secret and
clients; then it serves until interrupted (Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from .app import LEGACY_MODES, create_app
from .connections import TrackedHTTPProtocol
from .engine import Exchange, Unavailable
from .faults import FaultError, FaultPlan, Gate, load_faults, load_stream_faults
from .jwt_keys import write_key_file
from .ratelimit import RateLimiter, RateLimitError, rate_classes
from .seed import Seed, default_seed, load_seed, seed_to_dict
from .server import WS_OPTIONS, bind_socket, print_banner

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
        help="SQLite file to keep state across restarts (a new file takes the seed; an existing one keeps its "
        "own, and refuses a --seed that differs from it); one sandbox process per file",
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
        "--jwt-key-file",
        metavar="PATH",
        help="write the first seeded JWT key's private key file here (the client's key file format) for "
        "JWT bearer auth against the sandbox's Auth API (/v1/auth)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse a query parameter the operation does not have with a 400 (the contract runs use it); "
        "by default it is ignored, named in an x-truex-sandbox-warning header and logged",
    )
    parser.add_argument(
        "--ws-coalesce",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="publish no-auth WebSocket subscriptions every SECONDS (default: 1; 0: real time, like signed ones)",
    )
    parser.add_argument(
        "--faults",
        type=Path,
        metavar="FILE",
        help="inject faults (429, 408, 5xx, slow answers, dropped connections, degraded health) as the JSON "
        "or YAML file says (see truex_sandbox/faults.py); a file that does not parse: an error, nothing served",
    )
    parser.add_argument(
        "--rate-limits",
        metavar="PROFILE|FILE",
        help="answer 429 with Retry-After above these limits: a profile (default, strict, off) or a JSON/YAML "
        "file (see truex_sandbox/ratelimit.py); off unless given",
    )
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="append every WebSocket frame sent to FILE as JSON lines "
        '{"t": unix seconds, "conn": n, "frame": {...}} (see truex_sandbox/ws_faults.py)',
    )
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


class _Server(uvicorn.Server):
    """uvicorn, printing the banner once it accepts connections (a reader of the banner can connect at once)."""

    def __init__(
        self,
        config: uvicorn.Config,
        base_url: str,
        exchange: Exchange,
        legacy: str,
        jwt_key_file: str | None = None,
    ) -> None:
        super().__init__(config)
        self._base_url = base_url
        self._exchange = exchange
        self._legacy = legacy
        self._jwt_key_file = jwt_key_file

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print_banner(self._base_url, self._exchange, legacy=self._legacy, jwt_key_file=self._jwt_key_file)


def _open_exchange(args: argparse.Namespace) -> Exchange:
    """The exchange of the command line; ``ValueError`` (one line) when the database cannot be used with it."""
    if args.seed is not None:
        seed = load_seed(args.seed, fresh_credentials=args.fresh_keys)
    else:
        seed = default_seed(fresh_credentials=args.fresh_keys)
    exchange = Exchange(seed=seed, store=args.db)
    if args.seed is not None and _seed_differs(seed, exchange.seed, args.fresh_keys):
        exchange.close()
        raise ValueError(
            f"{args.db}: was created from another seed than {args.seed}; start without --seed to keep its "
            "state, or pass a new file to --db"
        )
    return exchange


def _seed_differs(given: Seed, kept: Seed, fresh_keys: bool) -> bool:
    ours, theirs = seed_to_dict(given), seed_to_dict(kept)
    if fresh_keys:  # credentials drawn anew on every start: compare which clients each key serves only
        for data in (ours, theirs):
            data["api_keys"] = [key["clients"] for key in data["api_keys"]]
    return ours != theirs


def _gate(args: argparse.Namespace, clients: dict[str, str]) -> Gate | None:
    """The misbehaviour of the command line; ``FaultError``/``RateLimitError`` (one line) when unusable."""
    rules = load_faults(args.faults) if args.faults is not None else []
    classes = rate_classes(args.rate_limits) if args.rate_limits is not None else ()
    if not rules and not classes:
        return None
    plan = FaultPlan(rules, clients=clients)
    return Gate(plan, RateLimiter(classes, time.time) if classes else None)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        gate = _gate(args, {})
        stream_rules = load_stream_faults(args.faults) if args.faults is not None else []
    except (FaultError, RateLimitError) as exc:
        print(f"truex-sandbox: {exc}", file=sys.stderr)
        return 2
    try:
        exchange = _open_exchange(args)
    except (OSError, ValueError, Unavailable) as exc:
        # One line, no traceback: a damaged, foreign or busy database says what is wrong and what to do.
        print(f"truex-sandbox: {exc}", file=sys.stderr)
        return 2
    try:
        try:
            key_file = _write_jwt_key_file(exchange, args.jwt_key_file)
        except (OSError, ValueError) as exc:
            print(f"truex-sandbox: {exc}", file=sys.stderr)
            return 2
        try:
            sock = bind_socket(args.host, args.port)
        except OSError as exc:
            print(f"truex-sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 2
        host, port = sock.getsockname()[:2]
        base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        if gate is not None and gate.faults is not None:
            gate.faults.name_clients({c.mnemonic: c.id for c in exchange.seed.clients})
        app = create_app(
            exchange, legacy=args.legacy, strict=args.strict, ws_coalesce=args.ws_coalesce, gate=gate
        )
        app.state.stream.faults.extend(stream_rules)
        if args.record is not None:
            try:
                app.state.stream.record(args.record)
            except OSError as exc:
                print(f"truex-sandbox: --record {args.record}: {exc}", file=sys.stderr)
                return 2
        config = uvicorn.Config(
            app, log_level=args.log_level, lifespan="on", http=TrackedHTTPProtocol, **WS_OPTIONS
        )
        if threading.current_thread() is threading.main_thread():
            # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the handler that
            # was there before it. With the default one the process would die there, skipping the store's
            # close below; this one turns it into a normal exit.
            signal.signal(signal.SIGTERM, _terminated)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C, re-raised by uvicorn after its clean stop
            _Server(config, base_url, exchange, args.legacy, key_file).run(sockets=[sock])
    finally:
        exchange.close()
    return 0


def _write_jwt_key_file(exchange: Exchange, path: str | None) -> str | None:
    if path is None:
        return None
    if not exchange.seed.jwt_keys:
        raise ValueError("--jwt-key-file: the seed has no jwt_keys")
    return str(write_key_file(exchange.seed.jwt_keys[0], path))


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    raise SystemExit(main())
