"""Tests for truex_ext.deprecation: header parsing and warn-once."""

from __future__ import annotations

import doctest
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

import truex_ext.deprecation
from truex_ext.deprecation import (
    DeprecationInfo,
    TruexDeprecationWarning,
    parse_deprecation,
    reset_warning_registry,
    warn_deprecated,
)

JAN_1_2026 = datetime(2026, 1, 1, tzinfo=UTC)
AUG_5_2026 = datetime(2026, 8, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    reset_warning_registry()
    yield
    reset_warning_registry()


# --- parse_deprecation ----------------------------------------------------------------------------


def test_rfc9745_epoch_and_sunset() -> None:
    info = parse_deprecation({"Deprecation": "@1767225600", "Sunset": "Wed, 05 Aug 2026 00:00:00 GMT"})
    assert info == DeprecationInfo(deprecated=True, deprecated_at=JAN_1_2026, sunset=AUG_5_2026, links={})
    assert info.deprecated_at is not None and info.deprecated_at.tzinfo is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", None),
        ("TRUE", None),
        ("Thu, 01 Jan 2026 00:00:00 GMT", JAN_1_2026),
        ("Thursday, 01-Jan-26 00:00:00 GMT", JAN_1_2026),
        ("Thu Jan  1 00:00:00 2026", JAN_1_2026),
        (" @1767225600 ", JAN_1_2026),
        ("@0", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_deprecation_forms(value: str, expected: datetime | None) -> None:
    info = parse_deprecation({"deprecation": value})
    assert info is not None
    assert info.deprecated is True
    assert info.deprecated_at == expected
    assert info.sunset is None


@pytest.mark.parametrize(
    "value", ["garbage", "", "@", "@abc", "@1.5", "@999999999999999", "2026-01-01", "yes"]
)
def test_malformed_deprecation_still_means_deprecated(value: str) -> None:
    info = parse_deprecation({"Deprecation": value})
    assert info == DeprecationInfo(deprecated=True, deprecated_at=None, sunset=None)


@pytest.mark.parametrize("value", ["soon", "", "Mon, 99 Foo 2026 99:99:99 GMT", "@1767225600"])
def test_malformed_sunset_is_none(value: str) -> None:
    info = parse_deprecation({"Deprecation": "true", "Sunset": value})
    assert info is not None and info.deprecated and info.sunset is None


def test_sunset_alone_is_reported_but_not_marked_deprecated() -> None:
    info = parse_deprecation({"Sunset": "Wed, 05 Aug 2026 00:00:00 GMT"})
    assert info == DeprecationInfo(deprecated=False, sunset=AUG_5_2026)


def test_sunset_with_offset_is_normalised_to_utc() -> None:
    info = parse_deprecation({"Sunset": "Wed, 05 Aug 2026 02:00:00 +0200"})
    assert info is not None and info.sunset == AUG_5_2026
    assert info.sunset.utcoffset() is not None and info.sunset.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Link": '</api/v1/orders>; rel="successor-version"'}, {"Content-Type": "application/json"}],
)
def test_none_without_deprecation_or_sunset(headers: dict[str, str]) -> None:
    assert parse_deprecation(headers) is None


def test_link_header_with_several_entries() -> None:
    link = (
        '</api/v1/orders>; rel="successor-version", '
        '<https://docs.truex.co/deprecations?a=1,b=2>; rel="deprecation"; type="text/html", '
        "<https://docs.truex.co/sunset>;rel=sunset, "
        '<https://example.com/x>; title="a, b; c"; rel="alternate latest-version"'
    )
    info = parse_deprecation({"Deprecation": "@1767225600", "Link": link})
    assert info is not None
    assert info.links == {
        "successor-version": "/api/v1/orders",
        "deprecation": "https://docs.truex.co/deprecations?a=1,b=2",
        "sunset": "https://docs.truex.co/sunset",
        "alternate": "https://example.com/x",
        "latest-version": "https://example.com/x",
    }


def test_link_first_rel_wins_and_malformed_entries_are_skipped() -> None:
    link = 'no-angle; rel="deprecation", </a>; rel="Successor-Version", </b>; rel="successor-version", </c>'
    info = parse_deprecation({"Deprecation": "true", "Link": link})
    assert info is not None and info.links == {"successor-version": "/a"}


def test_works_with_httpx_headers_and_any_case() -> None:
    headers = httpx.Headers(
        [
            ("DEPRECATION", "@1767225600"),
            ("link", "</api/v1/orders>; rel=successor-version"),
            ("Link", "</d>; rel=deprecation"),
        ]
    )
    info = parse_deprecation(headers)
    assert info is not None
    assert info.deprecated_at == JAN_1_2026
    assert info.links == {"successor-version": "/api/v1/orders", "deprecation": "/d"}


# --- warn_deprecated ------------------------------------------------------------------------------


def test_warns_once_per_method_and_template_with_full_message() -> None:
    info = DeprecationInfo(deprecated_at=JAN_1_2026, sunset=AUG_5_2026)
    with warnings.catch_warnings(record=True) as caught:
        # "always" disables Python's own once-per-location dedup, so only our registry can suppress.
        warnings.simplefilter("always")
        assert (
            warn_deprecated("get", "/api/v1/order", info, replacement="GET /api/v1/orders", now=JAN_1_2026)
            is True
        )
        assert warn_deprecated("GET", "/api/v1/order", info, replacement="GET /api/v1/orders") is False
        assert warn_deprecated("GET", "/api/v1/asset", info) is True
        assert warn_deprecated("DELETE", "/api/v1/order", info) is True
    assert [w.category for w in caught] == [TruexDeprecationWarning] * 3
    assert str(caught[0].message) == (
        "GET /api/v1/order is deprecated since 2026-01-01; it will be removed on 2026-08-05; "
        "use GET /api/v1/orders instead."
    )


def test_a_sunset_that_has_passed_says_so() -> None:
    info = DeprecationInfo(deprecated_at=JAN_1_2026, sunset=AUG_5_2026)
    with pytest.warns(TruexDeprecationWarning) as caught:
        warn_deprecated("GET", "/api/v1/orders", info, "GET /v1/cefi/orders", now=AUG_5_2026)
    assert str(caught[0].message) == (
        "GET /api/v1/orders is deprecated since 2026-01-01; its removal date, 2026-08-05, has passed: it may "
        "stop working at any time; use GET /v1/cefi/orders instead."
    )


def test_message_uses_successor_link_and_time_of_day() -> None:
    info = DeprecationInfo(
        deprecated_at=datetime(2026, 1, 1, 12, 30, tzinfo=UTC),
        links={"successor-version": "/api/v1/orders", "deprecation": "https://docs.truex.co/d"},
    )
    with pytest.warns(TruexDeprecationWarning) as caught:
        warn_deprecated("GET", "/api/v1/order/{id}", info)
    assert str(caught[0].message) == (
        "GET /api/v1/order/{id} is deprecated since 2026-01-01 12:30:00 UTC; use /api/v1/orders instead; "
        "see https://docs.truex.co/d."
    )


def test_spec_level_deprecation_without_headers() -> None:
    with pytest.warns(
        TruexDeprecationWarning, match=r"^POST /api/v1/order is deprecated; use POST /api/v1/orders"
    ):
        warn_deprecated("POST", "/api/v1/order", DeprecationInfo(), "POST /api/v1/orders")


def test_no_warning_when_nothing_is_deprecated() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_deprecated("GET", "/api/v1/orders", None) is False
        assert warn_deprecated("GET", "/api/v1/orders", parse_deprecation({})) is False
        assert warn_deprecated("GET", "/api/v1/orders", DeprecationInfo(deprecated=False)) is False
    # ... and those calls did not use up the one warning for that operation.
    with pytest.warns(TruexDeprecationWarning):
        warn_deprecated("GET", "/api/v1/orders", DeprecationInfo(deprecated=False, sunset=AUG_5_2026))


def test_reset_registry_allows_warning_again() -> None:
    with pytest.warns(TruexDeprecationWarning):
        warn_deprecated("GET", "/x", DeprecationInfo())
    reset_warning_registry()
    with pytest.warns(TruexDeprecationWarning):
        warn_deprecated("GET", "/x", DeprecationInfo())


def test_warning_points_at_the_caller() -> None:
    def sdk_internal() -> None:
        warn_deprecated("GET", "/y", DeprecationInfo(), stacklevel=2)

    with pytest.warns(TruexDeprecationWarning) as caught:
        sdk_internal()  # the line users should see
    assert caught[0].filename == __file__
    assert caught[0].lineno == sdk_internal.__code__.co_firstlineno + 4


def test_error_filter_raises_every_time() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruexDeprecationWarning)
        for _ in range(2):
            with pytest.raises(TruexDeprecationWarning):
                warn_deprecated("GET", "/z", DeprecationInfo())


def test_is_a_future_warning_so_users_see_it_by_default() -> None:
    assert issubclass(TruexDeprecationWarning, FutureWarning)
    assert not issubclass(TruexDeprecationWarning, DeprecationWarning)


def test_concurrent_callers_warn_exactly_once() -> None:
    results: list[bool] = []
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        results.append(warn_deprecated("GET", "/threads", DeprecationInfo()))

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [False] * 15 + [True]


def test_docstring_examples() -> None:
    result = doctest.testmod(truex_ext.deprecation)
    assert result.attempted > 0
    assert result.failed == 0
