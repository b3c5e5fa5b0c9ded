"""Raw responses: the status, headers, request id and deprecation of a call, with its parsed body.

raw = client.orders.with_raw_response.create(info=...)
raw.status_code, raw.request_id, raw.deprecation, raw.headers["date"]
order = raw.parse()
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Generic, ParamSpec, TypeVar

import attrs
import httpx

from truex_client.types import Response

from .deprecation import DeprecationInfo, parse_deprecation
from .pagination import AsyncPaginator, SyncPaginator

P = ParamSpec("P")
T = TypeVar("T")


@attrs.frozen
class RawResponse(Generic[T]):
    """What came back for one call (for a list: its first page's response, and the paginator)."""

    status_code: int
    headers: httpx.Headers = attrs.field(repr=False)
    content: bytes = attrs.field(repr=False)
    request_id: str | None
    deprecation: DeprecationInfo | None
    parsed: T = attrs.field(repr=False)

    def parse(self) -> T:
        """The parsed body: the model the plain method returns."""
        return self.parsed


class _Capture:
    __slots__ = ("response",)

    def __init__(self) -> None:
        self.response: Response[Any] | None = None


#: Set while a raw call runs; the call loop stores each response in it.
capture: ContextVar[_Capture | None] = ContextVar("truex_raw_capture", default=None)


def record(response: Response[Any]) -> None:
    """Called by the call loop after each successful response."""
    holder = capture.get()
    if holder is not None:
        holder.response = response


def _raw(holder: _Capture, parsed: T) -> RawResponse[T]:
    response = holder.response
    if response is None:  # pragma: no cover - every successful call records its response
        raise RuntimeError("no response was recorded for this call")
    headers = httpx.Headers(dict(response.headers))
    return RawResponse(
        status_code=int(response.status_code),
        headers=headers,
        content=response.content,
        request_id=headers.get("x-request-id"),
        deprecation=parse_deprecation(headers),
        parsed=parsed,
    )


def to_raw(func: Callable[P, T]) -> Callable[P, RawResponse[T]]:
    """The raw twin of a sync method (a list method's first page is fetched so its headers exist)."""

    @functools.wraps(func)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        holder = _Capture()
        token = capture.set(holder)
        try:
            result = func(*args, **kwargs)
            if isinstance(result, SyncPaginator):
                result.first_page()
        finally:
            capture.reset(token)
        return _raw(holder, result)

    return wrapped


def to_async_raw(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[RawResponse[T]]]:
    """The raw twin of an async method."""

    @functools.wraps(func)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        holder = _Capture()
        token = capture.set(holder)
        try:
            result = await func(*args, **kwargs)
        finally:
            capture.reset(token)
        return _raw(holder, result)

    return wrapped


def to_async_raw_pages(
    func: Callable[P, AsyncPaginator[T]],
) -> Callable[P, Awaitable[RawResponse[AsyncPaginator[T]]]]:
    """The raw twin of an async list method: awaits the first page, returns the paginator."""

    @functools.wraps(func)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[AsyncPaginator[T]]:
        holder = _Capture()
        token = capture.set(holder)
        try:
            result = func(*args, **kwargs)
            await result.first_page()
        finally:
            capture.reset(token)
        return _raw(holder, result)

    return wrapped
