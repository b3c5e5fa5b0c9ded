"""Tests for truex_ext.logs: the logger, redaction and TRUEX_LOG."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from truex_ext.auth import Credentials, HmacAuth
from truex_ext.logs import (
    REDACTED,
    RedactingFilter,
    clear_registered_secrets,
    log_request,
    logger,
    register_secret,
    setup_from_env,
)

SENTINEL = "FAKE-SECRET-5e0a7d22-do-not-leak"


@pytest.fixture(autouse=True)
def _isolate_logger() -> Iterator[None]:
    level, handlers = logger.level, list(logger.handlers)
    clear_registered_secrets()
    yield
    clear_registered_secrets()
    logger.setLevel(level)
    for h in list(logger.handlers):
        if h not in handlers:
            logger.removeHandler(h)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """An application-style handler on the logger, formatting records the ordinary way."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield stream
    logger.removeHandler(handler)


def test_logger_is_silent_library_logger() -> None:
    assert logger.name == "truex"
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)
    assert any(isinstance(f, RedactingFilter) for f in logger.filters)


@pytest.mark.parametrize(
    "name",
    [
        "x-truex-auth-signature",
        "x-truex-auth-token",
        "X-TRUEX-AUTH-USERID",
        "Authorization",
        "api-key",
        "X-Api-Key",
        "client_secret",
        "Idempotency-Key",
        "Cookie",
        "password",
    ],
)
def test_sensitive_header_values_are_redacted(captured: io.StringIO, name: str) -> None:
    logger.debug(
        "request headers: %s", {name: SENTINEL, "content-type": "application/json", "x-request-id": "r1"}
    )
    out = captured.getvalue()
    assert SENTINEL not in out
    assert REDACTED in out
    assert "application/json" in out and "r1" in out  # other headers stay readable


def test_mapping_style_args_and_nested_mappings(captured: io.StringIO) -> None:
    logger.info(
        "%(method)s with %(headers)s", {"method": "GET", "headers": {"x-truex-auth-signature": SENTINEL}}
    )
    logger.info("a=%s b=%s", {"token": SENTINEL}, {"outer": {"secret": SENTINEL}})
    out = captured.getvalue()
    assert SENTINEL not in out
    assert "GET with" in out
    assert out.count(REDACTED) == 3


def test_httpx_headers_from_a_signed_request_are_redacted(captured: io.StringIO) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200)

    auth = HmacAuth(Credentials("123e4567-e89b-12d3-a456-426614174000", SENTINEL))
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as c:
        c.get("https://prod.truex.co/api/v1/balances")
    headers = requests[0].headers
    logger.debug("sent %s", headers)
    out = captured.getvalue()
    assert headers["x-truex-auth-signature"] not in out
    assert "123e4567-e89b-12d3-a456-426614174000" not in out
    assert SENTINEL not in out


def test_callers_mapping_is_not_mutated(captured: io.StringIO) -> None:
    headers = {"x-truex-auth-token": "tok"}
    logger.debug("%s", headers)
    assert headers == {"x-truex-auth-token": "tok"}


def test_registered_secret_is_redacted_anywhere(captured: io.StringIO) -> None:
    register_secret(SENTINEL)
    logger.info("plain arg %s and repr %r", SENTINEL, [SENTINEL])
    logger.info(f"inline {SENTINEL} in the message")
    logger.warning("in a non-sensitive key: %s", {"note": f"x{SENTINEL}y"})
    out = captured.getvalue()
    assert SENTINEL not in out
    assert out.count(REDACTED) == 4
    assert "plain arg [REDACTED] and repr ['[REDACTED]']" in out


def test_registered_secret_redacted_in_tracebacks(captured: io.StringIO) -> None:
    register_secret(SENTINEL)
    try:
        raise RuntimeError(f"bad secret {SENTINEL}")
    except RuntimeError:
        logger.exception("failed")
    logger.info("stack", stack_info=True)
    out = captured.getvalue()
    assert SENTINEL not in out
    assert "RuntimeError: bad secret [REDACTED]" in out


def test_bad_format_args_do_not_leak(captured: io.StringIO, capsys: pytest.CaptureFixture[str]) -> None:
    # Without the filter, logging's error handler would print the raw args to stderr.
    register_secret(SENTINEL)
    logger.info("two placeholders %s %s", SENTINEL)
    out = captured.getvalue() + capsys.readouterr().err
    assert SENTINEL not in out
    assert REDACTED in out


def test_longer_secret_replaced_whole(captured: io.StringIO) -> None:
    register_secret("abcdefgh")
    register_secret("abcdefghijkl")
    logger.info("x abcdefghijkl y")
    assert "x [REDACTED] y" in captured.getvalue()


def test_empty_secret_is_ignored(captured: io.StringIO) -> None:
    register_secret("")
    logger.info("message stays intact")
    assert "message stays intact" in captured.getvalue()


def test_record_args_are_kept_when_nothing_to_redact(caplog: pytest.LogCaptureFixture) -> None:
    # Structured handlers can still read the args when no secret was involved.
    register_secret(SENTINEL)
    with caplog.at_level(logging.INFO, logger="truex"):
        logger.info("value %s", 5)
    assert caplog.records[-1].args == (5,)


def test_log_request(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="truex"):
        log_request("get", "/api/v1/orders/{order_id}", 200, "r-1", 12.345)
        log_request("POST", "/api/v1/orders", None, None, 5000.0)
    first, second = caplog.records
    assert first.getMessage() == "GET /api/v1/orders/{order_id} -> 200 (request id r-1, 12.3 ms)"
    assert second.getMessage() == "POST /api/v1/orders -> no response (request id -, 5000.0 ms)"
    assert first.levelno == logging.INFO
    assert first.__dict__["path_template"] == "/api/v1/orders/{order_id}"
    assert first.__dict__["status_code"] == 200
    assert first.__dict__["request_id"] == "r-1"
    assert first.__dict__["http_method"] == "GET"
    assert first.__dict__["elapsed_ms"] == 12.345
    assert first.filename == "test_logs.py"  # the caller, not logs.py


def test_log_request_is_silent_by_default(caplog: pytest.LogCaptureFixture) -> None:
    logger.setLevel(logging.NOTSET)
    with caplog.at_level(logging.WARNING):
        log_request("GET", "/api/v1/health", 200, None, 1.0)
    assert caplog.records == []


@pytest.mark.parametrize(
    ("value", "level"), [("debug", logging.DEBUG), ("INFO", logging.INFO), (" info ", logging.INFO)]
)
def test_setup_from_env_adds_one_stderr_handler(
    value: str, level: int, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(logger.handlers)
    setup_from_env({"TRUEX_LOG": value})
    setup_from_env({"TRUEX_LOG": value})
    assert logger.level == level
    assert len(logger.handlers) == before + 1
    register_secret(SENTINEL)
    log_request("GET", "/api/v1/balances", 200, "r-5", 3.0)
    logger.info("oops %s", SENTINEL)
    err = capsys.readouterr().err
    assert "GET /api/v1/balances -> 200 (request id r-5, 3.0 ms)" in err
    assert "truex" in err
    assert SENTINEL not in err


def test_setup_from_env_changes_level_without_second_handler() -> None:
    before = len(logger.handlers)
    setup_from_env({"TRUEX_LOG": "info"})
    setup_from_env({"TRUEX_LOG": "debug"})
    assert logger.level == logging.DEBUG
    assert len(logger.handlers) == before + 1


@pytest.mark.parametrize("env", [{}, {"TRUEX_LOG": ""}, {"TRUEX_LOG": "verbose"}, {"OTHER": "debug"}])
def test_setup_from_env_ignores_unset_or_unknown(env: dict[str, str]) -> None:
    level, handlers = logger.level, list(logger.handlers)
    setup_from_env(env)
    assert logger.level == level
    assert logger.handlers == handlers


def test_setup_from_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUEX_LOG", "debug")
    setup_from_env()
    assert logger.level == logging.DEBUG


def test_a_tiny_secret_does_not_blank_out_every_message(captured: io.StringIO) -> None:
    register_secret("s")  # a test's throwaway secret must not redact every letter s from now on
    log_request("GET", "/api/v1/assets", 200, "req-1", 1.0)
    assert "GET /api/v1/assets -> 200" in captured.getvalue()


def test_websocket_request_fields_are_redacted(captured: io.StringIO) -> None:
    # The stream's signed requests carry `key` and `signature`: logged as a mapping, both are redacted.
    from truex_ext.stream import build_request

    creds = Credentials("123e4567-e89b-12d3-a456-426614174000", SENTINEL)
    frame = build_request("SUBSCRIBE", ["DEPTH"], ["BTC-PYUSD"], 1700000000, credentials=creds)
    register_secret(SENTINEL)
    logger.debug("sent %s", frame)
    logger.debug("repr %r", creds)
    out = captured.getvalue()
    assert SENTINEL not in out
    assert frame["signature"] not in out
    assert "123e4567-e89b-12d3-a456-426614174000" not in out
    assert "BTC-PYUSD" in out
