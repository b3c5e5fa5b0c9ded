"""Order books from DEPTH: right, or visibly not ready.

:class:`OrderBook` keeps each side as a ``dict`` of price -> quantity (``Decimal`` keys) plus a lazily cleaned
heap of prices and a cached best price, so an upsert is a dict store (plus a heap push for a new price) and a
best bid/ask read is O(1) until the best level is deleted. ``is_synced`` is false until the item's
``SNAPSHOT_COMPLETE`` and again as soon as the book is marked stale (a ``seqnum`` gap, a crossed book, a lost
connection). :meth:`OrderBook.snapshot` gives an immutable copy any thread may read.

Books need no socket: feed them frames (:class:`truex_ext.stream.feed.Feed`) to test a strategy on a recording.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable, Iterator
from decimal import Decimal

import attrs

from .messages import DepthData

__all__ = ["BookSnapshot", "Books", "OrderBook"]

_heappush, _heappop, _heapify = heapq.heappush, heapq.heappop, heapq.heapify

Levels = tuple[tuple[Decimal, Decimal], ...]


@attrs.frozen(slots=True)
class BookSnapshot:
    """An immutable copy of a book: bids best (highest) first, asks best (lowest) first."""

    symbol: str
    bids: Levels
    asks: Levels
    is_synced: bool
    seqnum: int | None
    updated_at: float | None

    @property
    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        return self.asks[0] if self.asks else None

    @property
    def spread(self) -> Decimal | None:
        return self.asks[0][0] - self.bids[0][0] if self.bids and self.asks else None

    @property
    def mid(self) -> Decimal | None:
        return (self.asks[0][0] + self.bids[0][0]) / 2 if self.bids and self.asks else None


class OrderBook:
    """One symbol's book. Not thread-safe for writers; readers on other threads use :meth:`snapshot`.

    >>> b = OrderBook("BTC-PYUSD")
    >>> b.set_bid(Decimal("100"), Decimal("1")); b.set_ask(Decimal("101"), Decimal("2"))
    >>> b.bbo(), b.spread, b.is_synced
    ((Decimal('100'), Decimal('101')), Decimal('1'), False)
    """

    __slots__ = (
        "_ask_best",
        "_ask_heap",
        "_asks",
        "_bid_best",
        "_bid_heap",
        "_bids",
        "_stale_reason",
        "_synced",
        "seqnum",
        "symbol",
        "updated_at",
    )

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self._bids: dict[Decimal, Decimal] = {}
        self._asks: dict[Decimal, Decimal] = {}
        self._bid_heap: list[Decimal] = []  # negated prices (a max-heap); may hold deleted prices (lazy)
        self._ask_heap: list[Decimal] = []
        self._bid_best: Decimal | None = None  # None: unknown (recomputed on read) or empty side
        self._ask_best: Decimal | None = None
        self._synced = False
        self._stale_reason: str | None = None
        self.seqnum: int | None = None
        self.updated_at: float | None = None

    # ------------------------------------------------------------------------------------------ writes
    def set_bid(self, price: Decimal, qty: Decimal) -> None:
        """Upsert a bid level; a zero quantity deletes it."""
        bids = self._bids
        if qty:
            if price not in bids:
                heap = self._bid_heap
                _heappush(heap, -price)
                if len(heap) > 2 * len(bids) + 64:
                    self._bid_heap = [-p for p in bids] + [-price]
                    _heapify(self._bid_heap)
                best = self._bid_best
                if best is not None and price > best:
                    self._bid_best = price
            bids[price] = qty
        elif bids.pop(price, None) is not None and price == self._bid_best:
            self._bid_best = None

    def set_ask(self, price: Decimal, qty: Decimal) -> None:
        """Upsert an ask level; a zero quantity deletes it."""
        asks = self._asks
        if qty:
            if price not in asks:
                heap = self._ask_heap
                _heappush(heap, price)
                if len(heap) > 2 * len(asks) + 64:
                    self._ask_heap = [*asks, price]
                    _heapify(self._ask_heap)
                best = self._ask_best
                if best is not None and price < best:
                    self._ask_best = price
            asks[price] = qty
        elif asks.pop(price, None) is not None and price == self._ask_best:
            self._ask_best = None

    def replace(
        self, bids: Iterable[tuple[Decimal, Decimal]], asks: Iterable[tuple[Decimal, Decimal]]
    ) -> None:
        """Replace the whole book (a SNAPSHOT); levels with a zero quantity are left out."""
        # A later level of the same price wins, as in an UPDATE (then zero quantities are dropped).
        self._bids = {p: q for p, q in dict(bids).items() if q}
        self._asks = {p: q for p, q in dict(asks).items() if q}
        self._bid_heap = [-p for p in self._bids]
        self._ask_heap = list(self._asks)
        _heapify(self._bid_heap)
        _heapify(self._ask_heap)
        self._bid_best = self._ask_best = None

    def apply(self, depth: DepthData, update: str, seqnum: int | None = None) -> None:
        """Apply a DEPTH frame: ``SNAPSHOT`` replaces the book (not synced until SNAPSHOT_COMPLETE), anything
        else upserts levels. A book left crossed is marked stale (check :attr:`stale_reason`)."""
        if update == "SNAPSHOT":
            self.replace(((lv.price, lv.qty) for lv in depth.bids), ((lv.price, lv.qty) for lv in depth.asks))
            self._synced = False
            self._stale_reason = None
        else:
            set_bid, set_ask = self.set_bid, self.set_ask
            for lv in depth.bids:
                set_bid(lv.price, lv.qty)
            for lv in depth.asks:
                set_ask(lv.price, lv.qty)
        self.seqnum = seqnum
        self.updated_at = time.time()
        if self.is_crossed:
            self.mark_stale("crossed")

    def mark_synced(self) -> None:
        """The item's SNAPSHOT_COMPLETE arrived: the book is whole (unless it was marked stale since)."""
        if self._stale_reason is None:
            self._synced = True

    def mark_stale(self, reason: str) -> None:
        """The book can no longer be trusted (a gap, a crossed book, a lost connection) until a new snapshot."""
        self._synced = False
        self._stale_reason = reason

    # ------------------------------------------------------------------------------------------ reads
    @property
    def is_synced(self) -> bool:
        """True from SNAPSHOT_COMPLETE until the book is marked stale; never true on a partial book."""
        return self._synced

    @property
    def stale_reason(self) -> str | None:
        return self._stale_reason

    @property
    def best_bid(self) -> Decimal | None:
        best = self._bid_best
        if best is None:
            heap, bids = self._bid_heap, self._bids
            while heap and -heap[0] not in bids:
                _heappop(heap)
            if heap:
                best = self._bid_best = -heap[0]
        return best

    @property
    def best_ask(self) -> Decimal | None:
        best = self._ask_best
        if best is None:
            heap, asks = self._ask_heap, self._asks
            while heap and heap[0] not in asks:
                _heappop(heap)
            if heap:
                best = self._ask_best = heap[0]
        return best

    def bbo(self) -> tuple[Decimal | None, Decimal | None]:
        """(best bid price, best ask price)."""
        return self.best_bid, self.best_ask

    @property
    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask (a book that missed an update)."""
        bid, ask = self.best_bid, self.best_ask
        return bid is not None and ask is not None and bid >= ask

    @property
    def spread(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        return None if bid is None or ask is None else ask - bid

    @property
    def mid(self) -> Decimal | None:
        bid, ask = self.best_bid, self.best_ask
        return None if bid is None or ask is None else (bid + ask) / 2

    def bid_qty(self, price: Decimal) -> Decimal | None:
        return self._bids.get(price)

    def ask_qty(self, price: Decimal) -> Decimal | None:
        return self._asks.get(price)

    def top(self, n: int) -> tuple[Levels, Levels]:
        """The best ``n`` levels of each side: (bids highest first, asks lowest first)."""
        bids = tuple(heapq.nlargest(n, self._bids.copy().items()))
        asks = tuple(heapq.nsmallest(n, self._asks.copy().items()))
        return bids, asks

    def snapshot(self, depth: int | None = None) -> BookSnapshot:
        """An immutable copy (safe to hand to another thread: the dicts are copied atomically first)."""
        bids_d, asks_d = self._bids.copy(), self._asks.copy()
        if depth is None:
            bids = tuple(sorted(bids_d.items(), reverse=True))
            asks = tuple(sorted(asks_d.items()))
        else:
            bids = tuple(heapq.nlargest(depth, bids_d.items()))
            asks = tuple(heapq.nsmallest(depth, asks_d.items()))
        return BookSnapshot(self.symbol, bids, asks, self._synced, self.seqnum, self.updated_at)

    def __len__(self) -> int:
        return len(self._bids) + len(self._asks)

    def __repr__(self) -> str:
        state = (
            "synced" if self._synced else f"stale ({self._stale_reason})" if self._stale_reason else "syncing"
        )
        return f"OrderBook({self.symbol!r}, {state}, bid={self.best_bid}, ask={self.best_ask}, levels={len(self)})"


class Books:
    """The DEPTH books of a stream, by symbol (created on first use)."""

    def __init__(self) -> None:
        self._books: dict[str, OrderBook] = {}

    def __getitem__(self, symbol: str) -> OrderBook:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = OrderBook(symbol)
        return book

    def get(self, symbol: str) -> OrderBook | None:
        return self._books.get(symbol)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._books))

    def __len__(self) -> int:
        return len(self._books)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._books

    def mark_stale(self, reason: str, symbols: Iterable[str] | None = None) -> None:
        for symbol in list(self._books) if symbols is None else symbols:
            self[symbol].mark_stale(reason)
