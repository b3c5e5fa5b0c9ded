"""JWT bearer auth in the client: key files, the ES256 challenge, mint/refresh, renewal after a 401, errors."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt_support import (
    AUTH_URL,
    CLIENT_ID,
    KEY_ID,
    T0,
    Clock,
    FakeAuthApi,
    FakeTrading,
    jwk_of,
    new_key,
    pem_of,
    rfc3339,
    verify_es256,
    write_key_file,
)

from truex_ext import AsyncTruex, AuthenticationError, Truex
from truex_ext.errors import JwtKeyError, TokenError
from truex_ext.jwt_auth import JwtAuth, token_claims
from truex_ext.jwt_config import default_auth_url
from truex_ext.jwt_key import JwtKey

KEY = new_key()


# --- key files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pem", [False, True], ids=["jwk", "pem"])
def test_key_file_loads_jwk_or_pem(tmp_path: Path, pem: bool) -> None:
    key = JwtKey.from_file(write_key_file(tmp_path, KEY, pem=pem))
    assert key.key_id == KEY_ID
    assert key.public_jwk() == {k: v for k, v in jwk_of(KEY).items() if k != "d"}


def test_traditional_ec_pem_is_accepted() -> None:
    pem = pem_of(KEY, serialization.PrivateFormat.TraditionalOpenSSL)
    assert "BEGIN EC PRIVATE KEY" in pem
    assert JwtKey.from_mapping({"key_id": KEY_ID, "private_key": pem}).key_id == KEY_ID


def test_key_from_env(tmp_path: Path) -> None:
    path = write_key_file(tmp_path, KEY)
    assert JwtKey.from_env({"TRUEX_JWT_KEY_FILE": f" {path}\n"}) is not None
    assert JwtKey.from_env({}) is None


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"private_key": jwk_of(KEY)}), "key_id is missing"),
        (json.dumps({"key_id": KEY_ID}), "private_key is missing"),
        (json.dumps({"key_id": KEY_ID, "private_key": {**jwk_of(KEY), "kty": "RSA"}}), "kty must be 'EC'"),
        (
            json.dumps({"key_id": KEY_ID, "private_key": {**jwk_of(KEY), "crv": "P-384"}}),
            "crv must be 'P-256'",
        ),
        (json.dumps({"key_id": KEY_ID, "private_key": jwk_of(new_key(ec.SECP384R1()), "P-256")}), "32 bytes"),
        (
            json.dumps({"key_id": KEY_ID, "private_key": {**jwk_of(KEY), "x": jwk_of(new_key())["x"]}}),
            "do not belong",
        ),
        (
            json.dumps({"key_id": KEY_ID, "private_key": {**jwk_of(KEY), "d": "!!"}}),
            "private_key.d is missing or not base64url",
        ),
        (json.dumps({"key_id": KEY_ID, "private_key": pem_of(new_key(ec.SECP384R1()))}), "curve secp384r1"),
        (
            json.dumps({"key_id": KEY_ID, "private_key": pem_of(rsa.generate_private_key(65537, 2048))}),
            "RSA key",
        ),
        (
            json.dumps({"key_id": KEY_ID, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n"}),
            "not an unencrypted PEM",
        ),
    ],
)
def test_bad_key_files_say_what_is_wrong_without_the_key(
    tmp_path: Path, content: str, complaint: str
) -> None:
    path = tmp_path / "key.json"
    path.write_text(content)
    with pytest.raises(JwtKeyError, match=complaint) as info:
        JwtKey.from_file(path)
    assert str(path) in str(info.value)
    assert jwk_of(KEY)["d"] not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(JwtKeyError, match="cannot be read"):
        JwtKey.from_file(tmp_path / "nope.json")


def test_repr_hides_the_private_key(tmp_path: Path) -> None:
    key = JwtKey.from_file(write_key_file(tmp_path, KEY))
    text = repr(key) + str(key) + repr(JwtAuth(key, AUTH_URL))
    assert KEY_ID in text and jwk_of(KEY)["d"] not in text and "***" in text


# --- the challenge --------------------------------------------------------------------------------


def test_challenge_is_es256_raw_r_s_base64url_over_key_id_dot_timestamp() -> None:
    key = JwtKey.from_mapping({"key_id": KEY_ID, "private_key": jwk_of(KEY)})
    body = key.challenge(1796256000)
    assert body["key_id"] == KEY_ID and body["timestamp"] == 1796256000
    signature = body["signature"]
    assert len(signature) == 86 and "=" not in signature and "+" not in signature and "/" not in signature
    assert verify_es256(KEY.public_key(), f"{KEY_ID}.1796256000".encode(), signature)
    assert not verify_es256(KEY.public_key(), f"{KEY_ID}.1796256001".encode(), signature)


def test_token_claims_reads_without_verifying() -> None:
    assert token_claims("a.b") is None
    assert token_claims("a.!!.c") is None
    assert token_claims("eyJ9.WzFd.x") is None  # payload is a JSON array


# --- wiring ---------------------------------------------------------------------------------------


def test_default_auth_url() -> None:
    assert default_auth_url("https://prod.truex.co") == "https://api.truemarkets.co/v1/auth"
    assert default_auth_url("https://api.uat.truex.co/v1/cefi") == "https://api.uat.truemarkets.co/v1/auth"
    assert default_auth_url("http://localhost:9000/api/v1") == "http://localhost:9000/v1/auth"
    with pytest.raises(ValueError, match="TRUEX_AUTH_URL"):
        default_auth_url("https://example.com")


def test_hmac_and_jwt_together_need_a_choice(tmp_path: Path) -> None:
    path = write_key_file(tmp_path, KEY)
    env = {"TRUEX_API_KEY": "k" * 12, "TRUEX_API_SECRET": "s" * 12, "TRUEX_JWT_KEY_FILE": str(path)}
    with pytest.raises(ValueError, match="auth='hmac' or auth='jwt'"):
        Truex(environ=env)
    assert Truex(environ=env, auth="hmac")._config.jwt is None
    jwt = Truex(environ=env, auth="jwt")._config
    assert jwt.credentials is None and jwt.jwt is not None
    assert jwt.jwt.auth_url == "http://127.0.0.1:8765/v1/auth"
    assert (
        Truex(environ={**env, "TRUEX_AUTH": "jwt", "TRUEX_AUTH_URL": AUTH_URL})._config.jwt.auth_url
        == AUTH_URL
    )  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="needs jwt_key"):
        Truex(environ={}, auth="jwt")


def test_importing_truex_ext_does_not_import_cryptography() -> None:
    code = "import sys, truex_ext; truex_ext.Truex(environ={}); assert 'cryptography' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_cryptography_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n.startswith("cryptography")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(ImportError, match=r"pip install 'truex-cefi\[jwt\]'"):
        JwtKey.from_mapping({"key_id": KEY_ID, "private_key": jwk_of(KEY)})


# --- clients against a fake Auth API and trading API ---------------------------------------------


class Rig:
    def __init__(self) -> None:
        self.clock = Clock()
        self.auth = FakeAuthApi(KEY.public_key(), self.clock)
        self.trading = FakeTrading()
        self.key = JwtKey.from_mapping({"key_id": KEY_ID, "private_key": jwk_of(KEY)})

    def args(self, **extra: Any) -> dict[str, Any]:
        return {
            "jwt_key": self.key,
            "auth_url": AUTH_URL,
            "environ": {},
            "clock": self.clock,
            "transport": self.trading.transport,
            "auth_transport": self.auth.transport,
            "max_retries": 0,
            **extra,
        }

    async def call(self, mode: str, client: Any) -> Any:
        if mode == "async":
            return [c async for c in client.clients.list()]
        return list(client.clients.list())


@pytest.fixture
def rig() -> Rig:
    return Rig()


modes = pytest.mark.parametrize("mode", ["sync", "async"])


async def run(rig: Rig, mode: str, calls: int = 1, **extra: Any) -> list[Any]:
    results = []
    if mode == "async":
        async with AsyncTruex(**rig.args(**extra)) as aclient:
            for _ in range(calls):
                results.append(await rig.call(mode, aclient))
    else:
        with Truex(**rig.args(**extra)) as client:
            for _ in range(calls):
                results.append(await rig.call(mode, client))
    return results


@modes
async def test_mint_then_bearer_on_every_request_without_hmac_headers(rig: Rig, mode: str) -> None:
    await run(rig, mode, calls=3)
    assert rig.auth.mints == 1 and rig.auth.refreshes == 0
    assert len(rig.trading.requests) == 3
    for request in rig.trading.requests:
        assert request.headers["authorization"].startswith("Bearer ey")
        assert not [h for h in request.headers if h.lower().startswith("x-truex-auth-")]


@modes
async def test_client_id_comes_from_the_token_claim(rig: Rig, mode: str) -> None:
    client: Any = (AsyncTruex if mode == "async" else Truex)(**rig.args())
    assert client.client_id is None  # not minted yet
    await rig.call(mode, client)
    assert client.client_id == CLIENT_ID
    configured: Any = (AsyncTruex if mode == "async" else Truex)(**rig.args(client_id="42"))
    assert configured.client_id == "42"


@modes
async def test_refresh_shortly_before_expiry_then_remint_when_refresh_is_refused(rig: Rig, mode: str) -> None:
    client: Any = (AsyncTruex if mode == "async" else Truex)(**rig.args())
    await rig.call(mode, client)
    rig.clock.now += 900 - 61  # 61 s left: still used as it is
    await rig.call(mode, client)
    assert (rig.auth.mints, rig.auth.refreshes) == (1, 0)
    rig.clock.now += 2  # 59 s left: refreshed first
    await rig.call(mode, client)
    assert (rig.auth.mints, rig.auth.refreshes) == (1, 1)
    rig.clock.now += 900
    rig.auth.refresh_tokens.clear()  # the refresh token is refused (401): a fresh mint
    await rig.call(mode, client)
    assert (rig.auth.mints, rig.auth.refreshes) == (2, 2)  # calls: the second refresh was refused
    assert rig.auth.calls[-2:] == ["/v1/auth/token/refresh", "/v1/auth/api-key/token"]
    assert len(set(rig.trading.tokens())) == 3


def test_expires_in_is_read_on_the_servers_clock_and_numbers_are_seconds(rig: Rig) -> None:
    auth = JwtAuth(rig.key, AUTH_URL, clock=rig.clock, transport=rig.auth.transport)
    pair = rig.auth.pair()
    # The server's clock is 100 s ahead of ours: the token still has 900 s to live, not 800.
    server_date = "Fri, 15 Jan 2027 08:01:40 GMT"  # T0 + 100
    pair["expires_in"] = rfc3339(T0 + 100 + 900)
    rig.auth.script.append(httpx.Response(200, json=pair, headers={"date": server_date}))
    auth.token()
    assert auth._pair is not None and auth._pair.expires_at == T0 + 900
    rig.auth.script.append(httpx.Response(200, json={**rig.auth.pair(), "expires_in": 300}))
    assert auth.renew()
    assert auth._pair.expires_at == T0 + 300 and auth._pair.refresh_at == T0 + 240


def test_a_short_lived_token_is_renewed_at_half_its_life(rig: Rig) -> None:
    auth = JwtAuth(rig.key, AUTH_URL, clock=rig.clock, transport=rig.auth.transport)
    rig.auth.lifetime = 60
    auth.token()
    assert auth._pair is not None and auth._pair.refresh_at == T0 + 30


def test_concurrent_threads_cause_exactly_one_refresh(rig: Rig) -> None:
    auth = JwtAuth(rig.key, AUTH_URL, clock=rig.clock, transport=rig.auth.transport)
    first = auth.token()
    rig.clock.now += 890
    rig.auth.delay = 0.05  # every thread arrives while the refresh is in flight
    barrier = threading.Barrier(8)
    tokens: list[str] = []

    def worker() -> None:
        barrier.wait()
        tokens.append(auth.token())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert rig.auth.refreshes == 1 and auth.refreshes == 1
    assert len(set(tokens)) == 1 and tokens[0] != first


async def test_concurrent_tasks_cause_exactly_one_refresh(rig: Rig) -> None:
    auth = JwtAuth(rig.key, AUTH_URL, clock=rig.clock, transport=rig.auth.transport)
    await auth.atoken()
    rig.clock.now += 890
    tokens = await asyncio.gather(*(auth.atoken() for _ in range(8)))
    assert rig.auth.refreshes == 1 and len(set(tokens)) == 1


async def test_concurrent_renewals_after_401_refresh_once(rig: Rig) -> None:
    auth = JwtAuth(rig.key, AUTH_URL, clock=rig.clock, transport=rig.auth.transport)
    stale = await auth.atoken()

    async def renew_after_sending() -> bool:
        auth._apply(httpx.Request("GET", "https://x"), stale)  # what the flow did for this task
        return await auth.arenew()

    results = await asyncio.gather(*(renew_after_sending() for _ in range(5)))
    assert results == [True] * 5 and rig.auth.refreshes == 1


@modes
async def test_a_401_is_answered_by_one_refresh_and_one_retry(rig: Rig, mode: str) -> None:
    client: Any = (AsyncTruex if mode == "async" else Truex)(**rig.args())
    await rig.call(mode, client)
    rig.trading.reject.add(rig.trading.tokens()[0].removeprefix("Bearer "))  # revoked server-side
    await rig.call(mode, client)
    assert (rig.auth.mints, rig.auth.refreshes) == (1, 1)
    assert len(rig.trading.requests) == 3
    assert rig.trading.tokens()[1] == rig.trading.tokens()[0] != rig.trading.tokens()[2]


@modes
async def test_a_second_401_is_an_authentication_error(rig: Rig, mode: str) -> None:
    rig.trading.reject_all = True
    with pytest.raises(AuthenticationError):
        await run(rig, mode, max_retries=3)
    assert len(rig.trading.requests) == 2  # one try, one after the single refresh; 401 is not retried
    assert (rig.auth.mints, rig.auth.refreshes) == (1, 1)


BAD_ANSWERS = {
    "500": httpx.Response(500, json={"message": "internal error"}),
    "400": httpx.Response(400, json={"message": "timestamp is required"}),
    "401": httpx.Response(401, json={"message": "invalid signature"}),
    "html": httpx.Response(502, text="<html>bad gateway</html>"),
    "garbage-200": httpx.Response(200, text="not json"),
    "no-refresh-token": httpx.Response(
        200, json={"access_token": "a.b.c", "expires_in": rfc3339(T0 + 900), "token_type": "Bearer"}
    ),
    "no-expiry": httpx.Response(200, json={"access_token": "a.b.c", "refresh_token": "r" * 10}),
    "bad-expiry": httpx.Response(
        200, json={"access_token": "a.b.c", "refresh_token": "r" * 10, "expires_in": "tomorrow"}
    ),
    "past-expiry": httpx.Response(
        200, json={"access_token": "a.b.c", "refresh_token": "r" * 10, "expires_in": rfc3339(T0 - 5)}
    ),
    "not-bearer": httpx.Response(
        200,
        json={
            "access_token": "a.b.c",
            "refresh_token": "r" * 10,
            "expires_in": rfc3339(T0 + 9),
            "token_type": "MAC",
        },
    ),
}


@modes
@pytest.mark.parametrize("answer", sorted(BAD_ANSWERS))
async def test_auth_api_failures_are_token_errors_and_nothing_is_traded(
    rig: Rig, mode: str, answer: str
) -> None:
    rig.auth.script.append(BAD_ANSWERS[answer])
    with pytest.raises(TokenError) as info:
        await run(rig, mode)
    assert AUTH_URL + "/api-key/token" in str(info.value)
    assert rig.trading.requests == []
    if answer.isdigit():
        assert info.value.status_code == int(answer)
        assert info.value.server_message and info.value.server_message in str(info.value)


@modes
async def test_a_token_without_client_id_is_refused_before_trading(rig: Rig, mode: str) -> None:
    rig.auth.claims = {"sub": KEY_ID}
    with pytest.raises(TokenError, match="no client_id claim"):
        await run(rig, mode)
    assert rig.trading.requests == []


@modes
async def test_an_unreachable_auth_api_is_a_token_error(rig: Rig, mode: str) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    rig.auth.transport = httpx.MockTransport(down)
    with pytest.raises(TokenError, match="no answer"):
        await run(rig, mode)
    assert rig.trading.requests == []


def test_preset_hmac_headers_are_removed() -> None:
    rig = Rig()
    auth = JwtAuth(rig.key, AUTH_URL, clock=rig.clock, transport=rig.auth.transport)
    with httpx.Client(transport=rig.trading.transport, auth=auth) as http:
        http.get(
            "https://api.truex.co/v1/cefi/clients",
            headers={"x-truex-auth-token": "k", "X-TRUEX-AUTH-SIGNATURE": "s"},
        )
    (request,) = rig.trading.requests
    assert request.headers["authorization"].startswith("Bearer ")
    assert "x-truex-auth-token" not in request.headers and "x-truex-auth-signature" not in request.headers


# --- secrets --------------------------------------------------------------------------------------


@modes
async def test_tokens_and_private_key_never_reach_logs_reprs_or_errors(rig: Rig, mode: str) -> None:
    import io
    import logging

    from truex_ext.logs import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    seen: list[str] = []
    try:
        client: Any = (AsyncTruex if mode == "async" else Truex)(**rig.args())
        await rig.call(mode, client)
        first = rig.trading.tokens()[0].removeprefix("Bearer ")
        rig.trading.reject.add(first)
        await rig.call(mode, client)  # 401, refresh, retry
        logger.debug("headers %s", {"Authorization": f"Bearer {first}"})
        logger.info("a careless line with the token %s", first)
        rig.trading.reject_all = True
        try:
            await rig.call(mode, client)
        except AuthenticationError as exc:
            seen += [str(exc), repr(exc)]
        rig.auth.script.append(httpx.Response(500, json={"message": "down"}))
        rig.clock.now += 10_000
        try:
            await rig.call(mode, client)
        except TokenError as exc:
            seen += [str(exc), repr(exc)]
        seen += [repr(client), str(client), repr(client._shared.jwt), repr(client._shared.jwt._pair)]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    text = stream.getvalue() + "\n".join(seen)
    assert "[REDACTED]" in text and len(seen) == 8
    secrets = {jwk_of(KEY)["d"], *rig.auth.refresh_tokens}
    secrets |= {t.removeprefix("Bearer ") for t in rig.trading.tokens()}
    for secret in secrets:
        assert secret not in text
