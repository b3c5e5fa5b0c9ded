"""Helpers for the sandbox tests: a small HMAC signer of their own, clients, and spec schema checks.

The signer is written here on purpose (not imported from truex_ext): the sandbox must be checked against
the documented rule, not against the SDK it exists to test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from truex_sandbox.spec import deref, load_spec, operations

V2024 = "v2024_01_01"
V2026 = "v2026_01_23"
VERSIONS = (V2024, V2026)
BTC = "200000000000000001"  # BTC-PYUSD in the default seed
ETH = "200000000000000002"
PYUSD = "100000000000000002"
USD = "100000000000000001"


def sign(secret: str, timestamp: str, method: str, path: str, body: bytes = b"") -> str:
    """Base64(HMAC-SHA256(secret, timestamp + METHOD + path + body)) — FACTS §1."""
    payload = timestamp.encode() + method.upper().encode() + path.encode() + body
    return base64.b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class Creds:
    key_id: str
    secret: str
    client_id: str


class Signer(httpx.Auth):
    """Signs each request as sent: raw path without the query string, exact body bytes."""

    requires_request_body = True

    def __init__(
        self, creds: Creds, clock: Callable[[], float] = time.time, *, user_id: str | None = ""
    ) -> None:
        self.creds = creds
        self.clock = clock
        # "" = the creds' client id; None = send no user-id header.
        self.user_id = creds.client_id if user_id == "" else user_id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        ts = str(int(self.clock()))
        path = request.url.raw_path.split(b"?", 1)[0].decode()
        request.headers["x-truex-auth-token"] = self.creds.key_id
        request.headers["x-truex-auth-timestamp"] = ts
        request.headers["x-truex-auth-signature"] = sign(
            self.creds.secret, ts, request.method, path, request.content
        )
        if self.user_id is not None:
            request.headers["x-truex-auth-userid"] = self.user_id
        yield request


def creds_of(exchange: Any, mnemonic: str) -> Creds:
    clients = {c.mnemonic: c.id for c in exchange.seed.clients}
    client_id = clients[mnemonic]
    key = next(k for k in exchange.seed.api_keys if client_id in k.client_ids)
    return Creds(key.key_id, key.secret, client_id)


def asgi_client(app: Any, auth: httpx.Auth | None = None, version: str | None = None) -> httpx.AsyncClient:
    headers = {"X-Truex-Version": version} if version else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox", auth=auth, headers=headers
    )


def json_body(payload: Any) -> tuple[bytes, dict[str, str]]:
    return json.dumps(payload).encode(), {"content-type": "application/json"}


# ------------------------------------------------------------------------------ spec schemas
_REGISTRY: Registry[Any] | None = None


def _registry() -> Registry[Any]:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry().with_resource("urn:spec", DRAFT202012.create_resource(load_spec()))
    return _REGISTRY


def validator_at(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": "urn:spec" + pointer}, registry=_registry())


def assert_valid(pointer: str, instance: Any) -> None:
    errors = sorted(validator_at(pointer).iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, f"{pointer}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def final_pointer(pointer: str) -> str:
    """``pointer`` after following the ``$ref`` chain it starts (so sub-pointers can be appended)."""
    while True:
        node = _at(pointer)
        if isinstance(node, dict) and set(node) == {"$ref"}:
            pointer = node["$ref"]
            continue
        return pointer


def _at(pointer: str) -> Any:
    node: Any = load_spec()
    for raw in pointer[2:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def response_pointer(op_id: str) -> str:
    pointer = operations()[op_id].response_pointer
    assert pointer is not None
    return final_pointer(pointer)


def is_list_response(op_id: str) -> bool:
    schema = deref(load_spec(), {"$ref": response_pointer(op_id)})
    return deref(load_spec(), schema["properties"]["data"]).get("type") == "array"


def assert_shape(op_id: str, version: str, body: Any) -> None:
    """``body`` is the 200 answer of ``op_id`` in ``version``'s shape, valid against the spec."""
    pointer = response_pointer(op_id)
    if version == V2026:
        assert_valid(pointer, body)
        return
    # v2024_01_01: the raw payload, i.e. what the envelope's "data" holds.
    if is_list_response(op_id):
        assert isinstance(body, list), f"{op_id}: v2024 list must be a bare array, got {type(body).__name__}"
        for item in body:
            assert_valid(final_pointer(final_pointer(pointer + "/properties/data") + "/items"), item)
    else:
        assert isinstance(body, dict) and "data" not in body, f"{op_id}: v2024 object must be bare"
        assert_valid(final_pointer(pointer + "/properties/data"), body)


def assert_problem(response: httpx.Response, status: int, version: str = V2024) -> dict[str, Any]:
    """``response`` is a problem of ``status`` in ``version``'s error shape; returns the problem."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers.get("x-request-id")
    body = response.json()
    if version == V2026:
        assert_valid("#/components/schemas/ErrorEnvelope", body)
        problem = body["error"]
    else:
        assert "error" not in body
        assert_valid("#/components/schemas/Problem", body)
        problem = body
    assert problem["status"] == status
    return dict(problem)


def state_of(exchange: Any) -> Mapping[str, Any]:
    """Everything observable in the exchange except its clock reading."""
    state = dict(exchange.dump_state())
    state.pop("now", None)
    return state
