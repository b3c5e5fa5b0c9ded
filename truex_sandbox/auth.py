"""HMAC request verification, as the real exchange does it (FACTS §1, DECISIONS §11).

``x-truex-auth-signature`` must be ``Base64(HMAC-SHA256(secret as UTF-8, timestamp + METHOD + path + body))``
where ``timestamp`` is the ``x-truex-auth-timestamp`` header as sent, ``path`` the raw URL path as sent
(percent-encoding kept, query string excluded) and ``body`` the exact body bytes. The timestamp must be at
most 15 s old and at most 1 s in the future. Each failure is a 401 whose ``detail`` names the rule that
failed — never the expected signature; a user id the key may not act for is a 403.

This is the sandbox's own small verifier: it must not import the SDK it is meant to test.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from .problems import ApiError

__all__ = [
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "HEADER_TOKEN",
    "HEADER_USERID",
    "HEADER_USERID_ALT",
    "MAX_AGE_SECONDS",
    "MAX_FUTURE_SECONDS",
    "HmacVerifier",
    "KeyRecord",
    "Principal",
    "expected_signature",
    "refuse_repeated_auth_headers",
]

HEADER_TOKEN: Final = "x-truex-auth-token"
HEADER_USERID: Final = "x-truex-auth-userid"
#: The spelling True Markets' own tools send (FACTS §1.3); accepted too.
HEADER_USERID_ALT: Final = "x-truex-auth-user-id"
HEADER_TIMESTAMP: Final = "x-truex-auth-timestamp"
HEADER_SIGNATURE: Final = "x-truex-auth-signature"
_TOKEN: Final = HEADER_TOKEN.encode("ascii")
_USERID: Final = HEADER_USERID.encode("ascii")
_USERID_ALT: Final = HEADER_USERID_ALT.encode("ascii")
_TIMESTAMP: Final = HEADER_TIMESTAMP.encode("ascii")
_SIGNATURE: Final = HEADER_SIGNATURE.encode("ascii")
_AUTH_PREFIX: Final = b"x-truex-auth-"
MAX_AGE_SECONDS: Final = 15
MAX_FUTURE_SECONDS: Final = 1

_SECONDS = re.compile(r"^[0-9]{1,19}$")  # long enough to recognise milli- and nanoseconds
_CLIENT_ID = re.compile(r"^[1-9][0-9]{0,19}$")
_WWW_AUTHENTICATE: Final = {"www-authenticate": 'HMAC realm="truex-sandbox"'}


class KeyRecord(Protocol):
    """What the verifier needs of an API key (the engine's ``ApiKey`` fits)."""

    @property
    def key_id(self) -> str: ...

    @property
    def secret(self) -> str: ...

    @property
    def client_ids(self) -> frozenset[str]: ...


@dataclass(slots=True)  # not frozen: built on every request, and frozen init is several times slower
class Principal:
    """Who a verified request is from: the key, the clients it may act for, and the client it names."""

    key_id: str
    client_ids: frozenset[str]
    user_id: str | None


@functools.lru_cache(maxsize=1024)
def _keyed(secret: str) -> hmac.HMAC:
    # The HMAC state after absorbing the key, per secret: copying it is cheaper than keying OpenSSL's HMAC
    # afresh on every request (3.5 µs instead of 5 µs here).
    return hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)


def expected_signature(secret: str, timestamp: bytes, method: str, raw_path: bytes, body: bytes) -> bytes:
    """The Base64 signature of one request (bytes, for a constant-time comparison)."""
    mac = _keyed(secret).copy()
    mac.update(timestamp + method.upper().encode("ascii") + raw_path + body)
    return base64.b64encode(mac.digest())


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, detail, headers=dict(_WWW_AUTHENTICATE))


def refuse_repeated_auth_headers(raw: Iterable[tuple[bytes, bytes]]) -> None:
    """401 naming an ``x-truex-auth-*`` header sent twice: which copy was meant (or signed) is ambiguous.

    ``raw`` is the request's header list as sent (ASGI ``scope["headers"]``, lower-case names).
    """
    seen: set[bytes] = set()
    for name, _ in raw:
        if name.startswith(_AUTH_PREFIX):
            if name in seen:
                raise _unauthorized(f"{name.decode('latin-1')}: sent more than once; send it once")
            seen.add(name)


class HmacVerifier:
    """Checks the four auth headers of a request. ``clock`` returns Unix seconds (injectable for tests)."""

    def __init__(
        self,
        lookup: Callable[[str], KeyRecord | None],
        clock: Callable[[], float] = time.time,
        *,
        max_age: float = MAX_AGE_SECONDS,
        max_future: float = MAX_FUTURE_SECONDS,
    ) -> None:
        self._lookup = lookup
        self._clock = clock
        self._max_age = max_age
        self._max_future = max_future

    def verify(
        self,
        method: str,
        raw_path: bytes,
        headers: Mapping[bytes, bytes],
        body: bytes,
        *,
        user_id_required: bool = True,
    ) -> Principal:
        """The principal of a request, or an :class:`ApiError` (401/403) saying which rule failed.

        ``headers`` maps lower-case raw names to raw values (``dict(scope["headers"])`` of ASGI). Checks run in a fixed order — presence, key,
        timestamp format and window, signature, user id — so the first failing rule is the one reported.
        """
        token = headers.get(_TOKEN)
        stamp = headers.get(_TIMESTAMP)
        signature = headers.get(_SIGNATURE)
        user = headers.get(_USERID) or headers.get(_USERID_ALT)
        if not token or not stamp or not signature or (user_id_required and not user):
            raise _unauthorized(
                "missing authentication header(s): " + ", ".join(self._missing(headers, user_id_required))
            )

        key = self._lookup(token.decode("latin-1"))
        if key is None:
            raise _unauthorized(f"{HEADER_TOKEN}: unknown API key")

        self._check_timestamp(stamp.decode("latin-1"))

        expected = expected_signature(key.secret, stamp, method, raw_path, body)
        if not hmac.compare_digest(expected, signature.strip()):
            raise _unauthorized(
                # Worded without "timestamp": clients read that word as a clock-skew failure.
                f"{HEADER_SIGNATURE}: does not match the request (check the secret, that the signed path "
                "is the one sent with /api/v1 and without the query string, and that the body is signed "
                "byte for byte as sent)"
            )

        user_id = self._user_id(headers) if user else None
        _check_user(key.client_ids, user_id, user_id_required)
        return Principal(key_id=key.key_id, client_ids=key.client_ids, user_id=user_id)

    def _check_timestamp(self, text: str) -> None:
        """The timestamp is Unix seconds inside the window around the server clock."""
        if not _SECONDS.match(text):
            raise _unauthorized(f"{HEADER_TIMESTAMP}: must be Unix time in whole seconds, got {text[:24]!r}")
        sent = int(text)
        now = self._clock()
        if now - sent > self._max_age:
            raise _unauthorized(
                f"stale timestamp: {HEADER_TIMESTAMP} is {now - sent:.0f} s old; at most {self._max_age:g} s allowed"
            )
        if sent - now > self._max_future:
            hint = " (it looks like milli- or nanoseconds; it must be seconds)" if sent > 10**11 else ""
            raise _unauthorized(
                f"timestamp in the future: {HEADER_TIMESTAMP} is {sent - now:.0f} s ahead of the server clock; "
                f"at most {self._max_future:g} s allowed{hint}"
            )

    @staticmethod
    def _missing(headers: Mapping[bytes, bytes], user_id_required: bool) -> list[str]:
        names = [HEADER_TOKEN, HEADER_TIMESTAMP, HEADER_SIGNATURE]
        missing = [name for name in names if not headers.get(name.encode("ascii"))]
        if user_id_required and not headers.get(_USERID) and not headers.get(_USERID_ALT):
            missing.append(HEADER_USERID)
        return missing

    @staticmethod
    def _user_id(headers: Mapping[bytes, bytes]) -> str | None:
        user = headers.get(_USERID)
        alt = headers.get(_USERID_ALT)
        if user and alt and user.strip() != alt.strip():
            raise _unauthorized(f"{HEADER_USERID} and {HEADER_USERID_ALT} disagree")
        raw = user or alt
        if not raw:
            return None
        value = raw.decode("latin-1").strip()
        if value == "0":  # True Markets' tools send "0" when they do not know the client id yet
            return None
        if not _CLIENT_ID.match(value):
            raise _unauthorized(f"{HEADER_USERID}: must be a numeric client id, got {value[:24]!r}")
        return value


def _check_user(client_ids: frozenset[str], user_id: str | None, required: bool) -> None:
    """The user id names one of the key's clients (when sent; it must be sent when ``required``)."""
    if user_id is not None and user_id not in client_ids:
        raise ApiError(403, f"{HEADER_USERID}: this API key may not act for client {user_id}")
    if user_id is None and required:
        raise _unauthorized(f"{HEADER_USERID}: must be the numeric id of one of the API key's clients")
