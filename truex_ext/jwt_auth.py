"""JWT bearer auth: mint a token pair from the Auth API, keep it fresh, put ``Authorization: Bearer`` on requests.

The Auth API is a different host from CeFi (FACTS-v105 A.1/A.5):

* mint: ``POST {auth}/api-key/token`` ``{"key_id", "timestamp" (Unix s, ±30 s), "signature"}`` where the
  signature is ES256 over ``"{key_id}.{timestamp}"`` (see :class:`~truex_ext.jwt_key.JwtKey`);
* refresh: ``POST {auth}/token/refresh`` ``{"refresh_token"}``;
* both answer ``{"access_token", "refresh_token", "expires_in": RFC 3339 expiry, "token_type": "Bearer"}``,
  errors ``{"message": ...}`` with 400/401/500.

Refresh policy: a token is renewed once less than ``refresh_margin`` (60 s by default) of its life is left,
capped at half its lifetime so a short-lived token is not renewed on every call. TM's CLI uses 5 minutes;
60 s is enough for a request in flight and keeps working if real access tokens live only a few minutes.
Renewal refreshes; a refresh token the Auth API refuses (400/401) falls back to a fresh mint. One renewal
at a time: threads wait on a ``threading.Lock``, tasks on an ``asyncio.Lock`` (one per event loop), and
reuse the token the first one got. Two event loops sharing one ``JwtAuth`` may both renew; harmless.

The Auth API is called through this object's own transport (``transport=`` for tests), never the trading
client's: that one raises typed TrueX errors and rewrites TrueX bodies.

Example::

    auth = JwtAuth(JwtKey.from_file("key.json"), "https://api.truemarkets.co/v1/auth")
    with httpx.Client(auth=auth) as http:
        http.get("https://api.truex.co/v1/cefi/balances")
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Generator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from . import logs
from .errors import TokenError
from .httpdate import parse_http_date
from .jwt_key import JwtKey, b64url_decode

if TYPE_CHECKING:
    import asyncio

__all__ = ["DEFAULT_REFRESH_MARGIN", "MINT_PATH", "REFRESH_PATH", "JwtAuth", "TokenPair", "token_claims"]

MINT_PATH = "/api-key/token"
REFRESH_PATH = "/token/refresh"
#: Seconds of life left at which a token is renewed (capped at half its lifetime).
DEFAULT_REFRESH_MARGIN = 60.0
_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_HMAC_PREFIX = "x-truex-auth-"


class TokenPair:
    """An access/refresh pair and when to renew it (local ``time.time`` seconds). ``repr`` hides both."""

    __slots__ = ("access_token", "expires_at", "refresh_at", "refresh_token")

    def __init__(self, access_token: str, refresh_token: str, expires_at: float, refresh_at: float) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_at = expires_at
        self.refresh_at = refresh_at

    def __repr__(self) -> str:
        return f"TokenPair(access_token='***', refresh_token='***', expires_at={self.expires_at!r})"


def token_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, decoded WITHOUT verifying it (only to read claims such as ``client_id``).

    None when ``token`` is not a JWT with a JSON object payload.

    >>> token_claims("eyJhbGciOiJub25lIn0.eyJjbGllbnRfaWQiOiI0MiJ9.")
    {'client_id': '42'}
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(b64url_decode(parts[1]))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


class JwtAuth(httpx.Auth):
    """``httpx.Auth`` that sends ``Authorization: Bearer <access token>`` (sync and async clients).

    ``auth_url`` is the Auth API base (``.../v1/auth``). ``clock`` gives Unix seconds (injectable for tests).
    ``mints`` and ``refreshes`` count the Auth API calls that succeeded.
    """

    def __init__(
        self,
        key: JwtKey,
        auth_url: str,
        *,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
    ) -> None:
        self.key = key
        self.auth_url = auth_url.rstrip("/")
        self.refresh_margin = refresh_margin
        self.mints = 0
        self.refreshes = 0
        self._clock = clock
        self._transport = transport
        self._pair: TokenPair | None = None
        self._last_sent: str | None = None
        self._lock = threading.Lock()
        self._alocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._sync: httpx.BaseTransport | None = None
        self._async: httpx.AsyncBaseTransport | None = None

    # --- what callers use ---------------------------------------------------------------------------
    @property
    def client_id(self) -> str | None:
        """The ``client_id`` claim of the current access token (None before the first mint)."""
        pair = self._pair
        claims = token_claims(pair.access_token) if pair is not None else None
        value = claims.get("client_id") if claims else None
        return None if value is None else str(value)

    def token(self) -> str:
        """A fresh-enough access token, minting or refreshing first when needed (blocking)."""
        pair = self._pair
        if pair is not None and self._clock() < pair.refresh_at:
            return pair.access_token  # the common case: no lock
        with self._lock:
            return self._renew_locked(stale=None)

    async def atoken(self) -> str:
        """:meth:`token` for async code (the Auth API is called without blocking the loop)."""
        pair = self._pair
        if pair is not None and self._clock() < pair.refresh_at:
            return pair.access_token
        async with self._async_lock():
            return await self._arenew_locked(stale=None)

    def renew(self, stale: str | None = None) -> bool:
        """After a 401 on the access token ``stale``: get a new one (unless another caller already did).

        ``stale`` is the token the refused request carried (the call loop reads it off the request;
        default: the last one this auth put on a request). True when the next attempt will carry a
        different token. Raises :class:`TokenError` when the Auth API gives none.
        """
        if stale is None:
            stale = self._last_sent
        with self._lock:
            return self._renew_locked(stale=stale, force=True) != stale

    async def arenew(self, stale: str | None = None) -> bool:
        """:meth:`renew` for async code."""
        if stale is None:
            stale = self._last_sent
        async with self._async_lock():
            return await self._arenew_locked(stale=stale, force=True) != stale

    def close(self) -> None:
        if self._sync is not None and self._transport is None:
            self._sync.close()

    async def aclose(self) -> None:
        if self._async is not None and self._transport is None:
            await self._async.aclose()

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._apply(request, self.token())
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        self._apply(request, await self.atoken())
        yield request

    def __repr__(self) -> str:
        return f"JwtAuth(key={self.key!r}, auth_url={self.auth_url!r})"

    # --- renewal ------------------------------------------------------------------------------------
    def _current(self, stale: str | None, force: bool) -> str | None:
        """The current access token if it can be used as it is (called under the lock)."""
        pair = self._pair
        if pair is None:
            return None
        if force:
            # Renewed by someone else since `stale` was sent: use theirs.
            return pair.access_token if stale is not None and pair.access_token != stale else None
        return pair.access_token if self._clock() < pair.refresh_at else None

    def _renew_locked(self, stale: str | None, force: bool = False) -> str:
        current = self._current(stale, force)
        if current is not None:
            return current
        old = self._pair
        if old is not None:
            try:
                return self._store(self._post(REFRESH_PATH, {"refresh_token": old.refresh_token}))
            except TokenError as exc:
                if exc.status_code not in (400, 401):
                    raise  # the Auth API is down: a new mint would fail the same way
        return self._store(self._post(MINT_PATH, self.key.challenge(int(self._clock()))), mint=True)

    async def _arenew_locked(self, stale: str | None, force: bool = False) -> str:
        current = self._current(stale, force)
        if current is not None:
            return current
        old = self._pair
        if old is not None:
            try:
                return self._store(await self._apost(REFRESH_PATH, {"refresh_token": old.refresh_token}))
            except TokenError as exc:
                if exc.status_code not in (400, 401):
                    raise
        return self._store(await self._apost(MINT_PATH, self.key.challenge(int(self._clock()))), mint=True)

    def _store(self, pair: TokenPair, *, mint: bool = False) -> str:
        self._pair = pair
        if mint:
            self.mints += 1
        else:
            self.refreshes += 1
        return pair.access_token

    def _async_lock(self) -> asyncio.Lock:
        import asyncio  # only async users pay for it

        loop = asyncio.get_running_loop()
        with self._lock:
            lock = self._alocks.get(loop)
            if lock is None:
                lock = self._alocks[loop] = asyncio.Lock()
        return lock

    # --- the Auth API -------------------------------------------------------------------------------
    def _request(self, path: str, payload: dict[str, Any]) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.auth_url + path,
            json=payload,
            headers={"accept": "application/json"},
            extensions={"timeout": _TIMEOUT.as_dict()},
        )

    def _post(self, path: str, payload: dict[str, Any]) -> TokenPair:
        request = self._request(path, payload)
        sent_at = self._clock()
        try:
            response = self._sync_transport().handle_request(request)
            try:
                response.read()
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise TokenError(f"no answer ({type(exc).__name__})", url=str(request.url)) from exc
        return self._accept(str(request.url), response, sent_at)

    async def _apost(self, path: str, payload: dict[str, Any]) -> TokenPair:
        request = self._request(path, payload)
        sent_at = self._clock()
        try:
            response = await self._async_transport().handle_async_request(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise TokenError(f"no answer ({type(exc).__name__})", url=str(request.url)) from exc
        return self._accept(str(request.url), response, sent_at)

    def _sync_transport(self) -> httpx.BaseTransport:
        if isinstance(self._transport, httpx.BaseTransport):
            return self._transport
        if self._sync is None:
            self._sync = httpx.HTTPTransport()
        return self._sync

    def _async_transport(self) -> httpx.AsyncBaseTransport:
        if isinstance(self._transport, httpx.AsyncBaseTransport):
            return self._transport
        if self._async is None:
            self._async = httpx.AsyncHTTPTransport()
        return self._async

    def _accept(self, url: str, response: httpx.Response, sent_at: float) -> TokenPair:
        body = _json_object(response.content)
        if response.status_code != 200:
            message = body.get("message") if body else None
            said = message[:200] if isinstance(message, str) else None
            raise TokenError("refused", url=url, status_code=response.status_code, server_message=said)
        pair = _pair_of(body, url, sent_at, response.headers.get("date"), self.refresh_margin)
        claims = token_claims(pair.access_token)
        if claims is not None and claims.get("client_id") in (None, ""):
            raise TokenError(
                "the access token has no client_id claim (the account is not onboarded to CeFi)", url=url
            )
        return pair

    def _apply(self, request: httpx.Request, token: str) -> None:
        # Never both schemes on one request (DECISIONS §19): drop any HMAC header set elsewhere.
        for name in [n for n in request.headers if n.lower().startswith(_HMAC_PREFIX)]:
            del request.headers[name]
        request.headers["Authorization"] = f"Bearer {token}"
        self._last_sent = token


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _pair_of(body: dict[str, Any] | None, url: str, now: float, date: str | None, margin: float) -> TokenPair:
    """A validated :class:`TokenPair` from a 200 body; :class:`TokenError` naming the first bad field."""
    if body is None:
        raise TokenError("the 200 answer is not a JSON object", url=url, status_code=200)
    tokens = []
    for name in ("access_token", "refresh_token"):
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise TokenError(f"the answer has no {name}", url=url, status_code=200)
        logs.register_secret(value)  # from now on never in a log line
        tokens.append(value)
    token_type = body.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError(f"token_type is {str(token_type)[:20]!r}, not 'Bearer'", url=url, status_code=200)
    lifetime = _lifetime(body.get("expires_in"), url, now, date)
    return TokenPair(tokens[0], tokens[1], now + lifetime, now + lifetime - min(margin, lifetime / 2))


def _lifetime(expires_in: Any, url: str, now: float, date: str | None) -> float:
    """Seconds the access token lives, measured on the server's clock when its ``Date`` is known."""
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
        # Defensive: the Auth API documents an RFC 3339 timestamp, but a number can only mean seconds.
        lifetime = float(expires_in)
    elif isinstance(expires_in, str):
        try:
            expiry = datetime.fromisoformat(expires_in.strip())
        except ValueError:
            expiry = None
        if expiry is None or expiry.tzinfo is None:
            raise TokenError("expires_in is not an RFC 3339 timestamp", url=url, status_code=200)
        server = parse_http_date(date) if date else None
        # Against the server's own clock when we can: a skewed local clock must not make tokens look dead.
        lifetime = expiry.timestamp() - (server.timestamp() if server is not None else now)
    else:
        raise TokenError("the answer has no expires_in", url=url, status_code=200)
    if lifetime <= 0:
        raise TokenError("expires_in is already past (is the local clock right?)", url=url, status_code=200)
    return lifetime
