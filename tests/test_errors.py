"""Tests for truex_ext.errors: the hierarchy, problem parsing and error messages."""

from __future__ import annotations

import doctest
import json
from typing import Any

import httpx
import pytest

import truex_ext.errors
from truex_ext.auth import Credentials, HmacAuth
from truex_ext.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidParameterError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    RateLimitError,
    RequestTimeoutError,
    TimestampSkewError,
    TruexError,
    UnsupportedMediaTypeError,
    make_status_error,
)

SENTINEL_SECRET = "FAKE-SECRET-2b7d04c1-do-not-leak"
PATTERN_DETAIL = r"info.qty: must match pattern ^-?[0-9]+(\.[0-9]+)?$"


def problem_json(envelope: bool = False, **fields: Any) -> bytes:
    body: dict[str, Any] = {"type": "about:blank", "title": "Bad Request", "status": 400, **fields}
    return json.dumps({"error": body} if envelope else body).encode()


def test_hierarchy() -> None:
    assert issubclass(APIError, TruexError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, APIError)
    assert issubclass(APIStatusError, APIError)
    assert not issubclass(APIConnectionError, APIStatusError)
    assert issubclass(TimestampSkewError, AuthenticationError)
    assert issubclass(InvalidParameterError, TruexError)
    assert issubclass(InvalidParameterError, ValueError)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (408, RequestTimeoutError),
        (409, ConflictError),
        (415, UnsupportedMediaTypeError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (599, InternalServerError),
        (418, APIStatusError),
        (422, APIStatusError),
        (302, APIStatusError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[APIStatusError]) -> None:
    err = make_status_error(status, {}, b"", "GET", "/api/v1/x")
    assert type(err) is cls
    assert err.status_code == status


@pytest.mark.parametrize("envelope", [False, True], ids=["v2024_01_01", "v2026_01_23"])
def test_parses_problem_in_both_versions(envelope: bool) -> None:
    content = problem_json(
        envelope, detail=PATTERN_DETAIL, instance="/api/v1/orders", extensions={"field": "info.qty"}
    )
    err = make_status_error(
        400,
        {"X-Request-Id": "abc", "Content-Type": "application/problem+json"},
        content,
        "post",
        "/api/v1/orders",
    )
    assert isinstance(err, BadRequestError)
    assert err.problem == Problem(
        type="about:blank",
        title="Bad Request",
        status=400,
        detail=PATTERN_DETAIL,
        instance="/api/v1/orders",
        extensions={"field": "info.qty"},
    )
    assert err.body_text is None
    assert err.request_id == "abc"
    assert err.method == "POST"
    assert err.url == "/api/v1/orders"
    assert str(err) == f"400 Bad Request: {PATTERN_DETAIL} (request id abc)"


def test_tolerates_missing_and_odd_fields() -> None:
    err = make_status_error(
        409, {}, b'{"error": {"detail": "duplicate external_id", "status": "409"}}', "POST", "/p"
    )
    assert err.problem == Problem(detail="duplicate external_id", status=409)
    assert err.problem.type == "about:blank"
    assert err.problem.title is None
    assert str(err) == "409 Conflict: duplicate external_id"


def test_title_used_when_no_detail_and_top_level_members_become_extensions() -> None:
    err = make_status_error(
        403, {}, b'{"title": "Forbidden client", "status": 403, "code": "E42"}', "GET", "/p"
    )
    assert err.problem is not None
    assert err.problem.extensions == {"code": "E42"}
    assert str(err) == "403 Forbidden: Forbidden client"


def test_gateway_shapes_are_understood() -> None:
    e1 = make_status_error(401, {}, b'{"error": "unauthorized"}', "GET", "/p")
    e2 = make_status_error(500, {}, b'{"message": "boom", "code": 7}', "GET", "/p")
    assert e1.problem is not None and e1.problem.detail == "unauthorized"
    assert e2.problem is not None and e2.problem.detail == "boom" and e2.problem.extensions == {"code": 7}


def test_html_body_from_proxy_is_kept_as_text() -> None:
    html = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    err = make_status_error(502, {"content-type": "text/html"}, html, "GET", "/api/v1/balances")
    assert isinstance(err, InternalServerError)
    assert err.problem is None
    assert err.body_text == html.decode()
    assert str(err) == "502 Bad Gateway: 502 Bad Gateway 502 Bad Gateway nginx"
    assert "\n" not in str(err)


def test_large_text_body_is_truncated() -> None:
    content = b"x" * 10_000
    err = make_status_error(500, {}, content, "GET", "/p")
    assert err.body_text is not None
    assert err.body_text.startswith("x" * 2048)
    assert 2048 < len(err.body_text) < 2200
    assert "10000 bytes" in err.body_text
    assert len(str(err)) < 300


def test_json_that_is_not_an_object_is_kept_as_text() -> None:
    err = make_status_error(400, {}, b'["a", "b"]', "GET", "/p")
    assert err.problem is None
    assert err.body_text == '["a", "b"]'


def test_invalid_utf8_does_not_raise() -> None:
    err = make_status_error(500, {}, b"\xff\xfe oops", "GET", "/p")
    assert err.body_text is not None and "oops" in err.body_text


def test_message_is_one_line_and_bounded() -> None:
    detail = "line one\nline two\r\n\tline three " + "y" * 1000
    err = make_status_error(400, {}, problem_json(detail=detail), "GET", "/p")
    text = str(err)
    assert "\n" not in text and "\r" not in text and "\t" not in text
    assert text.startswith("400 Bad Request: line one line two line three y")
    assert len(text) < 300
    assert err.problem is not None and err.problem.detail == detail  # the full detail is kept


def test_empty_body_and_unknown_status() -> None:
    assert (
        str(make_status_error(503, {"x-request-id": "r9"}, b"", "GET", "/p"))
        == "503 Service Unavailable (request id r9)"
    )
    err = make_status_error(599, {}, b"  ", "GET", "/p")
    assert str(err) == "599"
    assert err.problem is None and err.body_text is None and err.request_id is None


def test_url_keeps_path_only() -> None:
    err = make_status_error(404, {}, b"", "get", "/api/v1/orders/1?client_id=7&secret=x")
    assert err.url == "/api/v1/orders/1"
    assert "client_id" not in str(err) + repr(err)


def test_headers_are_response_headers_with_lowercase_names() -> None:
    err = make_status_error(429, {"Retry-After": "3", "X-Request-Id": "r"}, b"", "GET", "/p")
    assert err.headers["retry-after"] == "3"


@pytest.mark.parametrize(
    "text",
    [
        "Request timestamp is too old",
        "stale request",
        "timestamp in the future",
        "signature expired",
        "Clock skew detected",
    ],
)
def test_401_about_timestamp_becomes_skew_error(text: str) -> None:
    err = make_status_error(
        401,
        {"x-request-id": "r1"},
        problem_json(True, title="Unauthorized", status=401, detail=text),
        "GET",
        "/p",
        skew_offset=-42.25,
    )
    assert isinstance(err, TimestampSkewError)
    assert isinstance(err, AuthenticationError)
    assert err.offset == -42.25
    assert str(err).startswith(f"401 Unauthorized: {text} (request id r1) Hint:")
    assert "42.2 s ahead of the server" in str(err)
    assert "correct_skew=True" in str(err)


def test_skew_error_title_and_unknown_offset() -> None:
    err = make_status_error(401, {}, problem_json(title="Invalid timestamp", status=401), "GET", "/p")
    assert isinstance(err, TimestampSkewError)
    assert err.offset is None
    assert "may be off" in str(err)


def test_skew_hint_behind() -> None:
    err = make_status_error(401, {}, problem_json(detail="stale timestamp"), "GET", "/p", skew_offset=30.0)
    assert "30.0 s behind the server" in str(err)


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (401, "invalid signature"),
        (401, "unknown API key"),
        (403, "timestamp"),
        (400, "timestamp must be digits"),
    ],
)
def test_other_errors_are_not_skew_errors(status: int, detail: str) -> None:
    err = make_status_error(status, {}, problem_json(detail=detail), "GET", "/p", skew_offset=100.0)
    assert not isinstance(err, TimestampSkewError)
    assert "Hint" not in str(err)


def test_401_without_body_is_plain_authentication_error() -> None:
    assert type(make_status_error(401, {}, b"", "GET", "/p")) is AuthenticationError


def test_problem_is_a_hashable_value() -> None:
    a = Problem(title="t", extensions={"x": [1]})
    assert a == Problem(title="t", extensions={"x": [1]})
    assert a != Problem(title="t", extensions={"x": [2]})
    assert hash(a) == hash(Problem(title="t"))
    with pytest.raises(AttributeError):
        a.title = "u"  # type: ignore[misc]


def test_invalid_parameter_error() -> None:
    err = InvalidParameterError("info.price", "must be a decimal string, not float")
    assert (err.field, err.rule) == ("info.price", "must be a decimal string, not float")
    assert str(err) == "info.price: must be a decimal string, not float"
    with pytest.raises(ValueError):
        raise err


def test_connection_errors_defaults() -> None:
    assert str(APIConnectionError()) == "Connection error."
    err = APITimeoutError(method="GET", url="/api/v1/balances")
    assert str(err) == "Request timed out."
    assert (err.method, err.url) == ("GET", "/api/v1/balances")


def test_errors_from_real_responses_never_contain_the_secret() -> None:
    # The server replies 401 to a request signed with the sentinel secret; whatever the error keeps
    # (response headers, body, method, path), the secret and the request's signature are not in it.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            headers={"x-request-id": "r-77", "content-type": "application/problem+json"},
            json={
                "error": {
                    "type": "about:blank",
                    "title": "Unauthorized",
                    "status": 401,
                    "detail": "timestamp stale",
                }
            },
        )

    auth = HmacAuth(Credentials("123e4567-e89b-12d3-a456-426614174000", SENTINEL_SECRET, "1"))
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as c:
        response = c.post("https://prod.truex.co/api/v1/orders?x=1", json={"qty": "1"})
    request = response.request
    err = make_status_error(
        response.status_code,
        response.headers,
        response.content,
        request.method,
        request.url.path,
        skew_offset=1.0,
    )
    assert isinstance(err, TimestampSkewError)
    signature = request.headers["x-truex-auth-signature"]
    everything = " ".join([str(err), repr(err), repr(err.problem), str(err.headers), str(err.args)])
    assert SENTINEL_SECRET not in everything
    assert signature not in everything
    assert "x-truex-auth" not in everything


def test_repr_is_informative() -> None:
    err = make_status_error(404, {"x-request-id": "r2"}, b"", "GET", "/api/v1/orders/5")
    assert repr(err) == (
        "NotFoundError(status_code=404, method='GET', url='/api/v1/orders/5', request_id='r2', "
        "message='404 Not Found (request id r2)')"
    )


def test_docstring_examples() -> None:
    result = doctest.testmod(truex_ext.errors)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    "detail",
    [
        "missing authentication header(s): x-truex-auth-timestamp",
        "x-truex-auth-timestamp: must be Unix time in whole seconds, got '1700000000000'",
    ],
)
def test_a_missing_or_malformed_timestamp_header_is_not_clock_skew(detail: str) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": detail}
    ).encode()
    err = make_status_error(
        401, {"content-type": "application/problem+json"}, body, "GET", "/api/v1/balances"
    )
    assert type(err) is AuthenticationError


def test_the_sandbox_stale_and_future_wording_is_clock_skew() -> None:
    for detail in (
        "stale timestamp: x-truex-auth-timestamp is 40 s old; at most 15 s allowed",
        "timestamp in the future: x-truex-auth-timestamp is 30 s ahead of the server clock; at most 1 s allowed",
    ):
        body = json.dumps(
            {"error": {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": detail}}
        )
        err = make_status_error(401, {}, body.encode(), "GET", "/api/v1/balances", skew_offset=31.0)
        assert isinstance(err, TimestampSkewError) and err.offset == 31.0
