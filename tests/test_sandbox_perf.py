"""Throughput of the HTTP layer: at least 0.7x a bare Starlette endpoint doing the same engine work.

Both apps are called as ASGI callables in-process (no sockets, no httpx), so the ratio measures the layer
itself — routing, version, auth, validation, rendering — not the transport. Rounds are interleaved and the
best round of each side compared, which keeps the check stable on a busy machine.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from sandbox_support import BTC, V2026, creds_of, sign
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from truex_sandbox.app import create_app

MIN_RATIO = 0.7
Headers = list[tuple[bytes, bytes]]


async def call(app: Any, method: str, path: str, headers: Headers, body: bytes = b"") -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def best_of(
    ours: Any,
    bare: Any,
    requests: Callable[[int], list[tuple[str, str, Headers, bytes]]],
    rounds: int = 12,
    n: int = 300,
) -> float:
    async def timed(app: Any) -> float:
        batch = requests(n)
        start = time.perf_counter()
        for method, path, headers, body in batch:
            assert await call(app, method, path, headers, body) == 200
        return time.perf_counter() - start

    await timed(ours)
    await timed(bare)
    ours_times, bare_times = [], []
    for _ in range(rounds):
        ours_times.append(await timed(ours))
        bare_times.append(await timed(bare))
    return min(bare_times) / min(ours_times)


@pytest.fixture
def world() -> dict[str, Any]:
    clock = time.time
    app = create_app(clock=clock)
    exchange = app.state.exchange
    alice = creds_of(exchange, "ALICE")
    caller = frozenset({alice.client_id})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(
            {"status": "healthy", "timestamp": "2026-01-01 00:00:00", "service": "truex-sandbox"}
        )

    async def balances(request: Request) -> JSONResponse:
        return JSONResponse(exchange.list_balances(caller))

    async def create(request: Request) -> JSONResponse:
        return JSONResponse(exchange.create_order(caller, json.loads(await request.body())))

    bare = Starlette(
        routes=[
            Route("/api/v1/health", health),
            Route("/api/v1/balances", balances),
            Route("/api/v1/orders", create, methods=["POST"]),
        ]
    )

    def signed(method: str, path: str, body: bytes = b"") -> Headers:
        ts = str(int(clock()))
        return [
            (b"host", b"sandbox"),
            (b"x-truex-version", V2026.encode()),
            (b"x-truex-auth-token", alice.key_id.encode()),
            (b"x-truex-auth-userid", alice.client_id.encode()),
            (b"x-truex-auth-timestamp", ts.encode()),
            (b"x-truex-auth-signature", sign(alice.secret, ts, method, path, body).encode()),
            (b"content-type", b"application/json"),
        ]

    return {"ours": app, "bare": bare, "alice": alice, "signed": signed}


async def test_public_get(world: dict[str, Any]) -> None:
    def requests(n: int) -> list[tuple[str, str, Headers, bytes]]:
        return [("GET", "/api/v1/health", [(b"host", b"sandbox")], b"")] * n

    ratio = await best_of(world["ours"], world["bare"], requests)
    assert ratio >= MIN_RATIO, f"GET /health at {ratio:.2f}x a bare Starlette endpoint"


async def test_signed_get(world: dict[str, Any]) -> None:
    signed = world["signed"]

    def requests(n: int) -> list[tuple[str, str, Headers, bytes]]:
        return [("GET", "/api/v1/balances", signed("GET", "/api/v1/balances"), b"")] * n

    ratio = await best_of(world["ours"], world["bare"], requests)
    assert ratio >= MIN_RATIO, f"signed GET /balances at {ratio:.2f}x a bare Starlette endpoint"


async def test_signed_create_order(world: dict[str, Any]) -> None:
    signed, alice = world["signed"], world["alice"]
    counter = iter(range(10**9))

    def requests(n: int) -> list[tuple[str, str, Headers, bytes]]:
        batch = []
        for _ in range(n):
            body = json.dumps(
                {
                    "external_id": f"perf-{next(counter)}",
                    "info": {
                        "client_id": alice.client_id,
                        "instrument_id": BTC,
                        "qty": "0.01",
                        "price": "74000",
                        "side": "BUY",
                        "type": "LIMIT",
                        "tif": "IOC",  # canceled at once: the book does not grow during the run
                    },
                }
            ).encode()
            batch.append(("POST", "/api/v1/orders", signed("POST", "/api/v1/orders", body), body))
        return batch

    ratio = await best_of(world["ours"], world["bare"], requests, rounds=8, n=200)
    assert ratio >= MIN_RATIO, f"signed POST /orders at {ratio:.2f}x a bare Starlette endpoint"
