"""The sandbox HTTP layer end to end (in-process, plain httpx): every operation under both versions, errors,
deprecation headers, the start-up check."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sandbox_support import (
    BTC,
    PYUSD,
    V2024,
    V2026,
    VERSIONS,
    Creds,
    Signer,
    asgi_client,
    assert_problem,
    assert_shape,
    creds_of,
    is_list_response,
    json_body,
    state_of,
)
from starlette.routing import WebSocketRoute

from truex_sandbox.app import StartupError, create_app
from truex_sandbox.handlers import HANDLERS, Call
from truex_sandbox.spec import load_spec, operations

NOW = 1_780_000_000.0


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Any:
    return create_app(clock=clock, cursor_key=b"test-cursor-key")


@pytest.fixture
def alice(app: Any) -> Creds:
    return creds_of(app.state.exchange, "ALICE")


@pytest.fixture
def bob(app: Any) -> Creds:
    return creds_of(app.state.exchange, "BOB")


def order_body(creds: Creds, external_id: str | None = None, **info: Any) -> dict[str, Any]:
    fields = {
        "client_id": creds.client_id,
        "instrument_id": BTC,
        "qty": "0.01",
        "price": "74000",
        "side": "BUY",
        "type": "LIMIT",
        "tif": "GTC",
    }
    fields.update(info)
    return {"external_id": external_id or uuid.uuid4().hex[:18], "info": fields}


async def place(app: Any, creds: Creds, **info: Any) -> dict[str, Any]:
    """Create an order (v2026) and return it."""
    content, headers = json_body(order_body(creds, **info))
    async with asgi_client(app, Signer(creds, _clock_of(app)), V2026) as c:
        response = await c.post("/api/v1/orders", content=content, headers=headers)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()["data"]
    return order


def _clock_of(app: Any) -> Callable[[], float]:
    clock: Callable[[], float] = app.state.clock
    return clock


@pytest.fixture
async def seeded(app: Any, alice: Creds) -> Any:
    """ALICE has a fill (so trades exist), a resting order and a pending deposit."""
    filled = await place(app, alice, price="75010", tif="IOC")
    assert filled["status"] == "FILLED", filled
    await place(app, alice)
    content, headers = json_body(
        {
            "request": {
                "asset_id": PYUSD,
                "client_id": alice.client_id,
                "platform": "FIAT",
                "type": "DEPOSIT",
                "amount": "5",
            }
        }
    )
    async with asgi_client(app, Signer(alice, _clock_of(app)), V2026) as c:
        assert (await c.post("/api/v1/transfers", content=content, headers=headers)).status_code == 200
    return app


# ------------------------------------------------------------------------- one request per operation
Request = Callable[[httpx.AsyncClient, Any, Creds, str], Awaitable[httpx.Response]]


async def _get(client: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    return await client.get(path, params=params)


async def _send_json(client: httpx.AsyncClient, method: str, path: str, payload: Any) -> httpx.Response:
    content, headers = json_body(payload)
    return await client.request(method, path, content=content, headers=headers)


async def _order_id(app: Any, creds: Creds) -> str:
    return str((await place(app, creds))["id"])


REQUESTS: dict[str, Request] = {
    "get_health": lambda c, app, me, path: _get(c, path),
    "list_versions": lambda c, app, me, path: _get(c, path),
    "list_assets": lambda c, app, me, path: _get(c, path),
    "list_instruments": lambda c, app, me, path: _get(c, path, symbol="BTC"),
    "list_market_quotes": lambda c, app, me, path: _get(c, path, instrument_id=BTC),
    "list_market_trades": lambda c, app, me, path: _get(c, path, instrument_id=BTC),
    "compute_market_quote": lambda c, app, me, path: _send_json(
        c, "POST", path, {"qty": "0.1", "instrument_id": BTC, "side": "BUY", "qty_unit": "BASE"}
    ),
    "get_vwap_quote_deprecated": lambda c, app, me, path: _send_json(
        c, "POST", path, {"qty": "1000", "instrument_id": BTC}
    ),
    "list_clients": lambda c, app, me, path: _get(c, path),
    "update_client": lambda c, app, me, path: _send_json(
        c, "PATCH", path, {"id": me.client_id, "info": {"self_trade_prevention": "CANCEL_BOTH"}}
    ),
    "create_order": lambda c, app, me, path: _send_json(c, "POST", path, order_body(me)),
    "modify_order": lambda c, app, me, path: _modify(c, app, me, path),
    "cancel_order": lambda c, app, me, path: _with_order(c, app, me, path, "DELETE"),
    "list_active_orders": lambda c, app, me, path: _get(c, path),
    "list_orders": lambda c, app, me, path: _get(c, path),
    "get_order_status": lambda c, app, me, path: _with_order(c, app, me, path, "GET"),
    "list_order_trades": lambda c, app, me, path: _get(c, path, timestamp="0"),
    "list_balances": lambda c, app, me, path: _get(c, path),
    "create_transfer": lambda c, app, me, path: _send_json(
        c,
        "POST",
        path,
        {
            "request": {
                "asset_id": PYUSD,
                "client_id": me.client_id,
                "platform": "FIAT",
                "type": "DEPOSIT",
                "amount": "1",
            }
        },
    ),
    "list_transfers": lambda c, app, me, path: _get(c, path, timestamp="0"),
    "list_active_transfers": lambda c, app, me, path: _get(c, path),
}


async def _modify(c: httpx.AsyncClient, app: Any, me: Creds, path: str) -> httpx.Response:
    order_id = await _order_id(app, me)
    body = {"id": order_id, "info": {"client_id": me.client_id, "new_qty": "0.02", "new_price": "74000.5"}}
    return await _send_json(c, "PATCH", path, body)


async def _with_order(c: httpx.AsyncClient, app: Any, me: Creds, path: str, method: str) -> httpx.Response:
    order_id = await _order_id(app, me)
    return await c.request(method, path.replace("{ref_id}", order_id))


def _builder(op_id: str) -> Request:
    op = operations()[op_id]
    if op_id in REQUESTS:
        return REQUESTS[op_id]
    assert op.replacement is not None, op_id
    return REQUESTS[op.replacement]


def test_every_operation_has_a_request() -> None:
    for op_id in operations():
        _builder(op_id)  # raises when an operation is not covered


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("op_id", "base"), [(op_id, base) for op_id, op in sorted(operations().items()) for base in op.bases]
)
async def test_operation(seeded: Any, alice: Creds, op_id: str, base: str, version: str) -> None:
    """Every operation under every base the spec serves it under (the twins: only the legacy one)."""
    app = seeded
    op = operations()[op_id]
    auth = None if op.public else Signer(alice, _clock_of(app))
    async with asgi_client(app, auth, version) as client:
        response = await _builder(op_id)(client, app, alice, base + op.path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-truex-version"] == version
    body = response.json()
    assert_shape(op_id, version, body)
    if is_list_response(op_id):
        data = body if version == V2024 else body["data"]
        assert data, f"{op_id}: the seeded world should give a non-empty list"
    if op_id == "compute_market_quote":
        quote = body if version == V2024 else body["data"]
        # FACTS §2.1: notional and notional_residual only from v2026_01_23 on.
        assert ("notional" in quote) is (version == V2026)


async def test_status_of_singular_twin_is_the_same_order(seeded: Any, alice: Creds) -> None:
    order = await place(seeded, alice)
    async with asgi_client(seeded, Signer(alice, _clock_of(seeded)), V2026) as c:
        plural = (await c.get(f"/api/v1/orders/status/{order['id']}")).json()
        singular = (await c.get(f"/api/v1/order/status/{order['id']}")).json()
        by_client_id = (
            await c.get(f"/api/v1/orders/status/{order['external_id']}", params={"id_type": "client"})
        ).json()
    assert plural == singular == by_client_id
    assert plural["data"][0]["id"] == order["id"]


# ------------------------------------------------------------------------------------ service
async def test_health_body(app: Any, clock: FakeClock) -> None:
    clock.now = 1_736_951_400.0  # 2025-01-15 14:30:00 UTC
    async with asgi_client(app) as c:
        body = (await c.get("/api/v1/health")).json()
    assert body == {"status": "healthy", "timestamp": "2025-01-15 14:30:00", "service": "truex-sandbox"}


async def test_versions_body(app: Any) -> None:
    async with asgi_client(app, version=V2026) as c:
        body = (await c.get("/api/v1/versions")).json()
    by_version = {v["version"]: v for v in body["data"]}
    assert by_version[V2024] | {"description": ""} == {
        "version": V2024,
        "status": "deprecated",
        "default": True,
        "description": "",
        "deprecation": "2026-03-12",
        "sunset": "2026-08-05",
    }
    assert by_version[V2026]["status"] == "current" and by_version[V2026]["default"] is False
    assert by_version[V2026]["deprecation"] is None and by_version[V2026]["sunset"] is None
    assert body["pagination"] == {"size": 2, "next_cursor": None}


async def test_serves_its_spec(app: Any) -> None:
    async with asgi_client(app) as c:
        response = await c.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == json.loads(json.dumps(load_spec()))
    assert "deprecation" not in response.headers  # not an API operation: no version applies


# -------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("version", VERSIONS)
async def test_unknown_path_is_a_404_problem(app: Any, version: str) -> None:
    async with asgi_client(app, version=version) as c:
        response = await c.get("/api/v1/nope")
    problem = assert_problem(response, 404, version)
    assert "/api/v1/nope" in problem["detail"]


@pytest.mark.parametrize("version", VERSIONS)
async def test_wrong_method_is_a_405_problem(app: Any, version: str) -> None:
    async with asgi_client(app, version=version) as c:
        response = await c.put("/api/v1/orders")
        templated = await c.post("/api/v1/orders/123")
    problem = assert_problem(response, 405, version)
    assert response.headers["allow"] == "PATCH, POST"
    assert "PUT" in problem["detail"]
    assert_problem(templated, 405, version)
    assert templated.headers["allow"] == "DELETE"


async def test_static_path_wins_and_templated_path_takes_the_rest(seeded: Any, alice: Creds) -> None:
    async with asgi_client(seeded, Signer(alice, _clock_of(seeded)), V2026) as c:
        # /orders/active is a static GET; DELETE on it is cancel_order with ref_id "active" (Starlette's rule).
        response = await c.delete("/api/v1/orders/active")
    assert_problem(response, 400, V2026)  # "active" is not an exchange order id


@pytest.mark.parametrize("version", VERSIONS)
async def test_unknown_version_lists_the_supported_ones(seeded: Any, alice: Creds, version: str) -> None:
    before = state_of(seeded.state.exchange)
    content, headers = json_body(order_body(alice))
    async with asgi_client(seeded, Signer(alice, _clock_of(seeded)), "v2025_01_01") as c:
        response = await c.post("/api/v1/orders", content=content, headers=headers)
    problem = assert_problem(response, 400, V2024)  # rendered in the default version
    assert V2024 in problem["detail"] and V2026 in problem["detail"] and "v2025_01_01" in problem["detail"]
    assert problem["extensions"]["supported_versions"] == [V2024, V2026]
    assert state_of(seeded.state.exchange) == before


async def test_engine_errors_keep_their_status(seeded: Any, alice: Creds, bob: Creds) -> None:
    async with asgi_client(seeded, Signer(alice, _clock_of(seeded)), V2026) as c:
        unknown = await _send_json(
            c, "POST", "/api/v1/orders", order_body(alice, instrument_id="299999999999999999")
        )
        body = order_body(alice, external_id="same-1")
        first = await _send_json(c, "POST", "/api/v1/orders", body)
        again = await _send_json(c, "POST", "/api/v1/orders", body)
        changed = await _send_json(
            c, "POST", "/api/v1/orders", order_body(alice, external_id="same-1", qty="0.02")
        )
        missing = await c.get("/api/v1/orders/status/799999999999999999")
    assert_problem(unknown, 404, V2026)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()  # idempotent create (DECISIONS §14)
    assert "external_id" in assert_problem(changed, 409, V2026)["detail"]
    assert_problem(missing, 404, V2026)


async def test_another_clients_order_is_403_and_changes_nothing(
    seeded: Any, alice: Creds, bob: Creds
) -> None:
    order = await place(seeded, alice)
    before = state_of(seeded.state.exchange)
    async with asgi_client(seeded, Signer(bob, _clock_of(seeded)), V2026) as c:
        cancel = await c.delete(f"/api/v1/orders/{order['id']}")
        status = await c.get(f"/api/v1/orders/status/{order['id']}")
        modify = await _send_json(
            c,
            "PATCH",
            "/api/v1/orders",
            {"id": order["id"], "info": {"client_id": bob.client_id, "new_qty": "1", "new_price": "74000"}},
        )
        create = await _send_json(c, "POST", "/api/v1/orders", order_body(alice))
        balances = await c.get("/api/v1/balances", params={"client_id": alice.client_id})
    for response in (cancel, status, modify, create, balances):
        assert_problem(response, 403, V2026)
    assert state_of(seeded.state.exchange) == before


async def test_a_crash_is_a_logged_500_problem(caplog: pytest.LogCaptureFixture) -> None:
    def boom(call: Call) -> Any:
        raise RuntimeError("secret internals")

    app = create_app(handlers={**HANDLERS, "get_health": boom})
    async with asgi_client(app, version=V2026) as c:
        response = await c.get("/api/v1/health")
    problem = assert_problem(response, 500, V2026)
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"] in problem["detail"]
    assert any("secret internals" in (r.exc_text or "") for r in caplog.records)


async def test_request_ids_are_unique(app: Any) -> None:
    async with asgi_client(app) as c:
        responses = [await c.get(path) for path in ["/api/v1/health", "/api/v1/nope", "/api/v1/versions"] * 5]
    ids = [r.headers["x-request-id"] for r in responses]
    assert len(set(ids)) == len(ids)


# --------------------------------------------------------------------------------- deprecation
async def test_deprecation_headers(seeded: Any, alice: Creds) -> None:
    order = await place(seeded, alice)
    v2026 = {"X-Truex-Version": V2026}
    async with asgi_client(seeded, Signer(alice, _clock_of(seeded))) as c:
        current_v2026 = await c.get("/v1/cefi/balances", headers=v2026)
        current_v2024 = await c.get("/v1/cefi/balances")
        legacy_v2026 = await c.get("/api/v1/balances", headers=v2026)
        singular_v2024 = await c.get("/api/v1/balance")
        singular_v2026 = await c.get(f"/api/v1/order/status/{order['id']}", headers=v2026)
        singular_error = await c.get("/api/v1/order/status/1", headers=v2026)

    # The current base under the current version: nothing deprecated.
    for header in ("deprecation", "sunset", "link"):
        assert header not in current_v2026.headers

    # RFC 9745 Deprecation (2026-03-12, docs v1.0.4) and RFC 8594 Sunset (2026-08-05) on every v2024 answer.
    assert current_v2024.headers["deprecation"] == "@1773273600"
    assert current_v2024.headers["sunset"] == "Wed, 05 Aug 2026 00:00:00 GMT"
    assert current_v2024.headers["link"] == '</v1/cefi/versions>; rel="deprecation"'

    # The legacy base: removal announced for 2026-08-05 (docs v1.0.5), the same path under /v1/cefi next.
    assert legacy_v2026.headers["deprecation"] == "@1773273600"
    assert legacy_v2026.headers["sunset"] == "Wed, 05 Aug 2026 00:00:00 GMT"
    assert legacy_v2026.headers["link"] == '</v1/cefi/balances>; rel="successor-version"'

    # A singular path: deprecated since docs v1.0.3 (2026-01-27); its successor is the plural under /v1/cefi.
    assert singular_v2024.headers["deprecation"] == "@1769472000"
    assert singular_v2024.headers["sunset"] == "Wed, 05 Aug 2026 00:00:00 GMT"
    assert singular_v2024.headers["link"] == (
        '</v1/cefi/balances>; rel="successor-version", </v1/cefi/versions>; rel="deprecation"'
    )
    assert singular_v2026.headers["deprecation"] == "@1769472000"
    assert (
        singular_v2026.headers["link"] == f'</v1/cefi/orders/status/{order["id"]}>; rel="successor-version"'
    )
    assert singular_v2026.headers["sunset"] == "Wed, 05 Aug 2026 00:00:00 GMT"
    assert singular_error.status_code == 404 and singular_error.headers["deprecation"] == "@1769472000"


async def test_legacy_gone_answers_410_naming_the_new_path(app: Any, alice: Creds) -> None:
    app = create_app(app.state.exchange, clock=_clock_of(app), legacy="gone")
    async with asgi_client(app, Signer(alice, _clock_of(app)), V2026) as c:
        gone = await c.get("/api/v1/orders/active")
        twin = await c.get("/api/v1/order/active")
        public = await c.get("/api/v1/health")
        current = await c.get("/v1/cefi/orders/active")
    assert current.status_code == 200
    for response, successor in ((gone, "/v1/cefi/orders/active"), (twin, "/v1/cefi/orders/active")):
        assert response.status_code == 410, response.text
        assert response.headers["content-type"] == "application/problem+json"
        detail = response.json()["error"]["detail"]
        assert "/api/v1 prefix was removed on 2026-08-05" in detail and f"use {successor}" in detail
    assert public.status_code == 410
    with pytest.raises(StartupError, match="legacy"):
        create_app(legacy="maybe")


# ---------------------------------------------------------------------------------- start-up
def test_startup_refuses_a_missing_handler() -> None:
    handlers = {k: v for k, v in HANDLERS.items() if k != "list_balances"}
    with pytest.raises(StartupError, match="list_balances"):
        create_app(handlers=handlers)


def test_startup_refuses_a_handler_without_operation() -> None:
    with pytest.raises(StartupError, match="list_widgets"):
        create_app(handlers={**HANDLERS, "list_widgets": HANDLERS["list_assets"]})


def test_startup_refuses_a_twin_that_differs() -> None:
    # get_vwap_quote_deprecated takes another body than its replacement: it cannot borrow that handler.
    handlers = {k: v for k, v in HANDLERS.items() if k != "get_vwap_quote_deprecated"}
    with pytest.raises(StartupError, match="get_vwap_quote_deprecated"):
        create_app(handlers=handlers)


def test_routes_come_from_the_spec() -> None:
    app = create_app()
    paths = {route.path for route in app.routes if not isinstance(route, WebSocketRoute)}
    assert {route.path for route in app.routes if isinstance(route, WebSocketRoute)} == {"/api/v1", "/"}
    served = {base + op.path for op in operations().values() for base in op.bases}
    auth_api = {"/v1/auth/api-key/token", "/v1/auth/token/refresh"}  # the JWT Auth API emulation
    web = {"/"} | {p for p in paths if p.startswith("/sandbox/ui/")}  # the web page (truex_sandbox/web_ui.py)
    assert paths == served | {"/v1/cefi/openapi.json", "/api/v1/openapi.json"} | auth_api | web
    # Every plural path under both bases; the singular twins only under the legacy one.
    assert "/v1/cefi/orders" in paths and "/api/v1/orders" in paths
    assert "/api/v1/order" in paths and "/v1/cefi/order" not in paths
    assert {path.removeprefix("/v1/cefi").removeprefix("/api/v1") for path in served} == set(
        load_spec()["paths"]
    )


# ---------------------------------------------------------------------------------- the web page
async def test_the_web_page_and_its_state_in_process() -> None:
    """``GET /`` is the page (the browser tests are tests/test_web_page.py); ``/sandbox/ui/state`` reads the
    engine's views, with what the wire leaves out (available balance, fees per order) computed exactly."""
    app = create_app()
    exchange = app.state.exchange
    alice = creds_of(exchange, "ALICE")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as client:
        page = await client.get("/")
        assert page.status_code == 200 and "Local sandbox — not production" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert (await client.get("/sandbox/ui/app.js")).headers["content-type"].startswith("text/javascript")
        assert (await client.get("/sandbox/ui/../app.py")).status_code == 404
        exchange.create_order(
            {alice.client_id},
            {
                "external_id": "web-1",
                "info": {
                    "client_id": alice.client_id,
                    "instrument_id": BTC,
                    "side": "BUY",
                    "type": "LIMIT",
                    "qty": "0.01",
                    "price": "75002.5",  # takes the house's best ask
                },
            },
        )
        state = (await client.get("/sandbox/ui/state")).json()
        assert state["invariants"] == {"ok": True, "problems": []}
        mine = state["clients"][alice.client_id]
        (filled,) = mine["orders"]
        assert filled["status"] == "FILLED" and mine["fees"] == {
            filled["id"]: "1.1250375"
        }  # 750.025 x 0.0015
        usd = next(row for row in mine["balances"] if row["asset_id"] == PYUSD)
        assert usd["available"] == usd["balance"] == "999248.8499625"  # 1000000 - 750.025 - the fee
        assert {q["side"] for q in state["house_quotes"]} == {"BUY", "SELL"}
        foreign = await client.get("/sandbox/ui/state", headers={"host": "attacker.example"})
        assert foreign.status_code == 403
        refused = await client.post(
            "/sandbox/ui/transfers", json={}, headers={"origin": "http://attacker.example"}
        )
        assert refused.status_code == 403
