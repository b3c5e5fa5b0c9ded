"""The exchange core: one :class:`Exchange` per sandbox, the single writer of all state.

The domain only: books and matching, accounts and holds, fees, transfers. Requests arrive as typed commands
(:mod:`truex_sandbox.commands`), answers are rendered by :mod:`truex_sandbox.views`, what happened is reported
as :mod:`truex_sandbox.events` to subscribers, and the house market maker (:mod:`truex_sandbox.house`) is a
participant that the lifecycle step calls. Pure Python, no HTTP.

Deterministic given the seed, the id counter start and the clock: ``clock()`` returns Unix nanoseconds (made
monotonic inside: a clock going backwards is treated as standing still), ids are 18-digit numeric strings
counting up from ``id_start``. Every public method takes the one ``RLock``, runs
with an exact decimal context (precision 200, ``Inexact`` trapped: money arithmetic never rounds; only VWAPs
are rounded, to 10 decimal places) and first runs the lazy lifecycle step ``_advance(now)`` (transfer
settlement, house re-quoting). Outputs are JSON-ready dicts/lists of strings (fee tiers are ints).

A command runs as: read the clock, journal the request, run the lifecycle step at its time, parse the request
into a typed command, apply it. Replaying the journal parses the same requests by the same code.

Request problems raise :class:`EngineError` subclasses (``status``/``title``/``detail``; ``detail`` names the
field and the rule): a malformed request 400, a client the API key may not act for 403 (both found while
parsing, in the order of the body's fields), then what the state refuses (404, 409, a modify's 400). Business rejections of a new order are not errors: the order is stored with status
``REJECTED`` and a ``text``.

Choices where the API is silent:

* Unknown ``instrument_id`` on create -> 404 (nothing stored); qty <= 0, off-increment qty/price, price outside
  the band, ALO that would take, MARKET+ALO, insufficient available balance -> ``REJECTED`` order (stored,
  idempotent, visible in lists). A MARKET order's ``price``, if sent, is validated, echoed and ignored.
* Price band = ``reference_price x (1 +/- price_bands_percent)`` rounded inwards to the price grid; the
  reference price is static (no circuit breaker: ``price_limit_*`` are informational).
* Holds: BUY ``leaves x price x (1 + r)`` of the quote asset with r = the client's taker rate (the larger of its
  maker/taker rates, in case a tier table says otherwise); MARKET BUY uses the band-high price; SELL holds
  ``leaves`` of the base asset. Fees are exact (never rounded), charged in the quote asset and credited to the
  seed's fee client. ``hold_fee_rate`` and ``flags`` are validated and echoed but have no effect.
  ``fees_hold`` of a balance entity sums the fee part of the client's BUY holds (across quote assets).
* Self-trade prevention is decided by the incoming order (its ``stp``, else the client setting; ``INVALID``
  counts as absent) when the best resting order is its own client's.
* Modify: every rule failure (new leaves <= 0, off grid, outside band, ALO would take, insufficient balance) is
  400 and changes nothing; modify/cancel of a closed order -> 409. ``new_type`` ``MARKET`` converts the order
  (it takes up to the band and the rest is canceled); ``INVALID``/``LIMIT``/absent keep the type.
  ``order_info`` keeps the original request; ``modify_info`` holds the last modify.
* ``ref_external_id`` is the order's original external id (equal to ``external_id`` until a modify renames it).
* Cancel returns the order as ``CANCEL_PENDING`` (with the leaves being canceled); it is ``CANCELED`` at once.
* Transfers: ``INITIALIZED`` at creation, ``PENDING`` at the first later engine call, ``COMPLETED`` at the first
  call with ``now >= created + settle_delay``. Transfer lists use ``update_timestamp >= timestamp``.
* Lists filtered by an unknown id return ``[]``; lookups of one order/transfer by id are 404 (unknown) or
  403 (another key's). Order/trade/transfer lists are newest first.
* Compute quote, BASE: ``qty`` is what the book can fill (may be less than asked), residual "0"; QUOTE: when
  not even one increment is affordable, ``qty`` "0" and ``price`` = best price. Fees are not included.
* The house market maker (seed ``market_maker``) re-places a missing grid level, post-only, at the start of
  the next call after one of its orders closes (``house_replenish=False``: placed once at start).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from pathlib import Path
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

from . import commands, views
from .accounts import Accounts
from .book import Level, OrderBook
from .commands import CancelOrder, Command, ModifyOrder, MoveMarket, NewOrder, NewTransfer, UpdateClient
from .errors import BadRequest, Conflict, EngineError, Forbidden, NotFound, Unavailable
from .events import (
    BalanceChanged,
    BookLevelChanged,
    ClientChanged,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderChanged,
    OrderFilled,
    OrderRejected,
    Subscriber,
    Trade,
    TransferChanged,
)
from .house import House
from .models import (
    ACTIVE,
    BUY,
    CANCEL_PENDING,
    CANCELED,
    CLIENT_STP_VALUES,
    DEPOSIT,
    FILLED,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    ONE,
    REJECTED,
    SELL,
    STP_CANCEL_BOTH,
    STP_NONE,
    T_COMPLETED,
    T_INITIALIZED,
    T_PENDING,
    T_REJECTED,
    WITHDRAW,
    ZERO,
    ApiKey,
    Balance,
    Client,
    Fill,
    Instrument,
    Order,
    Transfer,
    fmt,
    vwap,
)
from .seed import Seed, default_seed, seed_from_dict, seed_to_dict
from .store import JOURNAL_FORMAT, JournalError, JournalWriteError, Record, Store, open_store

__all__ = [
    "DEFAULT_ID_START",
    "BadRequest",
    "Conflict",
    "EngineError",
    "Exchange",
    "Forbidden",
    "NotFound",
    "Unavailable",
]

DEFAULT_ID_START: Final = 800000000000000001
DAY_NS: Final = 86_400 * 1_000_000_000
RETENTION_NS: Final = 28 * DAY_NS
_PRUNE_EVERY_NS: Final = 60 * 1_000_000_000

# Exact arithmetic on wire decimals of up to MAX_DECIMAL_CHARS (64) digits: a product of three of them
# (qty x price x fee factor) has at most 192 significant digits.
_CTX: Final = Context(
    prec=200, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact]
)

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=Command)


def _locked(method: Callable[Concatenate[Exchange, P], R]) -> Callable[Concatenate[Exchange, P], R]:
    """Run a public method under the exchange lock with the exact decimal context; then report balances."""

    @functools.wraps(method)
    def wrapper(self: Exchange, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock, localcontext(self._ctx):
            try:
                return method(self, *args, **kwargs)
            finally:
                self._report_balances()

    return wrapper


@dataclass(frozen=True, slots=True)
class _Idempotency:
    """What an external id of a client was last used for, within 24 h: a create (its body) or a modify's rename."""

    client_id: str
    external_id: str
    #: The create's body as canonical JSON; None for an external id set by a modify (never a repeat).
    body_json: str | None
    timestamp: int
    order: Order


class Exchange:
    """The stateful sandbox exchange (see the module docstring)."""

    def __init__(
        self,
        seed: Seed | None = None,
        *,
        clock: Callable[[], int] | None = None,
        id_start: int = DEFAULT_ID_START,
        settle_delay_ns: int = 2_000_000_000,
        store: Store | str | Path | None = None,
        house_replenish: bool = True,
    ) -> None:
        """``seed`` defaults to :func:`~truex_sandbox.seed.default_seed`; ``clock`` to ``time.time_ns``.

        ``store``: None (in memory only), a SQLite path, or a :class:`~truex_sandbox.store.Store`. When the store
        already holds a journal, its recorded seed, ``id_start`` and ``house_replenish`` win over the arguments,
        and the journal is replayed. ``settle_delay_ns`` applies to transfers created from now on.
        """
        if not 10**17 <= id_start < 10**18:
            raise ValueError("id_start must have 18 digits")
        if settle_delay_ns < 0:
            raise ValueError("settle_delay_ns must be >= 0")
        self._lock = threading.RLock()
        self._ctx = _CTX.copy()
        self._clock: Callable[[], int] = clock or time.time_ns
        self.settle_delay_ns = settle_delay_ns
        self._subscribers: list[Subscriber] = []
        self._store = open_store(store)
        self._journaling = self._store.journaling
        try:
            self._start(seed, id_start, house_replenish)
        except BaseException:
            if self._store is not store:  # opened here from a path: release the file (and its lock)
                self._store.close()
            raise

    def _start(self, seed: Seed | None, id_start: int, house_replenish: bool) -> None:
        """Take the configuration recorded in the store (or record this one), load the seed, replay."""
        meta = self._store.load_meta()
        if meta is None:
            seed = seed or default_seed()
            if self._journaling:
                self._store.save_meta(
                    {
                        "version": JOURNAL_FORMAT,
                        "seed": seed_to_dict(seed),
                        "id_start": id_start,
                        "house_replenish": house_replenish,
                    }
                )
        else:
            try:
                seed = seed_from_dict(meta["seed"])
                id_start = int(meta["id_start"])
                house_replenish = bool(meta["house_replenish"])
            except (KeyError, TypeError, ValueError) as exc:
                raise JournalError(
                    f"the journal's metadata is incomplete or unreadable ({exc!r}); restore the file from a "
                    "backup or pass a new file to --db"
                ) from None
        self.seed = seed
        self._next_id = id_start
        self._now = 0
        self._next_prune = 0
        self._load_seed(seed, house_replenish)
        with self._lock, localcontext(self._ctx):
            for record in self._store.records():
                self._replay(record)
            self._step(self._read_clock(), journaled=False)
            self._accounts.take_changed()

    def _load_seed(self, seed: Seed, house_replenish: bool) -> None:
        self._assets = {a.id: a for a in seed.assets}
        self._instruments = {i.id: i for i in seed.instruments}
        self._tiers = dict(seed.fee_tiers)
        self._clients = {c.id: c for c in seed.clients}
        self._keys: dict[str, ApiKey] = {k.key_id: k for k in seed.api_keys}
        self._fee_client = seed.fee_client_id
        self._house: House | None = None
        if seed.market_maker_client_id is not None:
            self._house = House(
                seed.market_maker_client_id, seed.market_making, self._instruments, house_replenish
            )
        self._accounts = Accounts(self._clients, self._assets)
        #: Per asset: the seeded total, and the net of completed transfers (the conservation invariant).
        self._initial: dict[str, Decimal] = dict.fromkeys(self._assets, ZERO)
        self._transfer_net: dict[str, Decimal] = dict.fromkeys(self._assets, ZERO)
        for client_id, rows in seed.balances.items():
            for asset_id, amount in rows.items():
                self._accounts.credit(client_id, asset_id, amount)
                self._initial[asset_id] += amount
        self._books: dict[str, OrderBook[Order]] = {}
        for instrument_id in self._instruments:
            book: OrderBook[Order] = OrderBook(instrument_id)
            book.listener = functools.partial(self._on_level_changed, instrument_id)
            self._books[instrument_id] = book
        self._orders: dict[str, Order] = {}
        self._open: dict[str, dict[str, Order]] = {c: {} for c in self._clients}
        self._client_orders: dict[str, list[Order]] = {c: [] for c in self._clients}
        #: Closed orders in closing order (an order's ``update_timestamp`` is its closing time once closed).
        self._closed: deque[Order] = deque()
        #: The order each (client, external id) names (its latest, for lookups by external id).
        self._ext_index: dict[tuple[str, str], Order] = {}
        #: Idempotency: by (client, external id), and in creation order (for pruning).
        self._idem: dict[tuple[str, str], _Idempotency] = {}
        self._idem_q: deque[_Idempotency] = deque()
        self._fills: dict[str, list[Fill]] = {c: [] for c in self._clients}
        #: Public trades per instrument, each recorded as its taker fill.
        self._trades: dict[str, list[Fill]] = {i: [] for i in self._instruments}
        self._last_trade: dict[str, Fill] = {}
        self._transfers: dict[str, Transfer] = {}
        self._client_transfers: dict[str, list[Transfer]] = {c: [] for c in self._clients}
        self._active_transfers: list[Transfer] = []

    def _new_id(self) -> str:
        value = self._next_id
        self._next_id = value + 1
        return str(value)

    # ---------------------------------------------------------------------------------------- events
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every :mod:`~truex_sandbox.events` event from now on; returns the unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def subscribe_with_state(self, callback: Subscriber) -> tuple[Callable[[], None], dict[str, Any]]:
        """:meth:`subscribe` and :meth:`stream_state` at one instant: ``callback`` sees every event after it."""
        with self._lock:
            return self.subscribe(callback), self.stream_state()

    @_locked
    def stream_state(self) -> dict[str, Any]:
        """What a market-data / drop-copy feed starts from (then applies the events): ``instruments`` (views,
        24 h stats included), ``books`` (instrument id -> side -> ``(price, qty, order_count)`` best first),
        ``last_trades`` (instrument id -> ``(price, qty, timestamp)``), ``book_updates`` (instrument id -> ns
        of the last book change) and ``open_orders`` (client id -> order views, oldest first). No clock read.
        """
        now = self._now
        books: dict[str, dict[str, list[tuple[Decimal, Decimal, int]]]] = {}
        for instrument_id, book in self._books.items():
            books[instrument_id] = {
                side: [(level.price, level.qty, level.count) for level in book.levels(side)]
                for side in (BUY, SELL)
            }
        return {
            "instruments": [
                views.instrument_view(x, self._recent_trades(x.id, now)) for x in self._instruments.values()
            ],
            "books": books,
            "book_updates": {i: max(b.side_update.values()) for i, b in self._books.items()},
            "last_trades": {i: (t.price, t.qty, t.timestamp) for i, t in self._last_trade.items()},
            "open_orders": {
                c: [views.order_view(o) for o in sorted(orders.values(), key=lambda o: int(o.id))]
                for c, orders in self._open.items()
                if orders
            },
        }

    def _emit(self, event: Event) -> None:
        for callback in tuple(self._subscribers):  # a callback may unsubscribe
            callback(event)

    def _report_order(
        self, kind: type[OrderAccepted | OrderRejected | OrderChanged | OrderCancelled], order: Order
    ) -> None:
        if self._subscribers:
            self._emit(kind(order.update_timestamp, views.order_view(order)))

    def _on_level_changed(
        self, instrument_id: str, side: str, price: Decimal, qty: Decimal, count: int, now: int
    ) -> None:
        if self._subscribers:
            self._emit(BookLevelChanged(now, instrument_id, side, price, qty, count))

    def _report_balances(self) -> None:
        """One :class:`BalanceChanged` per balance row the call changed."""
        changed = self._accounts.take_changed()
        if self._subscribers:
            for client_id, asset_id, row in changed:
                self._emit(
                    BalanceChanged(
                        self._now, client_id, asset_id, row.balance, row.order_hold, row.transfer_hold
                    )
                )

    def _report_transfer(self, transfer: Transfer) -> None:
        if self._subscribers:
            self._emit(TransferChanged(transfer.update_timestamp, views.transfer_view(transfer)))

    # ---------------------------------------------------------------------------------- time & journal
    def _read_clock(self) -> int:
        """The clock, made monotonic (a clock going backwards stands still)."""
        return max(int(self._clock()), self._now)

    def _tick(self) -> int:
        """Read the clock and run the lifecycle step (a read's step is journaled when it may change something)."""
        return self._step(self._read_clock(), journaled=False)

    def _accept(self, op: str, args: dict[str, Any], parse: Callable[[], C]) -> tuple[C, int]:
        """Journal a request, run the lifecycle step at its time, then parse it into its command.

        Journal first, then memory: when the write fails nothing has changed (:class:`Unavailable`). The one
        record also stands for the lifecycle step, since replay runs the step before every record. A request
        the engine refuses (when parsing it, or when applying it) is journaled too and replays to the same
        refusal: the record is the request as sent, parsed on replay by the same :mod:`commands` code.
        """
        if self._journaling:
            now = self._read_clock()
            try:
                self._store.append(now, op, commands.canonical(args))
            except JournalWriteError as exc:
                raise Unavailable(str(exc)) from exc
            self._step(now, journaled=True)
        else:
            now = self._tick()
        return parse(), now

    def _step(self, now: int, *, journaled: bool) -> int:
        """Move to ``now`` and run the lifecycle step; ``journaled``: a record at ``now`` is already written."""
        if self._active_transfers or (self._house is not None and self._house.due):
            if not journaled and self._journaling and self._advance_due(now):
                # A read's step: journaled before it changes memory, as a command is.
                try:
                    self._store.append(now, "advance", "{}")
                except JournalWriteError as exc:
                    raise Unavailable(str(exc)) from exc
            self._advance(now)
        if now >= self._next_prune:
            self._prune(now)
        self._now = now
        return now

    def _advance_due(self, now: int) -> bool:
        """Whether ``_advance(now)`` changes something: a transfer moves on, or the house places an order."""
        if any(t.status == T_INITIALIZED or now >= t.settle_at for t in self._active_transfers):
            return True
        return self._house is not None and self._house.would_place(self)

    def _replay(self, record: Record) -> None:
        """Apply one record as it ran live: the lifecycle step at its time, then the command."""
        now = max(record.ts, self._now)
        self._now = now
        self._advance(now)
        if now >= self._next_prune:
            self._prune(now)
        # Journal first records the commands the engine then refuses: replay refuses them the same way.
        with contextlib.suppress(EngineError):
            command = commands.from_record(record)
            if command is not None:
                self._apply(command, now)

    def _apply(self, command: Command, now: int) -> object:
        if isinstance(command, NewOrder):
            return self._create_order(command, now)
        if isinstance(command, ModifyOrder):
            return self._modify_order(command, now)
        if isinstance(command, CancelOrder):
            return self._cancel_order(command, now)
        if isinstance(command, UpdateClient):
            return self._update_client(command, now)
        if isinstance(command, MoveMarket):
            return self._move_market(command, now)
        return self._create_transfer(command, now)

    @property
    def journaling(self) -> bool:
        """Whether commands are written to a journal (each public call may then wait for the disk)."""
        return self._journaling

    @property
    def clock(self) -> Callable[[], int]:
        """The injected clock (Unix ns), e.g. for the HTTP layer's signature timestamp window."""
        return self._clock

    def close(self) -> None:
        """Close the store (the in-memory state stays usable)."""
        with self._lock:
            self._store.close()

    # -------------------------------------------------------------------------------------- lifecycle
    def _advance(self, now: int) -> None:
        """Settle the transfers that are due, then let the house re-quote."""
        if self._active_transfers:
            self._active_transfers = [t for t in self._active_transfers if not self._settle(t, now)]
        if self._house is not None:
            self._house.on_tick(self, now)

    def _settle(self, transfer: Transfer, now: int) -> bool:
        """Move a transfer on: ``PENDING`` after its creation, ``COMPLETED`` when due; whether it is final."""
        if now >= transfer.settle_at:
            sign = ONE if transfer.type == DEPOSIT else -ONE
            if transfer.type == WITHDRAW:
                self._accounts.hold_for_transfers(transfer.client_id, transfer.asset_id, -transfer.amount)
            self._accounts.credit(transfer.client_id, transfer.asset_id, sign * transfer.amount)
            self._transfer_net[transfer.asset_id] += sign * transfer.amount
            transfer.status = T_COMPLETED
        elif transfer.status == T_INITIALIZED:
            transfer.status = T_PENDING
        else:
            return False
        transfer.update_timestamp = now
        self._report_transfer(transfer)
        return transfer.status == T_COMPLETED

    def _prune(self, now: int) -> None:
        """Drop what no query can see any more (pure memory hygiene; every query filters by time itself)."""
        self._next_prune = now + _PRUNE_EVERY_NS
        self._prune_orders(now - RETENTION_NS)
        day_ago = now - DAY_NS
        self._prune_idempotency(day_ago)
        for orders in self._client_orders.values():
            del orders[: bisect_left(orders, day_ago, key=lambda o: o.timestamp)]
        for fills in [*self._fills.values(), *self._trades.values()]:
            del fills[: bisect_left(fills, day_ago, key=lambda f: f.timestamp)]
        for transfers in self._client_transfers.values():
            old = 0
            while old < len(transfers) and transfers[old].timestamp < day_ago and transfers[old].is_final:
                self._transfers.pop(transfers[old].id, None)
                old += 1
            del transfers[:old]

    def _prune_orders(self, keep_after: int) -> None:
        closed = self._closed
        while closed and closed[0].update_timestamp < keep_after:
            order = closed.popleft()
            self._orders.pop(order.id, None)
            for ext in (order.ref_external_id, *(order.renamed or ())):
                if self._ext_index.get((order.client_id, ext)) is order:
                    del self._ext_index[order.client_id, ext]

    def _prune_idempotency(self, day_ago: int) -> None:
        queue = self._idem_q
        while queue and queue[0].timestamp < day_ago:
            key = (queue[0].client_id, queue.popleft().external_id)
            current = self._idem.get(key)
            if current is not None and current.timestamp < day_ago:
                del self._idem[key]

    # ------------------------------------------------------------------------ the house's market (house.Market)
    def has_resting(self, client_id: str, instrument_id: str, side: str, price: Decimal) -> bool:
        level = self._books[instrument_id].level_at(side, price)
        return level is not None and any(o.client_id == client_id for o in level.orders())

    def best_price(self, instrument_id: str, side: str) -> Decimal | None:
        return self._books[instrument_id].best_price(side)

    def can_afford(self, client_id: str, instrument_id: str, side: str, price: Decimal, qty: Decimal) -> bool:
        instrument = self._instruments[instrument_id]
        hold_rate = self._hold_rate(self._clients[client_id]) if side == BUY else ZERO
        required = _hold_for(side, qty, price, hold_rate)
        return required <= self._accounts.available(client_id, _hold_asset(instrument, side))

    def place_post_only(
        self, client_id: str, instrument_id: str, side: str, price: Decimal, qty: Decimal, now: int
    ) -> bool:
        """Rest a GTC ALO LIMIT order without an idempotency record (the house's); False when unaffordable."""
        if not self.can_afford(client_id, instrument_id, side, price, qty):
            return False
        echo = {
            "client_id": client_id,
            "instrument_id": instrument_id,
            "qty": fmt(qty),
            "price": fmt(price),
            "side": side,
            "type": LIMIT,
            "tif": GTC,
            "exec_inst_flags": ["ALO"],
        }
        client, instrument = self._clients[client_id], self._instruments[instrument_id]
        order = self._make_order(client, instrument, side, LIMIT, GTC, price, qty, None, echo, now, alo=True)
        self._enter(order, instrument, now)
        return True

    # ------------------------------------------------------------------------------------ money rules
    def _hold_rate(self, client: Client) -> Decimal:
        """The fee rate a BUY order's hold covers: the larger of the client's maker and taker rates."""
        return max(self._tiers[client.maker_fee_tier].maker, self._tiers[client.taker_fee_tier].taker)

    @staticmethod
    def _required_hold(order: Order) -> Decimal:
        if order.status != ACTIVE or order.leaves <= 0:
            return ZERO
        return _hold_for(order.side, order.leaves, order.price, order.hold_rate)

    def _set_hold(self, order: Order) -> None:
        """Make the order's hold what its leaves need (nothing once it is closed)."""
        required = self._required_hold(order)
        delta = required - order.hold
        if delta:
            self._accounts.hold_for_orders(order.client_id, order.hold_asset_id, delta)
            order.hold = required

    # ----------------------------------------------------------------------------------- order state
    def _register(self, order: Order) -> None:
        """Index a new order (the caller records its idempotency, when it has one)."""
        self._orders[order.id] = order
        self._client_orders[order.client_id].append(order)
        self._ext_index[order.client_id, order.external_id] = order

    def _remember(self, record: _Idempotency) -> None:
        self._idem[record.client_id, record.external_id] = record
        self._idem_q.append(record)

    def _rest(self, order: Order, now: int) -> None:
        self._books[order.instrument_id].add(order, now)
        self._open[order.client_id][order.id] = order

    def _close(self, order: Order, status: str, now: int, text: str | None = None) -> None:
        """Close an open order (FILLED or CANCELED): off the book, holds released."""
        self._books[order.instrument_id].remove(order, now)
        order.status = status
        order.leaves = ZERO
        order.update_timestamp = now
        if text:
            order.text = text
        self._set_hold(order)
        self._open[order.client_id].pop(order.id, None)
        self._closed.append(order)
        if self._house is not None:
            self._house.on_order_closed(order.client_id)
        if status == CANCELED:
            self._report_order(OrderCancelled, order)

    def _visible(self, order: Order, now: int) -> bool:
        return order.status == ACTIVE or order.update_timestamp >= now - RETENTION_NS

    # --------------------------------------------------------------------------------------- matching
    def _work(self, order: Order, instrument: Instrument, now: int) -> None:
        """Match a working order, then rest it (LIMIT GTC) or close it (IOC / MARKET / STP remainder)."""
        stp_text = self._match(order, instrument, now)
        if order.status != ACTIVE:  # filled
            return
        if stp_text is not None:
            self._close(order, CANCELED, now, stp_text)
        elif order.type == MARKET:
            self._close(
                order,
                CANCELED,
                now,
                f"MARKET order: no more liquidity within the price band; unfilled quantity {fmt(order.leaves)} canceled",
            )
        elif order.tif == IOC:
            self._close(order, CANCELED, now, f"IOC order: unfilled quantity {fmt(order.leaves)} canceled")
        else:
            self._set_hold(order)  # for the leaves after matching
            self._rest(order, now)

    def _match(self, order: Order, instrument: Instrument, now: int) -> str | None:
        """Trade ``order`` (working, not resting) against the book, best price first, then time priority.

        Returns a text when self-trade prevention stopped it. The order's hold is left as it was before
        matching: it is released when the order closes, or set once for the leaves that rest.
        """
        book = self._books[instrument.id]
        buying = order.side == BUY
        while order.leaves > 0:
            level = book.best(SELL if buying else BUY)
            if level is None or (level.price > order.price if buying else level.price < order.price):
                return None
            resting = level.first()
            assert resting is not None
            if resting.client_id == order.client_id:
                stp = self._stp_mode(order)
                if stp != STP_NONE:
                    return self._prevent_self_trade(order, resting, stp, now)
            self._execute(instrument, level, resting, order, now)
        return None

    def _stp_mode(self, order: Order) -> str:
        """Self-trade prevention is the incoming order's own setting, else its client's."""
        if order.stp in CLIENT_STP_VALUES:
            return order.stp
        return self._clients[order.client_id].self_trade_prevention

    def _prevent_self_trade(self, order: Order, resting: Order, stp: str, now: int) -> str:
        if stp == STP_CANCEL_BOTH:
            text = f"self-trade prevention (CANCEL_BOTH): canceled by incoming order {order.id}"
            self._close(resting, CANCELED, now, text)
        return (
            f"self-trade prevention ({stp}): would trade with own order {resting.id}; "
            f"remaining quantity {fmt(order.leaves)} canceled"
        )

    def _execute(
        self, instrument: Instrument, level: Level[Order], maker: Order, taker: Order, now: int
    ) -> None:
        """One fill at the maker's price: balances and fees of both sides, the maker's hold, both orders' state."""
        qty = min(taker.leaves, maker.leaves)
        price = level.price
        maker_rate = self._tiers[self._clients[maker.client_id].maker_fee_tier].maker
        taker_rate = self._tiers[self._clients[taker.client_id].taker_fee_tier].taker
        notional = qty * price
        maker_fee, taker_fee = notional * maker_rate, notional * taker_rate
        self._settle_fill(maker, instrument, qty, notional, maker_fee, now)
        self._settle_fill(taker, instrument, qty, notional, taker_fee, now)
        self._accounts.credit(self._fee_client, instrument.quote_asset_id, maker_fee + taker_fee)
        taker.leaves -= qty
        self._books[instrument.id].set_leaves(maker, maker.leaves - qty, now)
        if maker.leaves <= 0:
            self._close(maker, FILLED, now)
        else:
            self._set_hold(maker)
        if taker.leaves <= 0:
            self._close(taker, FILLED, now)
        match_id = self._new_id()
        maker_fill = Fill(
            maker.client_id,
            instrument.id,
            maker.id,
            price,
            qty,
            maker_rate,
            maker_fee,
            "MAKER",
            match_id,
            now,
        )
        taker_fill = Fill(
            taker.client_id,
            instrument.id,
            taker.id,
            price,
            qty,
            taker_rate,
            taker_fee,
            "TAKER",
            match_id,
            now,
        )
        self._fills[maker.client_id].append(maker_fill)
        self._fills[taker.client_id].append(taker_fill)
        self._trades[instrument.id].append(taker_fill)
        self._last_trade[instrument.id] = taker_fill
        if self._subscribers:
            for order, fill in ((maker, maker_fill), (taker, taker_fill)):
                view = views.order_view(order)
                self._emit(
                    OrderFilled(now, view, match_id, qty, price, fill.liq_flag, fill.fee, fill.fee_rate)
                )
            self._emit(Trade(now, instrument.id, match_id, price, qty, taker.side))

    def _settle_fill(
        self, order: Order, instrument: Instrument, qty: Decimal, notional: Decimal, fee: Decimal, now: int
    ) -> None:
        """One side of a fill: its client's balances (the fee is paid in the quote asset) and the order's figures."""
        base, quote = instrument.base_asset_id, instrument.quote_asset_id
        if order.side == BUY:
            self._accounts.credit(order.client_id, quote, -(notional + fee))
            self._accounts.credit(order.client_id, base, qty)
        else:
            self._accounts.credit(order.client_id, base, -qty)
            self._accounts.credit(order.client_id, quote, notional - fee)
        order.executed += qty
        order.executed_notional += notional
        order.update_timestamp = now

    def _would_take(self, instrument: Instrument, side: str, price: Decimal) -> Decimal | None:
        """The opposite best price ``price`` would trade with, if any."""
        best = self._books[instrument.id].best_price(SELL if side == BUY else BUY)
        if best is None:
            return None
        if (side == BUY and price >= best) or (side == SELL and price <= best):
            return best
        return None

    # ---------------------------------------------------------------------------------------- lookups
    def _client_for(self, caller: AbstractSet[str], client_id: str, name: str) -> Client:
        if client_id not in caller:
            raise Forbidden(f"{name}: client {client_id} is not bound to this API key")
        client = self._clients.get(client_id)
        if client is None:
            raise NotFound(f"{name}: no client with id {client_id}")
        return client

    def _instrument(self, instrument_id: str, name: str) -> Instrument:
        instrument = self._instruments.get(instrument_id)
        if instrument is None:
            raise NotFound(f"{name}: no instrument with id {instrument_id}")
        return instrument

    def _order_by_id(self, caller: AbstractSet[str], order_id: str, name: str, now: int) -> Order:
        order = self._orders.get(order_id)
        if order is None or not self._visible(order, now):
            raise NotFound(f"{name}: no order with id {order_id}")
        if order.client_id not in caller:
            raise Forbidden(f"{name}: order {order_id} belongs to a client not bound to this API key")
        return order

    def _order_by_ext(self, clients: Iterable[str], external_id: str, name: str, now: int) -> Order:
        """The newest visible order of ``clients`` with this external id."""
        found = [
            order
            for client_id in clients
            if (order := self._ext_index.get((client_id, external_id))) is not None
            and self._visible(order, now)
        ]
        if not found:
            raise NotFound(f"{name}: no order with external id {external_id!r}")
        return max(found, key=lambda o: o.timestamp)

    def _caller_clients(self, caller: AbstractSet[str]) -> list[str]:
        return sorted(c for c in caller if c in self._clients)

    def _recent_trades(self, instrument_id: str, now: int) -> list[Fill]:
        trades = self._trades[instrument_id]
        return trades[bisect_left(trades, now - DAY_NS, key=lambda t: t.timestamp) :]

    # ================================================================================ public: reference data
    def authenticate_key(self, key_id: str) -> ApiKey | None:
        """The API key with this id (for the HTTP layer's HMAC check), or None."""
        with self._lock:
            return self._keys.get(key_id)

    @_locked
    def list_assets(self, id: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        """Assets, optionally filtered by exact ``id`` and/or exact ``name``."""
        self._tick()
        asset_id = commands.opt_id(id, "id")
        return [
            views.asset_view(a)
            for a in self._assets.values()
            if (asset_id is None or a.id == asset_id) and (name is None or a.name == name)
        ]

    @_locked
    def list_instruments(self, id: str | None = None, symbol: str | None = None) -> list[dict[str, Any]]:
        """Instruments; ``symbol`` matches exactly or as a case-sensitive substring."""
        now = self._tick()
        instrument_id = commands.opt_id(id, "id")
        return [
            views.instrument_view(x, self._recent_trades(x.id, now))
            for x in self._instruments.values()
            if (instrument_id is None or x.id == instrument_id) and (symbol is None or symbol in x.symbol)
        ]

    # =================================================================================== public: market data
    @_locked
    def market_quotes(self, instrument_id: str | None = None) -> list[dict[str, Any]]:
        """EBBO of every instrument, or of one (``[]`` when it does not exist)."""
        self._tick()
        wanted = commands.opt_id(instrument_id, "instrument_id")
        return [
            views.ebbo_view(x, self._books[x.id], self._last_trade.get(x.id))
            for x in self._instruments.values()
            if wanted is None or x.id == wanted
        ]

    @_locked
    def market_trades(self, instrument_id: str | None = None) -> list[dict[str, Any]]:
        """Public trades of the last 24 h, newest first, of every instrument or of one."""
        now = self._tick()
        wanted = commands.opt_id(instrument_id, "instrument_id")
        trades = [t for x in self._instruments if wanted in (None, x) for t in self._recent_trades(x, now)]
        trades.sort(key=lambda t: (t.timestamp, int(t.match_id)), reverse=True)
        return [views.market_trade_view(t) for t in trades]

    @_locked
    def compute_quote(self, instrument_id: str, side: str, qty: str, qty_unit: str) -> dict[str, str]:
        """Walk the live book without changing it (POST /markets/quote).

        BASE: ``qty`` = base quantity fillable (the request, or less when the book runs out), ``price`` = VWAP,
        ``notional`` = sum(qty * price), ``notional_residual`` = "0". QUOTE: the largest base quantity (rounded down
        to the quantity increment at the last level) whose notional ≤ the requested amount;
        ``notional_residual`` = requested - notional. When nothing is fillable ``qty`` is "0" and ``price`` the best
        price. Fees are not included. Empty book side or unknown instrument → 404.
        """
        self._tick()
        unit = commands.enum(qty_unit, "qty_unit", ("BASE", "QUOTE"))
        return self._walk(instrument_id, side, qty, unit)

    @_locked
    def vwap_quote(self, instrument_id: str, qty: str) -> dict[str, str]:
        """Deprecated POST /market/quote: buy-side VWAP for a quote-asset amount ``qty``."""
        self._tick()
        result = self._walk(instrument_id, BUY, qty, "QUOTE")
        return {"quote": result["price"], "buy_amount": result["qty"]}

    def _walk(self, instrument_id: Any, side: Any, qty: Any, qty_unit: str) -> dict[str, str]:
        inst_id = commands.numeric_id(instrument_id, "instrument_id")
        side = commands.enum(side, "side", (BUY, SELL))
        amount = commands.decimal(qty, "qty")
        if amount <= 0:
            raise BadRequest("qty: must be greater than 0")
        instrument = self._instrument(inst_id, "instrument_id")
        opposite = SELL if side == BUY else BUY
        best = self._books[inst_id].best_price(opposite)
        if best is None:
            raise NotFound(
                f"instrument_id: no liquidity on the {'ask' if side == BUY else 'bid'} side of {instrument.symbol}"
            )
        levels = self._books[inst_id].levels(opposite)
        if qty_unit == "BASE":
            filled, notional = _walk_base(levels, amount)
            residual = ZERO
        else:
            filled, notional = _walk_quote(levels, amount, instrument.qty_increment)
            residual = amount - notional
        return {
            "qty": fmt(filled),
            "price": fmt(vwap(notional, filled) if filled else best),
            "notional": fmt(notional),
            "notional_residual": fmt(residual),
        }

    # ====================================================================================== public: clients
    @_locked
    def list_clients(
        self, caller: AbstractSet[str], id: str | None = None, mnemonic: str | None = None
    ) -> list[dict[str, Any]]:
        """The caller's clients, optionally filtered by ``id`` (403 when not the caller's) and ``mnemonic``."""
        self._tick()
        caller = commands.caller_set(caller)
        client_id = commands.opt_id(id, "id")
        if client_id is not None:
            self._client_for(caller, client_id, "id")
        return [
            views.client_view(self._clients[c])
            for c in self._caller_clients(caller)
            if (client_id is None or c == client_id)
            and (mnemonic is None or self._clients[c].mnemonic == mnemonic)
        ]

    @_locked
    def update_client(self, caller: AbstractSet[str], body: dict[str, Any]) -> dict[str, Any]:
        """PATCH /clients: ``{"id", "info": {"self_trade_prevention"}}`` → the client."""
        args = {"caller": sorted(commands.caller_set(caller)), "body": body}
        command, now = self._accept(UpdateClient.OP, args, lambda: commands.update_client(caller, body))
        return views.client_view(self._update_client(command, now))

    def _update_client(self, command: UpdateClient, now: int) -> Client:
        client = self._client_for(command.caller, command.client_id, "id")
        client.self_trade_prevention = command.self_trade_prevention
        if self._subscribers:
            self._emit(ClientChanged(now, views.client_view(client)))
        return client

    # ======================================================================================= public: orders
    @_locked
    def create_order(self, caller: AbstractSet[str], body: dict[str, Any]) -> dict[str, Any]:
        """POST /orders. Returns the order (possibly ``REJECTED`` with a ``text``); idempotent per external_id."""
        args = {"caller": sorted(commands.caller_set(caller)), "body": body}
        command, now = self._accept(NewOrder.OP, args, lambda: commands.new_order(caller, body))
        return views.order_view(self._create_order(command, now))

    def _create_order(self, command: NewOrder, now: int) -> Order:
        """A new order: the stored one for a repeat; else it is checked against the rules, then trades and rests."""
        client = self._client_for(command.caller, command.client_id, "info.client_id")
        instrument = self._instrument(command.instrument_id, "info.instrument_id")
        previous = self._repeat_of(command, now)
        if previous is not None:
            return previous
        order = self._new_order(command, client, instrument, now)
        reason = self._reject_reason(order, instrument, client)
        if reason is not None:
            order.status = REJECTED
            order.leaves = ZERO
            order.text = reason
            self._closed.append(order)
            self._report_order(OrderRejected, order)
            return order
        self._enter(order, instrument, now)
        return order

    def _repeat_of(self, command: NewOrder, now: int) -> Order | None:
        """The order an identical create made in the last 24 h; a different body with its external id is 409."""
        record = self._idem.get((command.client_id, command.external_id))
        if record is None or record.timestamp < now - DAY_NS:
            return None
        if record.body_json == command.body_json:
            return record.order
        raise Conflict(
            f"external_id: {command.external_id!r} was already used by client {command.client_id} in the last 24 h "
            f"(order {record.order.id}) with a different request body"
        )

    def _new_order(self, command: NewOrder, client: Client, instrument: Instrument, now: int) -> Order:
        """Store a new order from a create (``ACTIVE``, nothing held yet) with its idempotency record."""
        # A MARKET order trades (and holds) up to the edge of the price band.
        market_limit = instrument.band_high if command.side == BUY else instrument.band_low
        price = market_limit if command.price is None else command.price
        order = self._make_order(
            client,
            instrument,
            command.side,
            command.type,
            command.tif,
            price,
            command.qty,
            command.external_id,
            command.echo,
            now,
            alo=command.alo,
            stp=command.stp if command.stp in CLIENT_STP_VALUES else None,
        )
        self._remember(_Idempotency(client.id, command.external_id, command.body_json, now, order))
        return order

    def _make_order(
        self,
        client: Client,
        instrument: Instrument,
        side: str,
        otype: str,
        tif: str,
        price: Decimal,
        qty: Decimal,
        external_id: str | None,
        echo: Mapping[str, Any],
        now: int,
        *,
        alo: bool = False,
        stp: str | None = None,
    ) -> Order:
        """Store a new order: the next id (also its external id when it has none), ``order_info`` = the echo."""
        oid = self._new_id()
        order = Order(
            id=oid,
            client_id=client.id,
            instrument_id=instrument.id,
            side=side,
            type=otype,
            tif=tif,
            price=price,
            qty=qty,
            leaves=qty,
            external_id=external_id or oid,
            ref_external_id=external_id or oid,
            timestamp=now,
            update_timestamp=now,
            order_info={**echo, "msg_id": oid, "parent_id": "0"},
            alo=alo,
            stp=stp,
            hold_rate=self._hold_rate(client) if side == BUY else ZERO,
            hold_asset_id=_hold_asset(instrument, side),
        )
        self._register(order)
        return order

    def _enter(self, order: Order, instrument: Instrument, now: int) -> None:
        """An order that met the rules enters the market: its hold, then it trades and rests (or closes)."""
        self._set_hold(order)
        self._report_order(OrderAccepted, order)
        self._work(order, instrument, now)

    def _reject_reason(self, order: Order, instrument: Instrument, client: Client) -> str | None:
        """The first rule a new order breaks, as the order's ``text``; None when it may trade."""
        if client.status != ACTIVE:
            return f"client {client.id} is {client.status}"
        if instrument.status != ACTIVE:
            return f"instrument {instrument.symbol} is {instrument.status}"
        qty = order.qty
        if qty <= 0:
            return f"qty {fmt(qty)} must be greater than 0"
        if qty % instrument.qty_increment:
            return (
                f"qty {fmt(qty)} is not a multiple of the quantity increment {fmt(instrument.qty_increment)}"
            )
        if order.type == LIMIT and (problem := _price_problem(order.price, instrument)) is not None:
            return problem
        if order.alo and order.type == MARKET:
            return "exec_inst_flags ALO (add liquidity only) is not allowed on a MARKET order"
        if order.alo and (best := self._would_take(instrument, order.side, order.price)) is not None:
            return f"ALO (add liquidity only): price {fmt(order.price)} would take liquidity at {fmt(best)}"
        required = self._required_hold(order)
        available = self._accounts.available(client.id, order.hold_asset_id)
        if required > available:
            asset = self._assets[order.hold_asset_id].name
            return f"insufficient available {asset} balance: order needs {fmt(required)}, available {fmt(available)}"
        return None

    @_locked
    def modify_order(self, caller: AbstractSet[str], body: dict[str, Any]) -> dict[str, Any]:
        """PATCH /orders: new total qty / new price / optional conversion to MARKET."""
        args = {"caller": sorted(commands.caller_set(caller)), "body": body}
        command, now = self._accept(ModifyOrder.OP, args, lambda: commands.modify_order(caller, body))
        return views.order_view(self._modify_order(command, now))

    def _modify_order(self, command: ModifyOrder, now: int) -> Order:
        """Every rule is checked first (a failure is 400 and changes nothing), then the order changes."""
        client = self._client_for(command.caller, command.client_id, "info.client_id")
        order, new_ext = self._order_to_modify(command, client, now)
        if order.status != ACTIVE:
            raise Conflict(f"order {order.id} is {order.status}; only ACTIVE orders can be modified")
        instrument = self._instruments[order.instrument_id]
        new_leaves = self._modified_leaves(command.new_qty, order, instrument)
        new_price = self._modified_price(command, order, instrument)
        if new_ext is not None and new_ext != order.external_id:
            taken = self._idem.get((client.id, new_ext))
            if taken is not None and taken.timestamp >= now - DAY_NS and taken.order is not order:
                raise Conflict(f"external_id: {new_ext!r} is already used by order {taken.order.id}")
        more = _hold_for(order.side, new_leaves, new_price, order.hold_rate) - order.hold
        available = self._accounts.available(client.id, order.hold_asset_id)
        if more > available:
            asset = self._assets[order.hold_asset_id].name
            raise BadRequest(
                f"info.new_qty: insufficient available {asset} balance for the modified order: needs "
                f"{fmt(more)} more, available {fmt(available)}"
            )
        self._rename(order, new_ext, now)
        self._change(order, command, instrument, new_leaves, new_price, now)
        return order

    def _order_to_modify(self, command: ModifyOrder, client: Client, now: int) -> tuple[Order, str | None]:
        """The order (by exchange id, else by external id) and the external id it is to take, if any."""
        if command.order_id is None:
            assert command.external_id is not None
            return self._order_by_ext((client.id,), command.external_id, "external_id", now), None
        order = self._order_by_id(command.caller, command.order_id, "id", now)
        if order.client_id != client.id:
            raise BadRequest(
                f"info.client_id: order {order.id} belongs to client {order.client_id}, not {client.id}"
            )
        return order, command.external_id

    @staticmethod
    def _modified_leaves(new_qty: Decimal, order: Order, instrument: Instrument) -> Decimal:
        if new_qty % instrument.qty_increment:
            raise BadRequest(
                f"info.new_qty: {fmt(new_qty)} is not a multiple of the quantity increment {fmt(instrument.qty_increment)}"
            )
        new_leaves = new_qty - order.executed
        if new_leaves <= 0:
            raise BadRequest(
                f"info.new_qty: the new total quantity {fmt(new_qty)} must exceed the executed quantity "
                f"{fmt(order.executed)} (new leaves would be {fmt(new_leaves)})"
            )
        return new_leaves

    def _modified_price(self, command: ModifyOrder, order: Order, instrument: Instrument) -> Decimal:
        if command.to_market:
            if order.alo:
                raise BadRequest("info.new_type: an ALO (add liquidity only) order cannot become MARKET")
            return instrument.band_high if order.side == BUY else instrument.band_low
        new_price = command.new_price
        assert new_price is not None
        problem = _price_problem(new_price, instrument)
        if problem is not None:
            raise BadRequest(f"info.new_price: {problem}")
        if order.alo and new_price != order.price:
            best = self._would_take(instrument, order.side, new_price)
            if best is not None:
                raise BadRequest(
                    f"info.new_price: the order is ALO (add liquidity only) and {fmt(new_price)} "
                    f"would take liquidity at {fmt(best)}"
                )
        return new_price

    def _rename(self, order: Order, new_ext: str | None, now: int) -> None:
        """Give the order a new external id (``ref_external_id`` keeps the original one)."""
        if new_ext is None or new_ext == order.external_id:
            return
        order.external_id = new_ext
        order.renamed = [*(order.renamed or ()), new_ext]
        self._ext_index[order.client_id, new_ext] = order
        self._remember(_Idempotency(order.client_id, new_ext, None, now, order))

    def _change(
        self,
        order: Order,
        command: ModifyOrder,
        instrument: Instrument,
        new_leaves: Decimal,
        new_price: Decimal,
        now: int,
    ) -> None:
        """Apply a checked modify. A new price, a larger quantity or MARKET loses time priority (and may trade)."""
        prev_modify = order.modify_info["msg_id"] if order.modify_info else "0"
        order.modify_info = {
            **command.echo,
            "prev_modify": prev_modify,
            "msg_id": self._new_id(),
            "parent_id": "0",
        }
        order.update_timestamp = now
        order.text = None
        order.qty = command.new_qty
        if not (command.to_market or new_price != order.price or new_leaves > order.leaves):
            self._books[instrument.id].set_leaves(order, new_leaves, now)
            self._set_hold(order)
            self._report_order(OrderChanged, order)
            return
        self._books[instrument.id].remove(order, now)
        if command.to_market:
            order.type = MARKET
        order.price = new_price
        order.leaves = new_leaves
        self._set_hold(order)
        self._report_order(OrderChanged, order)
        self._work(order, instrument, now)

    @_locked
    def cancel_order(
        self, caller: AbstractSet[str], ref_id: str, id_type: str = "exchange"
    ) -> dict[str, Any]:
        """DELETE /orders/{ref_id}: answers ``CANCEL_PENDING``; the order is ``CANCELED`` (holds released) at once."""
        args = {"caller": sorted(commands.caller_set(caller)), "ref_id": ref_id, "id_type": id_type}
        command, now = self._accept(
            "cancel_order", args, lambda: commands.cancel_order(caller, ref_id, id_type)
        )
        return self._cancel_order(command, now)

    def _cancel_order(self, command: CancelOrder, now: int) -> dict[str, Any]:
        if command.by == "exchange":
            order = self._order_by_id(command.caller, command.ref_id, "ref_id", now)
        else:
            order = self._order_by_ext(self._caller_clients(command.caller), command.ref_id, "ref_id", now)
        if order.status != ACTIVE:
            raise Conflict(f"ref_id: order {order.id} is already {order.status}")
        order.update_timestamp = now
        view = views.order_view(order)
        view["status"] = CANCEL_PENDING
        self._close(order, CANCELED, now)
        return view

    @_locked
    def active_orders(self, caller: AbstractSet[str], id: str | None = None) -> list[dict[str, Any]]:
        """Open orders of the caller's clients (newest first), or the one with exchange ``id`` if still open."""
        now = self._tick()
        caller = commands.caller_set(caller)
        if id is not None:
            order = self._order_by_id(caller, commands.numeric_id(id, "id"), "id", now)
            return [views.order_view(order)] if order.status == ACTIVE else []
        orders = [o for c in self._caller_clients(caller) for o in self._open[c].values()]
        return [views.order_view(o) for o in _newest_first(orders)]

    @_locked
    def list_orders(self, caller: AbstractSet[str], query: str | None = None) -> list[dict[str, Any]]:
        """Orders created in the last 24 h (newest first), filtered by the JSON ``query`` string.

        ``query``: ``{"columns": [{"name": C, "filter": [{"$in": [...]}, {"$eq": "..."}]}]}`` with C one of
        status, side, instrument_id, type; all conditions must hold.
        """
        now = self._tick()
        caller = commands.caller_set(caller)
        predicate = commands.order_query(query)
        cutoff = now - DAY_NS
        orders = [
            order
            for client_id in self._caller_clients(caller)
            for order in self._client_orders[client_id]
            if order.timestamp >= cutoff and (predicate is None or predicate(order))
        ]
        return [views.order_view(o) for o in _newest_first(orders)]

    @_locked
    def order_status(
        self, caller: AbstractSet[str], ref_id: str, id_type: str | None = None
    ) -> dict[str, Any]:
        """One order by exchange id or external id (``id_type`` forces one; default: exchange id first)."""
        now = self._tick()
        caller = commands.caller_set(caller)
        kind = None if id_type is None else commands.enum(id_type, "id_type", ("exchange", "client"))
        ref = commands.text(ref_id, "ref_id")
        if kind == "exchange" or (kind is None and commands.ID_RE.match(ref) and ref in self._orders):
            order = self._order_by_id(caller, commands.numeric_id(ref, "ref_id"), "ref_id", now)
        else:
            order = self._order_by_ext(self._caller_clients(caller), ref, "ref_id", now)
        return views.order_view(order)

    @_locked
    def order_trades(
        self, caller: AbstractSet[str], timestamp: int | str | None = None
    ) -> list[dict[str, Any]]:
        """The caller's fills at or after ``timestamp`` (ns) within the last 24 h, newest first."""
        now = self._tick()
        caller = commands.caller_set(caller)
        since = max(commands.timestamp(timestamp, "timestamp") or 0, now - DAY_NS)
        fills = [
            fill
            for client_id in self._caller_clients(caller)
            for fill in self._fills[client_id]
            if fill.timestamp >= since
        ]
        fills.sort(key=lambda f: (f.timestamp, int(f.match_id), f.liq_flag == "TAKER"), reverse=True)
        return [views.fill_view(f) for f in fills]

    # ===================================================================================== public: balances
    @_locked
    def list_balances(
        self,
        caller: AbstractSet[str],
        asset_id: str | None = None,
        asset_name: str | None = None,
        client_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """One balance entity per caller client (or the ``client_id`` one), rows filtered by asset."""
        self._tick()
        caller = commands.caller_set(caller)
        wanted_asset = commands.opt_id(asset_id, "asset_id")
        wanted_client = commands.opt_id(client_id, "client_id")
        if wanted_client is not None:
            self._client_for(caller, wanted_client, "client_id")
        return [
            views.balance_view(
                cid,
                [
                    views.balance_row_view(aid, row)
                    for aid, row in self._accounts.rows[cid].items()
                    if wanted_asset in (None, aid) and asset_name in (None, self._assets[aid].name)
                ],
                self._fees_hold(cid),
            )
            for cid in self._caller_clients(caller)
            if wanted_client in (None, cid)
        ]

    def _fees_hold(self, client_id: str) -> Decimal:
        """The fee part of the client's BUY holds (across quote assets)."""
        return sum(
            (o.leaves * o.price * o.hold_rate for o in self._open[client_id].values() if o.side == BUY), ZERO
        )

    # ==================================================================================== public: transfers
    @_locked
    def create_transfer(self, caller: AbstractSet[str], body: dict[str, Any]) -> dict[str, Any]:
        """POST /transfers ``{"request": {...}}`` → the transfer (``REJECTED`` for a withdraw above available)."""
        delay = self.settle_delay_ns
        args = {"caller": sorted(commands.caller_set(caller)), "body": body, "settle_delay_ns": delay}
        command, now = self._accept(
            "create_transfer", args, lambda: commands.new_transfer(caller, body, delay)
        )
        return views.transfer_view(self._create_transfer(command, now))

    def _create_transfer(self, command: NewTransfer, now: int) -> Transfer:
        client = self._client_for(command.caller, command.client_id, "request.client_id")
        if command.asset_id not in self._assets:
            raise NotFound(f"request.asset_id: no asset with id {command.asset_id}")
        status = T_INITIALIZED
        if command.kind == WITHDRAW:
            if self._accounts.available(client.id, command.asset_id) < command.amount:
                status = T_REJECTED
            else:
                self._accounts.hold_for_transfers(client.id, command.asset_id, command.amount)
        transfer = Transfer(
            id=self._new_id(),
            client_id=client.id,
            asset_id=command.asset_id,
            type=command.kind,
            amount=command.amount,
            request=dict(command.echo),
            status=status,
            timestamp=now,
            update_timestamp=now,
            settle_at=now + command.settle_delay_ns,
        )
        self._transfers[transfer.id] = transfer
        self._client_transfers[client.id].append(transfer)
        if status != T_REJECTED:
            self._active_transfers.append(transfer)
        self._report_transfer(transfer)
        return transfer

    def _transfer_visible(self, transfer: Transfer, now: int) -> bool:
        return not transfer.is_final or transfer.timestamp >= now - DAY_NS

    @_locked
    def list_transfers(
        self, caller: AbstractSet[str], timestamp: int | str | None = None
    ) -> list[dict[str, Any]]:
        """Transfers created in the last 24 h and updated at or after ``timestamp`` (ns), newest first."""
        now = self._tick()
        caller = commands.caller_set(caller)
        since = commands.timestamp(timestamp, "timestamp") or 0
        found = [
            t
            for c in self._caller_clients(caller)
            for t in self._client_transfers[c]
            if t.timestamp >= now - DAY_NS and t.update_timestamp >= since
        ]
        return [views.transfer_view(t) for t in _newest_first(found)]

    @_locked
    def active_transfers(
        self, caller: AbstractSet[str], transfer_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Transfers not final yet (INITIALIZED/PENDING), newest first; or the one ``transfer_id`` if active."""
        now = self._tick()
        caller = commands.caller_set(caller)
        if transfer_id is not None:
            tid = commands.numeric_id(transfer_id, "transfer_id")
            transfer = self._transfers.get(tid)
            if transfer is None or not self._transfer_visible(transfer, now):
                raise NotFound(f"transfer_id: no transfer with id {tid}")
            if transfer.client_id not in caller:
                raise Forbidden(f"transfer_id: transfer {tid} belongs to a client not bound to this API key")
            return [] if transfer.is_final else [views.transfer_view(transfer)]
        found = [t for c in self._caller_clients(caller) for t in self._client_transfers[c] if not t.is_final]
        return [views.transfer_view(t) for t in _newest_first(found)]

    # ======================================================================================= public: tests
    @_locked
    def move_market(self, instrument_id: str, reference_price: str) -> dict[str, Any]:
        """Move an instrument's market (for tests; journaled like a command): a new reference price, so a new
        price band, and the house's quotes withdrawn and placed again around it at the next step. Other
        clients' resting orders stay where they are. The house quotes again at the start of the next call
        (``advance()`` does it at once). Returns the instrument as listed."""
        args = {"instrument_id": instrument_id, "reference_price": reference_price}
        command, now = self._accept(
            "move_market", args, lambda: commands.move_market(instrument_id, reference_price)
        )
        instrument = self._move_market(command, now)
        return views.instrument_view(instrument, self._recent_trades(instrument.id, now))

    def _move_market(self, command: MoveMarket, now: int) -> Instrument:
        moved = dataclasses.replace(
            self._instrument(command.instrument_id, "instrument_id"), reference_price=command.reference_price
        )
        self._instruments[moved.id] = moved
        if self._house is not None:
            house_id = self._house.client_id
            for order in [o for o in self._open[house_id].values() if o.instrument_id == moved.id]:
                self._close(order, CANCELED, now)
            self._house.regrid(moved)
        return moved

    # =================================================================================== public: inspection
    @contextlib.contextmanager
    def consistent(self) -> Iterator[None]:
        """Hold the exchange's lock across several public calls: what they read is one instant's state."""
        with self._lock:
            yield

    @_locked
    def advance(self) -> None:
        """Run the lazy lifecycle step now (every other public call does it too)."""
        self._tick()

    @_locked
    def totals(self) -> dict[str, Decimal]:
        """Sum of ``balance`` per asset id across every account (traders, house, fee account)."""
        totals = dict.fromkeys(self._assets, ZERO)
        for rows in self._accounts.rows.values():
            for asset_id, row in rows.items():
                totals[asset_id] += row.balance
        return totals

    @_locked
    def check_invariants(self) -> list[str]:
        """Every violated invariant, as text (empty when all hold). Does not advance the lifecycle."""
        return [
            *self._conservation_problems(),
            *self._order_problems(),
            *self._balance_problems(),
            *(problem for book in self._books.values() for problem in self._book_problems(book)),
        ]

    def _conservation_problems(self) -> Iterator[str]:
        for asset_id, total in self.totals().items():
            expected = self._initial[asset_id] + self._transfer_net[asset_id]
            if total != expected:
                yield f"asset {asset_id}: total {total} != seeded + net transfers {expected}"

    def _order_problems(self) -> Iterator[str]:
        for orders in self._open.values():
            for order in orders.values():
                required = self._required_hold(order)
                if order.status != ACTIVE or order.leaves <= 0:
                    yield f"order {order.id}: open but status {order.status} leaves {order.leaves}"
                if order.hold != required:
                    yield f"order {order.id}: hold {order.hold} != required {required}"
                if order.leaves + order.executed != order.qty:
                    yield f"order {order.id}: leaves + executed != qty"
                if not order.book_seq:
                    yield f"order {order.id}: open but not in the book"
        for order in self._orders.values():
            if order.status != ACTIVE and order.hold:
                yield f"order {order.id}: {order.status} but still holds {order.hold}"

    def _balance_problems(self) -> Iterator[str]:
        need_order: dict[tuple[str, str], Decimal] = {}
        for client_id, orders in self._open.items():
            for order in orders.values():
                key = (client_id, order.hold_asset_id)
                need_order[key] = need_order.get(key, ZERO) + self._required_hold(order)
        need_transfer: dict[tuple[str, str], Decimal] = {}
        for transfer in self._active_transfers:
            if transfer.type == WITHDRAW:
                key = (transfer.client_id, transfer.asset_id)
                need_transfer[key] = need_transfer.get(key, ZERO) + transfer.amount
        for client_id, rows in self._accounts.rows.items():
            for asset_id, row in rows.items():
                where = f"client {client_id} asset {asset_id}"
                if row.balance < 0 or row.order_hold < 0 or row.transfer_hold < 0:
                    yield f"{where}: negative component {row}"
                if row.available < 0:
                    yield f"{where}: negative available {row.available}"
                needed = need_order.get((client_id, asset_id), ZERO)
                if row.order_hold != needed:
                    yield f"{where}: order_hold {row.order_hold} != open orders need {needed}"
                if row.transfer_hold != need_transfer.get((client_id, asset_id), ZERO):
                    yield f"{where}: transfer_hold {row.transfer_hold} != pending withdrawals"

    def _book_problems(self, book: OrderBook[Order]) -> Iterator[str]:
        instrument_id = book.instrument_id
        if book.is_crossed():
            yield f"book {instrument_id}: crossed (bid {book.best_price(BUY)} >= ask {book.best_price(SELL)})"
        seen: set[str] = set()
        for side in (BUY, SELL):
            for level in book.levels(side):
                live = list(level.orders())
                if level.count != len(live) or level.qty != sum((o.leaves for o in live), ZERO):
                    yield f"book {instrument_id}: level {side} {level.price} totals are off"
                for o in live:
                    seen.add(o.id)
                    if o.price != level.price or o.side != side or o.instrument_id != instrument_id:
                        yield f"book {instrument_id}: order {o.id} sits at the wrong level"
        resting = {
            oid for c in self._open.values() for oid, o in c.items() if o.instrument_id == instrument_id
        }
        if seen != resting:
            yield f"book {instrument_id}: resting orders differ from open orders"

    @_locked
    def dump_state(self) -> dict[str, Any]:
        """Everything observable, JSON-ready (debugging, replay-equivalence tests).

        Only what a query could still see is included (retention windows applied), so the result does not
        depend on when memory was last pruned.
        """
        now = self._now
        day_ago = now - DAY_NS
        return {
            "now": str(now),
            "next_id": str(self._next_id),
            "clients": [views.client_view(c) for c in self._clients.values()],
            "balances": {c: _balances_dump(rows) for c, rows in self._accounts.rows.items()},
            "orders": [views.order_view(o) for o in self._orders.values() if self._visible(o, now)],
            "open": {c: list(orders) for c, orders in self._open.items()},
            "books": {i: _book_dump(book) for i, book in self._books.items()},
            "fills": {
                c: [views.fill_view(f) for f in _since(fills, day_ago)] for c, fills in self._fills.items()
            },
            "trades": {
                i: [t.match_id for t in _since(trades, day_ago)] for i, trades in self._trades.items()
            },
            "transfers": [
                views.transfer_view(t) for t in self._transfers.values() if self._transfer_visible(t, now)
            ],
            "idempotency": sorted(
                _idempotency_dump(r) for r in self._idem.values() if r.timestamp >= day_ago
            ),
        }


def _balances_dump(rows: dict[str, Balance]) -> dict[str, list[str]]:
    return {a: [fmt(r.balance), fmt(r.order_hold), fmt(r.transfer_hold)] for a, r in rows.items()}


def _idempotency_dump(record: _Idempotency) -> list[str]:
    return [
        record.client_id,
        record.external_id,
        record.order.id,
        record.body_json or "",
        str(record.timestamp),
    ]


def _book_dump(book: OrderBook[Order]) -> dict[str, list[list[str]]]:
    return {side: [[o.id, fmt(o.leaves)] for o in book.orders(side)] for side in (BUY, SELL)}


def _since(fills: list[Fill], timestamp: int) -> list[Fill]:
    return [f for f in fills if f.timestamp >= timestamp]


# ------------------------------------------------------------------------------------------- the rules
def _hold_asset(instrument: Instrument, side: str) -> str:
    """A BUY holds the quote asset, a SELL the base asset."""
    return instrument.quote_asset_id if side == BUY else instrument.base_asset_id


def _hold_for(side: str, qty: Decimal, price: Decimal, hold_rate: Decimal) -> Decimal:
    """What an order of ``qty`` at ``price`` holds: BUY ``qty x price x (1 + fee rate)``, SELL ``qty``."""
    return qty * price * (ONE + hold_rate) if side == BUY else qty


def _price_problem(price: Decimal, instrument: Instrument) -> str | None:
    """Why a limit price is refused: not positive, off the price grid, or outside the price band."""
    if price <= 0:
        return f"price {fmt(price)} must be greater than 0"
    if price % instrument.price_increment:
        return (
            f"price {fmt(price)} is not a multiple of the price increment {fmt(instrument.price_increment)}"
        )
    if not instrument.band_low <= price <= instrument.band_high:
        return (
            f"price {fmt(price)} is outside the price band [{fmt(instrument.band_low)}, {fmt(instrument.band_high)}] "
            f"(reference price {fmt(instrument.reference_price)} +/- {fmt(instrument.price_bands_percent)})"
        )
    return None


def _walk_base(levels: Iterable[Level[Order]], amount: Decimal) -> tuple[Decimal, Decimal]:
    """(qty, notional) of taking ``amount`` of the base asset from ``levels`` (less when they run out)."""
    filled = notional = ZERO
    for level in levels:
        take = min(amount - filled, level.qty)
        filled += take
        notional += take * level.price
        if filled >= amount:
            break
    return filled, notional


def _walk_quote(levels: Iterable[Level[Order]], amount: Decimal, step: Decimal) -> tuple[Decimal, Decimal]:
    """(qty, notional) of spending at most ``amount`` of the quote asset, in whole quantity increments."""
    filled = notional = ZERO
    for level in levels:
        level_notional = level.qty * level.price
        if notional + level_notional > amount:
            take = ((amount - notional) // (level.price * step)) * step
            return filled + take, notional + take * level.price
        filled += level.qty
        notional += level_notional
    return filled, notional


_Timed = TypeVar("_Timed", Order, Transfer)


def _newest_first(items: list[_Timed]) -> list[_Timed]:
    return sorted(items, key=lambda x: (x.timestamp, int(x.id)), reverse=True)
