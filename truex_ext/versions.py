"""API versions (the ``X-Truex-Version`` header): which one is pinned, and which ones exist."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing the models package loads every model: keep it off the import path
    from truex_client.models import ApiVersion

HEADER = "X-Truex-Version"
#: What this SDK sends unless told otherwise: the version that survives the 2026-08-05 sunset.
DEFAULT_VERSION = "v2026_01_23"
#: What the server assumes when the header is absent (deprecated, raw bodies, offset pagination).
SERVER_DEFAULT_VERSION = "v2024_01_01"
#: The spec's ApiVersion enum, as strings (a test keeps the two equal).
SUPPORTED_VERSIONS = (SERVER_DEFAULT_VERSION, DEFAULT_VERSION)


def resolve_version(version: str | ApiVersion | None) -> str:
    """The header value for ``version`` (None: the pinned default); an unknown one is a ValueError.

    >>> resolve_version("v2024_01_01")
    'v2024_01_01'
    """
    if version is None:
        return DEFAULT_VERSION
    value = str(getattr(version, "value", version))
    if value not in SUPPORTED_VERSIONS:
        raise ValueError(f"api_version: must be one of {', '.join(SUPPORTED_VERSIONS)}, not {value!r}")
    return value


def envelope(body: Any, *, single: bool | None) -> Any:
    """A decoded ``v2024_01_01`` body in the ``v2026_01_23`` shape (what the spec's models describe).

    ``single`` says what the operation returns (None: guess from the JSON type). A lookup answered with a
    one-element array, as v2024 often does, becomes the object.

    >>> envelope([{"id": "1"}], single=False)
    {'data': [{'id': '1'}], 'pagination': {'size': 1, 'next_cursor': None}}
    >>> envelope([{"id": "1"}], single=True)
    {'data': {'id': '1'}}
    """
    if isinstance(body, dict) and "data" in body:
        return body  # already enveloped (a server that ignores the header)
    if single is None:
        single = not isinstance(body, list)
    if single:
        if isinstance(body, list) and len(body) == 1:
            body = body[0]
        return {"data": body}
    items = body if isinstance(body, list) else [body]
    return {"data": items, "pagination": {"size": len(items), "next_cursor": None}}
