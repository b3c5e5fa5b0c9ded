"""The HMAC signer of the contract tests: a ``requests`` auth that signs the request exactly as it is sent.

Schemathesis hands a ``requests.auth.AuthBase`` the *prepared* request (``schema.auth.set_from_requests``),
after the body is serialised, so the signature covers the exact bytes, method and path that go on the wire
(FACTS §1): ``Base64(HMAC-SHA256(secret, timestamp + METHOD + path-without-query + body))``. Written here on
purpose, like ``tests/sandbox_support.py``: the sandbox is checked against the documented rule, not against
the SDK's own signer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from requests import PreparedRequest
from requests.auth import AuthBase

from truex_sandbox.seed import default_seed

__all__ = ["Credentials", "HmacSigner", "default_credentials", "env_credentials", "sign"]


def sign(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """``Base64(HMAC-SHA256(secret as UTF-8, timestamp + METHOD + path + body))`` — FACTS §1.1/§1.2."""
    payload = timestamp.encode("ascii") + method.upper().encode("ascii") + path.encode("ascii") + body
    return base64.b64encode(hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).digest()).decode(
        "ascii"
    )


@dataclass(frozen=True)
class Credentials:
    key_id: str
    secret: str
    client_id: str

    def __repr__(self) -> str:  # the secret never lands in a test report
        return f"Credentials(key_id={self.key_id!r}, secret='***', client_id={self.client_id!r})"


def default_credentials(mnemonic: str = "ALICE") -> Credentials:
    """The key of ``mnemonic`` in the sandbox's default seed (deterministic key id and secret)."""
    seed = default_seed()
    client_id = next(c.id for c in seed.clients if c.mnemonic == mnemonic)
    key = next(k for k in seed.api_keys if client_id in k.client_ids)
    return Credentials(key.key_id, key.secret, client_id)


def env_credentials() -> Credentials:
    """``TRUEX_API_KEY`` / ``TRUEX_API_SECRET`` / ``TRUEX_CLIENT_ID``, else ALICE of the default seed."""
    fallback = default_credentials()
    return Credentials(
        os.environ.get("TRUEX_API_KEY") or fallback.key_id,
        os.environ.get("TRUEX_API_SECRET") or fallback.secret,
        os.environ.get("TRUEX_CLIENT_ID") or fallback.client_id,
    )


class HmacSigner(AuthBase):
    """Adds the four ``x-truex-auth-*`` headers to a prepared request, signing its bytes as sent.

    A ``str`` body is encoded to UTF-8 here and put back on the request, so the bytes signed are the bytes
    sent whatever requests would have done with the string.
    """

    def __init__(self, credentials: Credentials, clock: Callable[[], float] = time.time) -> None:
        self.credentials = credentials
        self.clock = clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.credentials!r})"

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        body = request.body
        if body is None:
            raw = b""
        elif isinstance(body, bytes):
            raw = body
        elif isinstance(body, str):
            raw = body.encode("utf-8")
            request.body = raw
            request.headers["Content-Length"] = str(len(raw))
        else:  # a file or a generator: its bytes are not known before sending
            raise TypeError(f"cannot sign a streamed body ({type(body).__name__})")
        path = (request.path_url or "/").split("?", 1)[0]
        timestamp = str(int(self.clock()))
        creds = self.credentials
        request.headers["x-truex-auth-token"] = creds.key_id
        request.headers["x-truex-auth-userid"] = creds.client_id
        request.headers["x-truex-auth-timestamp"] = timestamp
        request.headers["x-truex-auth-signature"] = sign(
            creds.secret, timestamp, request.method or "GET", path, raw
        )
        return request
