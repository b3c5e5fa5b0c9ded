"""The stream's bounded event queue and its stated policy.

* **Market data may conflate.** A market frame whose ``(channel, item)`` already waits undelivered replaces
  that entry in place (its ``conflated`` count goes up), so a slow consumer sees the latest state per item and
  memory stays bounded by the number of subscribed items. A consumer that keeps up sees every frame.
* **Private data never drops.** Order updates, gaps, state changes and markers queue in order; when
  ``max_pending`` of them wait undelivered the stream fails with
  :class:`~truex_ext.stream.errors.StreamOverflowError` instead of losing one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Any

import attrs

from .errors import StreamOverflowError

__all__ = ["EventQueue"]


class _Slot:
    __slots__ = ("key", "replaced", "value")

    def __init__(self, key: Hashable, value: Any) -> None:
        self.key = key
        self.value = value
        self.replaced = 0  # conflated counts of the messages ``value`` replaced (each plus one)


class EventQueue:
    def __init__(self, max_pending: int) -> None:
        self.max_pending = max_pending
        self._items: deque[Any] = deque()
        self._slots: dict[Hashable, _Slot] = {}
        self._ordered = 0
        self._wake = asyncio.Event()

    def put(self, event: Any) -> None:
        """Queue an event that must never be dropped; :class:`StreamOverflowError` when full."""
        if self._ordered >= self.max_pending:
            raise StreamOverflowError(self.max_pending)
        self._items.append(event)
        self._ordered += 1
        self._wake.set()

    def put_market(self, key: Hashable, message: Any) -> None:
        """Queue a market message, conflating it with an undelivered one of the same key."""
        slot = self._slots.get(key)
        if slot is not None:
            # The count goes on the message once, when it is taken (attrs.evolve per frame cost ~5 µs, and a
            # consumer that is behind sees every frame conflated).
            slot.replaced += 1 + slot.value.conflated
            slot.value = message
            return
        slot = self._slots[key] = _Slot(key, message)
        self._items.append(slot)
        self._wake.set()

    def get_nowait(self) -> Any:
        """The next event; ``IndexError`` when empty."""
        item = self._items.popleft()
        if isinstance(item, _Slot):
            del self._slots[item.key]
            if item.replaced:
                return attrs.evolve(item.value, conflated=item.value.conflated + item.replaced)
            return item.value
        self._ordered -= 1
        return item

    def __len__(self) -> int:
        return len(self._items)

    @property
    def pending_private(self) -> int:
        return self._ordered

    async def wait(self) -> None:
        """Until something is queued or :meth:`wake` is called."""
        if not self._items:
            self._wake.clear()
            await self._wake.wait()

    def wake(self) -> None:
        self._wake.set()
