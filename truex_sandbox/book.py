"""Price-time-priority limit order book for one instrument.

Layout: per side a ``dict`` price → :class:`Level` plus a sorted ``list`` of price keys kept with
``bisect``. Bids are keyed by ``price`` and asks by ``-price``, both ascending, so the *best* level of either
side is always the last key (``pop()`` at the end is O(1)). A level is a FIFO ``deque`` of
``(seq, order)`` entries with lazy deletion: removing an order only clears ``order.book_seq``; dead entries
are skipped (and dropped) when the head is read, and a level's queue is compacted when dead entries pile up.
``Level.qty`` / ``Level.count`` always describe the live orders only.

The book never decides anything about money or matching policy: the engine asks for the best resting order,
decides, then tells the book what changed (:meth:`OrderBook.set_leaves`, :meth:`OrderBook.remove`).
After every change of a level the book calls its ``listener`` (when set) with the level as it now is:
``(side, price, qty, order_count, now)`` — ``order_count == 0``: the level is gone.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Generic, Protocol, TypeVar


class BookOrder(Protocol):
    """What the book needs from an order."""

    id: str
    side: str
    price: Decimal
    leaves: Decimal
    book_seq: int


O = TypeVar("O", bound=BookOrder)  # noqa: E741
_ZERO = Decimal(0)
#: Called after a level changed: (side, price, total qty, order count, now).
LevelListener = Callable[[str, Decimal, Decimal, int, int], None]


class Level(Generic[O]):
    __slots__ = ("count", "last_update", "price", "qty", "queue")

    def __init__(self, price: Decimal) -> None:
        self.price = price
        self.queue: deque[tuple[int, O]] = deque()
        self.qty = _ZERO
        self.count = 0
        self.last_update = 0

    def first(self) -> O | None:
        """The oldest live order at this level (drops dead head entries)."""
        queue = self.queue
        while queue:
            seq, order = queue[0]
            if order.book_seq == seq:
                return order
            queue.popleft()
        return None

    def orders(self) -> Iterator[O]:
        """Live orders in time priority."""
        for seq, order in self.queue:
            if order.book_seq == seq:
                yield order


class OrderBook(Generic[O]):
    """Resting orders of one instrument. ``side`` strings are ``"BUY"`` (bids) and ``"SELL"`` (asks)."""

    __slots__ = (
        "_ask_keys",
        "_ask_levels",
        "_asks",
        "_bid_keys",
        "_bids",
        "_seq",
        "instrument_id",
        "listener",
        "side_update",
    )

    def __init__(self, instrument_id: str = "") -> None:
        self.instrument_id = instrument_id
        self._bids: dict[Decimal, Level[O]] = {}
        self._asks: dict[Decimal, Level[O]] = {}
        self._bid_keys: list[Decimal] = []  # prices, ascending: best bid last
        self._ask_keys: list[Decimal] = []  # -prices, ascending: best ask last
        #: The ask levels by the very key objects of ``_ask_keys``: a Decimal caches its hash, so looking a level
        #: up by a stored key is cheap, while ``-key`` would be a new Decimal hashed from scratch (~1 µs).
        self._ask_levels: dict[Decimal, Level[O]] = {}
        self._seq = 0
        #: Last time each side changed (ns), for market-data ``last_update``.
        self.side_update: dict[str, int] = {"BUY": 0, "SELL": 0}
        self.listener: LevelListener | None = None

    def _changed(self, side: str, level: Level[O], now: int) -> None:
        level.last_update = now
        self.side_update[side] = now
        if self.listener is not None:
            self.listener(side, level.price, level.qty, level.count, now)

    # ------------------------------------------------------------------ queries
    def best(self, side: str) -> Level[O] | None:
        """Best level of ``side`` (highest bid / lowest ask), or None when that side is empty."""
        if side == "BUY":
            keys = self._bid_keys
            return self._bids[keys[-1]] if keys else None
        keys = self._ask_keys
        return self._ask_levels[keys[-1]] if keys else None

    def best_price(self, side: str) -> Decimal | None:
        level = self.best(side)
        return None if level is None else level.price

    def best_prices(self) -> tuple[Decimal | None, Decimal | None]:
        """(best bid, best ask) prices, None for an empty side: both in one call."""
        bid_keys = self._bid_keys
        ask_keys = self._ask_keys
        return (
            self._bids[bid_keys[-1]].price if bid_keys else None,
            self._ask_levels[ask_keys[-1]].price if ask_keys else None,
        )

    def levels(self, side: str) -> Iterator[Level[O]]:
        """Levels of ``side`` from best to worst."""
        if side == "BUY":
            bids = self._bids
            for key in reversed(self._bid_keys):
                yield bids[key]
        else:
            asks = self._ask_levels
            for key in reversed(self._ask_keys):
                yield asks[key]

    def orders(self, side: str | None = None) -> Iterator[O]:
        """Live resting orders (best level first, time priority within a level)."""
        for s in ("BUY", "SELL") if side is None else (side,):
            for level in self.levels(s):
                yield from level.orders()

    def level_at(self, side: str, price: Decimal) -> Level[O] | None:
        return (self._bids if side == "BUY" else self._asks).get(price)

    def is_crossed(self) -> bool:
        bid = self.best_price("BUY")
        ask = self.best_price("SELL")
        return bid is not None and ask is not None and bid >= ask

    def depth(self, side: str) -> int:
        return len(self._bid_keys if side == "BUY" else self._ask_keys)

    # ------------------------------------------------------------------ updates
    def add(self, order: O, now: int) -> None:
        """Rest ``order`` at the back of its price level (its ``leaves`` must be > 0)."""
        price = order.price
        if order.side == "BUY":
            levels, keys, key = self._bids, self._bid_keys, price
        else:
            levels, keys, key = self._asks, self._ask_keys, -price
        level = levels.get(price)
        if level is None:
            level = Level(price)
            levels[price] = level
            if not keys or key > keys[-1]:
                keys.append(key)
            else:
                insort(keys, key)
            if levels is self._asks:
                self._ask_levels[key] = level
        self._seq += 1
        seq = self._seq
        order.book_seq = seq
        level.queue.append((seq, order))
        level.qty += order.leaves
        level.count += 1
        self._changed(order.side, level, now)

    def remove(self, order: O, now: int) -> None:
        """Take ``order`` off the book (no-op when it is not resting)."""
        if not order.book_seq:
            return
        order.book_seq = 0
        side = order.side
        levels = self._bids if side == "BUY" else self._asks
        price = order.price
        level = levels[price]
        level.qty -= order.leaves
        level.count -= 1
        self._changed(side, level, now)
        if level.count == 0:
            del levels[price]
            if side == "BUY":
                keys = self._bid_keys
                if keys[-1] == price:
                    keys.pop()
                else:
                    del keys[bisect_left(keys, price)]
            else:
                keys = self._ask_keys
                key = -price
                # The stored key object (its hash cached), not ``key``, finds the level in _ask_levels.
                index = len(keys) - 1 if keys[-1] == key else bisect_left(keys, key)
                del self._ask_levels[keys[index]]
                del keys[index]
        elif len(level.queue) > 2 * level.count + 32:
            level.queue = deque(entry for entry in level.queue if entry[1].book_seq == entry[0])

    def set_leaves(self, order: O, leaves: Decimal, now: int) -> None:
        """Change a resting order's ``leaves`` in place, keeping time priority; 0 removes it."""
        if leaves <= 0:
            self.remove(order, now)
            order.leaves = leaves
            return
        level = (self._bids if order.side == "BUY" else self._asks)[order.price]
        level.qty += leaves - order.leaves
        order.leaves = leaves
        self._changed(order.side, level, now)
