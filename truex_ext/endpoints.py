"""Where the client sends its requests: environments, the API's two base paths, and base URLs.

TrueX serves its REST API under the base path ``/v1/cefi`` (docs v1.0.5) and, deprecated since the
2026-08-05 sunset was announced, the legacy ``/api/v1``. The spec's paths are relative to the base
(``/orders``); a base URL names a host and, optionally, one of the two bases:

>>> parse_base_url("http://127.0.0.1:8765")
Endpoint(root='http://127.0.0.1:8765', base='/v1/cefi')
>>> parse_base_url("https://api.truex.co/api/v1/")
Endpoint(root='https://api.truex.co', base='/api/v1')
>>> parse_base_url("https://gateway.example/truex/v1/cefi").url
'https://gateway.example/truex/v1/cefi'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NamedTuple
from urllib.parse import urlsplit

__all__ = [
    "BASES",
    "CURRENT_BASE",
    "DEFAULT_ENVIRONMENT",
    "ENVIRONMENTS",
    "LEGACY_BASE",
    "LEGACY_SUNSET",
    "Endpoint",
    "environment_url",
    "parse_base_url",
]

#: The REST base of docs v1.0.5: what the SDK uses unless a base URL names the legacy one.
CURRENT_BASE: Final = "/v1/cefi"
#: The legacy prefix: still accepted by the exchange "for backwards compatibility", removal announced for
#: 2026-08-05. The deprecated singular operations (``/order``, ``/balance`` ...) exist only under it.
LEGACY_BASE: Final = "/api/v1"
LEGACY_SUNSET: Final = "2026-08-05"
BASES: Final = (CURRENT_BASE, LEGACY_BASE)

#: The documented hosts (docs v1.0.5) and the local sandbox. ``sandbox`` is the default so that a bot
#: never reaches production by accident.
ENVIRONMENTS: Final[Mapping[str, str]] = {
    "sandbox": "http://127.0.0.1:8765",
    "uat": "https://api.uat.truex.co",
    "prod": "https://api.truex.co",
}
DEFAULT_ENVIRONMENT: Final = "sandbox"


class Endpoint(NamedTuple):
    """A host (``root``: scheme, authority and any path in front of the API) and the base path in use.

    A plain named tuple: the command line reads this module, and its ``--help`` must stay fast.
    """

    root: str
    base: str = CURRENT_BASE

    @property
    def url(self) -> str:
        """The base URL the spec's relative paths are appended to."""
        return self.root + self.base

    def url_for(self, bases: tuple[str, ...]) -> str:
        """The base URL of an operation served under ``bases``: this one's base if it is among them.

        A deprecated singular operation lives only under the legacy base, whatever base the client uses.
        """
        return self.url if self.base in bases else self.root + bases[0]


def environment_url(name: str) -> str:
    """The base URL of a named environment; a ``ValueError`` listing the valid names otherwise.

    >>> environment_url("uat")
    'https://api.uat.truex.co/v1/cefi'
    """
    key = name.strip().lower()
    if key not in ENVIRONMENTS:
        valid = ", ".join(repr(n) for n in ENVIRONMENTS)
        raise ValueError(f"environment {name!r} does not exist; valid environments: {valid}")
    return ENVIRONMENTS[key] + CURRENT_BASE


def parse_base_url(url: str) -> Endpoint:
    """Split a base URL into its host part and the API base it names (``/v1/cefi`` when it names none).

    A trailing slash is ignored and a base is never doubled. A URL without ``http://`` or ``https://``,
    without a host, or with a query or fragment is a ``ValueError`` saying what to write instead.
    """
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        hint = f"; did you mean 'http://{text}'?" if "://" not in text and text else ""
        raise ValueError(
            f"base_url {url!r} is not an http(s) URL with a host (e.g. 'https://api.truex.co'){hint}"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"base_url {url!r} must not have a query or a fragment")
    path = parts.path.rstrip("/")
    root = f"{parts.scheme}://{parts.netloc}"
    for base in BASES:
        if path == base or path.endswith(base):
            return Endpoint(root=root + path[: -len(base)], base=base)
    return Endpoint(root=root + path, base=CURRENT_BASE)
