"""Tests for truex_ext.retries: backoff maths, Retry-After parsing and the retry decision."""

from __future__ import annotations

import doctest
from email.utils import formatdate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import truex_ext.retries
from truex_ext.retries import RETRYABLE_STATUSES, RetryPolicy, is_idempotent, parse_retry_after

NOW = 1_700_000_000.0


def test_retryable_statuses() -> None:
    assert frozenset({408, 429, 502, 503, 504}) == RETRYABLE_STATUSES
    assert 500 not in RETRYABLE_STATUSES  # a 500 on a create may have placed the order


def test_defaults() -> None:
    p = RetryPolicy()
    assert (
        p.max_retries,
        p.initial_backoff,
        p.max_backoff,
        p.jitter,
        p.retry_after_cap,
        p.total_deadline,
    ) == (
        2,
        0.5,
        8.0,
        (0.75, 1.0),
        60.0,
        120.0,
    )


# --- is_idempotent --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "head", "DELETE", "Options"])
@pytest.mark.parametrize("key", [False, True])
def test_safe_methods_are_always_idempotent(method: str, key: bool) -> None:
    assert is_idempotent(method, has_idempotency_key=key) is True


@pytest.mark.parametrize("method", ["POST", "patch", "PUT"])
def test_writes_need_an_idempotency_key(method: str) -> None:
    assert is_idempotent(method, has_idempotency_key=False) is False
    assert is_idempotent(method, has_idempotency_key=True) is True


# --- parse_retry_after ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("3600", 3600.0),  # not capped here: the cap is policy, applied in delay()
        (formatdate(NOW + 30, usegmt=True), 30.0),
        (formatdate(NOW - 30, usegmt=True), 0.0),
        ("Tue Nov 14 22:13:30 2023", 10.0),  # asctime form, no zone: GMT
    ],
)
def test_parse_retry_after(value: str, expected: float) -> None:
    assert parse_retry_after(value, NOW) == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, "", "  ", "soon", "nan", "inf", "-inf", "12s", "Mon, 99 Foo"])
def test_parse_retry_after_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


# --- delay ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "expected"), [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (10_000, 8.0)]
)
def test_exponential_backoff_capped(attempt: int, expected: float) -> None:
    policy = RetryPolicy()
    assert policy.delay(attempt, None, rand=lambda: 1.0) == pytest.approx(expected)
    assert policy.delay(attempt, None, rand=lambda: 0.0) == pytest.approx(expected * 0.75)


@settings(database=None, derandomize=True)
@given(
    attempt=st.integers(min_value=0, max_value=2000),
    r=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_delay_stays_within_jitter_band(attempt: int, r: float) -> None:
    policy = RetryPolicy()
    base = 8.0 if attempt >= 4 else 0.5 * 2**attempt
    assert 0.75 * base <= policy.delay(attempt, None, rand=lambda: r) <= base


def test_default_jitter_uses_random() -> None:
    policy = RetryPolicy()
    values = {policy.delay(3, None) for _ in range(50)}
    assert len(values) > 1
    assert all(3.0 <= v <= 4.0 for v in values)


@pytest.mark.parametrize(("retry_after", "expected"), [(3.0, 3.0), (0.25, 0.25), (60.0, 60.0), (600.0, 60.0)])
def test_retry_after_wins_but_is_capped(retry_after: float, expected: float) -> None:
    policy = RetryPolicy()
    assert policy.delay(0, retry_after, rand=lambda: 0.0) == expected
    assert policy.delay(5, retry_after, rand=lambda: 0.0) == expected


def test_zero_retry_after_falls_back_to_backoff() -> None:
    # "Retry-After: 0" (or a past date) is no guidance; hammering the server at once is not wanted.
    assert RetryPolicy().delay(2, 0.0, rand=lambda: 1.0) == 2.0


def test_custom_policy() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=3.0, jitter=(0.5, 0.5), retry_after_cap=5.0)
    assert [policy.delay(a, None, rand=lambda: 0.9) for a in range(4)] == [0.5, 1.0, 1.5, 1.5]
    assert policy.delay(0, 9.0) == 5.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"initial_backoff": -0.1},
        {"max_backoff": float("nan")},
        {"retry_after_cap": -1.0},
        {"total_deadline": -5.0},
        {"jitter": (1.0, 0.5)},
        {"jitter": (-0.1, 1.0)},
    ],
)
def test_invalid_policy_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_frozen() -> None:
    with pytest.raises(AttributeError):
        RetryPolicy().max_retries = 5  # type: ignore[misc]


# --- should_retry ---------------------------------------------------------------------------------


def decide(policy: RetryPolicy | None = None, **overrides: object) -> bool:
    kwargs: dict[str, object] = {
        "attempt": 0,
        "status": 503,
        "connection_error": False,
        "idempotent": True,
        "elapsed": 0.0,
        "next_delay": 0.5,
    }
    kwargs.update(overrides)
    return (policy or RetryPolicy()).should_retry(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", sorted(RETRYABLE_STATUSES))
def test_retryable_status_is_retried(status: int) -> None:
    assert decide(status=status) is True


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 415, 422, 500, 501])
def test_other_status_is_not_retried(status: int) -> None:
    assert decide(status=status) is False


def test_connection_error_is_retried() -> None:
    assert decide(status=None, connection_error=True) is True
    assert decide(status=None, connection_error=False) is False


@pytest.mark.parametrize(("status", "conn"), [(503, False), (429, False), (None, True)])
def test_non_idempotent_is_never_retried(status: int | None, conn: bool) -> None:
    assert decide(status=status, connection_error=conn, idempotent=False) is False


def test_stops_when_retries_exhausted() -> None:
    assert [decide(attempt=a) for a in range(4)] == [True, True, False, False]
    assert decide(RetryPolicy(max_retries=0)) is False


def test_stops_before_passing_total_deadline() -> None:
    assert decide(elapsed=119.0, next_delay=1.0) is True
    assert decide(elapsed=119.0, next_delay=1.5) is False
    assert decide(RetryPolicy(total_deadline=None), elapsed=10_000.0, next_delay=60.0) is True


def test_simulated_loop_makes_max_retries_plus_one_attempts() -> None:
    # The loop a client would run: both methods agree on the 0-based attempt index.
    policy = RetryPolicy(max_retries=3)
    attempts, elapsed, waits = 0, 0.0, []
    while True:
        attempts += 1
        wait = policy.delay(attempts - 1, None, rand=lambda: 1.0)
        if not policy.should_retry(
            attempt=attempts - 1,
            status=503,
            connection_error=False,
            idempotent=True,
            elapsed=elapsed,
            next_delay=wait,
        ):
            break
        waits.append(wait)
        elapsed += wait
    assert attempts == 4
    assert waits == [0.5, 1.0, 2.0]


def test_simulated_loop_respects_deadline_with_long_retry_after() -> None:
    policy = RetryPolicy(max_retries=10, total_deadline=100.0)
    attempts, elapsed = 0, 0.0
    while True:
        attempts += 1
        wait = policy.delay(attempts - 1, parse_retry_after("45", NOW))
        if not policy.should_retry(
            attempt=attempts - 1,
            status=429,
            connection_error=False,
            idempotent=True,
            elapsed=elapsed,
            next_delay=wait,
        ):
            break
        elapsed += wait
    assert attempts == 3  # waits 45 + 45 = 90; a third wait would end at 135 > 100
    assert elapsed == 90.0


def test_docstring_examples() -> None:
    result = doctest.testmod(truex_ext.retries)
    assert result.attempted > 0
    assert result.failed == 0
