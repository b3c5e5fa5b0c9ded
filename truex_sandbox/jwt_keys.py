"""Seeded Auth API keys: a key id, the EC P-256 public key registered for it, and the client it acts for.

The sandbox keeps the private half too (``d``), only so that it can hand users a key file in the format
clients read (``{"key_id", "private_key": JWK}``, see :func:`key_file`). Derived deterministically from a
label by default (reproducible tests), random with ``fresh=True``.

This module must not import the SDK it is meant to test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["JwtKeyRecord", "b64url", "b64url_decode", "make_jwt_key", "write_key_file"]

# The order of P-256: a private scalar is 1..N-1.
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding; ValueError on other characters."""
    if not text.replace("-", "").replace("_", "").rstrip("=").isalnum():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class JwtKeyRecord:
    """An Auth API key. ``x``/``y``: the public point (base64url); ``d``: the private scalar, if known."""

    key_id: str
    client_id: str
    x: str
    y: str
    d: str | None = None

    def public_key(self) -> ec.EllipticCurvePublicKey:
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(b64url_decode(self.x), "big"),
            int.from_bytes(b64url_decode(self.y), "big"),
            ec.SECP256R1(),
        )
        return numbers.public_key()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key_id": self.key_id,
            "client": self.client_id,
            "public_key": {"kty": "EC", "crv": "P-256", "x": self.x, "y": self.y},
        }
        if self.d is not None:
            data["private_key_d"] = self.d
        return data

    def __repr__(self) -> str:  # never the private scalar
        return f"JwtKeyRecord(key_id={self.key_id!r}, client_id={self.client_id!r})"


def make_jwt_key(raw: dict[str, Any], client_id: str, label: str, *, fresh: bool) -> JwtKeyRecord:
    """A record from a seed entry: its own ``public_key`` (JWK), else a key derived from ``label``/random."""
    public = raw.get("public_key")
    key_id = str(raw.get("key_id") or "")
    if isinstance(public, dict) and not fresh:
        if public.get("kty") != "EC" or public.get("crv") != "P-256":
            raise ValueError(f"seed: jwt_keys[{label}].public_key must be an EC P-256 JWK")
        record = JwtKeyRecord(
            key_id or _uuid(label), client_id, str(public["x"]), str(public["y"]), raw.get("private_key_d")
        )
        record.public_key()  # raises ValueError when the point is not on the curve
        return record
    if fresh:
        private = ec.generate_private_key(ec.SECP256R1())
        key_id = str(uuid.uuid4())
    else:
        digest = hashlib.sha256(b"truex-sandbox/jwt-key/" + label.encode()).digest()
        private = ec.derive_private_key(int.from_bytes(digest, "big") % (_N - 1) + 1, ec.SECP256R1())
        key_id = key_id or _uuid(label)
    numbers = private.private_numbers()
    return JwtKeyRecord(
        key_id=key_id,
        client_id=client_id,
        x=b64url(numbers.public_numbers.x.to_bytes(32, "big")),
        y=b64url(numbers.public_numbers.y.to_bytes(32, "big")),
        d=b64url(numbers.private_value.to_bytes(32, "big")),
    )


def _uuid(label: str) -> str:
    raw = bytearray(hashlib.sha256(b"truex-sandbox/jwt-key-id/" + label.encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def key_file(record: JwtKeyRecord) -> dict[str, Any]:
    """The key file a client loads (``truemarkets-api-key-*.json`` layout); needs the private scalar."""
    if record.d is None:
        raise ValueError(f"JWT key {record.key_id}: the sandbox has only its public key")
    jwk = {"kty": "EC", "crv": "P-256", "x": record.x, "y": record.y, "d": record.d}
    return {"key_id": record.key_id, "private_key": jwk, "client_id": record.client_id}


def write_key_file(record: JwtKeyRecord, path: str | os.PathLike[str]) -> Path:
    """Write :func:`key_file` to ``path``, readable by its owner only."""
    target = Path(path)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(key_file(record), handle, indent=2)
    return target
