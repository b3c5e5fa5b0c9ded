"""The ``truex`` logger, with redaction of credentials.

Silent by default (a ``NullHandler``, as a library should be). ``TRUEX_LOG=info`` or ``debug`` plus
:func:`setup_from_env` prints to stderr. :class:`RedactingFilter` is attached to the logger so that
header values named like auth/token/secret/signature/key, and any string passed to
:func:`register_secret`, never reach a handler.

Example::

    register_secret(credentials.secret)
    setup_from_env()
    log_request("GET", "/api/v1/orders/{order_id}", 200, "req-1", 12.5)
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import traceback
from collections.abc import Mapping
from typing import Any

__all__ = [
    "REDACTED",
    "RedactingFilter",
    "clear_registered_secrets",
    "log_request",
    "logger",
    "register_secret",
    "setup_from_env",
]

REDACTED = "[REDACTED]"

SENSITIVE_NAME = re.compile(r"auth|token|secret|signature|key|cookie|passw", re.IGNORECASE)
"""Mapping keys whose values are redacted (``x-truex-auth-signature``, ``Authorization``, ...).

A pattern rather than a list: renamed or new headers (``x-truex-auth-user-id``, ``api-key``) are
covered without anyone remembering to add them.
"""

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


#: Shorter strings are not redacted by value: a one-letter "secret" (a test's) would blank out that letter
#: in every later message of the process. Real TrueX secrets are tens of characters long.
MIN_SECRET_LENGTH = 8


def register_secret(secret: str) -> None:
    """Redact ``secret`` wherever it appears in a ``truex`` log message from now on."""
    if len(secret) >= MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(secret)


def clear_registered_secrets() -> None:
    """Forget every registered secret (for tests)."""
    with _secrets_lock:
        _secrets.clear()


def _redact_text(text: str) -> str:
    with _secrets_lock:
        # Longest first, so a secret that contains another registered one is replaced whole.
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _redact_mapping(value: Mapping[Any, Any], depth: int = 0) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key, item in value.items():
        if isinstance(key, str) and SENSITIVE_NAME.search(key):
            result[key] = REDACTED
        elif isinstance(item, Mapping) and depth < 5:  # e.g. {"headers": {...}}; bounded for cycles
            result[key] = _redact_mapping(item, depth + 1)
        else:
            result[key] = item
    return result


class RedactingFilter(logging.Filter):
    """Redact sensitive mapping values in ``record.args`` and registered secrets in the message.

    Never drops a record. When a registered secret is found, the message is stored pre-formatted
    (``args`` cleared) so no handler or formatter can reach the original values.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, Mapping):
            record.args = _redact_mapping(args)
        elif isinstance(args, tuple):
            record.args = tuple(_redact_mapping(a) if isinstance(a, Mapping) else a for a in args)

        with _secrets_lock:
            have_secrets = bool(_secrets)
        try:
            message = record.getMessage() if have_secrets else ""
        except Exception:
            # Formatting would fail later anyway and logging would print msg and args raw; keep a
            # redacted, pre-formatted version instead.
            message = f"{record.msg} {record.args!r}"
        redacted = _redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None

        # Tracebacks are formatted at emit time, after filters; format them now so they get redacted.
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = _redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = _redact_text(record.stack_info)
        return True


logger = logging.getLogger("truex")
logger.addHandler(logging.NullHandler())
# On the logger (not only our handler) so handlers the application adds are protected too. Logger
# filters do not see records from child loggers, so the SDK logs through this one logger only.
logger.addFilter(RedactingFilter())

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_setup_lock = threading.Lock()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marker type so :func:`setup_from_env` can tell its own handler from the application's."""


def setup_from_env(environ: Mapping[str, str] = os.environ) -> None:
    """Honour ``TRUEX_LOG=info|debug``: set the level and add one stderr handler (only once).

    Unset or unknown values leave logging untouched.
    """
    level = _LEVELS.get(environ.get("TRUEX_LOG", "").strip().lower())
    if level is None:
        return
    with _setup_lock:
        logger.setLevel(level)
        if any(isinstance(h, _StderrHandler) for h in logger.handlers):
            return
        handler = _StderrHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter(
                "[%(asctime)s - %(name)s:%(lineno)d - %(levelname)s] %(message)s", "%Y-%m-%d %H:%M:%S"
            )
        )
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)


def log_request(
    method: str, path_template: str, status: int | None, request_id: str | None, elapsed_ms: float
) -> None:
    """Log one finished request at INFO: method, path *template* (never the URL, query or body),
    status (``None`` when no response arrived), request id and duration.

    The same values are attached to the record as ``http_method``, ``path_template``,
    ``status_code``, ``request_id`` and ``elapsed_ms`` for structured handlers.
    """
    logger.info(
        "%s %s -> %s (request id %s, %.1f ms)",
        method.upper(),
        path_template,
        "no response" if status is None else status,
        request_id or "-",
        elapsed_ms,
        extra={
            "http_method": method.upper(),
            "path_template": path_template,
            "status_code": status,
            "request_id": request_id,
            "elapsed_ms": elapsed_ms,
        },
        # Point the record at the SDK code that called us, not at this helper.
        stacklevel=2,
    )
