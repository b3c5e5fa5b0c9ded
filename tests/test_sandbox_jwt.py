"""The sandbox's Auth API (/v1/auth) and bearer-token checks, over ASGI, with an injected clock.

Challenges are signed here with ``cryptography`` (not with the SDK): the sandbox is checked against the
documented rule.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwt_support import b64u, unb64u
from sandbox_support import V2026, Signer, asgi_client, assert_problem, creds_of

from truex_sandbox.app import create_app
from truex_sandbox.engine import Exchange
from truex_sandbox.jwt_keys import JwtKeyRecord, key_file
from truex_sandbox.jwt_tokens import ACCESS_TTL, TokenIssuer
from truex_sandbox.seed import default_seed, load_seed, seed_from_dict, seed_to_dict

T0 = 1_800_000_000.0
MINT, REFRESH = "/v1/auth/api-key/token", "/v1/auth/token/refresh"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def private_key(record: JwtKeyRecord) -> ec.EllipticCurvePrivateKey:
    assert record.d is not None
    return ec.derive_private_key(int.from_bytes(unb64u(record.d), "big"), ec.SECP256R1())


def challenge(
    record: JwtKeyRecord, timestamp: int, key: ec.EllipticCurvePrivateKey | None = None
) -> dict[str, Any]:
    der = (key or private_key(record)).sign(
        f"{record.key_id}.{timestamp}".encode(), ec.ECDSA(hashes.SHA256())
    )
    r, s = decode_dss_signature(der)
    signature = b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    return {"key_id": record.key_id, "timestamp": timestamp, "signature": signature}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def exchange(clock: Clock) -> Exchange:
    return Exchange(clock=lambda: int(clock() * 1e9))


@pytest.fixture
def app(exchange: Exchange, clock: Clock) -> Any:
    return create_app(exchange, clock=clock)


def alice(exchange: Exchange) -> JwtKeyRecord:
    return exchange.seed.jwt_keys[0]


async def mint(app: Any, record: JwtKeyRecord, clock: Clock) -> dict[str, Any]:
    async with asgi_client(app) as http:
        response = await http.post(MINT, json=challenge(record, int(clock())))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def balances(app: Any, headers: dict[str, str]) -> httpx.Response:
    async with asgi_client(app, version=V2026) as http:
        return await http.get("/api/v1/balances", headers=headers)


# --- seed -----------------------------------------------------------------------------------------


def test_seeded_jwt_keys_are_deterministic_and_round_trip() -> None:
    first, second = default_seed().jwt_keys, default_seed().jwt_keys
    assert [k.key_id for k in first] == [k.key_id for k in second] and first[0].d == second[0].d
    assert default_seed(fresh_credentials=True).jwt_keys[0].d != first[0].d
    again = seed_from_dict(seed_to_dict(default_seed())).jwt_keys
    assert again == first
    assert first[0].d is not None and first[0].d not in repr(first[0])


def test_a_seed_without_jwt_keys_still_loads(tmp_path: Path) -> None:
    data = seed_to_dict(default_seed())
    del data["jwt_keys"]
    path = tmp_path / "old-seed.json"
    path.write_text(json.dumps(data))
    assert load_seed(path).jwt_keys == []


def test_a_seed_may_register_only_a_public_key() -> None:
    data = seed_to_dict(default_seed())
    public = {k: v for k, v in data["jwt_keys"][0].items() if k != "private_key_d"}
    data["jwt_keys"] = [public]
    (record,) = seed_from_dict(data).jwt_keys
    assert record.d is None and record.key_id == public["key_id"]


# --- mint and refresh -----------------------------------------------------------------------------


async def test_mint_answers_a_documented_pair(app: Any, exchange: Exchange, clock: Clock) -> None:
    pair = await mint(app, alice(exchange), clock)
    assert set(pair) == {"access_token", "refresh_token", "expires_in", "token_type"}
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == "2027-01-15T08:15:00Z"  # T0 + 15 min, RFC 3339
    claims = json.loads(unb64u(pair["access_token"].split(".")[1]))
    assert claims["sub"] == alice(exchange).key_id and claims["client_id"] == alice(exchange).client_id
    assert claims["exp"] - claims["iat"] == ACCESS_TTL


async def test_refresh_gives_a_new_pair_and_needs_a_refresh_token(
    app: Any, exchange: Exchange, clock: Clock
) -> None:
    pair = await mint(app, alice(exchange), clock)
    clock.now += 3600  # access expired; refresh still valid (24 h)
    async with asgi_client(app) as http:
        refreshed = await http.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["access_token"] != pair["access_token"]
        wrong = await http.post(REFRESH, json={"refresh_token": pair["access_token"]})
        assert wrong.status_code == 401 and "not a refresh token" in wrong.json()["message"]
        clock.now += 25 * 3600
        stale = await http.post(REFRESH, json={"refresh_token": pair["refresh_token"]})
        assert stale.status_code == 401 and "expired" in stale.json()["message"]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        (lambda b: {**b, "key_id": "nope"}, 401, "unknown key_id"),
        (lambda b: {**b, "timestamp": b["timestamp"] + 31}, 401, "±30 s"),
        (lambda b: {**b, "signature": b["signature"][::-1]}, 401, "invalid signature"),
        (lambda b: {**b, "signature": "***"}, 401, "not base64url"),
        (lambda b: {k: v for k, v in b.items() if k != "signature"}, 400, "signature is required"),
        (lambda b: {**b, "timestamp": str(b["timestamp"])}, 400, "timestamp is required"),
        (lambda b: [b], 400, "JSON object"),
    ],
)
async def test_mint_refusals(
    app: Any, exchange: Exchange, clock: Clock, change: Any, status: int, message: str
) -> None:
    async with asgi_client(app) as http:
        response = await http.post(MINT, json=change(challenge(alice(exchange), int(clock()))))
    assert response.status_code == status
    assert message in response.json()["message"]


async def test_a_challenge_signed_by_another_key_is_refused(
    app: Any, exchange: Exchange, clock: Clock
) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    async with asgi_client(app) as http:
        response = await http.post(MINT, json=challenge(alice(exchange), int(clock()), other))
        assert response.status_code == 401
        assert (await http.get(MINT)).status_code == 405
        assert (await http.post(MINT, content=b"{")).status_code == 400


# --- bearer on CeFi operations --------------------------------------------------------------------


async def test_bearer_is_scoped_to_the_tokens_client(app: Any, exchange: Exchange, clock: Clock) -> None:
    pair = await mint(app, alice(exchange), clock)
    headers = {"authorization": f"Bearer {pair['access_token']}"}
    ok = await balances(app, headers)
    assert ok.status_code == 200, ok.text
    assert {entity["id"] for entity in ok.json()["data"]} == {alice(exchange).client_id}
    bob = creds_of(exchange, "BOB").client_id
    async with asgi_client(app, version=V2026) as http:
        foreign = await http.get("/api/v1/balances", params={"client_id": bob}, headers=headers)
    assert foreign.status_code == 403, foreign.text


def forged(app: Any, exchange: Exchange, **claims: Any) -> str:
    other = TokenIssuer()
    base = {"sub": alice(exchange).key_id, "client_id": alice(exchange).client_id, "iat": int(T0)}
    return other.encode({**base, "exp": int(T0) + 60, "token_use": "access", **claims})


@pytest.mark.parametrize(
    ("token", "rule"),
    [
        (lambda app, ex: forged(app, ex), "signature does not verify"),
        (
            lambda app, ex: app.state.token_issuer.encode(
                {"client_id": "1", "exp": int(T0) + 60}, alg="HS256"
            ),
            "alg must be ES256",
        ),
        (
            lambda app, ex: app.state.token_issuer.encode(
                {"client_id": "1", "exp": int(T0) - 1, "token_use": "access"}
            ),
            "expired",
        ),
        (
            lambda app, ex: app.state.token_issuer.encode(
                {"sub": "k", "exp": int(T0) + 60, "token_use": "access"}
            ),
            "no client_id claim",
        ),
        (lambda app, ex: "garbage", "not a JWT"),
        (lambda app, ex: "a.b.c", "not a JWT"),
    ],
)
async def test_bad_bearer_tokens_are_401_naming_the_rule(
    app: Any, exchange: Exchange, token: Any, rule: str
) -> None:
    value = token(app, exchange)
    response = await balances(app, {"authorization": f"Bearer {value}"})
    problem = assert_problem(response, 401, V2026)
    assert rule in problem["detail"] and value not in problem["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_refresh_token_is_not_a_bearer_token(app: Any, exchange: Exchange, clock: Clock) -> None:
    pair = await mint(app, alice(exchange), clock)
    problem = assert_problem(
        await balances(app, {"authorization": f"Bearer {pair['refresh_token']}"}), 401, V2026
    )
    assert "not an access token" in problem["detail"]


async def test_an_access_token_expires_after_15_minutes(app: Any, exchange: Exchange, clock: Clock) -> None:
    pair = await mint(app, alice(exchange), clock)
    clock.now += ACCESS_TTL
    problem = assert_problem(
        await balances(app, {"authorization": f"Bearer {pair['access_token']}"}), 401, V2026
    )
    assert "expired" in problem["detail"]


async def test_bearer_and_hmac_together_are_refused(app: Any, exchange: Exchange, clock: Clock) -> None:
    pair = await mint(app, alice(exchange), clock)
    signer = Signer(creds_of(exchange, "ALICE"), clock)
    async with asgi_client(app, auth=signer, version=V2026) as http:
        response = await http.get(
            "/api/v1/balances", headers={"authorization": f"Bearer {pair['access_token']}"}
        )
        assert "not both" in assert_problem(response, 401, V2026)["detail"]
        assert (await http.get("/api/v1/balances")).status_code == 200  # HMAC alone still works


async def test_other_schemes_are_refused(app: Any) -> None:
    problem = assert_problem(await balances(app, {"authorization": "Basic dXNlcjpwYXNz"}), 401, V2026)
    assert "Bearer <access token>" in problem["detail"]


# --- the command line -----------------------------------------------------------------------------


def test_key_file_is_in_the_clients_format() -> None:
    from truex_ext.jwt_key import JwtKey  # the client reads what the sandbox writes

    record = default_seed().jwt_keys[0]
    key = JwtKey.from_mapping(key_file(record))
    assert key.key_id == record.key_id and key.public_jwk()["x"] == record.x


def test_cli_writes_the_key_file_and_names_it_in_the_banner(tmp_path: Path) -> None:
    path = tmp_path / "sandbox-key.json"
    code = (
        "import sys; from truex_sandbox import __main__ as m, server;"
        "server.uvicorn.Server.run = lambda self, sockets=None: None;"
        f"sys.exit(m.main(['--port', '0', '--jwt-key-file', {str(path)!r}]))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    data = json.loads(path.read_text())
    assert data["key_id"] == default_seed().jwt_keys[0].key_id and data["private_key"]["crv"] == "P-256"
    assert path.stat().st_mode & 0o077 == 0
    from truex_sandbox.server import banner

    text = banner("http://127.0.0.1:1", Exchange(), jwt_key_file=str(path))
    assert str(path) in text and "/v1/auth" in text and data["private_key"]["d"] not in text
