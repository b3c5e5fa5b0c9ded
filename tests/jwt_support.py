"""Test helpers for JWT auth: key files, a scripted fake Auth API and a fake trading API (no network).

The fake Auth API verifies the ES256 challenge with ``cryptography`` itself (raw r||s, base64url), as the
documented rule says, not with the SDK's code.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

T0 = 1_800_000_000.0
KEY_ID = "0b7c1d2e-3f40-4a51-8b62-7c8d9e0fa1b2"
CLIENT_ID = "300000000000000001"
AUTH_URL = "https://auth.test/v1/auth"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def jwk_of(key: ec.EllipticCurvePrivateKey, crv: str = "P-256") -> dict[str, str]:
    numbers = key.private_numbers()
    size = (key.curve.key_size + 7) // 8
    return {
        "kty": "EC",
        "crv": crv,
        "x": b64u(numbers.public_numbers.x.to_bytes(size, "big")),
        "y": b64u(numbers.public_numbers.y.to_bytes(size, "big")),
        "d": b64u(numbers.private_value.to_bytes(size, "big")),
    }


def pem_of(key: Any, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> str:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def write_key_file(tmp: Path, key: ec.EllipticCurvePrivateKey, *, pem: bool = False) -> Path:
    path = tmp / "truemarkets-api-key-test.json"
    private = pem_of(key) if pem else jwk_of(key)
    path.write_text(json.dumps({"key_id": KEY_ID, "private_key": private}))
    return path


def verify_es256(public: ec.EllipticCurvePublicKey, message: bytes, signature: str) -> bool:
    raw = unb64u(signature)
    if len(raw) != 64 or "=" in signature:
        return False
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def fake_jwt(claims: dict[str, Any]) -> str:
    """A JWT-shaped token (unsigned: the client never verifies, it only reads claims)."""
    header = b64u(json.dumps({"alg": "ES256", "typ": "JWT"}).encode())
    return f"{header}.{b64u(json.dumps(claims).encode())}.c2lnbmF0dXJl"


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class FakeAuthApi:
    """The Auth API: mints (checking the ES256 challenge) and refreshes; ``script`` overrides answers."""

    def __init__(self, public: ec.EllipticCurvePublicKey, clock: Callable[[], float], lifetime: float = 900):
        self.public = public
        self.clock = clock
        self.lifetime = lifetime
        self.calls: list[str] = []
        self.script: list[httpx.Response] = []
        self.claims: dict[str, Any] = {"client_id": CLIENT_ID}
        self.delay = 0.0  # seconds to hold each answer (widens race windows in concurrency tests)
        self.refresh_tokens: set[str] = set()
        self._n = 0
        self._lock = threading.Lock()
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.calls.append(request.url.path)
            scripted = self.script.pop(0) if self.script else None
        if self.delay:
            time.sleep(self.delay)
        if scripted is not None:
            return scripted
        body = json.loads(request.content)
        if request.url.path.endswith("/api-key/token"):
            message = f"{body['key_id']}.{body['timestamp']}".encode()
            if abs(body["timestamp"] - self.clock()) > 30 or not verify_es256(
                self.public, message, body["signature"]
            ):
                return httpx.Response(401, json={"message": "invalid signature"})
        elif body.get("refresh_token") not in self.refresh_tokens:
            return httpx.Response(401, json={"message": "invalid refresh token"})
        return httpx.Response(200, json=self.pair())

    def pair(self) -> dict[str, Any]:
        with self._lock:
            self._n += 1
            n = self._n
        refresh = f"refresh-token-{n}-FAKE-do-not-leak"
        self.refresh_tokens.add(refresh)
        return {
            "access_token": fake_jwt({**self.claims, "n": n, "sub": KEY_ID}),
            "refresh_token": refresh,
            "expires_in": rfc3339(self.clock() + self.lifetime),
            "token_type": "Bearer",
        }

    @property
    def mints(self) -> int:
        return sum(p.endswith("/api-key/token") for p in self.calls)

    @property
    def refreshes(self) -> int:
        return sum(p.endswith("/token/refresh") for p in self.calls)


EMPTY_CLIENTS = {"data": [], "pagination": {"size": 10, "next_cursor": None}}


class FakeTrading:
    """The trading API: records each request; answers 401 to tokens listed in ``reject``."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.reject: set[str] = set()
        self.reject_all = False
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.reject_all or token in self.reject:
            problem = {
                "type": "about:blank",
                "title": "Unauthorized",
                "status": 401,
                "detail": "token expired",
            }
            return httpx.Response(
                401, json={"error": problem}, headers={"content-type": "application/problem+json"}
            )
        return httpx.Response(200, json=EMPTY_CLIENTS, headers={"x-truex-version": "v2026_01_23"})

    def tokens(self) -> list[str]:
        return [r.headers.get("authorization", "") for r in self.requests]


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
