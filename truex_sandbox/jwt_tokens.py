"""ES256 JWTs the sandbox issues and checks (DECISIONS §19).

Access tokens: claims ``iss``, ``sub`` (the Auth API key id), ``client_id``, ``iat``, ``exp`` (15 min),
``jti`` and ``token_use: "access"``; refresh tokens the same with ``token_use: "refresh"`` and 24 h. Both
are signed with the issuer's own P-256 key (random per app, so tokens do not survive a restart: clients
then re-mint, as they must against the real Auth API). Verification reports which rule failed, never the
token.

Example::

    issuer = TokenIssuer()
    pair = issuer.issue("key-id", "300000000000000001", now=1800000000)
    issuer.verify(pair["access_token"], now=1800000100)["client_id"]   # '300000000000000001'
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .jwt_keys import b64url, b64url_decode

__all__ = ["ACCESS_TTL", "REFRESH_TTL", "TokenIssuer", "TokenRejected", "es256_verify"]

ACCESS_TTL: Final = 15 * 60
REFRESH_TTL: Final = 24 * 3600
ISSUER: Final = "truex-sandbox"


class TokenRejected(Exception):
    """A token failed a rule; ``str`` names the rule (safe to show: never the token)."""


def es256_verify(public: ec.EllipticCurvePublicKey, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (raw r‖s, 64 bytes) is ES256 over ``message``."""
    if len(signature) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


class TokenIssuer:
    """Signs and verifies the sandbox's JWTs with one P-256 key (``key`` injectable for tests)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey | None = None) -> None:
        self._key = key or ec.generate_private_key(ec.SECP256R1())
        self._public = self._key.public_key()
        self.kid = secrets.token_hex(8)

    def encode(self, claims: dict[str, Any], *, alg: str = "ES256") -> str:
        """A signed JWT with these claims (``alg`` other than ES256 only to build bad tokens in tests)."""
        header = b64url(json.dumps({"alg": alg, "typ": "JWT", "kid": self.kid}).encode())
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        der = self._key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{header}.{payload}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def issue(self, key_id: str, client_id: str, now: float) -> dict[str, Any]:
        """The Auth API's 200 body: a new access/refresh pair."""
        iat = int(now)
        common = {"iss": ISSUER, "sub": key_id, "client_id": client_id, "iat": iat}
        access = self.encode(
            {**common, "exp": iat + ACCESS_TTL, "jti": secrets.token_hex(8), "token_use": "access"}
        )
        refresh = self.encode(
            {**common, "exp": iat + REFRESH_TTL, "jti": secrets.token_hex(8), "token_use": "refresh"}
        )
        expiry = datetime.fromtimestamp(iat + ACCESS_TTL, UTC).isoformat().replace("+00:00", "Z")
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": expiry,
            "token_type": "Bearer",
        }

    def verify(self, token: str, now: float, *, use: str = "access") -> dict[str, Any]:
        """The claims of a valid, unexpired token of this ``use``; :class:`TokenRejected` naming the rule."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenRejected("not a JWT (expected three base64url parts)")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except ValueError:
            raise TokenRejected("not a JWT (a part is not base64url JSON)") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise TokenRejected("not a JWT (header and payload must be JSON objects)")
        if header.get("alg") != "ES256":
            raise TokenRejected("alg must be ES256")
        if not es256_verify(self._public, f"{parts[0]}.{parts[1]}".encode(), signature):
            raise TokenRejected("signature does not verify (not issued by this sandbox, or altered)")
        if claims.get("token_use") != use:
            raise TokenRejected(f"not an {use} token" if use == "access" else f"not a {use} token")
        exp = claims.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool) or exp <= now:
            raise TokenRejected("expired")
        if not isinstance(claims.get("client_id"), str) or not claims["client_id"]:
            raise TokenRejected("no client_id claim (the account is not onboarded to CeFi)")
        return claims
