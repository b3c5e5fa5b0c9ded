"""Frames in, books and events out, with ``seqnum`` checking: the stream's logic without a socket.

:class:`Feed` is what :class:`~truex_ext.stream.AsyncStream` runs on every frame; use it alone to replay a
recording through the same books and gap detection (a gap then just marks the channel's books stale until the
next SNAPSHOT, as there is nobody to ask for a resync).

``seqnum`` (DECISIONS §21): one counter per channel per connection, +1 with every frame of the channel. The
first frame of a channel on a connection sets the baseline (whatever its number); a SNAPSHOT while the
channel is resyncing sets it again (so a server that restarts the counter on a new subscription is fine).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .book import Books
from .messages import (
    Channel,
    Confirmation,
    DepthData,
    Gap,
    MarketData,
    SnapshotComplete,
    Unknown,
    Welcome,
    order_update,
    parse_frame,
)

__all__ = ["Feed", "Resync"]


@attrs.frozen(slots=True)
class Resync:
    """An action for the stream: unsubscribe + subscribe ``items`` of ``channel`` (all of them if empty)."""

    channel: str
    items: tuple[str, ...]


class _Sequence:
    __slots__ = ("last", "resyncing")

    def __init__(self) -> None:
        self.last: int | None = None
        self.resyncing = False


class Feed:
    """Parses frames, checks each channel's ``seqnum``, keeps the DEPTH books and reports gaps."""

    def __init__(self, books: Books | None = None) -> None:
        self.books = books if books is not None else Books()
        self._seq: dict[str, _Sequence] = {}

    def new_connection(self, reason: str = "reconnect") -> None:
        """A new socket: every counter starts again and every book is stale until its new snapshot."""
        self._seq.clear()
        self.books.mark_stale(reason)

    def resyncing(self, channel: str) -> None:
        """The stream asked for a fresh snapshot of ``channel``: its next SNAPSHOT sets the baseline."""
        self._seq.setdefault(channel, _Sequence()).resyncing = True

    def process(self, frame: str | bytes | Mapping[str, Any]) -> tuple[Any, list[Gap], list[Resync]]:
        """One frame: (the message, the gaps it revealed, the resyncs they call for).

        The message is a :class:`Welcome`, :class:`Confirmation`, :class:`MarketData`,
        :class:`SnapshotComplete`, :class:`OrderUpdate` or :class:`Unknown`. A frame that revealed a gap is
        still returned (an order report is never dropped; a book it touches is stale anyway).
        """
        msg: Any = parse_frame(frame)
        if isinstance(msg, Mapping):  # DROPCOPY
            msg = order_update(msg)
            channel, seqnum, update = Channel.DROPCOPY, msg.seqnum, msg.update
        elif isinstance(msg, (MarketData, SnapshotComplete)):
            channel, seqnum = msg.channel, msg.seqnum
            update = msg.update if isinstance(msg, MarketData) else "SNAPSHOT_COMPLETE"
        else:
            assert isinstance(msg, (Welcome, Confirmation, Unknown))
            return msg, [], []
        gaps: list[Gap] = []
        resyncs: list[Resync] = []
        gap = self._check(channel, seqnum, update)
        if gap is not None:
            items = tuple(self.books) if channel == Channel.DEPTH else ()
            gaps.append(gap if not items else attrs.evolve(gap, items=items))
            resyncs.append(Resync(channel, ()))
            if channel == Channel.DEPTH:
                self.books.mark_stale("gap")
        if isinstance(msg, MarketData) and isinstance(msg.data, DepthData):
            book = self.books[msg.data.symbol]
            was_stale = book.stale_reason is not None
            book.apply(msg.data, msg.update, seqnum)
            if book.stale_reason == "crossed" and not was_stale:
                gaps.append(Gap(Channel.DEPTH, None, seqnum, (book.symbol,), reason="crossed"))
                resyncs.append(Resync(Channel.DEPTH, (book.symbol,)))
                self.resyncing(Channel.DEPTH)
        elif isinstance(msg, SnapshotComplete) and msg.channel == Channel.DEPTH:
            self.books[msg.item].mark_synced()
        return msg, gaps, resyncs

    def _check(self, channel: str, seqnum: int | None, update: str) -> Gap | None:
        if seqnum is None:
            return None
        seq = self._seq.get(channel)
        if seq is None:
            seq = self._seq[channel] = _Sequence()
        last = seq.last
        seq.last = seqnum
        if last is None or seqnum == last + 1:
            if update == "SNAPSHOT":
                seq.resyncing = False
            return None
        if seq.resyncing:
            if update == "SNAPSHOT":
                seq.resyncing = False  # a new baseline
            return None  # frames of the old subscription in flight: the books are stale already
        seq.resyncing = True
        return Gap(channel, last + 1, seqnum, ())
