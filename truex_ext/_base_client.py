"""The call loop every resource method goes through, sync and async (the shape of openai-python's
``_base_client.py``). One call, top to bottom:

1. **prepare**: credentials present, arguments checked against the spec, a deprecated operation warned
   about - nothing is sent yet;
2. **build**: the generated request builder (``build_request_kwargs``) gives the ``httpx`` arguments; the
   body is serialised once and that JSON is checked against the spec (:func:`~.validation.build_request`);
3. then per attempt: **send** with ``httpx.Client.send`` (the client's auth, :class:`~.auth.HmacAuth` or
   :class:`~.jwt_auth.JwtAuth`, signs each attempt afresh) and **read** the body in chunks under the
   attempt's deadline and the size cap; network errors become :class:`APIConnectionError` /
   :class:`APITimeoutError`;
4. **status**: the ``Date`` header feeds the clock skew; a non-2xx (or a documented status carrying a
   problem) raises its typed :class:`APIStatusError`;
5. **retry** what is safe to retry (policy, ``Retry-After``, the total deadline); a JWT 401 earns one token
   renewal and one more try;
6. **decode** the JSON; a ``v2024_01_01`` body is wrapped into the ``v2026_01_23`` envelope, on the decoded
   value (:func:`~.versions.envelope`);
7. **parse** with the generated model (``from_dict``), then **finish**: log the call, warn on deprecation
   headers, and answer the parsed body - or, for a ``with_raw_response`` twin, the :class:`APIResponse`.

The transport beneath is a plain httpx transport (:mod:`.transport`); no state travels outside the
arguments of these methods.
"""

from __future__ import annotations

import copy
import json
import os
import random
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

import attrs
import httpx

import truex_client

from . import logs
from ._response import APIResponse
from .auth import ClockSkew, Credentials
from .deprecation import DeprecationInfo, parse_deprecation, warn_deprecated
from .endpoints import LEGACY_BASE, Endpoint
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CredentialsRequiredError,
    OrderRejectedError,
    ResponseTooLargeError,
    make_status_error,
)
from .operations import Operation
from .pagination import AsyncPaginator, Page, SyncPaginator
from .retries import RetryPolicy, is_idempotent, parse_retry_after
from .validation import build_request, validate_request
from .versions import DEFAULT_VERSION, HEADER, SERVER_DEFAULT_VERSION, envelope

if TYPE_CHECKING:
    from .jwt_auth import JwtAuth
    from .jwt_config import JwtSettings

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "AsyncAPI", "BaseAPI", "ClientConfig", "SyncAPI"]

D_co = TypeVar("D_co", covariant=True)
D = TypeVar("D")
I = TypeVar("I")  # noqa: E741 - the item type of a page
HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)

#: The largest response body a call accepts, in bytes (``max_response_bytes=`` changes it). The biggest
#: page the API serves is a few MiB; 64 MiB leaves room and still stops a runaway body from eating memory.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class Envelope(Protocol[D_co]):
    """A generated response model: ``{"data": ...}``."""

    @property
    def data(self) -> D_co: ...

    @classmethod
    def from_dict(cls, src_dict: Any) -> Any: ...


Build = Callable[..., dict[str, Any]]


# Frames in these directories are the SDK's own; a warning points at the first frame outside them.
_SDK_DIRS = tuple(
    os.path.join(os.path.dirname(os.path.abspath(m.__file__ or "")), "")
    for m in (sys.modules[__name__], truex_client)
)


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning raised by our caller point at the user's code.

    Counted rather than fixed: the same warning is reached through a plain call, a raw twin, a paginator
    or (async) an awaited coroutine, each at another depth.
    """
    frame = sys._getframe(1)  # our caller: level 1
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_SDK_DIRS):
        frame = frame.f_back
        level += 1
    return level


@attrs.frozen
class ClientConfig:
    """Everything a client was configured with (``with_options`` evolves a copy)."""

    endpoint: Endpoint
    credentials: Credentials | None
    api_version: str
    timeout: httpx.Timeout
    retry: RetryPolicy
    correct_clock_skew: bool = False
    #: JWT bearer auth instead of ``credentials`` (never both; see ``jwt_config.choose_auth``).
    jwt: JwtSettings | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


APIError_ = APIStatusError | APIConnectionError
# What the generated ``from_dict`` raises on a body that is not what the spec says.
_PARSE_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


class BaseAPI(Generic[HttpT]):
    """What the sync and async loops share: every step that does no I/O."""

    def __init__(
        self,
        config: ClientConfig,
        http: Callable[[str], HttpT],
        *,
        skew: ClockSkew | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        renewal: JwtAuth | None = None,
    ) -> None:
        self.config = config
        #: The httpx client for a base path (built on first use, shared with the client).
        self.http: Callable[[str], HttpT] = http
        self.skew = skew if skew is not None else ClockSkew()
        self.renewal = renewal
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._rand = rand
        self._raw = False
        self._raw_twin: Any = None
        self._prefixes: dict[str, tuple[str, dict[str, Any]]] = {}  # base -> (its URL, the timeouts)
        #: The client's ``resolve_client_id`` (sync, or a coroutine function for the async client): called
        #: once before the first private call of an HMAC client configured without a client id.
        self.discover_client_id: Callable[[], Any] | None = None
        self._client_id_known = config.credentials is None or config.credentials.client_id is not None

    @property
    def raw(self) -> Any:
        """This loop answering every call with its :class:`APIResponse` (what ``with_raw_response`` uses)."""
        if self._raw_twin is None:
            twin = copy.copy(self)
            twin._raw = True
            self._raw_twin = twin
        return self._raw_twin

    @staticmethod
    def idempotency_key(given: str | None) -> str:
        """The caller's key, or a fresh UUIDv4 - made once per call and reused on every attempt."""
        if given is not None:
            return given
        import uuid  # here, not at the top: only order creation needs it (1 ms of import time)

        return str(uuid.uuid4())

    # --- 1. prepare --------------------------------------------------------------------------------
    def base_for(self, op: Operation) -> str:
        """The base path ``op`` is sent under: the configured one if it serves ``op`` (twins: legacy only)."""
        base = self.config.endpoint.base
        return base if base in op.bases else op.bases[0]

    def wire_path(self, op: Operation) -> str:
        """The path template as it goes on the wire, base included: what logs and warnings name."""
        return self.base_for(op) + op.path

    def version_of(self, kwargs: dict[str, Any]) -> str:
        sent = kwargs.get("x_truex_version")
        return self.config.api_version if sent is None or sent is truex_client.types.UNSET else str(sent)

    def whole_list_under_v2024(self, op: Operation, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Under v2024_01_01 a list without `skip` cannot be continued: ask for all of it, not `size`.

        Otherwise the generated default ``size=10`` would silently cut such a list at ten items.
        """
        if op.offset or self.version_of(kwargs) != SERVER_DEFAULT_VERSION or "size" not in kwargs:
            return kwargs
        return {**kwargs, "size": truex_client.types.UNSET}

    def prepare(self, op: Operation, kwargs: dict[str, Any]) -> None:
        if not op.public and self.config.credentials is None and self.config.jwt is None:
            raise CredentialsRequiredError(
                "TRUEX_API_KEY", "TRUEX_API_SECRET", context=f"{op.id} needs credentials"
            )
        for name, param in op.params.items():  # x-json: a dict is sent as its compact JSON string
            value = kwargs.get(name)
            if param.get("json") and isinstance(value, dict):
                kwargs[name] = json.dumps(value, separators=(",", ":"))
        validate_request(op, kwargs)
        if op.deprecated:
            warn_deprecated(
                op.method,
                self.wire_path(op),
                DeprecationInfo(),
                op.successor,
                stacklevel=_caller_stacklevel(),
            )

    def must_discover(self, op: Operation) -> bool:
        """Whether the client id must be found from the key before ``op`` (``x-truex-auth-userid``).

        Only for an HMAC client without ``client_id=`` / ``TRUEX_CLIENT_ID``, before its first private call
        other than the discovery itself (``GET /clients`` needs no client id).
        """
        if self._client_id_known or op.public or op.id.startswith("list_clients"):
            return False
        return self.discover_client_id is not None

    # --- 2. build ------------------------------------------------------------------------------------
    def build(self, base: str, http: HttpT, request_kwargs: dict[str, Any]) -> httpx.Request:
        """The ``httpx.Request`` of the generated builder's arguments, under ``http``'s base URL and headers.

        What ``http.build_request`` does, at half its cost (the URL is parsed once, not three times); the
        API sets no cookies, so there are none to merge.
        """
        prefix = self._prefixes.get(base)
        if prefix is None:
            prefix = self._prefixes[base] = (str(http.base_url).rstrip("/"), http.timeout.as_dict())
        headers = http.headers.copy()
        extra = request_kwargs.get("headers")
        if extra:
            headers.update(extra)
        return httpx.Request(
            request_kwargs["method"],
            prefix[0] + request_kwargs["url"],
            params=request_kwargs.get("params"),
            headers=headers,
            json=request_kwargs.get("json"),
            extensions={"timeout": prefix[1]},
        )

    # --- 3. the attempt's deadline and the body ----------------------------------------------------
    def deadline(self, request: httpx.Request, started: float, now: float) -> float | None:
        """When this attempt must have its whole response: the timeout, within the total deadline.

        httpx's timeouts bound each network read; this bounds the whole response (a body trickled a byte
        at a time, an endless chunked body). Each read's own timeout is shortened to what is left.
        """
        budget = _budget(self.config.timeout)
        total = self.config.retry.total_deadline
        ends = [t for t in (now + budget if budget else None, started + total if total else None) if t]
        if not ends:
            return None
        deadline = min(ends)
        left = max(deadline - now, 0.001)
        timeouts = request.extensions.get("timeout")
        if isinstance(timeouts, dict) and any(v is None or v > left for v in timeouts.values()):
            request.extensions["timeout"] = {
                k: left if v is None else min(v, left) for k, v in timeouts.items()
            }
        return deadline

    def check_size(self, op: Operation, response: httpx.Response) -> None:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.config.max_response_bytes:
            raise self.too_large(op)

    def too_large(self, op: Operation) -> ResponseTooLargeError:
        limit = self.config.max_response_bytes
        return ResponseTooLargeError(
            f"{op.id}: the response is larger than max_response_bytes={limit}",
            method=op.method,
            url=self.wire_path(op),
            limit=limit,
        )

    def overdue(self, op: Operation) -> APITimeoutError:
        return APITimeoutError(
            f"{op.id}: the whole response did not arrive within the timeout",
            method=op.method,
            url=self.wire_path(op),
        )

    @staticmethod
    def network_error(request: httpx.Request, exc: httpx.TransportError) -> APIConnectionError:
        """The typed error of a request that got no response, naming the host and the likely fix.

        ``cannot connect to http://127.0.0.1:8765 (connection refused): is the sandbox running? ...``
        """
        origin = _origin(request.url)
        if isinstance(exc, httpx.TimeoutException):
            error: APIConnectionError = APITimeoutError(
                f"timed out talking to {origin}: {_one_line(exc) or type(exc).__name__}",
                method=request.method,
                url=request.url.path,
            )
            error.origin = origin
            return error
        error = APIConnectionError(
            f"cannot connect to {origin} ({_reason(exc)}): {_connect_hint(request.url)}",
            method=request.method,
            url=request.url.path,
        )
        error.origin, error.hint = origin, _connect_hint(request.url)
        return error

    # --- 4. status -----------------------------------------------------------------------------------
    def raise_for_status(
        self, op: Operation, request: httpx.Request, response: httpx.Response, content: bytes
    ) -> None:
        """Observe the server's clock; raise the typed error of an error response."""
        self.skew.observe(response.headers.get("date"), self._wall_clock())
        status = response.status_code
        if 200 <= status < 300 or (status in op.ok_statuses and not _is_problem(response.headers, content)):
            return
        error = make_status_error(
            status, response.headers, content, request.method, request.url.path, skew_offset=self.skew.offset
        )
        if status == 401:
            error._with_hint(_origin(request.url), _auth_hint(request.url))
        raise error

    # --- 5. retry --------------------------------------------------------------------------------------
    def renewable(self, exc: APIError_, renewed: bool) -> bool:
        """JWT: a 401 earns one token renewal and one more try per call (not a retry of the policy)."""
        return not renewed and self.renewal is not None and isinstance(exc, AuthenticationError)

    def retry_delay(self, exc: APIError_, op: Operation, attempt: int, started: float) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and raise ``exc``."""
        policy = self.config.retry
        status = exc.status_code if isinstance(exc, APIStatusError) else None
        retry_after = None
        if isinstance(exc, APIStatusError):
            retry_after = parse_retry_after(exc.headers.get("retry-after"), self._wall_clock())
            if retry_after is not None and retry_after > policy.retry_after_cap:
                return None  # never come back sooner than the exchange asked
        delay = policy.delay(attempt, retry_after, self._rand)
        retry = policy.should_retry(
            attempt=attempt,
            status=status,
            connection_error=status is None,
            idempotent=is_idempotent(op.method, op.idempotency_key is not None),
            elapsed=self._monotonic() - started,
            next_delay=delay,
        )
        return delay if retry else None

    def failed(self, op: Operation, exc: APIError_, attempt_started: float) -> None:
        """Log an attempt that got an error status or no response (every attempt, retried or not)."""
        status = exc.status_code if isinstance(exc, APIStatusError) else None
        request_id = exc.request_id if isinstance(exc, APIStatusError) else None
        logs.log_request(
            op.method, self.wire_path(op), status, request_id, (self._monotonic() - attempt_started) * 1000
        )

    def retrying(self, op: Operation, attempt: int, delay: float) -> None:
        logs.logger.info(
            "%s %s: retrying in %.2f s (retry %d of %d)",
            op.method,
            self.wire_path(op),
            delay,
            attempt + 1,
            self.config.retry.max_retries,
        )

    # --- 6-7. decode, parse, finish ------------------------------------------------------------------
    def process(
        self,
        op: Operation,
        request: httpx.Request,
        response: httpx.Response,
        content: bytes,
        model: type[Envelope[D]],
        attempt_started: float,
    ) -> APIResponse[Envelope[D]]:
        try:
            data = json.loads(content)
            if request.headers.get(HEADER, SERVER_DEFAULT_VERSION) == SERVER_DEFAULT_VERSION:
                data = envelope(data, single=op.single)
            parsed = model.from_dict(data)
        except _PARSE_ERRORS as exc:
            raise self.unparsable(op, exc, response, attempt_started) from exc
        result = APIResponse(
            response.status_code, response.headers, content, parsed, method=op.method, url=self.wire_path(op)
        )
        self.finish(op, response, attempt_started)
        return cast("APIResponse[Envelope[D]]", result)

    def finish(self, op: Operation, response: httpx.Response, attempt_started: float) -> None:
        elapsed_ms = (self._monotonic() - attempt_started) * 1000
        headers = response.headers
        logs.log_request(
            op.method, self.wire_path(op), response.status_code, headers.get("x-request-id"), elapsed_ms
        )
        # Most responses carry no deprecation header: skip the parse and the frame walk for them.
        info = parse_deprecation(headers) if "deprecation" in headers or "sunset" in headers else None
        if info is not None:
            version = headers.get(HEADER) or self.config.api_version
            now = datetime.fromtimestamp(self._wall_clock(), UTC)
            path_is_current = not op.deprecated and self.base_for(op) != LEGACY_BASE
            if path_is_current and version == SERVER_DEFAULT_VERSION:
                # The headers speak of the API version, not of this path: say so, once per process.
                warn_deprecated(
                    HEADER, version, info, DEFAULT_VERSION, stacklevel=_caller_stacklevel(), now=now
                )
            else:
                warn_deprecated(op.method, self.wire_path(op), info, stacklevel=_caller_stacklevel(), now=now)

    def unparsable(
        self, op: Operation, exc: Exception, received: httpx.Response, attempt_started: float
    ) -> APIResponseValidationError:
        """Log a 2xx whose body does not parse; return the typed error naming the operation."""
        elapsed_ms = (self._monotonic() - attempt_started) * 1000
        request_id = received.headers.get("x-request-id")
        logs.log_request(op.method, self.wire_path(op), received.status_code, request_id, elapsed_ms)
        return APIResponseValidationError(
            f"{op.id}: the response does not parse: {exc}", method=op.method, url=self.wire_path(op)
        )

    def answer(self, op: Operation, result: APIResponse[Envelope[D]], allow_rejected: bool = False) -> D:
        """What a call returns: the body's ``data``, or (raw twin) the response standing for it.

        An operation with ``x-rejection`` (an order's status REJECTED in a 200) raises
        :class:`OrderRejectedError` unless ``allow_rejected``; a raw twin answers the response as it came.
        """
        data = result.parse().data
        if self._raw:
            return cast(D, result.with_parsed(data))
        rule = op.rejection
        if rule is not None and not allow_rejected:
            status = getattr(data, rule.field, None)
            status_text = str(getattr(status, "value", status))
            if status_text in rule.values:
                reason = getattr(data, rule.reason, None) if rule.reason else None
                raise OrderRejectedError(
                    data,
                    reason if isinstance(reason, str) and reason else None,
                    order_id=getattr(data, "id", None),
                    status=status_text,
                )
        return data


class SyncAPI(BaseAPI[httpx.Client]):
    """The call loop for :class:`truex_ext.Truex`."""

    def __init__(
        self,
        config: ClientConfig,
        http: Callable[[str], httpx.Client],
        *,
        sleep: Callable[[float], None] = time.sleep,
        **kw: Any,
    ):
        super().__init__(config, http, **kw)
        self._sleep = sleep

    def call(
        self,
        op: Operation,
        build: Build,
        kwargs: dict[str, Any],
        model: type[Envelope[D]],
        *,
        allow_rejected: bool = False,
    ) -> D:
        self.prepare(op, kwargs)
        if self.must_discover(op):
            self.discovered(self.discover_client_id)
        return self.answer(op, self.request(op, build_request(op, build, kwargs), model), allow_rejected)

    def discovered(self, discover: Any) -> None:
        discover()
        self._client_id_known = True

    def paginate(
        self,
        op: Operation,
        build: Build,
        kwargs: dict[str, Any],
        page_model: type[Any],
        item: type[I],
        *,
        max_items: int | None,
    ) -> SyncPaginator[I]:
        self.prepare(op, kwargs)
        kwargs = self.whole_list_under_v2024(op, kwargs)

        def fetch(page_kwargs: dict[str, Any]) -> Page[I]:
            if self.must_discover(op):
                self.discovered(self.discover_client_id)
            response = self.request(op, build_request(op, build, page_kwargs), page_model)
            parsed: Any = response.parse()
            return Page(items=parsed.data, next_cursor=parsed.pagination.next_cursor, response=response)

        pages = SyncPaginator(
            fetch, kwargs, offset=op.offset, version=self.version_of(kwargs), max_items=max_items
        )
        if self._raw:  # the raw twin: the first page's response, standing for the paginator
            return cast(SyncPaginator[I], pages.first_page().response.with_parsed(pages))
        return pages

    def request(
        self, op: Operation, request_kwargs: dict[str, Any], model: type[Envelope[D]]
    ) -> APIResponse[Envelope[D]]:
        """Send one call (its attempts), answer its parsed response."""
        base = self.base_for(op)
        http = self.http(base)
        started = self._monotonic()
        attempt = 0
        renewed = False
        while True:
            attempt_started = self._monotonic()
            request = self.build(base, http, request_kwargs)  # each attempt its own request, signed afresh
            deadline = self.deadline(request, started, attempt_started)
            try:
                response, content = self.send(op, http, request, deadline)
                self.raise_for_status(op, request, response, content)
            except (APIStatusError, APIConnectionError) as exc:
                self.failed(op, exc, attempt_started)
                renewal = self.renewal if self.renewable(exc, renewed) else None
                if renewal is not None and renewal.renew(_bearer(request)):
                    renewed = True
                    continue
                delay = self.retry_delay(exc, op, attempt, started)
                if delay is None:
                    raise
                self.retrying(op, attempt, delay)
                self._sleep(delay)
                attempt += 1
                continue
            return self.process(op, request, response, content, model, attempt_started)

    def send(
        self, op: Operation, http: httpx.Client, request: httpx.Request, deadline: float | None
    ) -> tuple[httpx.Response, bytes]:
        """One attempt: signed and sent by ``http``, the body read whole by ``deadline``, at most the cap."""
        try:
            response = http.send(request, stream=True)
            try:
                self.check_size(op, response)
                return response, self.read(op, response.iter_bytes(), deadline)
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise self.network_error(request, exc) from exc

    def read(self, op: Operation, chunks: Iterator[bytes], deadline: float | None) -> bytes:
        limit = self.config.max_response_bytes
        body: list[bytes] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise self.too_large(op)
            body.append(chunk)
            if deadline is not None and self._monotonic() > deadline:
                raise self.overdue(op)
        return body[0] if len(body) == 1 else b"".join(body)


class AsyncAPI(BaseAPI[httpx.AsyncClient]):
    """The call loop for :class:`truex_ext.AsyncTruex`: :class:`SyncAPI`'s steps, awaited."""

    def __init__(
        self,
        config: ClientConfig,
        http: Callable[[str], httpx.AsyncClient],
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        **kw: Any,
    ):
        super().__init__(config, http, **kw)
        if sleep is None:
            import asyncio  # only async users pay for importing asyncio

            sleep = asyncio.sleep
        self._sleep = sleep

    async def call(
        self,
        op: Operation,
        build: Build,
        kwargs: dict[str, Any],
        model: type[Envelope[D]],
        *,
        allow_rejected: bool = False,
    ) -> D:
        self.prepare(op, kwargs)
        if self.must_discover(op):
            await self.adiscovered(self.discover_client_id)
        response = await self.request(op, build_request(op, build, kwargs), model)
        return self.answer(op, response, allow_rejected)

    async def adiscovered(self, discover: Any) -> None:
        await discover()
        self._client_id_known = True

    def paginate(
        self,
        op: Operation,
        build: Build,
        kwargs: dict[str, Any],
        page_model: type[Any],
        item: type[I],
        *,
        max_items: int | None,
    ) -> AsyncPaginator[I]:
        self.prepare(op, kwargs)
        kwargs = self.whole_list_under_v2024(op, kwargs)

        async def fetch(page_kwargs: dict[str, Any]) -> Page[I]:
            if self.must_discover(op):
                await self.adiscovered(self.discover_client_id)
            response = await self.request(op, build_request(op, build, page_kwargs), page_model)
            parsed: Any = response.parse()
            return Page(items=parsed.data, next_cursor=parsed.pagination.next_cursor, response=response)

        pages = AsyncPaginator(
            fetch, kwargs, offset=op.offset, version=self.version_of(kwargs), max_items=max_items
        )
        if self._raw:  # the raw twin: awaitable, the first page's response standing for the paginator

            async def first() -> APIResponse[AsyncPaginator[I]]:
                return (await pages.first_page()).response.with_parsed(pages)

            return cast(AsyncPaginator[I], first())
        return pages

    async def request(
        self, op: Operation, request_kwargs: dict[str, Any], model: type[Envelope[D]]
    ) -> APIResponse[Envelope[D]]:
        """Send one call (its attempts), answer its parsed response."""
        base = self.base_for(op)
        http = self.http(base)
        started = self._monotonic()
        attempt = 0
        renewed = False
        while True:
            attempt_started = self._monotonic()
            request = self.build(base, http, request_kwargs)  # each attempt its own request, signed afresh
            deadline = self.deadline(request, started, attempt_started)
            try:
                response, content = await self.send(op, http, request, deadline)
                self.raise_for_status(op, request, response, content)
            except (APIStatusError, APIConnectionError) as exc:
                self.failed(op, exc, attempt_started)
                renewal = self.renewal if self.renewable(exc, renewed) else None
                if renewal is not None and await renewal.arenew(_bearer(request)):
                    renewed = True
                    continue
                delay = self.retry_delay(exc, op, attempt, started)
                if delay is None:
                    raise
                self.retrying(op, attempt, delay)
                await self._sleep(delay)
                attempt += 1
                continue
            return self.process(op, request, response, content, model, attempt_started)

    async def send(
        self, op: Operation, http: httpx.AsyncClient, request: httpx.Request, deadline: float | None
    ) -> tuple[httpx.Response, bytes]:
        """One attempt: signed and sent by ``http``, the body read whole by ``deadline``, at most the cap."""
        try:
            response = await http.send(request, stream=True)
            try:
                self.check_size(op, response)
                return response, await self.read(op, response.aiter_bytes(), deadline)
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            raise self.network_error(request, exc) from exc

    async def read(self, op: Operation, chunks: AsyncIterator[bytes], deadline: float | None) -> bytes:
        limit = self.config.max_response_bytes
        body: list[bytes] = []
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise self.too_large(op)
            body.append(chunk)
            if deadline is not None and self._monotonic() > deadline:
                raise self.overdue(op)
        return body[0] if len(body) == 1 else b"".join(body)


def _budget(timeout: httpx.Timeout) -> float | None:
    """The time one attempt may take in all: the longest of the configured timeouts (None: unbounded)."""
    values = [v for v in (timeout.connect, timeout.read, timeout.write, timeout.pool) if v is not None]
    return max(values) if values else None


def _bearer(request: httpx.Request) -> str | None:
    """The access token the auth put on ``request`` (the one a 401 says is stale)."""
    value = request.headers.get("authorization", "")
    return value[7:] if value.startswith("Bearer ") else None


def _is_problem(headers: httpx.Headers, content: bytes) -> bool:
    """Whether a documented non-2xx status (health's 503) came with an error instead of its own body.

    A proxy's HTML page, a problem document (top level or ``{"error": ...}``) is an error to raise, not a
    body for the operation's parser.
    """
    if "problem+json" in headers.get("content-type", ""):
        return True
    try:
        body = json.loads(content)
    except ValueError:
        return True
    return not isinstance(body, dict) or "error" in body or "title" in body or "type" in body


_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _origin(url: httpx.URL) -> str:
    """``http://127.0.0.1:8765``: where a request went (no path, no query)."""
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in words: ``connection refused``, ``name not resolved``, ..."""
    import errno
    import socket

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "name not resolved"
        if isinstance(seen, OSError) and seen.errno is not None:
            known = {
                errno.ECONNREFUSED: "connection refused",
                errno.ECONNRESET: "connection reset",
                errno.EHOSTUNREACH: "host unreachable",
                errno.ENETUNREACH: "network unreachable",
            }
            if seen.errno in known:
                return known[seen.errno]
        seen = seen.__cause__ or seen.__context__
    text = _one_line(exc)
    lowered = text.lower()
    for words in ("connection refused", "name or service not known", "connection reset"):
        if words in lowered:
            return "name not resolved" if words.startswith("name") else words
    return text or type(exc).__name__


def _connect_hint(url: httpx.URL) -> str:
    if url.host in _LOOPBACK:
        return "is the sandbox running? start it with `truex-sandbox`, or set TRUEX_BASE_URL / --env"
    return "check the network and the URL (TRUEX_BASE_URL / TRUEX_ENVIRONMENT / --env)"


def _auth_hint(url: httpx.URL) -> str:
    origin = _origin(url)
    if url.host in _LOOPBACK:
        return (
            f"{origin} is the local sandbox: use the API key and secret its banner printed, "
            "or set TRUEX_BASE_URL / --env for another environment"
        )
    return f"refused by {origin}: check that TRUEX_API_KEY and TRUEX_API_SECRET are keys of this environment"
