"""HMAC-SHA256 request signing for the TrueX CeFi REST API v1.

The server recomputes ``Base64(HMAC-SHA256(secret, timestamp + METHOD + path + body))`` and
compares it with the ``x-truex-auth-signature`` header, so every byte matters: the path is the one
on the wire (percent-encoding included, query string excluded) and the body is the exact bytes sent.

Example::

    creds = Credentials.from_env()
    with httpx.Client(base_url="https://prod.truex.co", auth=HmacAuth(creds)) as client:
        client.get("/api/v1/balances")
"""

from __future__ import annotations

import base64
import hmac
import math
import os
import time
from collections.abc import Callable, Generator, Mapping

import attrs
import httpx

from .errors import CredentialsRequiredError
from .httpdate import parse_http_date

__all__ = [
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "HEADER_TOKEN",
    "HEADER_USERID",
    "ClockSkew",
    "Credentials",
    "HmacAuth",
    "sign",
]

HEADER_TOKEN = "x-truex-auth-token"
HEADER_USERID = "x-truex-auth-userid"
HEADER_TIMESTAMP = "x-truex-auth-timestamp"
HEADER_SIGNATURE = "x-truex-auth-signature"

ENV_API_KEY = "TRUEX_API_KEY"
ENV_API_SECRET = "TRUEX_API_SECRET"
ENV_CLIENT_ID = "TRUEX_CLIENT_ID"


def sign(secret: str, timestamp: str | int, method: str, path: str, body: bytes | str = b"") -> str:
    """Return the Base64 HMAC-SHA256 signature of ``timestamp + METHOD + path + body``.

    The secret is used as its UTF-8 bytes (not Base64/hex-decoded); a ``str`` body is UTF-8 encoded.

    >>> sign("my-secret", 1700000000, "get", "/api/v1/balances")
    'dAqHLoKABrri1KMovRuLdM8+u1W10gIEX/RjIrxWqD0='
    """
    body_bytes = body.encode("utf-8") if isinstance(body, str) else body
    # Concatenate bytes rather than strings so a binary body is signed exactly as sent.
    payload = f"{timestamp}{method.upper()}{path}".encode() + body_bytes
    # hmac.digest: OpenSSL's one-shot HMAC, without building an hmac.HMAC object (half the cost).
    digest = hmac.digest(secret.encode("utf-8"), payload, "sha256")
    return base64.b64encode(digest).decode("ascii")


def _mask(value: str) -> str:
    # Show the last 4 characters only when that still hides most of the value (API keys are UUIDs).
    return f"...{value[-4:]}" if len(value) >= 12 else "***"


def _non_empty(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    # Never echo the value: it may be the secret.
    if not isinstance(value, str) or not value:
        raise ValueError(f"Credentials.{attribute.name} must be a non-empty string")


@attrs.frozen(repr=False)
class Credentials:
    """An HMAC key: ``api_key`` (key id, sent as a header), ``secret`` (never sent) and ``client_id``.

    ``repr``/``str`` show neither the secret nor the full API key::

        >>> Credentials("123e4567-e89b-12d3-a456-426614174000", "s3cr3t", "78932725357888855")
        Credentials(api_key='...4000', secret='***', client_id='78932725357888855')
    """

    api_key: str = attrs.field(validator=_non_empty)
    secret: str = attrs.field(validator=_non_empty)
    client_id: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(api_key={_mask(self.api_key)!r}, secret='***', client_id={self.client_id!r})"

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Credentials:
        """Read ``TRUEX_API_KEY``, ``TRUEX_API_SECRET`` and optional ``TRUEX_CLIENT_ID``.

        Raises :class:`~truex_ext.errors.CredentialsRequiredError` naming the first missing or empty
        variable (never its value).
        """
        values: dict[str, str | None] = {}
        for name in (ENV_API_KEY, ENV_API_SECRET, ENV_CLIENT_ID):
            # Strip: a trailing newline from a secrets file or a copy-paste would silently break
            # every signature, and real keys never contain whitespace.
            raw = environ.get(name, "").strip()
            values[name] = raw or None
        for required in (ENV_API_KEY, ENV_API_SECRET):
            if values[required] is None:
                raise CredentialsRequiredError(required)
        return cls(
            api_key=values[ENV_API_KEY] or "",
            secret=values[ENV_API_SECRET] or "",
            client_id=values[ENV_CLIENT_ID],
        )


class ClockSkew:
    """The server's clock offset (server minus local, seconds), learnt from response ``Date`` headers.

    ``offset`` is ``None`` until a parseable ``Date`` has been seen. Only the latest observation is
    kept; updates are a single attribute assignment, which is atomic under the GIL, so sharing one
    instance between threads is safe enough for a best-effort estimate.

    >>> skew = ClockSkew()
    >>> skew.observe("Tue, 14 Nov 2023 22:13:30 GMT", local_now=1700000000.0)
    10.0
    """

    def __init__(self) -> None:
        self._offset: float | None = None
        # The last Date header seen and its epoch seconds, as one tuple (one atomic assignment): every
        # response carries a Date, and within the same second it is the same string, parsed once.
        self._last: tuple[str, float | None] = ("", None)

    @property
    def offset(self) -> float | None:
        return self._offset

    def observe(self, date_header: str | None, local_now: float) -> float | None:
        """Update the offset from a ``Date`` header received at ``local_now``; return the offset.

        A missing or malformed header leaves the previous estimate unchanged. ``Date`` has one-second
        resolution and is stamped before the response travels, so the estimate errs towards the
        server looking *behind*; that errs on the safe side of the server's window (15 s in the past,
        only 1 s in the future).
        """
        if not date_header:
            return self._offset
        last_header, server = self._last
        if date_header != last_header:
            parsed = parse_http_date(date_header)
            server = None if parsed is None else parsed.timestamp()
            self._last = (date_header, server)
        if server is not None:
            self._offset = server - local_now
        return self._offset

    def __repr__(self) -> str:
        return f"ClockSkew(offset={self._offset!r})"


class HmacAuth(httpx.Auth):
    """``httpx.Auth`` that signs each request with TrueX HMAC headers; works for sync and async clients.

    The flow does no I/O: httpx reads the body before calling it (``requires_request_body``), and the
    response's ``Date`` header feeds ``skew``. With ``correct_skew=True`` the timestamp is shifted by
    the last measured offset, so a drifting local clock does not cause 401s.
    """

    requires_request_body = True

    def __init__(
        self,
        credentials: Credentials,
        clock: Callable[[], float] = time.time,
        skew: ClockSkew | None = None,
        correct_skew: bool = False,
        observe_date: bool = True,
        found_client_id: Callable[[], str | None] | None = None,
    ) -> None:
        self.credentials = credentials
        #: The client id discovered from the key, used when the credentials name none.
        self.found_client_id = found_client_id
        self.clock = clock
        # Always track skew: it costs one header parse and lets a 401 report the measured offset.
        self.skew = skew if skew is not None else ClockSkew()
        self.correct_skew = correct_skew
        # False when something else feeds `skew` every response (the clients' call loop does).
        self.observe_date = observe_date

    def timestamp(self) -> int:
        """The value for ``x-truex-auth-timestamp``: integer epoch seconds, skew-corrected if asked."""
        now = self.clock()
        offset = self.skew.offset if self.correct_skew else None
        if offset is None:
            return int(now)
        # Floor rather than round: the server allows only 1 s into the future but 15 s into the past.
        return math.floor(now + offset)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        creds = self.credentials
        timestamp = str(self.timestamp())
        request.headers[HEADER_TOKEN] = creds.api_key
        client_id = creds.client_id
        if client_id is None and self.found_client_id is not None:
            client_id = self.found_client_id()
        if client_id is not None:
            request.headers[HEADER_USERID] = client_id
        request.headers[HEADER_TIMESTAMP] = timestamp
        request.headers[HEADER_SIGNATURE] = sign(
            creds.secret, timestamp, request.method, _signed_path(request.url), request.content
        )
        response = yield request
        if self.observe_date:
            self.skew.observe(response.headers.get("date"), self.clock())

    def __repr__(self) -> str:
        return f"HmacAuth(credentials={self.credentials!r}, correct_skew={self.correct_skew!r})"


def _signed_path(url: httpx.URL) -> str:
    # raw_path is the path exactly as sent (percent-encoding kept, e.g. %2F stays %2F), unlike the
    # decoded `url.path`; the server signs what it received, so we must too. The query is not signed.
    return url.raw_path.split(b"?", 1)[0].decode("ascii")
