"""The call loop every resource method goes through (sync and async).

One call: check the arguments against the spec and warn if the operation is deprecated (before
anything is sent), then send through the generated function - which builds the request, the
``HmacAuth`` flow signs it and :class:`~truex_ext.transport.NormalisingTransport` normalises the
response - retrying what is safe to retry, each attempt signed afresh.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import httpx

import truex_client
from truex_client import Client
from truex_client.errors import UnexpectedStatus
from truex_client.types import UNSET, Response, Unset

from . import logs
from .auth import Credentials
from .context import current_operation, response_received
from .deprecation import DeprecationInfo, parse_deprecation, warn_deprecated
from .endpoints import LEGACY_BASE, Endpoint
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    CredentialsRequiredError,
    TruexError,
)
from .operations import Operation
from .pagination import AsyncPaginator, Page, SyncPaginator
from .raw import record
from .retries import RetryPolicy, is_idempotent, parse_retry_after
from .validation import validate_request
from .versions import DEFAULT_VERSION, HEADER, SERVER_DEFAULT_VERSION

if TYPE_CHECKING:
    from .jwt_auth import JwtAuth
    from .jwt_config import JwtSettings

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 - the item type of a page


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


class BaseAPI:
    def __init__(
        self,
        config: ClientConfig,
        http: Mapping[str, Client],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        renewal: JwtAuth | None = None,
    ) -> None:
        self.config = config
        self.http = http
        self.renewal = renewal
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._rand = rand

    @staticmethod
    def idempotency_key(given: str | None) -> str:
        """The caller's key, or a fresh UUIDv4 - made once per call and reused on every attempt."""
        if given is not None:
            return given
        import uuid  # here, not at the top: only order creation needs it (1 ms of import time)

        return str(uuid.uuid4())

    def base_for(self, op: Operation) -> str:
        """The base path ``op`` is sent under: the configured one if it serves ``op`` (twins: legacy only)."""
        base = self.config.endpoint.base
        return base if base in op.bases else op.bases[0]

    def http_for(self, op: Operation) -> Client:
        return self.http[self.base_for(op)]

    def wire_path(self, op: Operation) -> str:
        """The path template as it goes on the wire, base included: what logs and warnings name."""
        return self.base_for(op) + op.path

    def version_of(self, kwargs: dict[str, Any]) -> str:
        sent = kwargs.get("x_truex_version")
        return self.config.api_version if sent is None or isinstance(sent, Unset) else str(sent)

    def whole_list_under_v2024(self, op: Operation, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Under v2024_01_01 a list without `skip` cannot be continued: ask for all of it, not `size`.

        Otherwise the generated default ``size=10`` would silently cut such a list at ten items.
        """
        if op.offset or self.version_of(kwargs) != SERVER_DEFAULT_VERSION or "size" not in kwargs:
            return kwargs
        return {**kwargs, "size": UNSET}

    def prepare(self, op: Operation, kwargs: dict[str, Any]) -> None:
        if not op.public and self.config.credentials is None and self.config.jwt is None:
            raise CredentialsRequiredError(
                f"{op.id} needs credentials: pass api_key/api_secret/client_id or set TRUEX_API_KEY, "
                "TRUEX_API_SECRET and TRUEX_CLIENT_ID"
            )
        validate_request(op, kwargs)
        if op.deprecated:
            from ._resources import OPERATIONS  # the table is generated next to the resources

            successor = OPERATIONS[op.replacement] if op.replacement else None
            replacement = (
                # Named under the current base: that is where the replacement has a future.
                f"{successor.method} {successor.bases[0]}{successor.path} ({successor.sdk_method})"
                if successor
                else None
            )
            warn_deprecated(
                op.method, self.wire_path(op), DeprecationInfo(), replacement, stacklevel=_caller_stacklevel()
            )

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

    def finish(self, op: Operation, response: Response[Any], model: type[T], attempt_started: float) -> T:
        elapsed_ms = (self._monotonic() - attempt_started) * 1000
        request_id = response.headers.get("x-request-id")
        logs.log_request(op.method, self.wire_path(op), int(response.status_code), request_id, elapsed_ms)
        headers = response.headers
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
        parsed = response.parsed
        if not isinstance(parsed, model):
            raise APIResponseValidationError(
                f"{op.id}: expected {model.__name__}, got {type(parsed).__name__} (status {response.status_code})",
                method=op.method,
                url=self.wire_path(op),
            )
        record(response)
        return parsed

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

    def unparsable(
        self, op: Operation, exc: Exception, received: httpx.Response, attempt_started: float
    ) -> TruexError:
        """Log a 2xx whose body does not parse; return the typed error naming the operation."""
        elapsed_ms = (self._monotonic() - attempt_started) * 1000
        request_id = received.headers.get("x-request-id")
        logs.log_request(op.method, self.wire_path(op), received.status_code, request_id, elapsed_ms)
        return APIResponseValidationError(
            f"{op.id}: the response does not parse: {exc}", method=op.method, url=self.wire_path(op)
        )


APIError_ = APIStatusError | APIConnectionError
# What the generated code raises while parsing a body that is not what the spec says.
_PARSE_ERRORS = (KeyError, TypeError, ValueError, UnexpectedStatus)


class SyncAPI(BaseAPI):
    """The call loop for :class:`truex_ext.Truex`."""

    def __init__(
        self,
        config: ClientConfig,
        http: Mapping[str, Client],
        *,
        sleep: Callable[[float], None] = time.sleep,
        **kw: Any,
    ):
        super().__init__(config, http, **kw)
        self._sleep = sleep

    def call(
        self, op: Operation, fn: Callable[..., Response[Any]], kwargs: dict[str, Any], model: type[T]
    ) -> T:
        self.prepare(op, kwargs)
        return self._send(op, fn, kwargs, model)[0]

    def paginate(
        self,
        op: Operation,
        fn: Callable[..., Response[Any]],
        kwargs: dict[str, Any],
        page_model: type[Any],
        item: type[I],
        *,
        max_items: int | None,
    ) -> SyncPaginator[I]:
        self.prepare(op, kwargs)
        kwargs = self.whole_list_under_v2024(op, kwargs)

        def fetch(page_kwargs: dict[str, Any]) -> Page[I]:
            parsed, response = self._send(op, fn, page_kwargs, page_model)
            return Page(items=parsed.data, next_cursor=parsed.pagination.next_cursor, response=response)

        return SyncPaginator(
            fetch, kwargs, offset=op.offset, version=self.version_of(kwargs), max_items=max_items
        )

    def _send(
        self, op: Operation, fn: Callable[..., Response[Any]], kwargs: dict[str, Any], model: type[T]
    ) -> tuple[T, Response[Any]]:
        started = self._monotonic()
        attempt = 0
        renewed = False
        while True:
            attempt_started = self._monotonic()
            token = current_operation.set(op)
            seen = response_received.set(None)
            try:
                response = fn(client=self.http_for(op), **kwargs)
            except (APIStatusError, APIConnectionError) as exc:
                self.failed(op, exc, attempt_started)
                if self.renewable(exc, renewed) and self.renewal is not None and self.renewal.renew():
                    renewed = True
                    continue
                delay = self.retry_delay(exc, op, attempt, started)
                if delay is None:
                    raise
                self.retrying(op, attempt, delay)
                self._sleep(delay)
                attempt += 1
                continue
            except _PARSE_ERRORS as exc:
                received = response_received.get()
                if received is None:
                    raise  # not a response problem: a bug, surfaced as it is
                raise self.unparsable(op, exc, received, attempt_started) from exc
            finally:
                response_received.reset(seen)
                current_operation.reset(token)
            return self.finish(op, response, model, attempt_started), response


class AsyncAPI(BaseAPI):
    """The call loop for :class:`truex_ext.AsyncTruex`."""

    def __init__(
        self,
        config: ClientConfig,
        http: Mapping[str, Client],
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
        fn: Callable[..., Awaitable[Response[Any]]],
        kwargs: dict[str, Any],
        model: type[T],
    ) -> T:
        self.prepare(op, kwargs)
        parsed, _ = await self._send(op, fn, kwargs, model)
        return parsed

    def paginate(
        self,
        op: Operation,
        fn: Callable[..., Awaitable[Response[Any]]],
        kwargs: dict[str, Any],
        page_model: type[Any],
        item: type[I],
        *,
        max_items: int | None,
    ) -> AsyncPaginator[I]:
        self.prepare(op, kwargs)
        kwargs = self.whole_list_under_v2024(op, kwargs)

        async def fetch(page_kwargs: dict[str, Any]) -> Page[I]:
            parsed, response = await self._send(op, fn, page_kwargs, page_model)
            return Page(items=parsed.data, next_cursor=parsed.pagination.next_cursor, response=response)

        return AsyncPaginator(
            fetch, kwargs, offset=op.offset, version=self.version_of(kwargs), max_items=max_items
        )

    async def _send(
        self,
        op: Operation,
        fn: Callable[..., Awaitable[Response[Any]]],
        kwargs: dict[str, Any],
        model: type[T],
    ) -> tuple[T, Response[Any]]:
        started = self._monotonic()
        attempt = 0
        renewed = False
        while True:
            attempt_started = self._monotonic()
            token = current_operation.set(op)
            seen = response_received.set(None)
            try:
                response = await fn(client=self.http_for(op), **kwargs)
            except (APIStatusError, APIConnectionError) as exc:
                self.failed(op, exc, attempt_started)
                if self.renewable(exc, renewed) and self.renewal is not None and await self.renewal.arenew():
                    renewed = True
                    continue
                delay = self.retry_delay(exc, op, attempt, started)
                if delay is None:
                    raise
                self.retrying(op, attempt, delay)
                await self._sleep(delay)
                attempt += 1
                continue
            except _PARSE_ERRORS as exc:
                received = response_received.get()
                if received is None:
                    raise  # not a response problem: a bug, surfaced as it is
                raise self.unparsable(op, exc, received, attempt_started) from exc
            finally:
                response_received.reset(seen)
                current_operation.reset(token)
            return self.finish(op, response, model, attempt_started), response
