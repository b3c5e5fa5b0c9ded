"""A sandbox built for tests: one exchange, its app, a controllable clock, faults and rate limits, and handles.

:class:`Sandbox` is what the pytest plugin's ``truex_sandbox`` fixture yields, and usable without pytest::

    sandbox = Sandbox()                       # in process: sandbox.app is the ASGI app, no socket
    with sandbox.serve():                     # or served by uvicorn on a free loopback port
        creds = sandbox.credentials("ALICE")  # api_key, api_secret, client_id
        sandbox.fund("ALICE", "PYUSD", "10000")
        sandbox.faults.add(429, operation="create_order", times=2)
        sandbox.clock.freeze(); sandbox.clock.advance(3600)

Everything it changes goes through the engine, so the exchange's invariants hold. It imports neither the
SDK nor the generated client: the pytest plugin builds those.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from .app import create_app
from .clock import SandboxClock
from .engine import Exchange
from .faults import Fault, FaultPlan, Gate, load_faults, load_stream_faults, parse_faults
from .ratelimit import RateClass, RateLimiter, rate_classes
from .seed import Seed, default_seed
from .ws_faults import Recording, StreamFaultPlan

__all__ = ["Credentials", "Sandbox"]


@dataclasses.dataclass(frozen=True, slots=True)
class Credentials:
    """What a client needs to sign in as one seeded client (the SDK's keyword names)."""

    api_key: str
    api_secret: str
    client_id: str

    def __repr__(self) -> str:  # never show the secret
        return f"Credentials(api_key={self.api_key!r}, client_id={self.client_id!r})"

    def as_kwargs(self) -> dict[str, str]:
        return {"api_key": self.api_key, "api_secret": self.api_secret, "client_id": self.client_id}


class Sandbox:
    """A fresh exchange with its app, steered from a test (see the module docstring).

    ``seed``: the world (default :func:`~truex_sandbox.seed.default_seed`). ``frozen_at``: start with the clock
    frozen at that Unix time (default: running real time). ``faults``: fault rules, a fault file, or decoded
    rules. ``rate_limits``: a profile name (``default``, ``strict``), a file, or None/"off" (no limits).
    ``settle_delay``: seconds a transfer takes to settle. ``market_maker``: the house quotes the seed's books.
    ``ws_coalesce``: seconds between publications of no-auth WebSocket subscriptions (0: real time).
    """

    def __init__(
        self,
        *,
        seed: Seed | None = None,
        frozen_at: float | None = None,
        faults: Iterable[Fault] | str | Path | list[Any] | None = None,
        rate_limits: str | Path | Mapping[str, Any] | Iterable[RateClass] | None = None,
        settle_delay: float = 2.0,
        market_maker: bool = True,
        strict: bool = False,
        ws_coalesce: float = 1.0,
    ) -> None:
        self.clock = SandboxClock(frozen_at=frozen_at)
        self.exchange = Exchange(
            seed if seed is not None else default_seed(market_maker=market_maker),
            clock=self.clock.time_ns,
            settle_delay_ns=round(settle_delay * 1e9),
        )
        self.seed = self.exchange.seed
        self._mnemonics = {c.mnemonic: c.id for c in self.seed.clients}
        self.faults = FaultPlan(_rules(faults), clock=self.clock.time, clients=self._mnemonics)
        classes = _classes(rate_limits)
        self.rate_limiter = RateLimiter(classes, self.clock.time) if classes else None
        self.app: Starlette = create_app(
            self.exchange,
            clock=self.clock.time,
            strict=strict,
            ws_coalesce=ws_coalesce,
            gate=Gate(self.faults, self.rate_limiter),
        )
        if isinstance(faults, str | Path):
            self.stream_faults.extend(load_stream_faults(faults))
        #: Set while :meth:`serve` runs: ``http://127.0.0.1:PORT``.
        self.base_url: str | None = None

    @property
    def stream_faults(self) -> StreamFaultPlan:
        """The WebSocket fault plan (:mod:`truex_sandbox.ws_faults`), e.g. ``stream_faults.add("stall")``."""
        plan: StreamFaultPlan = self.app.state.stream.faults
        return plan

    def record_stream(self, path: str | Path | None = None) -> Recording:
        """Record every WebSocket frame sent from now on (in memory; to ``path`` as JSON lines too)."""
        recording: Recording = self.app.state.stream.record(None if path is None else str(path))
        return recording

    # ------------------------------------------------------------------------------- who is who
    @property
    def clients(self) -> dict[str, str]:
        """mnemonic → client id of every seeded client."""
        return dict(self._mnemonics)

    def client_id(self, client: str) -> str:
        """The id of a client given by mnemonic (``"ALICE"``) or id."""
        if client in self._mnemonics:
            return self._mnemonics[client]
        if client in self._mnemonics.values():
            return client
        raise KeyError(f"no client {client!r} in the seed (clients: {', '.join(self._mnemonics)})")

    def credentials(self, client: str = "ALICE") -> Credentials:
        """The API key of the seed that acts for ``client`` (mnemonic or id)."""
        client_id = self.client_id(client)
        for key in self.seed.api_keys:
            if client_id in key.client_ids:
                return Credentials(key.key_id, key.secret, client_id)
        raise KeyError(f"no API key of the seed acts for client {client!r}")

    def asset_id(self, asset: str) -> str:
        for a in self.seed.assets:
            if asset in (a.id, a.name):
                return a.id
        raise KeyError(f"no asset {asset!r} in the seed")

    def instrument_id(self, instrument: str) -> str:
        for i in self.seed.instruments:
            if instrument in (i.id, i.symbol):
                return i.id
        raise KeyError(f"no instrument {instrument!r} in the seed")

    # --------------------------------------------------------------------------------- steering
    def fund(self, client: str, asset: str, amount: str | Decimal | int) -> dict[str, Any]:
        """Deposit ``amount`` of ``asset`` to ``client``, settled at once (a transfer through the engine)."""
        return self._transfer(client, asset, amount, "DEPOSIT")

    def withdraw(self, client: str, asset: str, amount: str | Decimal | int) -> dict[str, Any]:
        """Withdraw ``amount`` of ``asset`` from ``client``, settled at once (``REJECTED`` above available)."""
        return self._transfer(client, asset, amount, "WITHDRAW")

    def _transfer(self, client: str, asset: str, amount: str | Decimal | int, kind: str) -> dict[str, Any]:
        client_id = self.client_id(client)
        body = {
            "request": {
                "asset_id": self.asset_id(asset),
                "client_id": client_id,
                "platform": "INTERNAL",
                "type": kind,
                "amount": str(amount),
            }
        }
        exchange = self.exchange
        with exchange._lock:  # the delay is read by this call only
            delay, exchange.settle_delay_ns = exchange.settle_delay_ns, 0
            try:
                transfer = exchange.create_transfer({client_id}, body)
            finally:
                exchange.settle_delay_ns = delay
            exchange.advance()
        return transfer

    def move_market(self, instrument: str, to: str | Decimal | int) -> dict[str, Any]:
        """Move ``instrument``'s market (symbol or id) to the reference price ``to``: a new price band, and the
        house's quotes withdrawn and placed again around it at once. Returns the instrument as listed."""
        moved = self.exchange.move_market(self.instrument_id(instrument), str(to))
        self.exchange.advance()
        return moved

    def balance(self, client: str, asset: str) -> dict[str, str]:
        """The client's balance of ``asset``: ``balance``, ``order_hold``, ``transfer_hold`` ... as strings."""
        client_id = self.client_id(client)
        asset_id = self.asset_id(asset)
        rows = self.exchange.list_balances({client_id}, asset_id=asset_id, client_id=client_id)
        for entity in rows:
            for row in entity.get("balances", []):
                if row.get("asset_id") == asset_id:
                    return dict(row)
        return {}

    def orders(self, client: str = "ALICE", *, active: bool = False) -> list[dict[str, Any]]:
        """The client's orders (newest first), read from the engine: what a test asserts against."""
        client_id = self.client_id(client)
        if active:
            return self.exchange.active_orders({client_id})
        return self.exchange.list_orders({client_id})

    def check(self) -> None:
        """Raise ``AssertionError`` listing every broken invariant of the exchange (conservation, holds, books)."""
        problems = self.exchange.check_invariants()
        assert not problems, "exchange invariants broken:\n" + "\n".join(problems)

    # --------------------------------------------------------------------------------- serving
    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[Sandbox]:
        """Serve the app with uvicorn on a free loopback port for the duration; sets :attr:`base_url`."""
        from .server import serve_in_thread

        with serve_in_thread(self.app, host, port) as server:
            self.base_url = server.base_url
            try:
                yield self
            finally:
                self.base_url = None

    def close(self) -> None:
        self.exchange.close()


def _rules(faults: Iterable[Fault] | str | Path | list[Any] | None) -> list[Fault]:
    if faults is None:
        return []
    if isinstance(faults, str | Path):
        return load_faults(faults)
    items = list(faults)
    if all(isinstance(f, Fault) for f in items):
        return items
    return parse_faults(items)


def _classes(
    limits: str | Path | Mapping[str, Any] | Iterable[RateClass] | None,
) -> tuple[RateClass, ...]:
    if limits is None:
        return ()
    if isinstance(limits, str | Path | Mapping):
        return rate_classes(limits)
    return tuple(limits)
