"""HTTP-dates (RFC 9110 §5.6.7): the ``Date``, ``Retry-After``, ``Deprecation`` and ``Sunset`` headers."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_http_date(value: str) -> datetime | None:
    """The aware UTC datetime of an HTTP-date, or None when it does not parse.

    >>> parse_http_date("Wed, 05 Aug 2026 00:00:00 GMT").isoformat()
    '2026-08-05T00:00:00+00:00'
    """
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # HTTP-dates are always GMT; the asctime form parses as naive.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
