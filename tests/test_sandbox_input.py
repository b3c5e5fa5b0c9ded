"""Bytes the sandbox refuses before anything changes: bodies that are not UTF-8 JSON of Unicode text, and
authentication headers sent twice."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sandbox_support import BTC, PYUSD, V2026, Creds, Signer, asgi_client, assert_problem, creds_of, state_of

from truex_sandbox.app import create_app
from truex_sandbox.engine import Exchange

NOW = 1_800_000_000


@pytest.fixture
def app() -> Any:
    return create_app(Exchange(clock=lambda: NOW * 1_000_000_000), clock=lambda: NOW)


@pytest.fixture
def alice(app: Any) -> Creds:
    return creds_of(app.state.exchange, "ALICE")


def _transfer(instructions: str) -> str:
    """A deposit body as text, ``instructions`` spliced in raw (so escapes reach the server as written)."""
    request = {"client_id": "300000000000000001", "asset_id": PYUSD, "platform": "FIAT", "type": "DEPOSIT"}
    text = json.dumps({"request": {**request, "amount": "1", "instructions": {"note": "@"}}})
    return text.replace('"@"', instructions)


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (_transfer('"\\ud800"').encode(), "lone surrogate"),
        (_transfer('"a\\udfffb"').encode(), "lone surrogate"),
        (_transfer('"\\ude00\\ud83d"').encode(), "lone surrogate"),  # a pair in the wrong order
        (_transfer('{"\\udc00": "key"}').encode(), "lone surrogate"),
        (_transfer('"x"').encode().replace(b'"x"', b'"\xed\xa0\x80"'), "not valid UTF-8"),
        (_transfer('"x"').encode("utf-16"), "must be encoded as UTF-8"),
        (_transfer('"x"').encode("utf-16-le"), "must be encoded as UTF-8"),
        (_transfer('"x"').encode("utf-32"), "must be encoded as UTF-8"),
        (b"\xef\xbb\xbf" + _transfer('"x"').encode(), "byte order mark"),
    ],
    ids=[
        "lone-high",
        "lone-low",
        "reversed-pair",
        "in-a-key",
        "utf8-surrogate",
        "utf16",
        "utf16le",
        "utf32",
        "bom",
    ],
)
async def test_bad_text_is_a_400_naming_the_rule_and_changes_nothing(
    app: Any, alice: Creds, content: bytes, rule: str
) -> None:
    before = state_of(app.state.exchange)
    async with asgi_client(app, Signer(alice, lambda: NOW), V2026) as c:
        response = await c.post(
            "/v1/cefi/transfers", content=content, headers={"content-type": "application/json"}
        )
        listed = await c.get("/v1/cefi/transfers", params={"timestamp": "0"})
    assert rule in assert_problem(response, 400, V2026)["detail"]
    assert state_of(app.state.exchange) == before
    assert listed.status_code == 200 and listed.json()["data"] == []


async def test_a_valid_surrogate_pair_and_an_escaped_backslash_are_text(app: Any, alice: Creds) -> None:
    async with asgi_client(app, Signer(alice, lambda: NOW), V2026) as c:
        for note, text in (('"\\ud83d\\ude00"', "\U0001f600"), ('"\\\\ud800"', "\\ud800")):
            response = await c.post(
                "/v1/cefi/transfers", content=_transfer(note), headers={"content-type": "application/json"}
            )
            assert response.status_code == 200, response.text
            assert response.json()["data"]["request"]["instructions"] == {"note": text}
        listed = await c.get("/v1/cefi/transfers", params={"timestamp": "0"})
    assert listed.status_code == 200 and len(listed.json()["data"]) == 2


@pytest.mark.parametrize(
    "header",
    [
        "x-truex-auth-token",
        "x-truex-auth-timestamp",
        "x-truex-auth-signature",
        "x-truex-auth-userid",
        "x-truex-auth-user-id",
        "authorization",
    ],
)
async def test_an_auth_header_sent_twice_is_a_401_naming_it(app: Any, alice: Creds, header: str) -> None:
    before = state_of(app.state.exchange)
    body = {
        "external_id": "dup-1",
        "info": {"client_id": alice.client_id, "instrument_id": BTC, "side": "BUY", "type": "LIMIT"}
        | {"qty": "0.01", "price": "74000"},
    }
    async with asgi_client(app, _Doubling(alice, header), V2026) as c:
        response = await c.post(
            "/v1/cefi/orders", content=json.dumps(body), headers={"content-type": "application/json"}
        )
    problem = assert_problem(response, 401, V2026)
    assert problem["detail"].startswith(f"{header}: sent more than once")
    assert state_of(app.state.exchange) == before


class _Doubling(Signer):
    """Signs correctly, then sends ``header`` twice (the same value both times: still refused)."""

    def __init__(self, creds: Creds, header: str) -> None:
        super().__init__(creds, lambda: NOW)
        self.header = header

    def auth_flow(self, request: Any) -> Any:
        signed = next(super().auth_flow(request))
        raw = list(signed.headers.raw)
        name = self.header.encode()
        value = signed.headers.get(self.header, self.creds.client_id).encode()
        copies = 1 if any(k.lower() == name for k, _ in raw) else 2  # the alternate user-id is not sent
        signed.headers = type(signed.headers)(raw + [(name, value)] * copies)
        yield signed
