"""Read ``Deprecation`` / ``Sunset`` / ``Link`` response headers and warn users once.

TrueX marks a deprecated API version or singular path with ``Deprecation`` (RFC 9745 ``@<epoch>``;
older servers send ``true`` or an HTTP-date), ``Sunset`` (RFC 8594 HTTP-date) and
``Link: <...>; rel="successor-version"``.

Example::

    info = parse_deprecation(response.headers)
    warn_deprecated("GET", "/api/v1/order", info, replacement="GET /api/v1/orders")
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime

import attrs

__all__ = [
    "DeprecationInfo",
    "TruexDeprecationWarning",
    "parse_deprecation",
    "reset_warning_registry",
    "warn_deprecated",
]

from .httpdate import parse_http_date


class TruexDeprecationWarning(FutureWarning):
    """An API operation or version used by the program is deprecated.

    A ``FutureWarning`` (not ``DeprecationWarning``) because it is aimed at the end user of the
    program: Python shows ``FutureWarning`` by default, but hides ``DeprecationWarning`` outside
    ``__main__``.
    """


@attrs.frozen
class DeprecationInfo:
    """What the server said about deprecation. Dates are timezone-aware UTC or ``None``.

    ``links`` maps each ``rel`` of the ``Link`` header to its URL (first one wins), e.g.
    ``{"successor-version": "/api/v1/orders"}``.
    """

    deprecated: bool = True
    deprecated_at: datetime | None = None
    sunset: datetime | None = None
    # Excluded from the hash: a dict is not hashable.
    links: dict[str, str] = attrs.field(factory=dict, hash=False)


def parse_deprecation(headers: Mapping[str, str]) -> DeprecationInfo | None:
    """Parse the deprecation headers; ``None`` when neither ``Deprecation`` nor ``Sunset`` is present.

    Malformed values never raise: a garbled ``Deprecation`` still means "deprecated" (the header's
    presence is the signal), only its date is dropped.

    >>> info = parse_deprecation({"Deprecation": "@1767225600", "Sunset": "Wed, 05 Aug 2026 00:00:00 GMT"})
    >>> info.deprecated, info.deprecated_at.isoformat(), info.sunset.date().isoformat()
    (True, '2026-01-01T00:00:00+00:00', '2026-08-05')
    """
    # httpx.Headers is case-insensitive but a plain dict is not; normalise names once.
    lowered = {k.lower(): v for k, v in headers.items()}
    deprecation = lowered.get("deprecation")
    sunset = lowered.get("sunset")
    if deprecation is None and sunset is None:
        return None
    return DeprecationInfo(
        deprecated=deprecation is not None,
        deprecated_at=_parse_deprecation_date(deprecation) if deprecation is not None else None,
        sunset=parse_http_date(sunset) if sunset is not None else None,
        links=_parse_links(lowered.get("link", "")),
    )


_EPOCH = re.compile(r"^@(-?\d{1,15})$")


def _parse_deprecation_date(value: str) -> datetime | None:
    value = value.strip()
    m = _EPOCH.match(value)
    if m:  # RFC 9745 structured-field date
        try:
            return datetime.fromtimestamp(int(m.group(1)), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if value.lower() == "true":  # legacy draft form: deprecated, date unknown
        return None
    return parse_http_date(value)


def _split_unquoted(value: str, sep: str) -> list[str]:
    """Split on ``sep`` outside ``<...>`` and double quotes (URLs and rel values may contain commas)."""
    parts: list[str] = []
    current: list[str] = []
    in_quotes = in_angle = False
    for ch in value:
        if ch == '"' and not in_angle:
            in_quotes = not in_quotes
        elif ch == "<" and not in_quotes:
            in_angle = True
        elif ch == ">" and not in_quotes:
            in_angle = False
        elif ch == sep and not in_quotes and not in_angle:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _parse_links(value: str) -> dict[str, str]:
    """Map each ``rel`` of a ``Link`` header (RFC 8288) to its URI; the first entry for a rel wins."""
    links: dict[str, str] = {}
    for entry in _split_unquoted(value, ","):
        segments = _split_unquoted(entry, ";")
        target = segments[0].strip()
        if not (target.startswith("<") and target.endswith(">")):
            continue  # malformed entry: skip it, keep the others
        uri = target[1:-1].strip()
        for param in segments[1:]:
            name, _, raw = param.partition("=")
            if name.strip().lower() != "rel":
                continue
            # rel may be quoted and may list several relation types separated by spaces.
            for rel in raw.strip().strip('"').split():
                links.setdefault(rel.lower(), uri)
    return links


_registry: set[tuple[str, str]] = set()
_registry_lock = threading.Lock()


def reset_warning_registry() -> None:
    """Forget which operations have been warned about (for tests)."""
    with _registry_lock:
        _registry.clear()


def warn_deprecated(
    method: str,
    path_template: str,
    info: DeprecationInfo | None,
    replacement: str | None = None,
    *,
    stacklevel: int = 2,
    now: datetime | None = None,
) -> bool:
    """Emit one :class:`TruexDeprecationWarning` per ``(method, path_template)`` per process.

    Does nothing when ``info`` is ``None`` or says neither deprecated nor sunset, so the result of
    :func:`parse_deprecation` can be passed straight in. For an operation the spec marks deprecated,
    pass ``DeprecationInfo()``. ``now`` (default: the current time) tells a sunset still to come from one
    that has passed. Returns whether a warning was emitted.
    """
    if info is None or not (info.deprecated or info.sunset is not None):
        return False
    key = (method.upper(), path_template)
    with _registry_lock:
        if key in _registry:
            return False
        _registry.add(key)
    try:
        # Warn outside the lock: a warnings hook may log, and logging may call back into the SDK.
        warnings.warn(
            _message(key[0], path_template, info, replacement, now or datetime.now(UTC)),
            TruexDeprecationWarning,
            stacklevel=stacklevel + 1,
        )
    except BaseException:
        # With warnings turned into errors, raise every time rather than only the first time.
        with _registry_lock:
            _registry.discard(key)
        raise
    return True


def _message(
    method: str, path_template: str, info: DeprecationInfo, replacement: str | None, now: datetime
) -> str:
    parts = [f"{method} {path_template} is deprecated"]
    if info.deprecated_at is not None:
        parts[0] += f" since {_fmt(info.deprecated_at)}"
    if info.sunset is not None and info.sunset <= now:
        parts.append(f"its removal date, {_fmt(info.sunset)}, has passed: it may stop working at any time")
    elif info.sunset is not None:
        parts.append(f"it will be removed on {_fmt(info.sunset)}")
    successor = replacement or info.links.get("successor-version") or info.links.get("alternate")
    if successor:
        parts.append(f"use {successor} instead")
    doc = info.links.get("deprecation") or info.links.get("sunset")
    if doc:
        parts.append(f"see {doc}")
    return "; ".join(parts) + "."


def _fmt(moment: datetime) -> str:
    # A whole-day moment reads better as a date; keep the time otherwise.
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
