"""HMAC verification of the sandbox (FACTS §1, DECISIONS §11): every rule, its status, and no side effect."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sandbox_support import V2024, V2026, Creds, Signer, asgi_client, assert_problem, creds_of, sign, state_of

from truex_sandbox.app import create_app
from truex_sandbox.auth import HmacVerifier, expected_signature

NOW = 1_780_000_000


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
    return create_app(clock=clock)


@pytest.fixture
def alice(app: Any) -> Creds:
    return creds_of(app.state.exchange, "ALICE")


@pytest.fixture
def bob(app: Any) -> Creds:
    return creds_of(app.state.exchange, "BOB")


ORDER_PATH = "/api/v1/orders"


def order_bytes(creds: Creds) -> bytes:
    return json.dumps(
        {
            "external_id": "auth-1",
            "info": {
                "client_id": creds.client_id,
                "instrument_id": "200000000000000001",
                "qty": "0.01",
                "price": "74000",
                "side": "BUY",
                "type": "LIMIT",
            },
        }
    ).encode()


def signed_headers(
    creds: Creds, method: str, path: str, body: bytes = b"", *, ts: int = NOW
) -> dict[str, str]:
    return {
        "x-truex-auth-token": creds.key_id,
        "x-truex-auth-userid": creds.client_id,
        "x-truex-auth-timestamp": str(ts),
        "x-truex-auth-signature": sign(creds.secret, str(ts), method, path, body),
        "content-type": "application/json",
    }


async def post_order(app: Any, headers: dict[str, str], body: bytes, version: str = V2026) -> httpx.Response:
    async with asgi_client(app, version=version) as c:
        return await c.post(ORDER_PATH, content=body, headers=headers)


# ------------------------------------------------------------------------------ the signer itself
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("GET", "/api/v1/balances", b"", "dAqHLoKABrri1KMovRuLdM8+u1W10gIEX/RjIrxWqD0="),
        ("DELETE", "/api/v1/orders/799477895858487977", b"", "EKfdzGhxagmHGBkkAQC1eSa9A+XZ0ajmTN2SR0gmyXk="),
        (
            "POST",
            "/api/v1/orders",
            b'{"external_id":"abc-1","info":{"client_id":"78901985048264710","instrument_id":"78901949723181070",'
            b'"qty":"0.01","price":"75000.50","side":"BUY","type":"LIMIT","tif":"GTC"}}',
            "jrNdSAOE7wEc/oIxKZIjpv6GNP4C+8XMqsTaEZtlVSs=",
        ),
    ],
)
def test_vectors_of_facts(method: str, path: str, body: bytes, expected: str) -> None:
    # FACTS §1.4: the test signer and the sandbox verifier agree with the worked vectors.
    assert sign("my-secret", "1700000000", method, path, body) == expected
    assert expected_signature("my-secret", b"1700000000", method, path.encode(), body) == expected.encode()


# --------------------------------------------------------------------------------- success paths
async def test_a_signed_request_passes(app: Any, alice: Creds) -> None:
    body = order_bytes(alice)
    response = await post_order(app, signed_headers(alice, "POST", ORDER_PATH, body), body)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["order_info"]["client_id"] == alice.client_id


async def test_the_query_string_is_not_signed(app: Any, alice: Creds, clock: FakeClock) -> None:
    async with asgi_client(app, Signer(alice, clock), V2026) as c:
        response = await c.get("/api/v1/balances", params={"asset_name": "BTC"})
    assert response.status_code == 200, response.text
    assert [row["asset_id"] for row in response.json()["data"][0]["balances"]] == ["100000000000000003"]


@pytest.mark.parametrize("age", [0, 15, -1])
async def test_the_window_edges_are_accepted(app: Any, alice: Creds, age: int) -> None:
    headers = signed_headers(alice, "GET", "/api/v1/balances", ts=NOW - age)
    async with asgi_client(app) as c:
        response = await c.get("/api/v1/balances", headers=headers)
    assert response.status_code == 200, response.text


async def test_the_tools_spelling_of_the_user_id_header(app: Any, alice: Creds) -> None:
    headers = signed_headers(alice, "GET", "/api/v1/balances")
    headers["x-truex-auth-user-id"] = headers.pop("x-truex-auth-userid")
    async with asgi_client(app) as c:
        response = await c.get("/api/v1/balances", headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/api/v1/clients", "/api/v1/client"])
@pytest.mark.parametrize("user_id", [None, "0"])
async def test_client_discovery_works_without_a_user_id(
    app: Any, alice: Creds, path: str, user_id: str | None
) -> None:
    headers = signed_headers(alice, "GET", path)
    del headers["x-truex-auth-userid"]
    if user_id is not None:
        headers["x-truex-auth-user-id"] = user_id  # what True Markets' tools send before they know it
    async with asgi_client(app, version=V2026) as c:
        response = await c.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert [client["id"] for client in response.json()["data"]] == [alice.client_id]


async def test_public_operations_ignore_auth_headers(app: Any) -> None:
    junk = {"x-truex-auth-token": "nope", "x-truex-auth-timestamp": "1", "x-truex-auth-signature": "bad"}
    async with asgi_client(app) as c:
        for path in ("/api/v1/health", "/api/v1/assets", "/api/v1/market/quote"):
            assert (await c.get(path, headers=junk)).status_code == 200


# -------------------------------------------------------------------------------------- failures
def _tamper(headers: dict[str, str], **changes: str | None) -> dict[str, str]:
    out = dict(headers)
    for name, value in changes.items():
        key = name.replace("_", "-")
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


FAILURES = {
    "bad signature": (
        lambda h, c: _tamper(h, x_truex_auth_signature=sign("wrong-secret", str(NOW), "POST", ORDER_PATH)),
        401,
        "x-truex-auth-signature: does not match",
    ),
    "signature of another body": (
        lambda h, c: _tamper(h, x_truex_auth_signature=sign(c.secret, str(NOW), "POST", ORDER_PATH, b"{}")),
        401,
        "does not match",
    ),
    "signature without /api/v1": (
        lambda h, c: _tamper(
            h, x_truex_auth_signature=sign(c.secret, str(NOW), "POST", "/orders", order_bytes(c))
        ),
        401,
        "does not match",
    ),
    "stale timestamp": (
        lambda h, c: _tamper(
            h,
            x_truex_auth_timestamp=str(NOW - 16),
            x_truex_auth_signature=sign(c.secret, str(NOW - 16), "POST", ORDER_PATH, order_bytes(c)),
        ),
        401,
        "stale timestamp",
    ),
    "future timestamp": (
        lambda h, c: _tamper(
            h,
            x_truex_auth_timestamp=str(NOW + 2),
            x_truex_auth_signature=sign(c.secret, str(NOW + 2), "POST", ORDER_PATH, order_bytes(c)),
        ),
        401,
        "timestamp in the future",
    ),
    "milliseconds timestamp": (
        lambda h, c: _tamper(
            h,
            x_truex_auth_timestamp=str(NOW * 1000),
            x_truex_auth_signature=sign(c.secret, str(NOW * 1000), "POST", ORDER_PATH, order_bytes(c)),
        ),
        401,
        "milli- or nanoseconds",
    ),
    "non-numeric timestamp": (
        lambda h, c: _tamper(h, x_truex_auth_timestamp="yesterday"),
        401,
        "whole seconds",
    ),
    "unknown key": (
        lambda h, c: _tamper(h, x_truex_auth_token="00000000-0000-4000-8000-000000000000"),
        401,
        "unknown API key",
    ),
    "missing token": (lambda h, c: _tamper(h, x_truex_auth_token=None), 401, "missing authentication header"),
    "missing timestamp": (
        lambda h, c: _tamper(h, x_truex_auth_timestamp=None),
        401,
        "x-truex-auth-timestamp",
    ),
    "missing signature": (
        lambda h, c: _tamper(h, x_truex_auth_signature=None),
        401,
        "x-truex-auth-signature",
    ),
    "missing user id": (lambda h, c: _tamper(h, x_truex_auth_userid=None), 401, "x-truex-auth-userid"),
    "user id zero": (lambda h, c: _tamper(h, x_truex_auth_userid="0"), 401, "x-truex-auth-userid"),
    "user ids disagree": (
        lambda h, c: _tamper(h, x_truex_auth_user_id="300000000000000002"),
        401,
        "disagree",
    ),
    "another client's user id": (
        lambda h, c: _tamper(h, x_truex_auth_userid="300000000000000002"),
        403,
        "may not act for client 300000000000000002",
    ),
}


@pytest.mark.parametrize("version", [V2024, V2026])
@pytest.mark.parametrize("case", sorted(FAILURES))
async def test_each_failure_has_its_status_and_changes_nothing(
    app: Any, alice: Creds, case: str, version: str
) -> None:
    change, status, words = FAILURES[case]
    body = order_bytes(alice)
    headers = change(signed_headers(alice, "POST", ORDER_PATH, body), alice)
    before = state_of(app.state.exchange)
    response = await post_order(app, headers, body, version)
    problem = assert_problem(response, status, version)
    assert words in problem["detail"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("HMAC")
    # Never the expected signature, whatever failed.
    good = sign(alice.secret, headers.get("x-truex-auth-timestamp", str(NOW)), "POST", ORDER_PATH, body)
    assert good not in response.text and alice.secret not in response.text
    assert state_of(app.state.exchange) == before


async def test_auth_comes_before_validation(app: Any) -> None:
    async with asgi_client(app, version=V2026) as c:
        response = await c.post(ORDER_PATH, content=b"not json", headers={"content-type": "text/plain"})
    assert_problem(response, 401, V2026)


async def test_the_clock_moves_the_window(app: Any, alice: Creds, clock: FakeClock) -> None:
    headers = signed_headers(alice, "GET", "/api/v1/balances")
    async with asgi_client(app) as c:
        assert (await c.get("/api/v1/balances", headers=headers)).status_code == 200
        clock.now = NOW + 16
        assert_problem(await c.get("/api/v1/balances", headers=headers), 401)


def test_verifier_alone() -> None:
    class Key:
        key_id = "k"
        secret = "my-secret"
        client_ids = frozenset({"78901985048264710"})

    verifier = HmacVerifier({"k": Key()}.get, clock=lambda: 1_700_000_000.0)
    headers = {
        b"x-truex-auth-token": b"k",
        b"x-truex-auth-timestamp": b"1700000000",
        b"x-truex-auth-signature": b"dAqHLoKABrri1KMovRuLdM8+u1W10gIEX/RjIrxWqD0=",
        b"x-truex-auth-userid": b"78901985048264710",
    }
    principal = verifier.verify("GET", b"/api/v1/balances", headers, b"")
    assert (principal.key_id, principal.user_id) == ("k", "78901985048264710")
    with pytest.raises(Exception, match="does not match"):
        verifier.verify("GET", b"/api/v1/balance", headers, b"")
