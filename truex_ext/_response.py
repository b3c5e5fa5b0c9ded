"""What came back for one call: :class:`APIResponse` (the raw response and its parsed body).

raw = client.orders.with_raw_response.create(info=...)
raw.status_code, raw.request_id, raw.deprecation, raw.headers.get_list("set-cookie")
order = raw.parse()

The call loop builds one per response (a page keeps its own as ``page.response``); the plain methods
return only the parsed body, the ``with_raw_response`` twins the whole object.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, cast

import httpx

if TYPE_CHECKING:
    from .deprecation import DeprecationInfo

P = ParamSpec("P")
T = TypeVar("T")
U = TypeVar("U")

__all__ = ["APIResponse", "RawResponse", "to_async_raw", "to_async_raw_pages", "to_raw"]


class APIResponse(Generic[T]):
    """One HTTP response of the API: status, headers (repeated ones kept), body bytes and the parsed body.

    ``parse()`` gives what the plain method returns (for a list: the paginator, this being its first page's
    response).
    """

    __slots__ = ("content", "headers", "method", "parsed", "status_code", "url")

    def __init__(
        self, status_code: int, headers: httpx.Headers, content: bytes, parsed: T, *, method: str, url: str
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.method = method
        #: The path template as sent, base included (``/v1/cefi/orders/{ref_id}``): no ids, no query.
        self.url = url
        self.parsed = parsed

    @property
    def request_id(self) -> str | None:
        """The server's ``x-request-id`` (quote it to support)."""
        return cast("str | None", self.headers.get("x-request-id"))

    @property
    def deprecation(self) -> DeprecationInfo | None:
        """What the ``Deprecation``/``Sunset``/``Link`` headers say, or None when they say nothing."""
        from .deprecation import parse_deprecation

        return parse_deprecation(self.headers)

    def json(self) -> Any:
        """The body as JSON, exactly as the server sent it (before any version normalisation)."""
        return json.loads(self.content)

    def parse(self) -> T:
        """The parsed body: what the plain method returns."""
        return self.parsed

    def with_parsed(self, parsed: U) -> APIResponse[U]:
        """The same response standing for another parsed value (a call's ``data``, a paginator)."""
        return APIResponse(
            self.status_code, self.headers, self.content, parsed, method=self.method, url=self.url
        )

    def __repr__(self) -> str:
        return (
            f"<APIResponse [{self.status_code}] {self.method} {self.url} request_id={self.request_id!r} "
            f"parsed={type(self.parsed).__name__}>"
        )


#: The name this SDK used first: the same class.
RawResponse = APIResponse


# The raw twins call the same resource methods on a call loop in raw mode, which answers with the
# APIResponse; these only give them their types.
def to_raw(func: Callable[P, T]) -> Callable[P, APIResponse[T]]:
    """The raw twin of a sync method (a list method's first page is fetched so that its headers exist)."""
    return cast("Callable[P, APIResponse[T]]", func)


def to_async_raw(func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[APIResponse[T]]]:
    """The raw twin of an async method."""
    return cast("Callable[P, Awaitable[APIResponse[T]]]", func)


def to_async_raw_pages(func: Callable[P, T]) -> Callable[P, Awaitable[APIResponse[T]]]:
    """The raw twin of an async list method (which returns an ``AsyncPaginator``): awaits the first page."""
    return cast("Callable[P, Awaitable[APIResponse[T]]]", func)
