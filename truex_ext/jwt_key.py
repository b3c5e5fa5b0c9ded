"""An Auth API key (key id + EC P-256 private key) and the ES256 challenge it signs to mint tokens.

A True Markets account registers only the *public* half of a P-256 key pair and gets a ``key_id`` (UUID);
the private half stays in a key file (``truemarkets-api-key-XXXXXXXX.json``)::

    {"key_id": "00000000-0000-4000-8000-000000000000",
     "private_key": {"kty": "EC", "crv": "P-256", "x": "...", "y": "...", "d": "..."}}

``private_key`` may also be a PEM string (``-----BEGIN PRIVATE KEY-----`` / ``BEGIN EC PRIVATE KEY``).

Example::

    key = JwtKey.from_file("truemarkets-api-key-1234abcd.json")   # or JwtKey.from_env(): TRUEX_JWT_KEY_FILE
    key.challenge(1796256000)  # {"key_id": ..., "timestamp": 1796256000, "signature": "<86 chars>"}

``cryptography`` is imported only here, and only when a key is loaded (``pip install 'truex-cefi[jwt]'``),
so ``import truex_ext`` stays light for HMAC users.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import logs
from .errors import JwtKeyError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

__all__ = ["ENV_JWT_KEY_FILE", "JwtKey", "b64url", "b64url_decode"]

ENV_JWT_KEY_FILE = "TRUEX_JWT_KEY_FILE"
_INSTALL_HINT = "JWT auth needs the cryptography package: pip install 'truex-cefi[jwt]'"


def b64url(data: bytes) -> str:
    """Base64url without ``=`` padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url`; padding is optional. Raises ValueError on anything else."""
    if not isinstance(text, str) or not text.replace("-", "").replace("_", "").rstrip("=").isalnum():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _ec() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError as exc:  # the optional extra is not installed
        raise ImportError(_INSTALL_HINT) from exc
    return ec


class JwtKey:
    """A ``key_id`` and its EC P-256 private key. ``repr`` shows the key id only.

    Build it with :meth:`from_file`, :meth:`from_env` or :meth:`from_mapping`; each raises
    :class:`~truex_ext.errors.JwtKeyError` naming what is wrong (never the key itself).
    """

    __slots__ = ("_private_key", "key_id")

    def __init__(self, key_id: str, private_key: EllipticCurvePrivateKey) -> None:
        ec = _ec()
        if not isinstance(key_id, str) or not key_id.strip():
            raise JwtKeyError("key_id must be a non-empty string")
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or private_key.curve.name != "secp256r1":
            raise JwtKeyError("private_key must be an EC P-256 private key")
        self.key_id = key_id.strip()
        self._private_key = private_key

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> JwtKey:
        """Read a key file (JSON: ``key_id`` + ``private_key`` as a JWK or PEM string)."""
        where = os.fspath(path)
        try:
            text = Path(where).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise JwtKeyError(f"JWT key file {where}: cannot be read ({type(exc).__name__})") from None
        try:
            data = json.loads(text)
        except ValueError:
            raise JwtKeyError(f"JWT key file {where}: not JSON") from None
        return cls.from_mapping(data, source=f"JWT key file {where}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> JwtKey | None:
        """The key file named by ``TRUEX_JWT_KEY_FILE``, or None when the variable is unset or empty."""
        path = environ.get(ENV_JWT_KEY_FILE, "").strip()
        return cls.from_file(path) if path else None

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "JWT key") -> JwtKey:
        """Build from the decoded key file: ``{"key_id": str, "private_key": JWK object | PEM string}``."""
        if not isinstance(data, Mapping):
            raise JwtKeyError(f"{source}: must be a JSON object with key_id and private_key")
        key_id = data.get("key_id")
        if not isinstance(key_id, str) or not key_id.strip():
            raise JwtKeyError(f"{source}: key_id is missing or not a string")
        raw = data.get("private_key")
        _register(raw)
        if isinstance(raw, Mapping):
            key = _from_jwk(raw, source)
        elif isinstance(raw, str) and "-----BEGIN" in raw:
            key = _from_pem(raw, source)
        else:
            raise JwtKeyError(f"{source}: private_key is missing, or neither a JWK object nor a PEM string")
        return cls(key_id, key)

    def sign(self, message: bytes) -> str:
        """ES256 over ``message``: raw ``r‖s`` (2 x 32 bytes, IEEE P1363, not DER), base64url unpadded."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        der = self._private_key.sign(message, _ec().ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def challenge(self, timestamp: int) -> dict[str, Any]:
        """The body of ``POST {auth}/api-key/token``: the signed message is ``"{key_id}.{timestamp}"``."""
        signature = self.sign(f"{self.key_id}.{timestamp}".encode())
        return {"key_id": self.key_id, "timestamp": timestamp, "signature": signature}

    def public_jwk(self) -> dict[str, str]:
        """The public half as a JWK (what is registered with the account)."""
        numbers = self._private_key.public_key().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }

    def __repr__(self) -> str:
        return f"JwtKey(key_id={self.key_id!r}, private_key='***')"

    __str__ = __repr__


def _register(raw: Any) -> None:
    # The key material as it appears in the file: redacted from any log line that ever quotes it.
    if isinstance(raw, str):
        logs.register_secret(raw)
    elif isinstance(raw, Mapping) and isinstance(raw.get("d"), str):
        logs.register_secret(raw["d"])


def _from_jwk(jwk: Mapping[str, Any], source: str) -> EllipticCurvePrivateKey:
    ec = _ec()
    if jwk.get("kty") != "EC":
        raise JwtKeyError(f"{source}: private_key.kty must be 'EC' (ES256), got {str(jwk.get('kty'))[:8]!r}")
    if jwk.get("crv") != "P-256":
        raise JwtKeyError(f"{source}: private_key.crv must be 'P-256', got {str(jwk.get('crv'))[:8]!r}")
    coords: dict[str, int] = {}
    for name in ("d", "x", "y"):
        try:
            raw = b64url_decode(jwk[name])
        except (KeyError, ValueError):
            raise JwtKeyError(f"{source}: private_key.{name} is missing or not base64url") from None
        if len(raw) != 32:
            raise JwtKeyError(f"{source}: private_key.{name} must be 32 bytes for P-256, got {len(raw)}")
        coords[name] = int.from_bytes(raw, "big")
    try:
        key = ec.derive_private_key(coords["d"], ec.SECP256R1())
    except ValueError:
        raise JwtKeyError(f"{source}: private_key.d is not a valid P-256 scalar") from None
    public = key.public_key().public_numbers()
    if (public.x, public.y) != (coords["x"], coords["y"]):
        raise JwtKeyError(f"{source}: private_key.x/y do not belong to private_key.d")
    result: EllipticCurvePrivateKey = key
    return result


def _from_pem(pem: str, source: str) -> EllipticCurvePrivateKey:
    ec = _ec()
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.encode("ascii", "replace"), password=None)
    except (ValueError, TypeError):
        # TypeError: an encrypted PEM (a password would be needed); ValueError: not a key at all.
        raise JwtKeyError(f"{source}: private_key is not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        kind = type(key).__name__.replace("_", "").replace("PrivateKey", "")
        raise JwtKeyError(f"{source}: private_key is a {kind} key; ES256 needs an EC P-256 key")
    if key.curve.name != "secp256r1":
        raise JwtKeyError(
            f"{source}: private_key is on curve {key.curve.name}; ES256 needs P-256 (secp256r1)"
        )
    result: EllipticCurvePrivateKey = key
    return result
