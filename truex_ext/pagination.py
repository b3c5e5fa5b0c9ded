"""Auto-pagination: iterate items across pages, holding one page in memory at a time.

``v2026_01_23`` pages with an opaque ``cursor`` (``pagination.next_cursor``, null on the last page);
``v2024_01_01`` with ``skip``/``size`` offsets where the operation has them. Filters are kept from page
to page, iteration stops on a null cursor or an empty page, and a repeated cursor raises instead of
looping forever.

    for order in client.orders.list(size=100):            # every order, page after page
        ...
    for page in client.orders.list(size=100).pages():     # page by page
        print(len(page.items), page.next_cursor)
    async for order in aclient.orders.list(max_items=50):  # async, at most 50 items
        ...
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from truex_client.types import UNSET, Unset

from .errors import PaginationError
from .versions import SERVER_DEFAULT_VERSION

if TYPE_CHECKING:
    from ._response import APIResponse

T = TypeVar("T")


@attrs.frozen
class Page(Generic[T]):
    """One page: its items, the cursor of the next page, and the HTTP response it came in."""

    items: list[T]
    next_cursor: str | None
    response: APIResponse[Any] = attrs.field(repr=False)


def next_page_kwargs(
    kwargs: Mapping[str, Any], page: Page[Any], seen: set[str], *, offset: bool, version: str
) -> dict[str, Any] | None:
    """The arguments of the page after ``page``, or None when ``page`` is the last one."""
    if not page.items:
        return None
    if page.next_cursor:
        if page.next_cursor in seen:
            raise PaginationError(
                f"the server repeated cursor {page.next_cursor!r}; stopping instead of looping"
            )
        seen.add(page.next_cursor)
        following = {**kwargs, "cursor": page.next_cursor}
        if "skip" in following:
            following["skip"] = UNSET  # an offset is not combined with a cursor
        return following
    size = kwargs.get("size")
    if offset and version == SERVER_DEFAULT_VERSION and isinstance(size, int) and len(page.items) >= size:
        skip = kwargs.get("skip")
        start = skip if isinstance(skip, int) and not isinstance(skip, Unset) else 0
        return {**kwargs, "skip": start + len(page.items)}
    return None


def _seen_cursors(kwargs: Mapping[str, Any]) -> set[str]:
    """The cursors already fetched: the one iteration starts from, if the caller gave one."""
    start = kwargs.get("cursor")
    return {start} if isinstance(start, str) and start else set()


class SyncPaginator(Generic[T]):
    """Iterable over every item of a list operation; ``.pages()`` iterates pages."""

    def __init__(
        self,
        fetch: Callable[[dict[str, Any]], Page[T]],
        kwargs: dict[str, Any],
        *,
        offset: bool,
        version: str,
        max_items: int | None = None,
    ) -> None:
        self._fetch = fetch
        self._kwargs = kwargs
        self._offset = offset
        self._version = version
        self._max_items = max_items
        self._first: Page[T] | None = None

    def first_page(self) -> Page[T]:
        """The first page (fetched once, then cached until iteration moves past it)."""
        if self._first is None:
            self._first = self._fetch(self._kwargs)
        return self._first

    def pages(self) -> Iterator[Page[T]]:
        page, self._first = self.first_page(), None  # drop the cache: memory stays one page
        kwargs: dict[str, Any] | None = self._kwargs
        seen = _seen_cursors(self._kwargs)
        while True:
            yield page
            assert kwargs is not None
            kwargs = next_page_kwargs(kwargs, page, seen, offset=self._offset, version=self._version)
            if kwargs is None:
                return
            page = self._fetch(kwargs)

    def __iter__(self) -> Iterator[T]:
        remaining = self._max_items
        if remaining is not None and remaining <= 0:
            return
        for page in self.pages():
            for item in page.items:
                if remaining is not None:
                    if remaining <= 0:
                        return
                    remaining -= 1
                yield item
            if remaining is not None and remaining <= 0:
                return


class AsyncPaginator(Generic[T]):
    """``async for`` over every item; ``await`` it for the first page; ``.pages()`` iterates pages."""

    def __init__(
        self,
        fetch: Callable[[dict[str, Any]], Awaitable[Page[T]]],
        kwargs: dict[str, Any],
        *,
        offset: bool,
        version: str,
        max_items: int | None = None,
    ) -> None:
        self._fetch = fetch
        self._kwargs = kwargs
        self._offset = offset
        self._version = version
        self._max_items = max_items
        self._first: Page[T] | None = None

    async def first_page(self) -> Page[T]:
        """The first page (fetched once, then cached until iteration moves past it)."""
        if self._first is None:
            self._first = await self._fetch(self._kwargs)
        return self._first

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self.first_page().__await__()

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        page = await self.first_page()
        self._first = None
        kwargs: dict[str, Any] | None = self._kwargs
        seen = _seen_cursors(self._kwargs)
        while True:
            yield page
            assert kwargs is not None
            kwargs = next_page_kwargs(kwargs, page, seen, offset=self._offset, version=self._version)
            if kwargs is None:
                return
            page = await self._fetch(kwargs)

    async def __aiter__(self) -> AsyncIterator[T]:
        remaining = self._max_items
        if remaining is not None and remaining <= 0:
            return
        # aclosing: stopping early (max_items) closes the page generator now, not at loop finalisation.
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                for item in page.items:
                    if remaining is not None:
                        if remaining <= 0:
                            return
                        remaining -= 1
                    yield item
                if remaining is not None and remaining <= 0:
                    return
