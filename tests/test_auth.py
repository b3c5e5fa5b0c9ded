"""Tests for truex_ext.auth: the signature, credentials, clock skew and the httpx auth flow."""

from __future__ import annotations

import base64
import doctest
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from email.utils import formatdate

import httpx
import pytest

import truex_ext.auth
from truex_ext.auth import ClockSkew, Credentials, HmacAuth, sign
from truex_ext.errors import MissingCredentialsError

SENTINEL_SECRET = "FAKE-SECRET-9f3c1e7a-do-not-leak"
API_KEY = "123e4567-e89b-12d3-a456-426614174000"
CLIENT_ID = "78932725357888855"
T0 = 1700000000

ORDER_BODY = (
    '{"external_id":"abc-1","info":{"client_id":"78901985048264710","instrument_id":"78901949723181070",'
    '"qty":"0.01","price":"75000.50","side":"BUY","type":"LIMIT","tif":"GTC"}}'
)


# --- sign -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("GET", "/api/v1/balances", "", "dAqHLoKABrri1KMovRuLdM8+u1W10gIEX/RjIrxWqD0="),
        ("DELETE", "/api/v1/orders/799477895858487977", "", "EKfdzGhxagmHGBkkAQC1eSa9A+XZ0ajmTN2SR0gmyXk="),
        ("POST", "/api/v1/orders", ORDER_BODY, "jrNdSAOE7wEc/oIxKZIjpv6GNP4C+8XMqsTaEZtlVSs="),
    ],
)
def test_sign_matches_facts_vectors(method: str, path: str, body: str, expected: str) -> None:
    # FACTS §1.4: str and bytes bodies, str and int timestamps, any method case give the same bytes.
    assert sign("my-secret", "1700000000", method, path, body) == expected
    assert sign("my-secret", T0, method.lower(), path, body.encode()) == expected


def test_sign_default_body_is_empty() -> None:
    assert sign("my-secret", T0, "GET", "/api/v1/balances") == "dAqHLoKABrri1KMovRuLdM8+u1W10gIEX/RjIrxWqD0="


def test_sign_is_plain_hmac_sha256_base64_of_concatenation() -> None:
    # Independent recomputation with a non-ASCII secret and binary body: UTF-8 key, raw bytes, no separators.
    secret, body = "sécret-ü", b"\x00\xff{}"
    expected = base64.b64encode(
        hmac.new(secret.encode("utf-8"), b"42PATCH/api/v1/x" + body, hashlib.sha256).digest()
    ).decode()
    result = sign(secret, 42, "patch", "/api/v1/x", body)
    assert result == expected
    assert len(result) == 44


def test_sign_depends_on_every_part() -> None:
    base = sign("s", 1, "GET", "/a", b"x")
    assert len({base, sign("t", 1, "GET", "/a", b"x"), sign("s", 2, "GET", "/a", b"x")}) == 3
    assert (
        len(
            {
                base,
                sign("s", 1, "PUT", "/a", b"x"),
                sign("s", 1, "GET", "/b", b"x"),
                sign("s", 1, "GET", "/a"),
            }
        )
        == 4
    )


# --- Credentials ----------------------------------------------------------------------------------


def test_credentials_repr_and_str_hide_secret_and_mask_key() -> None:
    creds = Credentials(API_KEY, SENTINEL_SECRET, CLIENT_ID)
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert SENTINEL_SECRET not in text
        assert API_KEY not in text
        assert "4000" in text  # last 4 chars, enough to tell keys apart
        assert CLIENT_ID in text


def test_credentials_short_key_is_fully_masked() -> None:
    assert "abcd" not in repr(Credentials("abcd", SENTINEL_SECRET))


@pytest.mark.parametrize("field", ["api_key", "secret"])
def test_credentials_reject_empty_without_echoing(field: str) -> None:
    kwargs = {"api_key": API_KEY, "secret": SENTINEL_SECRET, field: ""}
    with pytest.raises(ValueError, match=field) as info:
        Credentials(**kwargs)
    assert SENTINEL_SECRET not in str(info.value)


def test_from_env_reads_all_three_and_strips_whitespace() -> None:
    env = {
        "TRUEX_API_KEY": f" {API_KEY}\n",
        "TRUEX_API_SECRET": f"{SENTINEL_SECRET}\n",
        "TRUEX_CLIENT_ID": CLIENT_ID,
    }
    assert Credentials.from_env(env) == Credentials(API_KEY, SENTINEL_SECRET, CLIENT_ID)


@pytest.mark.parametrize("client_id", [None, "", "  "])
def test_from_env_client_id_is_optional(client_id: str | None) -> None:
    env = {"TRUEX_API_KEY": API_KEY, "TRUEX_API_SECRET": SENTINEL_SECRET}
    if client_id is not None:
        env["TRUEX_CLIENT_ID"] = client_id
    assert Credentials.from_env(env).client_id is None


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"TRUEX_API_SECRET": SENTINEL_SECRET}, "TRUEX_API_KEY"),
        ({"TRUEX_API_KEY": API_KEY}, "TRUEX_API_SECRET"),
        ({"TRUEX_API_KEY": API_KEY, "TRUEX_API_SECRET": "   "}, "TRUEX_API_SECRET"),
        ({}, "TRUEX_API_KEY"),
    ],
)
def test_from_env_names_missing_variable_without_values(env: dict[str, str], missing: str) -> None:
    with pytest.raises(MissingCredentialsError) as info:
        Credentials.from_env(env)
    assert info.value.variable == missing
    assert missing in str(info.value)
    assert SENTINEL_SECRET not in str(info.value)
    assert API_KEY not in str(info.value)
    assert isinstance(info.value, LookupError)


def test_from_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUEX_API_KEY", API_KEY)
    monkeypatch.setenv("TRUEX_API_SECRET", SENTINEL_SECRET)
    monkeypatch.delenv("TRUEX_CLIENT_ID", raising=False)
    assert Credentials.from_env() == Credentials(API_KEY, SENTINEL_SECRET, None)


# --- ClockSkew ------------------------------------------------------------------------------------


def test_clock_skew_observes_date_header() -> None:
    skew = ClockSkew()
    assert skew.offset is None
    assert skew.observe(formatdate(T0 + 30, usegmt=True), local_now=T0 + 0.25) == pytest.approx(29.75)
    assert skew.offset == pytest.approx(29.75)
    skew.observe(formatdate(T0 - 5, usegmt=True), local_now=T0)
    assert skew.offset == pytest.approx(-5)


@pytest.mark.parametrize("bad", [None, "", "not a date", "Mon, 99 Foo 2023 99:99:99 GMT"])
def test_clock_skew_ignores_missing_or_bad_date(bad: str | None) -> None:
    skew = ClockSkew()
    skew.observe(formatdate(T0 + 3, usegmt=True), local_now=T0)
    assert skew.observe(bad, local_now=T0 + 1000) == pytest.approx(3)
    assert skew.offset == pytest.approx(3)


def test_clock_skew_treats_asctime_date_as_utc() -> None:
    skew = ClockSkew()
    skew.observe("Tue Nov 14 22:13:30 2023", local_now=T0)  # T0 is 2023-11-14 22:13:20 UTC
    assert skew.offset == pytest.approx(10)


# --- HmacAuth -------------------------------------------------------------------------------------


class FakeExchange:
    """A MockTransport handler that verifies signatures the way the server does, independently of sign().

    It rebuilds the payload from what arrived on the wire: the timestamp header, the method, the raw
    path up to '?', and the raw body bytes.
    """

    def __init__(self, secret: str, date: float | None = None) -> None:
        self.secret = secret
        self.date = date
        self.requests: list[httpx.Request] = []
        self.verified: list[bool] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raw_path = request.url.raw_path.split(b"?")[0]
        payload = (
            request.headers["x-truex-auth-timestamp"].encode()
            + request.method.encode()
            + raw_path
            + request.content
        )
        expected = base64.b64encode(hmac.new(self.secret.encode(), payload, hashlib.sha256).digest()).decode()
        ok = hmac.compare_digest(expected, request.headers["x-truex-auth-signature"])
        self.verified.append(ok)
        headers = {"date": formatdate(self.date, usegmt=True)} if self.date is not None else {}
        return httpx.Response(200 if ok else 401, headers=headers, json={"ok": ok})


def make_auth(secret: str = SENTINEL_SECRET, client_id: str | None = CLIENT_ID, **kwargs: object) -> HmacAuth:
    return HmacAuth(Credentials(API_KEY, secret, client_id), clock=lambda: T0 + 0.9, **kwargs)  # type: ignore[arg-type]


def test_sync_post_json_body_and_headers() -> None:
    exchange = FakeExchange(SENTINEL_SECRET)
    with httpx.Client(
        base_url="https://prod.truex.co", transport=httpx.MockTransport(exchange), auth=make_auth()
    ) as c:
        r = c.post("/api/v1/orders", json=json.loads(ORDER_BODY))
    assert r.status_code == 200
    assert exchange.verified == [True]
    sent = exchange.requests[0]
    assert sent.headers["x-truex-auth-token"] == API_KEY
    assert sent.headers["x-truex-auth-userid"] == CLIENT_ID
    assert sent.headers["x-truex-auth-timestamp"] == str(T0)  # integer seconds, truncated
    assert sent.headers["x-truex-auth-signature"] == sign(
        SENTINEL_SECRET, T0, "POST", "/api/v1/orders", sent.content
    )


def test_sync_post_matches_facts_vector_byte_for_byte() -> None:
    exchange = FakeExchange("my-secret")
    auth = HmacAuth(Credentials(API_KEY, "my-secret"), clock=lambda: float(T0))
    with httpx.Client(transport=httpx.MockTransport(exchange), auth=auth) as c:
        c.post("https://prod.truex.co/api/v1/orders", content=ORDER_BODY.encode())
    assert (
        exchange.requests[0].headers["x-truex-auth-signature"]
        == "jrNdSAOE7wEc/oIxKZIjpv6GNP4C+8XMqsTaEZtlVSs="
    )


def test_sync_get_with_query_signs_path_without_query() -> None:
    exchange = FakeExchange(SENTINEL_SECRET)
    with httpx.Client(transport=httpx.MockTransport(exchange), auth=make_auth()) as c:
        c.get("https://prod.truex.co/api/v1/orders", params={"size": "10", "cursor": "a b/c"})
    sent = exchange.requests[0]
    assert sent.url.query  # the query did go out ...
    assert exchange.verified == [True]  # ... and the server-side check without it passes
    assert sent.headers["x-truex-auth-signature"] == sign(SENTINEL_SECRET, T0, "GET", "/api/v1/orders")


def test_percent_encoding_is_signed_as_sent() -> None:
    exchange = FakeExchange(SENTINEL_SECRET)
    with httpx.Client(transport=httpx.MockTransport(exchange), auth=make_auth()) as c:
        c.get("https://prod.truex.co/api/v1/assets/BTC%2FUSD x")
    sent = exchange.requests[0]
    assert exchange.verified == [True]
    signature = sent.headers["x-truex-auth-signature"]
    assert signature == sign(SENTINEL_SECRET, T0, "GET", "/api/v1/assets/BTC%2FUSD%20x")
    assert signature != sign(SENTINEL_SECRET, T0, "GET", sent.url.path)  # decoded path would be wrong


def test_no_userid_header_without_client_id() -> None:
    exchange = FakeExchange(SENTINEL_SECRET)
    with httpx.Client(transport=httpx.MockTransport(exchange), auth=make_auth(client_id=None)) as c:
        c.get("https://prod.truex.co/api/v1/clients")
    assert "x-truex-auth-userid" not in exchange.requests[0].headers
    assert exchange.verified == [True]


def test_streamed_sync_body_is_read_and_signed() -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"a":'
        yield b"1}"

    exchange = FakeExchange(SENTINEL_SECRET)
    with httpx.Client(transport=httpx.MockTransport(exchange), auth=make_auth()) as c:
        c.post("https://prod.truex.co/api/v1/orders", content=chunks())
    assert exchange.requests[0].content == b'{"a":1}'
    assert exchange.verified == [True]


def test_wrong_secret_is_rejected_by_fake_exchange() -> None:
    # Guards the verifier itself: if it accepted anything, the tests above would prove nothing.
    exchange = FakeExchange("another-secret")
    with httpx.Client(transport=httpx.MockTransport(exchange), auth=make_auth()) as c:
        r = c.get("https://prod.truex.co/api/v1/balances")
    assert r.status_code == 401
    assert exchange.verified == [False]


async def test_async_client_post_and_get_with_query() -> None:
    exchange = FakeExchange(SENTINEL_SECRET)
    auth = make_auth()
    async with httpx.AsyncClient(
        base_url="https://prod.truex.co", transport=httpx.MockTransport(exchange), auth=auth
    ) as c:
        r1 = await c.post("/api/v1/orders", json=json.loads(ORDER_BODY))
        r2 = await c.get("/api/v1/orders/799477895858487977", params={"x": "1"})
    assert (r1.status_code, r2.status_code) == (200, 200)
    assert exchange.verified == [True, True]
    assert exchange.requests[1].headers["x-truex-auth-signature"] == sign(
        SENTINEL_SECRET, T0, "GET", "/api/v1/orders/799477895858487977"
    )


async def test_async_streamed_body_is_read_and_signed() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"qty":'
        yield b'"0.01"}'

    exchange = FakeExchange(SENTINEL_SECRET)
    async with httpx.AsyncClient(transport=httpx.MockTransport(exchange), auth=make_auth()) as c:
        await c.post("https://prod.truex.co/api/v1/orders", content=chunks())
    assert exchange.requests[0].content == b'{"qty":"0.01"}'
    assert exchange.verified == [True]


def test_each_request_is_signed_with_a_fresh_timestamp() -> None:
    now = [float(T0)]
    exchange = FakeExchange(SENTINEL_SECRET)
    auth = HmacAuth(Credentials(API_KEY, SENTINEL_SECRET), clock=lambda: now[0])
    with httpx.Client(transport=httpx.MockTransport(exchange), auth=auth) as c:
        c.get("https://prod.truex.co/api/v1/balances")
        now[0] += 7
        c.get("https://prod.truex.co/api/v1/balances")
    stamps = [r.headers["x-truex-auth-timestamp"] for r in exchange.requests]
    assert stamps == [str(T0), str(T0 + 7)]
    assert exchange.verified == [True, True]


def test_flow_learns_skew_from_date_and_corrects_when_asked() -> None:
    exchange = FakeExchange(SENTINEL_SECRET, date=T0 + 42)
    skew = ClockSkew()
    creds = Credentials(API_KEY, SENTINEL_SECRET)
    correcting = HmacAuth(creds, clock=lambda: T0 + 0.5, skew=skew, correct_skew=True)
    plain = HmacAuth(creds, clock=lambda: T0 + 0.5, skew=skew)
    with httpx.Client(transport=httpx.MockTransport(exchange)) as c:
        c.get("https://prod.truex.co/api/v1/health", auth=correcting)  # nothing observed yet: no shift
        assert skew.offset == pytest.approx(41.5)
        c.get("https://prod.truex.co/api/v1/health", auth=correcting)
        c.get("https://prod.truex.co/api/v1/health", auth=plain)
    stamps = [int(r.headers["x-truex-auth-timestamp"]) for r in exchange.requests]
    # floor(T0 + 0.5 + 41.5) = T0 + 42; the non-correcting auth keeps the local clock.
    assert stamps == [T0, T0 + 42, T0]
    assert exchange.verified == [True, True, True]


def test_auth_creates_its_own_skew_tracker() -> None:
    auth = make_auth()
    exchange = FakeExchange(SENTINEL_SECRET, date=T0 - 20)
    with httpx.Client(transport=httpx.MockTransport(exchange), auth=auth) as c:
        c.get("https://prod.truex.co/api/v1/health")
    assert auth.skew.offset == pytest.approx(-20.9)


def test_skew_correction_floors_to_avoid_future_timestamps() -> None:
    skew = ClockSkew()
    skew.observe(formatdate(T0, usegmt=True), local_now=T0 + 2.6)  # local clock 2.6 s ahead
    auth = HmacAuth(
        Credentials(API_KEY, SENTINEL_SECRET), clock=lambda: T0 + 2.9, skew=skew, correct_skew=True
    )
    assert auth.timestamp() == T0  # floor(T0 + 0.3), never T0 + 1


def test_hmac_auth_repr_hides_secret() -> None:
    auth = make_auth()
    assert SENTINEL_SECRET not in repr(auth)
    assert API_KEY not in repr(auth)
    assert "HmacAuth" in repr(auth)


def test_secret_never_sent_in_any_header() -> None:
    exchange = FakeExchange(SENTINEL_SECRET)
    with httpx.Client(transport=httpx.MockTransport(exchange), auth=make_auth()) as c:
        c.post("https://prod.truex.co/api/v1/orders", json={"a": 1})
    sent = exchange.requests[0]
    assert all(SENTINEL_SECRET not in v for v in sent.headers.values())
    assert SENTINEL_SECRET.encode() not in sent.content


def test_docstring_examples() -> None:
    result = doctest.testmod(truex_ext.auth)
    assert result.attempted > 0
    assert result.failed == 0
