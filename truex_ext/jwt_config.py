"""Which auth a client uses (HMAC or JWT) and where its Auth API is; kept apart from ``client.py``.

Rules (documented in the README):

* ``auth="hmac"`` / ``auth="jwt"`` (or ``TRUEX_AUTH``) picks one scheme; the other's settings are ignored;
* without it, a JWT key (``jwt_key=`` or ``TRUEX_JWT_KEY_FILE``) means JWT and HMAC credentials mean HMAC;
  both at once is a ``ValueError`` - silently preferring one would send the wrong identity;
* the Auth API is ``auth_url=`` / ``TRUEX_AUTH_URL``, else :func:`default_auth_url` of the base URL.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import attrs
import httpx

from .auth import Credentials
from .jwt_auth import JwtAuth
from .jwt_key import JwtKey

__all__ = ["AUTH_URLS", "PROD_AUTH_URL", "UAT_AUTH_URL", "JwtSettings", "choose_auth", "default_auth_url"]

PROD_AUTH_URL = "https://api.truemarkets.co/v1/auth"
UAT_AUTH_URL = "https://api.uat.truemarkets.co/v1/auth"
#: CeFi origin -> its Auth API. Extend it (or wrap :func:`default_auth_url`) for new environments.
AUTH_URLS: dict[str, str] = {
    "https://api.truex.co": PROD_AUTH_URL,
    "https://prod.truex.co": PROD_AUTH_URL,
    "https://api.uat.truex.co": UAT_AUTH_URL,
    "https://uat.truex.co": UAT_AUTH_URL,
}
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def default_auth_url(base_url: str) -> str:
    """The Auth API that goes with a CeFi base URL.

    Known TrueX hosts map to True Markets' Auth API; a loopback base URL is a local sandbox, which serves
    its own Auth API under ``/v1/auth``. Anything else is refused rather than guessed: a signed challenge
    must only go to the real Auth API.

    >>> default_auth_url("https://api.truex.co/v1/cefi")
    'https://api.truemarkets.co/v1/auth'
    >>> default_auth_url("http://127.0.0.1:8765")
    'http://127.0.0.1:8765/v1/auth'
    """
    parts = urlsplit(base_url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if origin in AUTH_URLS:
        return AUTH_URLS[origin]
    if parts.hostname in _LOOPBACK:
        return f"{parts.scheme}://{parts.netloc}/v1/auth"
    raise ValueError(f"no known Auth API for {origin}; pass auth_url= or set TRUEX_AUTH_URL")


@attrs.frozen
class JwtSettings:
    """A client's JWT configuration (the key's repr hides the private key)."""

    key: JwtKey
    auth_url: str
    client_id: str | None = None

    def new_auth(
        self,
        clock: Callable[[], float],
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> JwtAuth:
        return JwtAuth(self.key, self.auth_url, clock=clock, transport=transport)


def choose_auth(
    credentials: Credentials | None,
    *,
    jwt_key: JwtKey | str | os.PathLike[str] | None,
    auth_url: str | None,
    auth: str | None,
    client_id: str | None,
    base_url: str,
    environ: Mapping[str, str],
) -> tuple[Credentials | None, JwtSettings | None]:
    """(HMAC credentials, JWT settings) with at most one of them set; ValueError on a conflict."""
    choice = (auth or environ.get("TRUEX_AUTH", "")).strip().lower() or None
    if choice not in (None, "hmac", "jwt"):
        raise ValueError(f"auth must be 'hmac' or 'jwt', got {choice!r}")
    if choice == "hmac":
        return credentials, None
    key = _key(jwt_key, environ)
    if key is None:
        if choice == "jwt":
            raise ValueError("auth='jwt' needs jwt_key= or TRUEX_JWT_KEY_FILE")
        return credentials, None
    if credentials is not None and choice is None:
        raise ValueError(
            "both HMAC credentials (api_key/api_secret) and a JWT key are configured; "
            "pick one with auth='hmac' or auth='jwt' (or TRUEX_AUTH)"
        )
    url = auth_url or environ.get("TRUEX_AUTH_URL", "").strip() or default_auth_url(base_url)
    return None, JwtSettings(key=key, auth_url=url.rstrip("/"), client_id=client_id)


def _key(jwt_key: JwtKey | str | os.PathLike[str] | None, environ: Mapping[str, str]) -> JwtKey | None:
    if isinstance(jwt_key, JwtKey):
        return jwt_key
    if jwt_key is not None:
        return JwtKey.from_file(jwt_key)
    return JwtKey.from_env(environ)
