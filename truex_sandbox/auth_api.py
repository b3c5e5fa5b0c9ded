"""The Auth API emulation (``/v1/auth``) and bearer-token verification for CeFi operations.

Auth API, as True Markets documents it (FACTS-v105 A.5), on the sandbox's own server:

* ``POST /v1/auth/api-key/token`` ``{"key_id", "timestamp", "signature"}``: the signature must be ES256
  (raw r‖s, base64url) over ``"{key_id}.{timestamp}"`` by the seeded public key of ``key_id``, and the
  timestamp within ±30 s of the server clock;
* ``POST /v1/auth/token/refresh`` ``{"refresh_token"}``: a new pair for a valid refresh token;
* 200 ``{access_token, refresh_token, expires_in (RFC 3339), token_type: "Bearer"}``; errors
  ``{"message": ...}`` with 400 (malformed body) or 401 (rejected).

CeFi operations accept ``Authorization: Bearer <access token>`` instead of the HMAC headers
(:class:`BearerOrHmacVerifier`): the principal is the token's ``client_id``, like an HMAC key bound to that
one client. Both schemes on one request are refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .auth import HmacVerifier, Principal
from .jwt_keys import JwtKeyRecord, b64url_decode
from .jwt_tokens import TokenIssuer, TokenRejected, es256_verify
from .problems import ApiError

__all__ = ["AUTH_BASE", "MINT_WINDOW_SECONDS", "AuthApi", "BearerOrHmacVerifier", "auth_api_routes"]

AUTH_BASE: Final = "/v1/auth"
MINT_WINDOW_SECONDS: Final = 30
_MAX_BODY: Final = 64 * 1024
_BEARER_CHALLENGE: Final = {"www-authenticate": 'Bearer realm="truex-sandbox", error="invalid_token"'}


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _field(body: Mapping[str, Any], name: str, kind: type, what: str) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) or value == "":
        raise _Refused(400, f"{name} is required ({what})")
    return value


class AuthApi:
    """Mint and refresh against the seeded JWT keys. ``clock`` returns Unix seconds."""

    def __init__(self, keys: list[JwtKeyRecord], issuer: TokenIssuer, clock: Callable[[], float]) -> None:
        self._keys = {k.key_id: k for k in keys}
        self._issuer = issuer
        self._clock = clock

    def mint(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _Refused(400, "the body must be a JSON object")
        key_id = _field(body, "key_id", str, "string")
        timestamp = _field(body, "timestamp", int, "integer Unix seconds")
        signature = _field(body, "signature", str, "base64url ES256 signature")
        record = self._keys.get(key_id)
        if record is None:
            raise _Refused(401, "unknown key_id")
        now = self._clock()
        if abs(now - timestamp) > MINT_WINDOW_SECONDS:
            raise _Refused(
                401, f"timestamp is {timestamp - now:+.0f} s from server time; at most ±30 s allowed"
            )
        try:
            raw = b64url_decode(signature)
        except ValueError:
            raise _Refused(401, "signature is not base64url") from None
        if not es256_verify(record.public_key(), f"{key_id}.{timestamp}".encode(), raw):
            raise _Refused(401, 'invalid signature (ES256, raw r||s, over "{key_id}.{timestamp}")')
        return self._issuer.issue(key_id, record.client_id, now)

    def refresh(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _Refused(400, "the body must be a JSON object")
        token = _field(body, "refresh_token", str, "string")
        try:
            claims = self._issuer.verify(token, self._clock(), use="refresh")
        except TokenRejected as exc:
            raise _Refused(401, f"invalid refresh token: {exc}") from None
        record = self._keys.get(str(claims.get("sub")))
        if record is None:
            raise _Refused(401, "the key of this refresh token no longer exists")
        return self._issuer.issue(record.key_id, record.client_id, self._clock())


class _Endpoint:
    """One Auth API route as a raw ASGI callable: JSON in, JSON out, ``{"message"}`` on failure."""

    def __init__(self, handle: Callable[[Any], dict[str, Any]]) -> None:
        self._handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, payload, extra = 200, {}, []
        try:
            if scope["method"] != "POST":
                extra = [(b"allow", b"POST")]
                raise _Refused(405, f"{scope['method']} is not allowed; use POST")
            body = await _read(receive)
            try:
                document = json.loads(body)
            except ValueError:
                raise _Refused(400, "the body is not JSON") from None
            payload = self._handle(document)
        except _Refused as exc:
            status, payload = exc.status, {"message": exc.message}
        data = json.dumps(payload, separators=(",", ":")).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            raise _Refused(400, "the body is too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def auth_api_routes(api: AuthApi) -> list[Route]:
    """The Auth API's routes under :data:`AUTH_BASE`."""
    return [
        Route(f"{AUTH_BASE}/api-key/token", endpoint=_Endpoint(api.mint), name="auth-mint"),
        Route(f"{AUTH_BASE}/token/refresh", endpoint=_Endpoint(api.refresh), name="auth-refresh"),
    ]


class BearerOrHmacVerifier:
    """``hmac`` as before; ``Authorization: Bearer`` checked against the issuer instead (never both).

    Wraps rather than subclasses the HMAC verifier, so whatever HMAC check the app is built with (tests
    swap it) stays the one used.
    """

    def __init__(self, hmac: HmacVerifier, issuer: TokenIssuer, clock: Callable[[], float]) -> None:
        self._hmac = hmac
        self._issuer = issuer
        self._now = clock

    def verify(
        self,
        method: str,
        raw_path: bytes,
        headers: Mapping[bytes, bytes],
        body: bytes,
        *,
        user_id_required: bool = True,
    ) -> Principal:
        authorization = headers.get(b"authorization")
        if authorization is None:
            return self._hmac.verify(method, raw_path, headers, body, user_id_required=user_id_required)
        if any(name.startswith(b"x-truex-auth-") for name in headers):
            raise _bearer_error(
                "send either Authorization: Bearer or the x-truex-auth-* HMAC headers, not both"
            )
        scheme, _, token = authorization.decode("latin-1").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _bearer_error("Authorization: expected 'Bearer <access token>'")
        try:
            claims = self._issuer.verify(token.strip(), self._now())
        except TokenRejected as exc:
            raise _bearer_error(f"bearer token: {exc}") from None
        client_id = str(claims["client_id"])
        return Principal(
            key_id=str(claims.get("sub", "")), client_ids=frozenset({client_id}), user_id=client_id
        )


def _bearer_error(detail: str) -> ApiError:
    return ApiError(401, detail, headers=dict(_BEARER_CHALLENGE))
