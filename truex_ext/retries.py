"""Retry policy: which failures to retry and how long to wait. Pure functions, no I/O, no sleeping.

The caller's loop looks like::

    policy = RetryPolicy()
    start = clock()
    for attempt in itertools.count():          # 0 = the original request
        status, conn_error, retry_after = send()   # re-signed on every attempt
        if ok: break
        wait = policy.delay(attempt, parse_retry_after(retry_after, time.time()))
        if not policy.should_retry(attempt=attempt, status=status, connection_error=conn_error,
                                   idempotent=is_idempotent(method, has_key),
                                   elapsed=clock() - start, next_delay=wait):
            raise ...
        sleep(wait)
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import attrs

from .httpdate import parse_http_date

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "is_idempotent", "parse_retry_after"]

RETRYABLE_STATUSES: frozenset[int] = frozenset({408, 429, 502, 503, 504})
"""Statuses worth another try. 500 is left out: on an exchange it may mean the order was applied."""

_ALWAYS_IDEMPOTENT = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


def is_idempotent(method: str, has_idempotency_key: bool) -> bool:
    """Whether repeating the request cannot do the work twice.

    GET/HEAD/DELETE/OPTIONS always are. Anything else (POST, PATCH, ...) only with an idempotency key
    (for a create order: its ``external_id``), since the server then answers a repeat with the
    original result instead of placing a second order.

    >>> is_idempotent("post", has_idempotency_key=False), is_idempotent("POST", has_idempotency_key=True)
    (False, True)
    """
    return method.upper() in _ALWAYS_IDEMPOTENT or has_idempotency_key


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date (relative to ``now``).

    A negative delay or a date in the past gives ``0.0``; anything unparseable gives ``None``.

    >>> parse_retry_after("3", now=0.0), parse_retry_after("soon", now=0.0)
    (3.0, None)
    >>> parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", now=1700000000.0)
    10.0
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # float() accepts "nan" and "inf"; neither is a usable delay.
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    when = parse_http_date(value)
    return None if when is None else max(when.timestamp() - now, 0.0)


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value >= 0:
        raise ValueError(f"RetryPolicy.{attribute.name} must be >= 0, got {value!r}")


def _jitter_range(
    instance: object, attribute: attrs.Attribute[tuple[float, float]], value: tuple[float, float]
) -> None:
    low, high = value
    if not 0 <= low <= high:
        raise ValueError(f"RetryPolicy.jitter must be (low, high) with 0 <= low <= high, got {value!r}")


#: How many times a failed call is retried unless told otherwise (``max_retries=``).
DEFAULT_MAX_RETRIES = 2


@attrs.frozen
class RetryPolicy:
    """Backoff settings. Defaults: 2 retries, 0.5 s doubling up to 8 s, jitter x0.75-1.0, and at most
    120 s across all attempts (so ``max_retries`` cannot multiply the caller's timeout unboundedly).

    ``attempt`` below is the 0-based index of the attempt that just failed (0 = the original request).
    """

    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, validator=_non_negative)
    initial_backoff: float = attrs.field(default=0.5, validator=_non_negative)
    max_backoff: float = attrs.field(default=8.0, validator=_non_negative)
    jitter: tuple[float, float] = attrs.field(default=(0.75, 1.0), validator=_jitter_range)
    retry_after_cap: float = attrs.field(default=60.0, validator=_non_negative)
    total_deadline: float | None = attrs.field(default=120.0, validator=_non_negative)

    def delay(
        self, attempt: int, retry_after: float | None, rand: Callable[[], float] = random.random
    ) -> float:
        """Seconds to wait before retrying after failed attempt ``attempt``.

        A positive ``retry_after`` (from :func:`parse_retry_after`) wins, capped at ``retry_after_cap``;
        otherwise ``initial_backoff * 2**attempt`` capped at ``max_backoff``, times a jitter factor
        drawn from ``jitter`` so that many clients do not retry in lock-step.

        >>> RetryPolicy().delay(2, None, rand=lambda: 1.0), RetryPolicy().delay(0, 600.0)
        (2.0, 60.0)
        """
        if retry_after is not None and retry_after > 0:
            return min(retry_after, self.retry_after_cap)
        # Bound the exponent: 2.0**1100 overflows, and the cap is reached long before anyway.
        base = min(self.initial_backoff * 2.0 ** min(max(attempt, 0), 60), self.max_backoff)
        low, high = self.jitter
        return base * (low + (high - low) * rand())

    def should_retry(
        self,
        *,
        attempt: int,
        status: int | None,
        connection_error: bool,
        idempotent: bool,
        elapsed: float,
        next_delay: float,
    ) -> bool:
        """Whether to retry after failed attempt ``attempt`` (0-based).

        Only idempotent requests are retried (see :func:`is_idempotent`): a timed-out POST may have
        been executed, and repeating it could place a second order. Then the failure must be a
        connection error or a status in :data:`RETRYABLE_STATUSES`, retries must remain, and waiting
        ``next_delay`` must not pass ``total_deadline`` (seconds since the first attempt started).
        """
        if not idempotent:
            return False
        if not (connection_error or status in RETRYABLE_STATUSES):
            return False
        if attempt >= self.max_retries:
            return False
        return self.total_deadline is None or elapsed + next_delay <= self.total_deadline
