"""Exceptions raised by the TrueX SDK, modelled on openai-python's hierarchy.

::

    TruexError
    ├── CredentialsRequiredError (also LookupError, ValueError)
    ├── InvalidParameterError (also ValueError)
    ├── JwtKeyError (also ValueError)
    ├── TokenError
    ├── PaginationError
    ├── OrderRejectedError
    ├── ClientIdError (also LookupError)
    ├── UnknownSymbolError (also LookupError)
    └── APIError
        ├── APIConnectionError
        │   └── APITimeoutError
        ├── APIResponseValidationError
        ├── ResponseTooLargeError
        └── APIStatusError
            ├── BadRequestError 400
            ├── AuthenticationError 401
            │   └── TimestampSkewError
            ├── PermissionDeniedError 403
            ├── NotFoundError 404
            ├── RequestTimeoutError 408
            ├── ConflictError 409
            ├── UnsupportedMediaTypeError 415
            ├── RateLimitError 429
            └── InternalServerError >= 500

``MissingCredentialsError`` is another name of ``CredentialsRequiredError``. A test keeps this tree equal
to the classes.

Catch by status::

    try:
        client.call(...)
    except RateLimitError as e:
        print(e.status_code, e.request_id, e.problem)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import attrs

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientIdError",
    "ConflictError",
    "CredentialsRequiredError",
    "InternalServerError",
    "InvalidParameterError",
    "JwtKeyError",
    "MissingCredentialsError",
    "NotFoundError",
    "OrderRejectedError",
    "PaginationError",
    "PermissionDeniedError",
    "Problem",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "TimestampSkewError",
    "TokenError",
    "TruexError",
    "UnknownSymbolError",
    "UnsupportedMediaTypeError",
    "make_status_error",
]

BODY_TEXT_LIMIT = 2048
"""Non-JSON bodies (e.g. a proxy's HTML 502 page) are kept up to this many characters."""

_SUMMARY_LIMIT = 200


class TruexError(Exception):
    """Base class of every exception this SDK raises."""


_ARGUMENTS = {"TRUEX_API_KEY": "api_key", "TRUEX_API_SECRET": "api_secret"}


class CredentialsRequiredError(TruexError, LookupError, ValueError):
    """A credential is missing: the one way every part of the SDK says so, naming what to set.

    ``variable`` is the first environment variable to set (``variables`` all of them); values are never
    shown. Also a ``LookupError`` (a missing variable) and a ``ValueError`` (half a key pair).

    >>> str(CredentialsRequiredError("TRUEX_API_SECRET"))
    'credentials: TRUEX_API_SECRET is not set (or is empty): set it, or pass api_secret='
    >>> str(CredentialsRequiredError("TRUEX_API_KEY", "TRUEX_API_SECRET", context="list_orders needs credentials"))
    'list_orders needs credentials: TRUEX_API_KEY and TRUEX_API_SECRET are not set (or are empty): set them, or pass api_key= and api_secret='
    """

    def __init__(self, *variables: str, context: str = "credentials") -> None:
        self.variables = variables or ("TRUEX_API_KEY",)
        self.variable = self.variables[0]
        one = len(self.variables) == 1
        names = " and ".join(self.variables)
        arguments = " and ".join(f"{_ARGUMENTS.get(v, v.lower())}=" for v in self.variables)
        super().__init__(
            f"{context}: {names} {'is' if one else 'are'} not set (or {'is' if one else 'are'} empty): "
            f"set {'it' if one else 'them'}, or pass {arguments}"
        )


#: The name ``Credentials.from_env`` raised first: the same class.
MissingCredentialsError = CredentialsRequiredError


class InvalidParameterError(TruexError, ValueError):
    """A parameter failed client-side validation; nothing was sent.

    >>> str(InvalidParameterError("info.qty", "must be a decimal string"))
    'info.qty: must be a decimal string'
    """

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class APIError(TruexError):
    """A request to the API failed (no usable response, or an error response)."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url
        #: ``scheme://host:port`` the request went to, and what to do about the error (set by the call loop
        #: on connection errors and 401s; part of the message).
        self.origin: str | None = None
        self.hint: str | None = None

    def _with_hint(self, origin: str, hint: str) -> None:
        self.origin, self.hint = origin, hint
        self.message = f"{self.message} ({hint})"
        self.args = (self.message,)

    def __str__(self) -> str:
        return self.message


class APIConnectionError(APIError):
    """The request could not be sent or no response arrived (DNS, TCP, TLS, reset...)."""

    def __init__(
        self, message: str = "Connection error.", *, method: str | None = None, url: str | None = None
    ) -> None:
        super().__init__(message, method=method, url=url)


class APITimeoutError(APIConnectionError):
    """The request timed out. For a non-idempotent request the outcome is unknown."""

    def __init__(
        self, message: str = "Request timed out.", *, method: str | None = None, url: str | None = None
    ) -> None:
        super().__init__(message, method=method, url=url)


@attrs.frozen
class Problem:
    """An RFC 7807 problem as TrueX sends it (``extensions`` is a nested object on this API).

    Every field is optional on the wire here: a server or proxy that omits one must not stop the
    error from being reported.
    """

    type: str = "about:blank"
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    # Excluded from the hash: a dict is not hashable, and the other fields identify the problem.
    extensions: dict[str, Any] = attrs.field(factory=dict, hash=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        """Build from a decoded JSON object, coercing odd types instead of failing.

        Unknown top-level members (RFC 7807 style extensions) are merged under ``extensions``; the
        nested ``extensions`` object wins on a name clash.
        """
        known = {"type", "title", "status", "detail", "instance", "extensions"}
        extensions: dict[str, Any] = {k: v for k, v in data.items() if k not in known}
        nested = data.get("extensions")
        if isinstance(nested, Mapping):
            extensions.update(nested)
        return cls(
            type=_opt_str(data.get("type")) or "about:blank",
            title=_opt_str(data.get("title")),
            status=_opt_int(data.get("status")),
            detail=_opt_str(data.get("detail")),
            instance=_opt_str(data.get("instance")),
            extensions=extensions,
        )


def _opt_str(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _opt_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


class APIStatusError(APIError):
    """The API answered with a non-2xx status.

    Attributes: ``status_code``, ``request_id`` (``x-request-id``), ``problem`` (parsed RFC 7807 body or
    ``None``), ``body_text`` (a non-JSON body, truncated), ``headers`` (response headers, lower-case
    names), ``method`` and ``url`` (the path only: no host, no query string).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        problem: Problem | None = None,
        body_text: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.headers: Mapping[str, str] = dict(headers or {})
        self.request_id = request_id
        self.problem = problem
        self.body_text = body_text

    def __repr__(self) -> str:
        # Only response-side data: request headers (which hold the signature) are never stored.
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, method={self.method!r}, "
            f"url={self.url!r}, request_id={self.request_id!r}, message={self.message!r})"
        )


class BadRequestError(APIStatusError):
    """400: the request was malformed or failed validation."""


class AuthenticationError(APIStatusError):
    """401: missing or bad credentials, signature or timestamp."""


class TimestampSkewError(AuthenticationError):
    """401 because the request timestamp was outside the server's window (15 s old / 1 s ahead).

    ``offset`` is the measured server-minus-local clock offset in seconds, when known.
    """

    def __init__(self, message: str, *, offset: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.offset = offset


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: no such resource (or path)."""


class RequestTimeoutError(APIStatusError):
    """408: the server timed out waiting for the request."""


class ConflictError(APIStatusError):
    """409: e.g. an ``external_id`` reused with a different body."""


class UnsupportedMediaTypeError(APIStatusError):
    """415: wrong ``Content-Type``."""


class RateLimitError(APIStatusError):
    """429: too many requests; back off (see ``headers['retry-after']``)."""


class InternalServerError(APIStatusError):
    """Any 5xx status."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    409: ConflictError,
    415: UnsupportedMediaTypeError,
    429: RateLimitError,
}

# Words the server uses for a timestamp-window failure ("stale timestamp", "timestamp in the future").
_SKEW_WORDS = re.compile(r"\b(timestamp|stale|expired|future|clock|skew)", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def make_status_error(
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    method: str,
    path: str,
    *,
    skew_offset: float | None = None,
) -> APIStatusError:
    """Build the right :class:`APIStatusError` subclass from an error response.

    Understands a top-level RFC 7807 problem (``v2024_01_01``), one wrapped as ``{"error": {...}}``
    (``v2026_01_23``) and non-JSON bodies (kept as ``body_text``). ``path`` should be the path template
    or the path; any query string is dropped so query values do not end up in messages or logs.

    >>> e = make_status_error(404, {"x-request-id": "r1"}, b'{"error": {"title": "Not Found",'
    ...     b' "status": 404, "detail": "order 1 not found"}}', "GET", "/api/v1/orders/1?x=1")
    >>> type(e).__name__, str(e), e.url
    ('NotFoundError', '404 Not Found: order 1 not found (request id r1)', '/api/v1/orders/1')
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    request_id = lowered.get("x-request-id") or None
    problem, body_text = _parse_body(content, lowered.get("content-type", ""))

    cls = _STATUS_CLASSES.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    message = _summary(status, problem, body_text, request_id)
    common: dict[str, Any] = {
        "status_code": status,
        "method": method.upper(),
        "url": path.split("?", 1)[0],
        "headers": lowered,
        "request_id": request_id,
        "problem": problem,
        "body_text": body_text,
    }
    if status == 401 and problem is not None and _mentions_timestamp(problem):
        return TimestampSkewError(f"{message} {_skew_hint(skew_offset)}", offset=skew_offset, **common)
    return cls(message, **common)


def _parse_body(content: bytes, content_type: str) -> tuple[Problem | None, str | None]:
    if not content.strip():
        return None, None
    text = content.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        inner = data.get("error")
        if isinstance(inner, dict):  # v2026_01_23 envelope
            return Problem.from_dict(inner), None
        if isinstance(inner, str):  # common gateway shape {"error": "..."}
            return Problem(detail=inner, extensions={k: v for k, v in data.items() if k != "error"}), None
        if "message" in data and not {"title", "detail"} & data.keys():  # {"message": "..."}
            rest = {k: v for k, v in data.items() if k != "message"}
            return Problem(detail=_opt_str(data["message"]), extensions=rest), None
        return Problem.from_dict(data), None
    # Not a JSON object (HTML from a proxy, plain text, a bare JSON list): keep a bounded copy.
    if len(text) > BODY_TEXT_LIMIT:
        text = text[:BODY_TEXT_LIMIT] + f"... [truncated, {len(content)} bytes in total]"
    return None, text


def _summary(status: int, problem: Problem | None, body_text: str | None, request_id: str | None) -> str:
    try:
        head = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        head = str(status)
    what: str | None = None
    if problem is not None:
        what = problem.detail or problem.title
    elif body_text:
        # An HTML error page reduced to its words ("502 Bad Gateway nginx") reads better than markup.
        what = _TAG.sub(" ", body_text) if body_text.lstrip().startswith("<") else body_text
    line = head
    if what:
        # One line whatever the server sent: collapse newlines, bound the length.
        what = _SPACE.sub(" ", what).strip()
        if len(what) > _SUMMARY_LIMIT:
            what = what[: _SUMMARY_LIMIT - 3] + "..."
        if what:
            line = f"{head}: {what}"
    if request_id:
        line += f" (request id {request_id})"
    return line


# A missing or malformed timestamp header is a bug in the request, not a clock that is off.
_NOT_SKEW = re.compile(r"\b(missing|absent|required|malformed|whole seconds)\b", re.IGNORECASE)


def _mentions_timestamp(problem: Problem) -> bool:
    texts = [text for text in (problem.detail, problem.title, problem.type) if text]
    return any(_SKEW_WORDS.search(t) for t in texts) and not any(_NOT_SKEW.search(t) for t in texts)


def _skew_hint(offset: float | None) -> str:
    if offset is None:
        where = "the local clock may be off"
    else:
        direction = "behind" if offset > 0 else "ahead of"
        where = f"the local clock is {abs(offset):.1f} s {direction} the server (server minus local = {offset:+.1f} s)"
    return (
        f"Hint: the request timestamp was rejected; {where}. Sync the clock (NTP) or use "
        "Truex(..., correct_clock_skew=True) (on a plain httpx client: HmacAuth(..., correct_skew=True))."
    )


class ResponseTooLargeError(APIError):
    """The response body is larger than the client's ``max_response_bytes`` (nothing of it is kept)."""

    def __init__(
        self, message: str, *, limit: int, method: str | None = None, url: str | None = None
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.limit = limit


class APIResponseValidationError(APIError):
    """A 2xx response whose body does not parse as the spec says (nothing is returned half-parsed)."""


class PaginationError(TruexError):
    """The server's pagination went wrong (a repeated cursor would loop forever)."""


class OrderRejectedError(TruexError):
    """The exchange answered an order with a refusal (200, status ``REJECTED``): nothing rests or trades.

    ``order`` is the rejected order as the exchange answered it (``order.id``, ``order.external_id``),
    ``reason`` the exchange's ``text`` (or None when it gave none). Pass ``allow_rejected=True`` to
    ``orders.create`` to receive the rejected order instead.

    >>> str(OrderRejectedError(None, "qty below the minimum", order_id="7", status="REJECTED"))
    'order 7 REJECTED: qty below the minimum'
    """

    def __init__(
        self, order: Any, reason: str | None, *, order_id: str | None = None, status: str = "REJECTED"
    ):
        self.order = order
        self.reason = reason
        self.status = status
        self.order_id = order_id
        who = f"order {order_id}" if order_id else "order"
        super().__init__(f"{who} {status}: {reason or 'the exchange gave no reason'}")


class ClientIdError(TruexError, LookupError):
    """No client id was configured and the API key does not name exactly one client to act for.

    ``client_ids`` are the ids bound to the key (none, or several to choose from with ``client_id=`` /
    ``TRUEX_CLIENT_ID``).
    """

    def __init__(self, message: str, client_ids: tuple[str, ...] = ()) -> None:
        self.client_ids = client_ids
        super().__init__(message)


class UnknownSymbolError(TruexError, LookupError):
    """No instrument (or asset) has this symbol or name; ``known`` lists the ones that exist.

    >>> str(UnknownSymbolError("instrument", "BTC-PUSD", ["BTC-PYUSD", "ETH-PYUSD"]))
    "no instrument 'BTC-PUSD'; known: BTC-PYUSD, ETH-PYUSD"
    """

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        super().__init__(f"no {kind} {name!r}; known: {', '.join(self.known) or '(none)'}")


class JwtKeyError(TruexError, ValueError):
    """A JWT key file (or key object) is unusable: malformed, missing a field, or not an EC P-256 key.

    The message names the file and what is wrong, never the key material.
    """


class TokenError(TruexError):
    """The Auth API did not give a usable token pair; nothing was sent to the trading API.

    ``url`` is the Auth API endpoint, ``status_code`` its HTTP status (None when no response arrived or the
    answer was unusable) and ``server_message`` the ``message`` of its ``{"message": ...}`` body.

    >>> str(TokenError("refused", url="https://a/v1/auth/api-key/token", status_code=401, server_message="invalid signature"))
    'Auth API https://a/v1/auth/api-key/token: 401: refused: invalid signature'
    """

    def __init__(
        self, reason: str, *, url: str, status_code: int | None = None, server_message: str | None = None
    ) -> None:
        self.reason = reason
        self.url = url
        self.status_code = status_code
        self.server_message = server_message
        status = f"{status_code}: " if status_code is not None else ""
        said = f": {server_message}" if server_message else ""
        super().__init__(f"Auth API {url}: {status}{reason}{said}")
