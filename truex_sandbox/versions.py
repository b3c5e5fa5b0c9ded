"""``X-Truex-Version``: which versions exist, how each one shapes bodies, and the deprecation headers.

* ``v2024_01_01`` (the default when the header is absent; deprecated): raw bodies — a list is a bare array,
  one object a bare object — problems at the top level, offset pagination (``skip``/``size``).
* ``v2026_01_23``: ``{"data": [...], "pagination": {"size", "next_cursor"}}`` for lists, ``{"data": {...}}``
  for one object, ``{"error": {problem}}`` for errors, cursor pagination (DECISIONS §3-4).

Deprecation dates (DECISIONS §6, RFC 9745 ``Deprecation: @<epoch>``, RFC 8594 ``Sunset``): ``v2024_01_01``
is deprecated as of 2026-03-12 — the date of docs v1.0.4, the spec's example for it — and sunset on
2026-08-05 (docs v1.0.5). Singular paths are deprecated as of 2026-01-27 (docs v1.0.3, "Pluralize all
endpoints. Deprecate singular versions."); they live only under the legacy base ``/api/v1``, whose removal
docs v1.0.5 announce for 2026-08-05 too, so its responses carry that ``Sunset`` and a successor ``Link`` to
the same operation under ``/v1/cefi``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any, Final

from .problems import ApiError

__all__ = [
    "CURRENT_BASE",
    "DEFAULT_VERSION",
    "LEGACY_BASE",
    "SUPPORTED_VERSIONS",
    "V2024",
    "V2026",
    "deprecation_headers",
    "negotiate",
    "render_error",
    "render_list",
    "render_object",
    "version_list",
]

V2024: Final = "v2024_01_01"
V2026: Final = "v2026_01_23"
DEFAULT_VERSION: Final = V2024
SUPPORTED_VERSIONS: Final = (V2024, V2026)

V2024_DEPRECATED: Final = date(2026, 3, 12)
V2024_SUNSET: Final = date(2026, 8, 5)
SINGULAR_DEPRECATED: Final = date(2026, 1, 27)
#: The legacy base ``/api/v1``: no deprecation date is published for the prefix itself; docs v1.0.5 announce
#: its removal for the same day as ``v2024_01_01``'s, so it shares that version's dates (x-assumption).
LEGACY_BASE_DEPRECATED: Final = V2024_DEPRECATED
#: The current REST base (docs v1.0.5); the legacy one is ``LEGACY_BASE``.
CURRENT_BASE: Final = "/v1/cefi"
LEGACY_BASE: Final = "/api/v1"

_VERSIONS: Final = (
    {
        "version": V2026,
        "status": "current",
        "default": False,
        "description": 'Envelope format: lists as {"data": [...], "pagination": {"size", "next_cursor"}}, '
        'single objects as {"data": {...}}, errors as {"error": {problem}}; cursor pagination.',
        "deprecation": None,
        "sunset": None,
    },
    {
        "version": V2024,
        "status": "deprecated",
        "default": True,
        "description": "Raw format: lists as bare arrays, single objects bare, RFC 7807 problems at the top "
        "level; offset pagination (skip/size). Used when X-Truex-Version is absent.",
        "deprecation": V2024_DEPRECATED.isoformat(),
        "sunset": V2024_SUNSET.isoformat(),
    },
)

#: Fields a payload only carries from v2026_01_23 on (FACTS §2.1: compute quote), by operation.
_V2026_ONLY_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "compute_market_quote": ("notional", "notional_residual"),
}

_UNSUPPORTED: Final = "X-Truex-Version: {given!r} is not a supported version; supported: " + ", ".join(
    f"{v} (default)" if v == DEFAULT_VERSION else v for v in SUPPORTED_VERSIONS
)


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _http_date(day: date) -> str:
    return format_datetime(datetime(day.year, day.month, day.day, tzinfo=UTC), usegmt=True)


_V2024_SUNSET: Final = _http_date(V2024_SUNSET)
_V2024_LINK: Final = f'<{CURRENT_BASE}/versions>; rel="deprecation"'


def negotiate(header: str | None) -> str:
    """The version a request asked for (the default when the header is absent); 400 listing the versions."""
    if header is None:
        return DEFAULT_VERSION
    value = header.strip()
    if value in SUPPORTED_VERSIONS:
        return value
    raise ApiError(
        400, _UNSUPPORTED.format(given=header), extensions={"supported_versions": list(SUPPORTED_VERSIONS)}
    )


def version_list() -> list[dict[str, Any]]:
    """``GET /api/v1/versions`` items (DECISIONS §5)."""
    return [dict(v) for v in _VERSIONS]


def render_list(version: str, items: list[Any], size: int, next_cursor: str | None) -> Any:
    if version == V2024:
        return items
    return {"data": items, "pagination": {"size": size, "next_cursor": next_cursor}}


def render_object(version: str, operation: str, obj: Any) -> Any:
    if version == V2024:
        dropped = _V2026_ONLY_FIELDS.get(operation)
        if dropped and isinstance(obj, dict):
            return {k: v for k, v in obj.items() if k not in dropped}
        return obj
    return {"data": obj}


def render_error(version: str, problem: dict[str, Any]) -> Any:
    if version == V2024:
        return problem
    return {"error": problem}


def deprecation_headers(
    version: str, successor: str | None, *, singular: bool = False, legacy: bool = False
) -> Sequence[tuple[str, str]]:
    """The ``Deprecation`` / ``Sunset`` / ``Link`` headers of a response.

    ``version``: the version answered; ``successor``: the path that replaces the one requested (the
    plural under the current base for a singular twin, the same path under ``/v1/cefi`` for one under the
    legacy base); ``singular``: a deprecated singular twin; ``legacy``: served under ``/api/v1``. Each
    reason adds its date (the earliest one is the ``Deprecation``) and its sunset, if it has one.
    """
    dates: list[date] = []
    links: list[str] = []
    sunset = False
    if successor is not None:
        links.append(f'<{successor}>; rel="successor-version"')
    if singular:
        dates.append(SINGULAR_DEPRECATED)
    if legacy:
        dates.append(LEGACY_BASE_DEPRECATED)
        sunset = True
    if version == V2024:
        dates.append(V2024_DEPRECATED)
        links.append(_V2024_LINK)
        sunset = True
    if not dates:
        return ()
    headers = [("deprecation", f"@{_epoch(min(dates))}")]
    if sunset:
        headers.append(("sunset", _V2024_SUNSET))
    headers.append(("link", ", ".join(links)))
    return tuple(headers)
