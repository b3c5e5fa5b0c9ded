"""The exchange core: one :class:`Exchange` per sandbox, the single writer of all state.

Pure Python, no HTTP. Deterministic given the seed, the id counter start and the clock: ``clock()`` returns
Unix nanoseconds (made monotonic inside: a clock going backwards is treated as standing still), ids are
18-digit numeric strings counting up from ``id_start``. Every public method takes the one ``RLock``, runs
with an exact decimal context (precision 200, ``Inexact`` trapped: money arithmetic never rounds; only VWAPs
are rounded, to 10 decimal places) and first runs the lazy lifecycle step ``_advance(now)`` (transfer
settlement, house re-quoting). Outputs are JSON-ready dicts/lists of strings (fee tiers are ints).

Request problems raise :class:`EngineError` subclasses (``status``/``title``/``detail``; ``detail`` names the
field and the rule). Business rejections of a new order are not errors: the order is stored with status
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
import functools
import json
import re
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable
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
    getcontext,
    localcontext,
    setcontext,
)
from pathlib import Path
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

from .book import OrderBook
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
    MAX_DECIMAL_CHARS,
    ONE,
    REJECTED,
    SELL,
    STP_CANCEL_AGGRESSIVE,
    STP_CANCEL_BOTH,
    STP_NONE,
    T_COMPLETED,
    T_INITIALIZED,
    T_PENDING,
    T_REJECTED,
    WITHDRAW,
    ZERO,
    ApiKey,
    Asset,
    Balance,
    Client,
    Fill,
    Instrument,
    Order,
    Transfer,
    fmt,
    parse_decimal,
)
from .seed import MarketMaking, Seed, default_seed, seed_from_dict, seed_to_dict
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
_VWAP_QUANTUM: Final = Decimal("1e-10")
#: The arguments each kind of journal record carries.
_RECORD_KEYS: Final = {
    "advance": frozenset(),
    "create_order": frozenset({"caller", "body"}),
    "modify_order": frozenset({"caller", "body"}),
    "cancel_order": frozenset({"caller", "ref_id", "id_type"}),
    "update_client": frozenset({"caller", "body"}),
    "create_transfer": frozenset({"caller", "body", "settle_delay_ns"}),
}

# Exact arithmetic on wire decimals of up to MAX_DECIMAL_CHARS (64) digits: a product of three of them
# (qty x price x fee factor) has at most 192 significant digits.
_CTX: Final = Context(
    prec=200, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact]
)
_ROUND_CTX: Final = Context(
    prec=80, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)

_ID_RE: Final = re.compile(r"^[1-9][0-9]*$")
_EXT_RE: Final = re.compile(r"^[A-Za-z0-9._~-]{1,18}$")
_UUID4_RE: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_ORDER_STP: Final = frozenset({"INVALID", STP_NONE, STP_CANCEL_AGGRESSIVE, STP_CANCEL_BOTH})
_QUERY_COLUMNS: Final = ("status", "side", "instrument_id", "type")
_SIDES: Final = frozenset({BUY, SELL})
_TYPES: Final = frozenset({LIMIT, MARKET})
_TIFS: Final = frozenset({GTC, IOC})
#: Optional ``info`` fields of a create, echoed in ``order_info`` in this order when present.
_OPTIONAL_INFO: Final = ("exec_inst_flags", "stp", "flags", "hold_fee_rate")
#: The ``info`` keys of a create that has none of the optional fields (one subset test instead of four look-ups).
_PLAIN_INFO_KEYS: Final = frozenset({"client_id", "instrument_id", "side", "type", "tif", "qty", "price"})
#: Bound of each per-instrument cache of Exchange._qty_fits / _price_fits (cleared when full).
_FITS_MAX: Final = 16384


# ---------------------------------------------------------------------------------------------- errors
class EngineError(Exception):
    """A request problem; the HTTP layer renders it as an RFC 7807 problem."""

    status: int = 500
    title: str = "Internal Server Error"
    #: Seconds after which a retry may succeed (``Retry-After``); None: retrying the same request will not help.
    retry_after: int | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def problem(self) -> dict[str, Any]:
        return {"type": "about:blank", "title": self.title, "status": self.status, "detail": self.detail}


class BadRequest(EngineError):
    status = 400
    title = "Bad Request"


class Forbidden(EngineError):
    status = 403
    title = "Forbidden"


class NotFound(EngineError):
    status = 404
    title = "Not Found"


class Conflict(EngineError):
    status = 409
    title = "Conflict"


class Unavailable(EngineError):
    """The journal could not be written: the command did not happen (nothing changed); retry it later."""

    status = 503
    title = "Service Unavailable"
    #: Seconds to wait before a retry (the HTTP layer sends it as ``Retry-After``).
    retry_after = 1


# --------------------------------------------------------------------------------------- small helpers
P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[Concatenate[Exchange, P], R]) -> Callable[Concatenate[Exchange, P], R]:
    """Run a public method under the exchange lock with the exact decimal context."""

    @functools.wraps(method)
    def wrapper(self: Exchange, /, *args: P.args, **kwargs: P.kwargs) -> R:
        # Acquire/release and get/set the decimal context by hand: ``with lock, localcontext(_CTX)`` copies the
        # context on every call and costs twice as much (this wraps every public call of the engine).
        lock = self._lock
        lock.acquire()
        outer = getcontext()
        setcontext(self._ctx)
        try:
            return method(self, *args, **kwargs)
        finally:
            setcontext(outer)
            lock.release()

    return wrapper


def _vwap(notional: Decimal, qty: Decimal) -> Decimal:
    if not qty:
        return ZERO
    return _ROUND_CTX.divide(notional, qty).quantize(_VWAP_QUANTUM, context=_ROUND_CTX)


#: fmt(_vwap(qty x price, qty)) by price: the VWAP of fills at one price (prices repeat; their hash is cached).
_PRICE_VWAP: Final[dict[Decimal, str]] = {}
_PRICE_VWAP_MAX: Final = 16384


def _price_vwap_text(price: Decimal) -> str:
    text = _PRICE_VWAP.get(price)
    if text is None:
        text = fmt(price.quantize(_VWAP_QUANTUM, context=_ROUND_CTX))
        if len(_PRICE_VWAP) >= _PRICE_VWAP_MAX:
            _PRICE_VWAP.clear()
        _PRICE_VWAP[price] = text
    return text


def _obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{name}: must be a JSON object")
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{name}: is required and must be a string")
    return value


def _id(value: Any, name: str) -> str:
    if not isinstance(value, str) or _ID_RE.match(value) is None:
        raise BadRequest(f"{name}: must be a numeric id string matching ^[1-9][0-9]*$")
    return value


def _opt_id(value: Any, name: str) -> str | None:
    return None if value is None else _id(value, name)


#: Parsed wire decimals by their exact string (a Decimal is immutable, so one object can serve every order with
#: that string: the exponent is kept, "0.010" and "0.01" are different entries). Bounded: cleared when full.
_DEC_CACHE: Final[dict[str, Decimal]] = {}
_DEC_CACHE_MAX: Final = 16384


def _try_dec(value: Any) -> Decimal | None:
    """The Decimal of a wire decimal string (a plain ``str``), or None when it is not one."""
    if type(value) is not str:
        return None
    number = _DEC_CACHE.get(value)
    if number is None:
        number = parse_decimal(value)
        if number is not None:
            if len(_DEC_CACHE) >= _DEC_CACHE_MAX:
                _DEC_CACHE.clear()
            _DEC_CACHE[value] = number
    return number


def _dec(value: Any, name: str) -> Decimal:
    number = _try_dec(value)
    if number is not None:
        return number
    if not isinstance(value, str):
        raise BadRequest(f"{name}: is required and must be a decimal string")
    number = parse_decimal(value)
    if number is None:
        raise BadRequest(
            f"{name}: must be a decimal string matching ^-?[0-9]+(\\.[0-9]+)?$ (at most {MAX_DECIMAL_CHARS} characters)"
        )
    return number


def _enum(value: Any, name: str, allowed: Iterable[str]) -> str:
    if type(value) is str and value in allowed:  # the common case: no tuple, no str() copy
        return value
    options = tuple(allowed)
    if value not in options:
        raise BadRequest(f"{name}: must be one of {', '.join(options)}")
    return str(value)


def _timestamp(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise BadRequest(f"{name}: must be Unix nanoseconds as a non-negative integer string")


def _external_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or (_EXT_RE.match(value) is None and _UUID4_RE.match(value) is None):
        raise BadRequest(
            f"{name}: must be 1-18 characters of A-Z a-z 0-9 - _ . ~ or a lowercase hyphenated UUIDv4"
        )
    return value


def _caller(caller: AbstractSet[str]) -> AbstractSet[str]:
    if isinstance(caller, str):
        raise TypeError("caller must be a set of client ids, not a string")
    return caller


def _canonical(body: Any, name: str = "body") -> str:
    try:
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    except (TypeError, ValueError):
        raise BadRequest(f"{name}: must be JSON-serialisable data") from None


_CONTAINERS: Final = (dict, list, tuple)

_new_fill: Final = tuple.__new__


#: Exact types that _freeze never needs to copy (a subclass takes the general path).
_SCALAR_TYPES: Final = frozenset({str, int, float, bool, type(None)})


def _freeze(value: Any) -> Any:
    """A private copy of JSON-like data (compared with ``==`` for idempotency: key order does not matter)."""
    if type(value) is dict and _SCALAR_TYPES.issuperset(map(type, value.values())):
        return value.copy()  # the common ``info``: only scalars, checked in C
    if isinstance(value, dict):
        out = value.copy()  # then copy only the containers inside (an order's body has two or three)
        for k, v in value.items():
            if type(v) is not str and isinstance(v, _CONTAINERS):
                out[k] = _freeze(v)
        return out
    if isinstance(value, (list, tuple)):
        return [_freeze(v) if isinstance(v, _CONTAINERS) else v for v in value]
    return value


#: A validated create: client, instrument, external_id, info, side, type, tif, qty, price (None: MARKET),
#: ALO, the order's own stp field as sent.
_OrderRequest = tuple[
    Client, Instrument, str, dict[str, Any], str, str, str, Decimal, Decimal | None, bool, Any
]


@dataclass(slots=True)
class _Idem:
    """The idempotency record of an external id set by a modify (no request body to compare)."""

    key: tuple[str, str]
    ts: int
    order: Order


#: An idempotency record: the created :class:`Order` itself (its ``idem_body``, ``timestamp`` and original external
#: id are the record: no extra object per order), or an :class:`_Idem` for an external id set by a modify.
_IdemRecord = Order | _Idem


def _idem_parts(record: _IdemRecord) -> tuple[dict[str, Any] | None, int, Order]:
    """(request body or None, timestamp, order) of an idempotency record."""
    if type(record) is _Idem:
        return None, record.ts, record.order
    assert isinstance(record, Order)
    body = record.idem_body
    if type(body) is bool:
        return _common_body(record, body), record.timestamp, record
    assert body is None or type(body) is dict
    return body, record.timestamp, record


#: The ``info`` keys of a common create body, ``tif`` aside (see :func:`_common_body`).
_COMMON_INFO_KEYS: Final = ("client_id", "instrument_id", "qty", "price", "side", "type")


def _common_body(order: Order, tif_sent: bool) -> dict[str, Any]:
    """The request body of an order created from a common body, rebuilt from its ``order_info``.

    A common body is ``{"external_id", "info"}`` with a LIMIT ``info`` holding exactly the required keys (and
    ``tif`` when ``tif_sent``): ``order_info`` holds each of those values as sent.
    """
    order_info = order.order_info
    info = {key: order_info[key] for key in _COMMON_INFO_KEYS}
    if tif_sent:
        info["tif"] = order_info["tif"]
    return {"external_id": order.ref_external_id, "info": info}


def _idem_key(record: _IdemRecord) -> tuple[str, str]:
    if type(record) is _Idem:
        return record.key
    assert isinstance(record, Order)
    return (record.client_id, record.ref_external_id)


# ------------------------------------------------------------------------------------------- exchange
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
        # The exact context, one per exchange (only the thread holding the lock uses it: see ``_locked``).
        self._ctx = _CTX.copy()
        self._clock: Callable[[], int] = clock or time.time_ns
        self.settle_delay_ns = settle_delay_ns
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
        self._house_replenish = house_replenish
        self._now = 0
        self._next_prune = 0
        self._load_seed(seed)
        with self._lock, localcontext(_CTX):
            for record in self._store.records():
                self._replay(record)
            self._tick()

    # ------------------------------------------------------------------------------------ setup
    def _load_seed(self, seed: Seed) -> None:
        self._assets: dict[str, Asset] = {a.id: a for a in seed.assets}
        self._instruments: dict[str, Instrument] = {i.id: i for i in seed.instruments}
        self._tiers = dict(seed.fee_tiers)
        self._clients: dict[str, Client] = {c.id: c for c in seed.clients}
        # Clients and instruments whose ids are well-formed: a create naming one skips the id pattern checks.
        self._plain_clients = {k: c for k, c in self._clients.items() if _ID_RE.match(k) and "\n" not in k}
        self._plain_instruments = {
            k: i for k, i in self._instruments.items() if _ID_RE.match(k) and "\n" not in k
        }
        #: Per instrument, whether a quantity / a limit price passes the grid rules (see _qty_fits, _price_fits).
        self._fits: dict[str, tuple[dict[Decimal, bool], dict[Decimal, bool]]] = {
            k: ({}, {}) for k in self._instruments
        }
        self._keys: dict[str, ApiKey] = {k.key_id: k for k in seed.api_keys}
        self._fee_client = seed.fee_client_id
        self._mm_client = seed.market_maker_client_id
        self._making: list[MarketMaking] = list(seed.market_making)
        self._house_dirty = bool(self._mm_client and self._making)
        # The house grid, computed once: (instrument, qty, side, opposite side, prices best first).
        self._grid: list[tuple[Instrument, Decimal, str, str, list[Decimal]]] = []
        for making in self._making:
            instrument = self._instruments[making.instrument_id]
            bids, asks = making.prices(instrument)
            self._grid.append((instrument, making.qty, BUY, SELL, bids))
            self._grid.append((instrument, making.qty, SELL, BUY, asks))
        # The grid flattened, one slot per level in grid order, and where each level's key sits in it, so that
        # a re-quote visits only the pending levels (in grid order) instead of scanning the grid.
        self._grid_slots: list[tuple[tuple[str, str, Decimal], Instrument, Decimal, str, str, Decimal]] = []
        self._grid_where: dict[tuple[str, str, Decimal], list[int]] = {}
        for instrument, qty, side, opposite, prices in self._grid:
            for price in prices:
                key = (instrument.id, side, price)
                self._grid_where.setdefault(key, []).append(len(self._grid_slots))
                self._grid_slots.append((key, instrument, qty, side, opposite, price))
        # Grid levels the next re-quote must look at: those whose house order closed, and those it skipped
        # (would cross, or no balance). Every other level still has its house order, unless a house order
        # was modified away from its level: then the next re-quote scans the whole grid, as the first one.
        self._house_pending: set[tuple[str, str, Decimal]] = set()
        self._house_full_scan = True
        # When a re-quote placed nothing, what its outcome depended on besides the pending set: the books and
        # house balance rows of the pending levels' instruments, and the state read from them (best prices,
        # available balances, hold rate). The next re-quote is skipped while that state is unchanged; any
        # change to the pending set or the grid's house orders drops it (``_house_sig = None``).
        self._house_watch: list[tuple[OrderBook[Order], Balance, Balance]] = []
        self._house_watch_ids: set[str] = set()
        self._house_sig: tuple[object, ...] | None = None
        self._balances: dict[str, dict[str, Balance]] = {
            c: {a: Balance() for a in self._assets} for c in self._clients
        }
        self._initial: dict[str, Decimal] = dict.fromkeys(self._assets, ZERO)
        for client_id, rows in seed.balances.items():
            for asset_id, amount in rows.items():
                self._balances[client_id][asset_id].balance += amount
                self._initial[asset_id] += amount
        self._transfer_net: dict[str, Decimal] = dict.fromkeys(self._assets, ZERO)
        self._books: dict[str, OrderBook[Order]] = {i: OrderBook(i) for i in self._instruments}
        self._orders: dict[str, Order] = {}
        self._open: dict[str, dict[str, Order]] = {c: {} for c in self._clients}
        self._client_orders: dict[str, list[Order]] = {c: [] for c in self._clients}
        #: Closed orders in closing order (an order's ``update_timestamp`` is its closing time once closed).
        self._closed: deque[Order] = deque()
        self._ext_index: dict[tuple[str, str], Order] = {}
        self._idem: dict[tuple[str, str], _IdemRecord] = {}
        #: Idempotency records in creation order, for pruning.
        self._idem_q: deque[_IdemRecord] = deque()
        self._fills: dict[str, list[Fill]] = {c: [] for c in self._clients}
        self._trades: dict[str, list[Fill]] = {i: [] for i in self._instruments}
        self._last_trade: dict[str, Fill] = {}
        self._transfers: dict[str, Transfer] = {}
        self._client_transfers: dict[str, list[Transfer]] = {c: [] for c in self._clients}
        self._active_transfers: list[Transfer] = []

    def _new_id(self) -> str:
        value = self._next_id
        self._next_id = value + 1
        return str(value)

    # -------------------------------------------------------------------------- time & journal
    def _tick(self) -> int:
        """Read the clock and run the lifecycle step (journaled first when it may change something)."""
        return self._step(self._read_clock(), journaled=False)

    def _read_clock(self) -> int:
        """The clock, made monotonic (a clock going backwards stands still)."""
        now = self._clock()
        if type(now) is not int:
            now = int(now)
        return now if now > self._now else self._now

    def _step(self, now: int, *, journaled: bool) -> int:
        """Move to ``now`` and run the lifecycle step; ``journaled``: a record at ``now`` is already written."""
        if self._active_transfers or self._house_dirty or now >= self._next_prune:
            self._lifecycle(now, journaled)
        self._now = now
        return now

    def _journal_first(self, op: str, args: dict[str, Any]) -> int:
        """Write a command durably, then run the lifecycle step at its time; that time.

        Journal first, then memory: when the write fails nothing has changed (:class:`Unavailable`). The one
        record also stands for the lifecycle step, since replay runs the step before every record; and a
        command the engine then refuses replays to the same refusal (the engine is deterministic).
        """
        now = self._read_clock()
        self._write(now, op, _canonical(args))
        return self._step(now, journaled=True)

    def _write(self, now: int, op: str, args_json: str) -> None:
        try:
            self._store.append(now, op, args_json)
        except JournalWriteError as exc:
            raise Unavailable(str(exc)) from exc

    def _lifecycle(self, now: int, journaled: bool) -> None:
        """The part of :meth:`_step` when there is something to do."""
        if (
            self._house_dirty
            and not self._active_transfers
            and now < self._next_prune
            and (sig := self._house_sig) is not None
            and self._house_pending
            and not self._house_full_scan
            and (house := self._mm_client) is not None
        ):
            # What _advance -> _requote -> _house_state finds when nothing changed since the last re-quote that
            # placed nothing (the common case after a house fill), without that call chain: the same inputs, read
            # in the same order as _house_state and compared piece by piece with the state it recorded.
            client = self._clients[house]
            tiers = self._tiers
            maker = tiers[client.maker_fee_tier].maker
            taker = tiers[client.taker_fee_tier].taker
            same = sig[0] == (taker if taker > maker else maker)
            i = 1
            if same:
                for book, base, quote in self._house_watch:
                    if (
                        sig[i] != book.best_prices()
                        or sig[i + 1] != base.balance - base.order_hold - base.transfer_hold
                        or sig[i + 2] != quote.balance - quote.order_hold - quote.transfer_hold
                    ):
                        same = False
                        break
                    i += 3
            if same and i == len(sig):
                self._house_dirty = self._house_replenish
                return
        if self._active_transfers or self._house_dirty:
            if not journaled and self._journaling and self._advance_due(now):
                # A read's step: journaled before it changes memory, as a command is.
                self._write(now, "advance", "{}")
            self._advance(now)
        if now >= self._next_prune:
            self._prune(now)

    def _advance_due(self, now: int) -> bool:
        """Whether ``_advance(now)`` may change something: a transfer moves on, or a re-quote may place.

        Never says no when it would change something (the journal must hold every change); says yes only for
        the same inputs as ``_requote`` (so a read waiting for a settlement does not write a record each time).
        """
        if any(t.status == T_INITIALIZED or now >= t.settle_at for t in self._active_transfers):
            return True
        house = self._mm_client
        if not self._house_dirty or house is None:
            return False
        if self._house_full_scan:
            return True
        return bool(self._house_pending) and self._house_state(house) != self._house_sig

    def _replay(self, record: Record) -> None:
        """Apply one record as it ran live: the lifecycle step at its time, then the command."""
        now = max(record.ts, self._now)
        self._now = now
        self._advance(now)
        if now >= self._next_prune:
            self._prune(now)
        # Journal first records the commands the engine then refuses: replay refuses them the same way.
        with contextlib.suppress(EngineError):
            self._apply(record)

    def _apply(self, record: Record) -> None:
        """Run a record's command (an ``advance`` record has none)."""
        args, now, op = record.args, self._now, record.op
        keys = _RECORD_KEYS.get(op)
        if keys is None or not isinstance(args, dict) or not keys <= args.keys():
            raise JournalError(
                f"journal record {record.seq} ({op!r}) is not a command this sandbox wrote; restore the file "
                "from a backup or pass a new file to --db"
            )
        if op == "advance":
            return
        caller = frozenset(args["caller"])
        if op == "create_order":
            self._create_order(caller, args["body"], now)
        elif op == "modify_order":
            self._modify_order(caller, args["body"], now)
        elif op == "cancel_order":
            self._cancel_order(caller, args["ref_id"], args["id_type"], now)
        elif op == "update_client":
            self._update_client(caller, args["body"])
        else:
            self._create_transfer(caller, args["body"], now, int(args["settle_delay_ns"]))

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

    # ------------------------------------------------------------------------------ lifecycle
    def _advance(self, now: int) -> bool:
        changed = False
        if self._active_transfers:
            remaining: list[Transfer] = []
            for transfer in self._active_transfers:
                if now >= transfer.settle_at:
                    self._complete_transfer(transfer, now)
                    changed = True
                elif transfer.status == T_INITIALIZED:
                    transfer.status = T_PENDING
                    transfer.update_timestamp = now
                    remaining.append(transfer)
                    changed = True
                else:
                    remaining.append(transfer)
            self._active_transfers = remaining
        if self._house_dirty:
            changed = self._requote(now) or changed
        return changed

    def _complete_transfer(self, transfer: Transfer, now: int) -> None:
        row = self._balances[transfer.client_id][transfer.asset_id]
        if transfer.type == DEPOSIT:
            row.balance += transfer.amount
            self._transfer_net[transfer.asset_id] += transfer.amount
        else:
            row.transfer_hold -= transfer.amount
            row.balance -= transfer.amount
            self._transfer_net[transfer.asset_id] -= transfer.amount
        transfer.status = T_COMPLETED
        transfer.update_timestamp = now

    def _requote(self, now: int) -> bool:
        """Place the house orders missing from the configured grid (post-only; skip levels that would cross).

        Only the levels that may be missing are looked at (``_house_pending``), in grid order, so the result is
        the same as scanning the whole grid: re-quoting used to cost a scan of every level after every fill.
        """
        house = self._mm_client
        assert house is not None
        self._house_dirty = False
        full = self._house_full_scan
        pending = self._house_pending
        if not full and not pending:
            return False
        sig: tuple[object, ...] | None = None
        if not full:
            sig = self._house_state(house)
            if sig == self._house_sig:  # same inputs as the last re-quote, which placed nothing
                self._house_dirty = self._house_replenish
                return False
        self._house_full_scan = False
        skipped: set[tuple[str, str, Decimal]] = set()
        placed = False
        retry = False
        slots = self._grid_slots
        if full:
            todo: Iterable[int] = range(len(slots))
        else:
            where = self._grid_where
            todo = sorted(i for key in pending for i in where.get(key, ()))
        for i in todo:
            key, instrument, qty, side, opposite, price = slots[i]
            book = self._books[instrument.id]
            level = book.level_at(side, price)
            if level is not None and any(o.client_id == house for o in level.orders()):
                continue
            best = book.best_price(opposite)
            if best is not None and (price >= best if side == BUY else price <= best):
                retry = True
                skipped.add(key)
                continue
            if self._place_house(house, instrument, side, price, qty, now):
                placed = True
            else:
                skipped.add(key)
        self._house_pending = skipped
        self._house_dirty = retry and self._house_replenish
        if placed or not retry:
            self._house_sig = None
        else:  # nothing changed during this re-quote: the state it read is the state now
            ids = {key[0] for key in skipped}
            if ids != self._house_watch_ids:
                self._watch_house(house, ids)
                sig = None
            self._house_sig = self._house_state(house) if sig is None else sig
        return placed

    def _watch_house(self, house: str, ids: set[str]) -> None:
        """Set the books and house balance rows :meth:`_house_state` reads for instruments ``ids``."""
        self._house_watch_ids = ids
        rows = self._balances[house]
        watch = []
        for instrument_id in sorted(ids):
            instrument = self._instruments[instrument_id]
            watch.append(
                (self._books[instrument_id], rows[instrument.base_asset_id], rows[instrument.quote_asset_id])
            )
        self._house_watch = watch

    def _house_state(self, house: str) -> tuple[object, ...]:
        """What a re-quote of the pending levels reads: best prices, available balances, the hold rate."""
        state: list[object] = [self._hold_rate(self._clients[house])]
        for book, base, quote in self._house_watch:
            state += (
                book.best_prices(),
                base.balance - base.order_hold - base.transfer_hold,
                quote.balance - quote.order_hold - quote.transfer_hold,
            )
        return tuple(state)

    def _place_house(
        self, house: str, instrument: Instrument, side: str, price: Decimal, qty: Decimal, now: int
    ) -> bool:
        client = self._clients[house]
        buying = side == BUY
        hold_rate = self._hold_rate(client) if buying else ZERO
        hold_asset_id = instrument.quote_asset_id if buying else instrument.base_asset_id
        required = qty * price * (ONE + hold_rate) if buying else qty
        row = self._balances[house][hold_asset_id]
        if required > row.balance - row.order_hold - row.transfer_hold:
            return False
        oid = self._new_id()
        instrument_id = instrument.id
        order_info = {
            "client_id": house,
            "instrument_id": instrument_id,
            "qty": fmt(qty),
            "price": fmt(price),
            "side": side,
            "type": LIMIT,
            "tif": GTC,
            "exec_inst_flags": ["ALO"],
            "msg_id": oid,
            "parent_id": "0",
        }
        # Positional, in field order (see models.Order and _create_order); no idempotency record.
        order = Order(
            oid,
            house,
            instrument_id,
            side,
            LIMIT,
            GTC,
            price,
            qty,
            qty,
            oid,
            oid,
            now,
            now,
            order_info,
            True,
            None,
            ACTIVE,
            ZERO,
            ZERO,
            None,
            None,
            hold_rate,
            hold_asset_id,
            ZERO,
        )
        self._register(order)
        if required > 0:  # _set_hold of a new order (its hold was ZERO)
            row.order_hold += required
            order.hold = required
        self._books[instrument_id].add(order, now)
        self._open[house][oid] = order
        return True

    def _prune(self, now: int) -> None:
        """Drop what no query can see any more (pure memory hygiene; every query filters by time itself)."""
        self._next_prune = now + _PRUNE_EVERY_NS
        keep_after = now - RETENTION_NS
        day_ago = now - DAY_NS
        closed = self._closed
        while closed and closed[0].update_timestamp < keep_after:
            order = closed.popleft()
            self._orders.pop(order.id, None)
            for ext in (order.ref_external_id, *(order.renamed or ())):
                key = (order.client_id, ext)
                if self._ext_index.get(key) is order:
                    del self._ext_index[key]
        idem_q = self._idem_q
        while idem_q and _idem_parts(idem_q[0])[1] < day_ago:
            key = _idem_key(idem_q.popleft())
            record = self._idem.get(key)
            if record is not None and _idem_parts(record)[1] < day_ago:
                del self._idem[key]
        for orders in self._client_orders.values():
            cut = bisect_left(orders, day_ago, key=lambda o: o.timestamp)
            if cut:
                del orders[:cut]
        for fills in self._fills.values():
            cut = bisect_left(fills, day_ago, key=lambda f: f.timestamp)
            if cut:
                del fills[:cut]
        for trades in self._trades.values():
            cut = bisect_left(trades, day_ago, key=lambda t: t.timestamp)
            if cut:
                del trades[:cut]
        for transfers in self._client_transfers.values():
            cut = 0
            while cut < len(transfers) and transfers[cut].timestamp < day_ago and transfers[cut].is_final:
                self._transfers.pop(transfers[cut].id, None)
                cut += 1
            if cut:
                del transfers[:cut]

    # ---------------------------------------------------------------------------- money helpers
    def _hold_rate(self, client: Client) -> Decimal:
        maker = self._tiers[client.maker_fee_tier].maker
        taker = self._tiers[client.taker_fee_tier].taker
        return taker if taker > maker else maker  # max(maker, taker), without the builtin's call

    @staticmethod
    def _required_hold(order: Order) -> Decimal:
        if order.status != ACTIVE or order.leaves <= 0:
            return ZERO
        if order.side == BUY:
            return order.leaves * order.price * (ONE + order.hold_rate)
        return order.leaves

    def _set_hold(self, order: Order) -> None:
        # _required_hold, inlined.
        if order.status != ACTIVE or order.leaves <= 0:
            required = ZERO
        elif order.side == BUY:
            required = order.leaves * order.price * (ONE + order.hold_rate)
        else:
            required = order.leaves
        delta = required - order.hold
        if delta:
            self._balances[order.client_id][order.hold_asset_id].order_hold += delta
            order.hold = required

    def _register(self, order: Order) -> None:
        """Index a new order without an idempotency record (house orders)."""
        self._orders[order.id] = order
        self._client_orders[order.client_id].append(order)
        self._ext_index[(order.client_id, order.external_id)] = order

    def _close(self, order: Order, status: str, now: int, text: str | None = None) -> None:
        if order.book_seq:
            self._books[order.instrument_id].remove(order, now)
        order.status = status
        order.leaves = ZERO
        order.update_timestamp = now
        if text:
            order.text = text
        hold = order.hold
        if hold:  # _set_hold of a closed order: release all of it (holds never have a positive exponent)
            self._balances[order.client_id][order.hold_asset_id].order_hold -= hold
            order.hold = ZERO
        self._open[order.client_id].pop(order.id, None)
        self._closed.append(order)
        if order.client_id == self._mm_client:
            self._house_pending.add((order.instrument_id, order.side, order.price))
            self._house_sig = None
            if self._house_replenish:
                self._house_dirty = True

    def _visible(self, order: Order, now: int) -> bool:
        return order.status == ACTIVE or order.update_timestamp >= now - RETENTION_NS

    # ----------------------------------------------------------------------------- matching
    def _match(self, order: Order, instrument: Instrument, now: int) -> str | None:
        """Trade ``order`` (working, not resting) against the book. Returns an STP text when STP stopped it.

        The order's hold is left as it was before matching: the caller closes the order (which releases all of
        it) or sets it once for the leaves that rest.
        """
        book = self._books[instrument.id]
        taker_rate = self._tiers[self._clients[order.client_id].taker_fee_tier].taker
        buying = order.side == BUY
        opposite = SELL if buying else BUY
        limit = order.price
        stp: str | None = None  # looked up at the first resting order of the same client
        while order.leaves > 0:
            level = book.best(opposite)
            if level is None or (level.price > limit if buying else level.price < limit):
                return None
            resting = level.first()
            assert resting is not None
            if resting.client_id == order.client_id and stp is None:
                stp = (
                    order.stp
                    if order.stp in CLIENT_STP_VALUES
                    else self._clients[order.client_id].self_trade_prevention
                )
            if resting.client_id == order.client_id and stp != STP_NONE:
                if stp == STP_CANCEL_BOTH:
                    self._close(
                        resting,
                        CANCELED,
                        now,
                        f"self-trade prevention (CANCEL_BOTH): canceled by incoming order {order.id}",
                    )
                return (
                    f"self-trade prevention ({stp}): would trade with own order {resting.id}; "
                    f"remaining quantity {fmt(order.leaves)} canceled"
                )
            self._execute(
                instrument,
                book,
                resting,
                order,
                min(order.leaves, resting.leaves),
                level.price,
                taker_rate,
                now,
            )
        return None

    def _execute(
        self,
        instrument: Instrument,
        book: OrderBook[Order],
        maker: Order,
        taker: Order,
        qty: Decimal,
        price: Decimal,
        taker_rate: Decimal,
        now: int,
    ) -> None:
        """One fill of ``qty`` at ``price``: balances, fees, the maker's hold; not the taker's (see _match)."""
        maker_rate = self._tiers[self._clients[maker.client_id].maker_fee_tier].maker
        notional = qty * price
        maker_fee = notional * maker_rate
        taker_fee = notional * taker_rate
        base, quote = instrument.base_asset_id, instrument.quote_asset_id
        balances = self._balances
        _settle_fill(maker, balances[maker.client_id], base, quote, qty, price, notional, maker_fee, now)
        _settle_fill(taker, balances[taker.client_id], base, quote, qty, price, notional, taker_fee, now)
        balances[self._fee_client][quote].balance += maker_fee + taker_fee
        taker.leaves -= qty
        book.set_leaves(maker, maker.leaves - qty, now)
        if maker.leaves <= 0:
            self._close(maker, FILLED, now)
        else:
            self._set_hold(maker)
        match_id = self._new_id()
        instrument_id = instrument.id
        # tuple.__new__ rather than Fill(...): the NamedTuple's own __new__ is a Python-level wrapper of it.
        maker_fill = _new_fill(
            Fill,
            (
                maker.client_id,
                instrument_id,
                maker.id,
                price,
                qty,
                maker_rate,
                maker_fee,
                "MAKER",
                match_id,
                now,
            ),
        )
        taker_fill = _new_fill(
            Fill,
            (
                taker.client_id,
                instrument_id,
                taker.id,
                price,
                qty,
                taker_rate,
                taker_fee,
                "TAKER",
                match_id,
                now,
            ),
        )
        self._fills[maker.client_id].append(maker_fill)
        self._fills[taker.client_id].append(taker_fill)
        # The trade is recorded as its taker fill (same match id, instrument, price, qty and timestamp).
        self._trades[instrument_id].append(taker_fill)
        self._last_trade[instrument_id] = taker_fill

    def _work(self, order: Order, instrument: Instrument, now: int, crosses: bool | None = None) -> None:
        """Match a working order, then rest it (LIMIT GTC) or close it (filled / IOC / MARKET / STP).

        ``crosses``: whether the order crosses the opposite best level, when the caller has just looked.
        """
        if crosses is None:
            book = self._books[instrument.id]
            if order.side == BUY:
                level = book.best(SELL)
                crosses = level is not None and level.price <= order.price
            else:
                level = book.best(BUY)
                crosses = level is not None and level.price >= order.price
        if not crosses and order.leaves > 0 and order.type != MARKET and order.tif != IOC:
            # Rests at once: _match would find nothing to trade with.
            self._books[instrument.id].add(order, now)
            self._open[order.client_id][order.id] = order
            return
        stp_text = self._match(order, instrument, now) if crosses else None
        if order.leaves <= 0:
            self._close(order, FILLED, now)
        elif stp_text is not None:
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
            self._books[instrument.id].add(order, now)
            self._open[order.client_id][order.id] = order

    def _would_take(self, instrument: Instrument, side: str, price: Decimal) -> Decimal | None:
        """The opposite best price ``price`` would trade with, if any."""
        best = self._books[instrument.id].best_price(SELL if side == BUY else BUY)
        if best is None:
            return None
        if (side == BUY and price >= best) or (side == SELL and price <= best):
            return best
        return None

    # ------------------------------------------------------------------------------ lookups
    def _client_for(self, caller: AbstractSet[str], client_id: str, name: str) -> Client:
        if client_id not in caller:
            raise Forbidden(f"{name}: client {client_id} is not bound to this API key")
        client = self._clients.get(client_id)
        if client is None:
            raise NotFound(f"{name}: no client with id {client_id}")
        return client

    def _order_by_id(self, caller: AbstractSet[str], order_id: str, name: str, now: int) -> Order:
        order = self._orders.get(order_id)
        if order is None or not self._visible(order, now):
            raise NotFound(f"{name}: no order with id {order_id}")
        if order.client_id not in caller:
            raise Forbidden(f"{name}: order {order_id} belongs to a client not bound to this API key")
        return order

    def _order_by_ext(self, clients: Iterable[str], external_id: str, name: str, now: int) -> Order:
        found: Order | None = None
        for client_id in clients:
            order = self._ext_index.get((client_id, external_id))
            if (
                order is not None
                and self._visible(order, now)
                and (found is None or order.timestamp > found.timestamp)
            ):
                found = order
        if found is None:
            raise NotFound(f"{name}: no order with external id {external_id!r}")
        return found

    def _caller_clients(self, caller: AbstractSet[str]) -> list[str]:
        return sorted(c for c in caller if c in self._clients)

    # ------------------------------------------------------------------------------- views
    @staticmethod
    def _order_view(order: Order) -> dict[str, Any]:
        info = order.order_info.copy()
        # Then copy the lists in it: only exec_inst_flags and flags can hold one (the engine builds order_info).
        if "exec_inst_flags" in info or "flags" in info:
            for key, value in info.items():
                if type(value) is list:
                    info[key] = value.copy()
        executed = order.executed
        if executed:
            executed_qty = fmt(executed)
            single = order.fill_price
            if single is not None:
                vwap = _price_vwap_text(single)
            else:
                vwap = fmt(_vwap(order.executed_notional, executed))
        else:
            executed_qty = vwap = "0"
        timestamp = str(order.timestamp)
        updated = timestamp if order.update_timestamp == order.timestamp else str(order.update_timestamp)
        # Key order is the wire order.
        view: dict[str, Any]
        if order.modify_info is None:
            view = {
                "id": order.id,
                "status": order.status,
                "order_info": info,
                "external_id": order.external_id,
                "ref_external_id": order.ref_external_id,
                "pending_qty": "0",
                "leaves_qty": fmt(order.leaves),
                "exeuted_qty": executed_qty,
                "executed_vwap": vwap,
                "timestamp": timestamp,
                "update_timestamp": updated,
            }
        else:
            view = {
                "id": order.id,
                "status": order.status,
                "order_info": info,
                "modify_info": dict(order.modify_info),
                "external_id": order.external_id,
                "ref_external_id": order.ref_external_id,
                "pending_qty": "0",
                "leaves_qty": fmt(order.leaves),
                "exeuted_qty": executed_qty,
                "executed_vwap": vwap,
                "timestamp": timestamp,
                "update_timestamp": updated,
            }
        if order.text:
            view["text"] = order.text
        return view

    @staticmethod
    def _fill_view(fill: Fill) -> dict[str, Any]:
        return {
            "client_id": fill.client_id,
            "instrument_id": fill.instrument_id,
            "order_id": fill.order_id,
            "trade_price": fmt(fill.price),
            "trade_qty": fmt(fill.qty),
            "trade_fee_rate": fmt(fill.fee_rate),
            "liq_flag": fill.liq_flag,
            "match_id": fill.match_id,
            "timestamp": str(fill.timestamp),
        }

    @staticmethod
    def _transfer_view(transfer: Transfer) -> dict[str, Any]:
        return {
            "id": transfer.id,
            "status": transfer.status,
            "request": json.loads(json.dumps(transfer.request)),
            "timestamp": str(transfer.timestamp),
            "update_timestamp": str(transfer.update_timestamp),
        }

    def _client_view(self, client: Client) -> dict[str, Any]:
        return {
            "id": client.id,
            "status": client.status,
            "info": {
                "organization_id": client.organization_id,
                "mnemonic": client.mnemonic,
                "type": client.type,
                "maker_fee_tier": client.maker_fee_tier,
                "taker_fee_tier": client.taker_fee_tier,
                "self_trade_prevention": client.self_trade_prevention,
            },
        }

    def _recent_trades(self, instrument_id: str, now: int) -> list[Fill]:
        trades = self._trades[instrument_id]
        return trades[bisect_left(trades, now - DAY_NS, key=lambda t: t.timestamp) :]

    def _instrument_view(self, instrument: Instrument, now: int) -> dict[str, Any]:
        notional = ZERO
        quantity = ZERO
        for trade in self._recent_trades(instrument.id, now):
            notional += trade.price * trade.qty
            quantity += trade.qty
        return {
            "id": instrument.id,
            "status": instrument.status,
            "info": {
                "symbol": instrument.symbol,
                "reference_price": fmt(instrument.reference_price),
                "base_asset_id": instrument.base_asset_id,
                "quote_asset_id": instrument.quote_asset_id,
                "price_limit_window_secs": str(instrument.price_limit_window_secs),
                "price_limit_percent": fmt(instrument.price_limit_percent),
                "price_bands_percent": fmt(instrument.price_bands_percent),
                "price_increment": fmt(instrument.price_increment),
                "qty_increment": fmt(instrument.qty_increment),
            },
            "stats": {"last_24hr_notional": fmt(notional), "last_24hr_quantity": fmt(quantity)},
        }

    def _ebbo_view(self, instrument: Instrument) -> dict[str, Any]:
        book = self._books[instrument.id]

        def side(side: str) -> dict[str, str]:
            level = book.best(side)
            if level is None:
                return {
                    "price": "0",
                    "qty": "0",
                    "order_count": "0",
                    "last_update": str(book.side_update[side]),
                }
            return {
                "price": fmt(level.price),
                "qty": fmt(level.qty),
                "order_count": str(level.count),
                "last_update": str(level.last_update),
            }

        last = self._last_trade.get(instrument.id)
        last_trade = (
            {"price": "0", "qty": "0", "timestamp": "0"}
            if last is None
            else {"price": fmt(last.price), "qty": fmt(last.qty), "timestamp": str(last.timestamp)}
        )
        last_update = max(book.side_update[BUY], book.side_update[SELL], last.timestamp if last else 0)
        return {
            "id": instrument.id,
            "symbol": instrument.symbol,
            "info": {
                "last_trade": last_trade,
                "best_bid": side(BUY),
                "best_ask": side(SELL),
                "last_update": str(last_update),
            },
        }

    # ======================================================================== public: reference data
    def authenticate_key(self, key_id: str) -> ApiKey | None:
        """The API key with this id (for the HTTP layer's HMAC check), or None."""
        with self._lock:
            return self._keys.get(key_id)

    @_locked
    def list_assets(self, id: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        """Assets, optionally filtered by exact ``id`` and/or exact ``name``."""
        self._tick()
        asset_id = _opt_id(id, "id")
        return [
            {"id": a.id, "status": a.status, "fields": {"name": a.name}}
            for a in self._assets.values()
            if (asset_id is None or a.id == asset_id) and (name is None or a.name == name)
        ]

    @_locked
    def list_instruments(self, id: str | None = None, symbol: str | None = None) -> list[dict[str, Any]]:
        """Instruments; ``symbol`` matches exactly or as a case-sensitive substring."""
        now = self._tick()
        instrument_id = _opt_id(id, "id")
        return [
            self._instrument_view(x, now)
            for x in self._instruments.values()
            if (instrument_id is None or x.id == instrument_id) and (symbol is None or symbol in x.symbol)
        ]

    # ============================================================================ public: market data
    @_locked
    def market_quotes(self, instrument_id: str | None = None) -> list[dict[str, Any]]:
        """EBBO of every instrument, or of one (``[]`` when it does not exist)."""
        self._tick()
        wanted = _opt_id(instrument_id, "instrument_id")
        return [self._ebbo_view(x) for x in self._instruments.values() if wanted is None or x.id == wanted]

    @_locked
    def market_trades(self, instrument_id: str | None = None) -> list[dict[str, Any]]:
        """Public trades of the last 24 h, newest first, of every instrument or of one."""
        now = self._tick()
        wanted = _opt_id(instrument_id, "instrument_id")
        trades: list[Fill] = []
        for x in self._instruments:
            if wanted is None or x == wanted:
                trades.extend(self._recent_trades(x, now))
        trades.sort(key=lambda t: (t.timestamp, int(t.match_id)), reverse=True)
        return [
            {
                "instrument_id": t.instrument_id,
                "match_id": t.match_id,
                "trade_price": fmt(t.price),
                "trade_qty": fmt(t.qty),
                "timestamp": str(t.timestamp),
            }
            for t in trades
        ]

    def _walk(self, instrument_id: Any, side: Any, qty: Any, qty_unit: str) -> dict[str, Any]:
        inst_id = _id(instrument_id, "instrument_id")
        side = _enum(side, "side", (BUY, SELL))
        amount = _dec(qty, "qty")
        if amount <= 0:
            raise BadRequest("qty: must be greater than 0")
        instrument = self._instruments.get(inst_id)
        if instrument is None:
            raise NotFound(f"instrument_id: no instrument with id {inst_id}")
        book = self._books[inst_id]
        levels = book.levels(SELL if side == BUY else BUY)
        best = book.best_price(SELL if side == BUY else BUY)
        if best is None:
            raise NotFound(
                f"instrument_id: no liquidity on the {'ask' if side == BUY else 'bid'} side of {instrument.symbol}"
            )
        filled = ZERO
        notional = ZERO
        if qty_unit == "BASE":
            for level in levels:
                take = min(amount - filled, level.qty)
                filled += take
                notional += take * level.price
                if filled >= amount:
                    break
            residual = ZERO
        else:
            step = instrument.qty_increment
            for level in levels:
                level_notional = level.qty * level.price
                if notional + level_notional <= amount:
                    filled += level.qty
                    notional += level_notional
                    continue
                take = ((amount - notional) // (level.price * step)) * step
                filled += take
                notional += take * level.price
                break
            residual = amount - notional
        price = _vwap(notional, filled) if filled else best
        return {
            "qty": fmt(filled),
            "price": fmt(price),
            "notional": fmt(notional),
            "notional_residual": fmt(residual),
        }

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
        unit = _enum(qty_unit, "qty_unit", ("BASE", "QUOTE"))
        return self._walk(instrument_id, side, qty, unit)

    @_locked
    def vwap_quote(self, instrument_id: str, qty: str) -> dict[str, str]:
        """Deprecated POST /market/quote: buy-side VWAP for a quote-asset amount ``qty``."""
        self._tick()
        result = self._walk(instrument_id, BUY, qty, "QUOTE")
        return {"quote": result["price"], "buy_amount": result["qty"]}

    # ================================================================================ public: clients
    @_locked
    def list_clients(
        self, caller: AbstractSet[str], id: str | None = None, mnemonic: str | None = None
    ) -> list[dict[str, Any]]:
        """The caller's clients, optionally filtered by ``id`` (403 when not the caller's) and ``mnemonic``."""
        self._tick()
        caller = _caller(caller)
        client_id = _opt_id(id, "id")
        if client_id is not None:
            self._client_for(caller, client_id, "id")
        return [
            self._client_view(self._clients[c])
            for c in self._caller_clients(caller)
            if (client_id is None or c == client_id)
            and (mnemonic is None or self._clients[c].mnemonic == mnemonic)
        ]

    @_locked
    def update_client(self, caller: AbstractSet[str], body: dict[str, Any]) -> dict[str, Any]:
        """PATCH /clients: ``{"id", "info": {"self_trade_prevention"}}`` → the client."""
        caller = _caller(caller)
        if self._journaling:
            self._journal_first("update_client", {"caller": sorted(caller), "body": body})
        else:
            self._tick()
        return self._client_view(self._update_client(caller, body))

    def _update_client(self, caller: AbstractSet[str], body: Any) -> Client:
        body = _obj(body, "body")
        client = self._client_for(caller, _id(body.get("id"), "id"), "id")
        info = _obj(body.get("info"), "info")
        stp = _enum(
            info.get("self_trade_prevention"), "info.self_trade_prevention", sorted(CLIENT_STP_VALUES)
        )
        client.self_trade_prevention = stp
        return client

    # ================================================================================= public: orders
    def create_order(self, caller: AbstractSet[str], body: dict[str, Any]) -> dict[str, Any]:
        """POST /orders. Returns the order (possibly ``REJECTED`` with a ``text``); idempotent per external_id."""
        # What ``_locked`` does, by hand: the hottest public calls save its wrapper frame (~5 % of engine_load).
        lock = self._lock
        lock.acquire()
        outer = getcontext()
        setcontext(self._ctx)
        try:
            if isinstance(caller, str):
                _caller(caller)
            if self._journaling:
                now = self._journal_first("create_order", {"caller": sorted(caller), "body": body})
            else:
                now = self._tick()
            return self._order_view(self._create_order(caller, body, now)[0])
        finally:
            setcontext(outer)
            lock.release()

    def _order_request(self, caller: AbstractSet[str], body: Any) -> _OrderRequest:
        """Every check of a create's body, in order; raises the first problem found."""
        body = _obj(body, "body")
        external_id = _external_id(body.get("external_id"), "external_id")
        info = _obj(body.get("info"), "info")
        client = self._client_for(caller, _id(info.get("client_id"), "info.client_id"), "info.client_id")
        instrument_id = _id(info.get("instrument_id"), "info.instrument_id")
        side = _enum(info.get("side"), "info.side", (BUY, SELL))
        otype = _enum(info.get("type"), "info.type", (LIMIT, MARKET))
        tif = _enum(info.get("tif", GTC), "info.tif", (GTC, IOC))
        qty = _dec(info.get("qty"), "info.qty")
        price: Decimal | None = None
        if otype == LIMIT:
            price = _dec(info.get("price"), "info.price")
        elif info.get("price") is not None:
            _dec(info.get("price"), "info.price")
        flags_in = info.get("exec_inst_flags")
        if flags_in is not None and (not isinstance(flags_in, list) or any(f != "ALO" for f in flags_in)):
            raise BadRequest('info.exec_inst_flags: must be a list whose only allowed value is "ALO"')
        alo = bool(flags_in)
        stp_in = info.get("stp")
        if stp_in is not None:
            _enum(stp_in, "info.stp", sorted(_ORDER_STP))
        other_flags = info.get("flags")
        if other_flags is not None and (
            not isinstance(other_flags, list) or any(f != "USE_AGGRESSIVE_PRICING" for f in other_flags)
        ):
            raise BadRequest(
                'info.flags: must be a list whose only allowed value is "USE_AGGRESSIVE_PRICING"'
            )
        hold_fee_rate = info.get("hold_fee_rate")
        if hold_fee_rate is not None and _dec(hold_fee_rate, "info.hold_fee_rate") < 0:
            raise BadRequest("info.hold_fee_rate: must be >= 0")
        instrument = self._instruments.get(instrument_id)
        if instrument is None:
            raise NotFound(f"info.instrument_id: no instrument with id {instrument_id}")
        return client, instrument, external_id, info, side, otype, tif, qty, price, alo, stp_in

    def _create_order(self, caller: AbstractSet[str], body: Any, now: int) -> tuple[Order, bool]:
        # The common create (no flags, stp or hold_fee_rate; known client and instrument), checked cheaply in one
        # condition. Any doubt sends the body through _order_request, which checks everything and raises the
        # precise error: the condition accepts nothing that _order_request refuses, and finds what it would find.
        if (
            type(body) is dict
            and type(info := body.get("info")) is dict
            and type(external_id := body.get("external_id")) is str
            and (
                (len(external_id) <= 18 and external_id.isalnum() and external_id.isascii())
                or _EXT_RE.match(external_id) is not None
                or _UUID4_RE.match(external_id) is not None
            )
            and type(client_id := info.get("client_id")) is str
            and client_id in caller
            and (client := self._plain_clients.get(client_id)) is not None
            and type(instrument_id := info.get("instrument_id")) is str
            and (instrument := self._plain_instruments.get(instrument_id)) is not None
            and type(side := info.get("side")) is str
            and side in _SIDES
            and type(otype := info.get("type")) is str
            and otype in _TYPES
            and type(tif := info.get("tif", GTC)) is str
            and tif in _TIFS
            # _try_dec, its cache hit inlined (a str is hashable: the type test comes first).
            and type(qty_text := info.get("qty")) is str
            and ((qty := _DEC_CACHE.get(qty_text)) is not None or (qty := _try_dec(qty_text)) is not None)
            and (
                (
                    type(price_text := info.get("price")) is str
                    and (
                        (price := _DEC_CACHE.get(price_text)) is not None
                        or (price := _try_dec(price_text)) is not None
                    )
                )
                or (otype != LIMIT and price_text is None)
            )
            and (
                (plain := _PLAIN_INFO_KEYS.issuperset(info))
                or all(info.get(name) is None for name in _OPTIONAL_INFO)
            )
        ):
            alo = False
            stp_in = None
            if otype != LIMIT:
                price = None
        else:
            request = self._order_request(caller, body)
            client, instrument, external_id, info, side, otype, tif, qty, price, alo, stp_in = request
            price_text = info.get("price")
            plain = _PLAIN_INFO_KEYS.issuperset(info)
        client_id = client.id
        key = (client_id, external_id)
        record = self._idem.get(key)
        if record is not None:
            previous_body, previous_ts, previous = _idem_parts(record)
            if previous_ts >= now - DAY_NS:
                if previous_body is not None and previous_body == body:
                    return previous, False
                raise Conflict(
                    f"external_id: {external_id!r} was already used by client {client_id} in the last 24 h "
                    f"(order {previous.id}) with a different request body"
                )

        number = self._next_id
        self._next_id = number + 1
        oid = str(number)
        instrument_id = instrument.id
        # Key order is the wire order of ``order_info``.
        order_info: dict[str, Any]
        if plain and price_text is not None:  # the common create: one literal
            order_info = {
                "client_id": client_id,
                "instrument_id": instrument_id,
                "qty": info["qty"],
                "price": price_text,
                "side": side,
                "type": otype,
                "tif": tif,
                "msg_id": oid,
                "parent_id": "0",
            }
        else:
            if price_text is None:
                order_info = {
                    "client_id": client_id,
                    "instrument_id": instrument_id,
                    "qty": info["qty"],
                    "side": side,
                    "type": otype,
                    "tif": tif,
                }
            else:
                order_info = {
                    "client_id": client_id,
                    "instrument_id": instrument_id,
                    "qty": info["qty"],
                    "price": price_text,
                    "side": side,
                    "type": otype,
                    "tif": tif,
                }
            if not plain:
                for name in _OPTIONAL_INFO:
                    value = info.get(name)
                    if value is not None:
                        order_info[name] = list(value) if isinstance(value, list) else value
            order_info["msg_id"] = oid
            order_info["parent_id"] = "0"
        buying = side == BUY
        if price is None:
            price = instrument.band_high if buying else instrument.band_low
        if buying:  # _hold_rate, inlined
            tiers = self._tiers
            maker_rate = tiers[client.maker_fee_tier].maker
            taker_rate = tiers[client.taker_fee_tier].taker
            # max(maker, taker) without the builtin's call: the maker rate unless the taker rate is larger.
            hold_rate = taker_rate if taker_rate > maker_rate else maker_rate
            hold_asset_id = instrument.quote_asset_id
        else:
            hold_rate = ZERO
            hold_asset_id = instrument.base_asset_id
        # Positional, in field order (see models.Order): id ... stp, status, executed, executed_notional,
        # text, modify_info, hold_rate, hold_asset_id, hold, renamed, idem_body.
        order = Order(
            oid,
            client_id,
            instrument_id,
            side,
            otype,
            tif,
            price,
            qty,
            qty,
            external_id,
            external_id,
            now,
            now,
            order_info,
            alo,
            stp_in if stp_in in CLIENT_STP_VALUES else None,
            ACTIVE,
            ZERO,
            ZERO,
            None,
            None,
            hold_rate,
            hold_asset_id,
            ZERO,
            None,
            # A common body (see _common_body) is not kept: order_info holds it; the flag says whether tif was sent.
            len(info) == 7
            if plain
            and otype == LIMIT
            and 6 <= len(info) <= 7
            and len(body) == 2
            and body.get("info") is info
            and body.get("external_id") is external_id
            else _freeze(body),
        )
        # _register inlined, and the order is its own idempotency record.
        self._orders[oid] = order
        self._client_orders[client_id].append(order)
        self._ext_index[key] = order
        self._idem[key] = order
        self._idem_q.append(order)

        # The common case of _reject_reason (every rule met) checked inline; any doubt asks it for the reason.
        row = self._balances[client_id][hold_asset_id]
        required = qty * price * (ONE + hold_rate) if buying else qty
        qty_fits, price_fits = self._fits[instrument_id]
        if (
            alo
            or client.status != ACTIVE
            or instrument.status != ACTIVE
            or not (qty_fits.get(qty) or self._qty_fits(instrument, qty))
            or (otype == LIMIT and not (price_fits.get(price) or self._price_fits(instrument, price)))
            or required > row.balance - row.order_hold - row.transfer_hold
        ):
            reason = self._reject_reason(order, instrument, client)
            if reason is not None:
                order.status = REJECTED
                order.leaves = ZERO
                order.text = reason
                self._closed.append(order)
                return order, True
            self._set_hold(order)
        else:
            # _set_hold of a new order: its hold was ZERO, the required hold is > 0.
            row.order_hold += required
            order.hold = required
        if otype == LIMIT:
            # _work's first step, inlined: a LIMIT GTC order (leaves > 0) that does not cross rests at once; _work
            # is told whether the order crosses (no second look at the best level).
            book = self._books[instrument_id]
            level = book.best(SELL if buying else BUY)
            crosses = level is not None and (level.price <= price if buying else level.price >= price)
            if not crosses and tif == GTC:
                book.add(order, now)
                self._open[client_id][oid] = order
                return order, True
            self._work(order, instrument, now, crosses)
            return order, True
        self._work(order, instrument, now)
        return order, True

    def _qty_fits(self, instrument: Instrument, qty: Decimal) -> bool:
        """Whether ``qty`` is > 0 and on the quantity grid; remembered (by value) for the common create."""
        fits = bool(qty > 0 and not qty % instrument.qty_increment)
        cache = self._fits[instrument.id][0]
        if len(cache) >= _FITS_MAX:
            cache.clear()
        cache[qty] = fits
        return fits

    def _price_fits(self, instrument: Instrument, price: Decimal) -> bool:
        """Whether a limit ``price`` is > 0, on the price grid and inside the band; remembered (by value)."""
        fits = bool(
            price > 0
            and not price % instrument.price_increment
            and instrument.band_low <= price <= instrument.band_high
        )
        cache = self._fits[instrument.id][1]
        if len(cache) >= _FITS_MAX:
            cache.clear()
        cache[price] = fits
        return fits

    def _reject_reason(self, order: Order, instrument: Instrument, client: Client) -> str | None:
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
        if order.type == LIMIT:
            problem = self._price_problem(order.price, instrument)
            if problem is not None:
                return problem
        if order.alo:
            if order.type == MARKET:
                return "exec_inst_flags ALO (add liquidity only) is not allowed on a MARKET order"
            best = self._would_take(instrument, order.side, order.price)
            if best is not None:
                return (
                    f"ALO (add liquidity only): price {fmt(order.price)} would take liquidity at {fmt(best)}"
                )
        required = self._required_hold(order)
        row = self._balances[client.id][order.hold_asset_id]
        if required > row.available:
            asset = self._assets[order.hold_asset_id].name
            return f"insufficient available {asset} balance: order needs {fmt(required)}, available {fmt(row.available)}"
        return None

    @staticmethod
    def _price_problem(price: Decimal, instrument: Instrument) -> str | None:
        if price <= 0:
            return f"price {fmt(price)} must be greater than 0"
        if price % instrument.price_increment:
            return f"price {fmt(price)} is not a multiple of the price increment {fmt(instrument.price_increment)}"
        if not instrument.band_low <= price <= instrument.band_high:
            return (
                f"price {fmt(price)} is outside the price band [{fmt(instrument.band_low)}, {fmt(instrument.band_high)}] "
                f"(reference price {fmt(instrument.reference_price)} +/- {fmt(instrument.price_bands_percent)})"
            )
        return None

    @_locked
    def modify_order(self, caller: AbstractSet[str], body: dict[str, Any]) -> dict[str, Any]:
        """PATCH /orders: new total qty / new price / optional conversion to MARKET."""
        caller = _caller(caller)
        if self._journaling:
            now = self._journal_first("modify_order", {"caller": sorted(caller), "body": body})
        else:
            now = self._tick()
        return self._order_view(self._modify_order(caller, body, now))

    def _modify_order(self, caller: AbstractSet[str], body: Any, now: int) -> Order:
        body = _obj(body, "body")
        info = _obj(body.get("info"), "info")
        client = self._client_for(caller, _id(info.get("client_id"), "info.client_id"), "info.client_id")
        raw_id, raw_ext = body.get("id"), body.get("external_id")
        new_ext: str | None = None
        if raw_id is not None:
            order = self._order_by_id(caller, _id(raw_id, "id"), "id", now)
            if order.client_id != client.id:
                raise BadRequest(
                    f"info.client_id: order {order.id} belongs to client {order.client_id}, not {client.id}"
                )
            if raw_ext is not None:
                new_ext = _external_id(raw_ext, "external_id")
        elif raw_ext is not None:
            order = self._order_by_ext((client.id,), _external_id(raw_ext, "external_id"), "external_id", now)
        else:
            raise BadRequest("id: either id (exchange order id) or external_id is required")
        if order.status != ACTIVE:
            raise Conflict(f"order {order.id} is {order.status}; only ACTIVE orders can be modified")
        instrument = self._instruments[order.instrument_id]
        new_type = info.get("new_type")
        if new_type is not None:
            _enum(new_type, "info.new_type", (MARKET, LIMIT, "INVALID"))
        to_market = new_type == MARKET
        new_qty = _dec(info.get("new_qty"), "info.new_qty")
        new_price = order.price
        if not to_market:
            new_price = _dec(info.get("new_price"), "info.new_price")
        elif info.get("new_price") is not None:
            _dec(info.get("new_price"), "info.new_price")
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
        if to_market:
            if order.alo:
                raise BadRequest("info.new_type: an ALO (add liquidity only) order cannot become MARKET")
            new_price = instrument.band_high if order.side == BUY else instrument.band_low
        else:
            problem = self._price_problem(new_price, instrument)
            if problem is not None:
                raise BadRequest(f"info.new_price: {problem}")
            if order.alo and new_price != order.price:
                best = self._would_take(instrument, order.side, new_price)
                if best is not None:
                    raise BadRequest(
                        f"info.new_price: the order is ALO (add liquidity only) and {fmt(new_price)} "
                        f"would take liquidity at {fmt(best)}"
                    )
        if new_ext is not None and new_ext != order.external_id:
            taken = self._idem.get((client.id, new_ext))
            if taken is not None:
                _, taken_ts, taken_order = _idem_parts(taken)
                if taken_ts >= now - DAY_NS and taken_order is not order:
                    raise Conflict(f"external_id: {new_ext!r} is already used by order {taken_order.id}")
        new_hold = new_leaves * new_price * (ONE + order.hold_rate) if order.side == BUY else new_leaves
        row = self._balances[client.id][order.hold_asset_id]
        if new_hold - order.hold > row.available:
            asset = self._assets[order.hold_asset_id].name
            raise BadRequest(
                f"info.new_qty: insufficient available {asset} balance for the modified order: needs "
                f"{fmt(new_hold - order.hold)} more, available {fmt(row.available)}"
            )

        # ---- validated: mutate
        if order.client_id == self._mm_client:
            self._house_full_scan = True  # a house order may leave its grid level: look at every level
            self._house_sig = None
        msg_id = self._new_id()
        modify_info: dict[str, Any] = {"client_id": client.id, "new_qty": info["new_qty"]}
        if info.get("new_price") is not None:
            modify_info["new_price"] = info["new_price"]
        if new_type is not None:
            modify_info["new_type"] = new_type
        modify_info["prev_modify"] = order.modify_info["msg_id"] if order.modify_info else "0"
        modify_info["msg_id"] = msg_id
        modify_info["parent_id"] = "0"
        order.modify_info = modify_info
        if new_ext is not None and new_ext != order.external_id:
            # ref_external_id already is the original external id (set at creation, never changed).
            order.external_id = new_ext
            if order.renamed is None:
                order.renamed = [new_ext]
            else:
                order.renamed.append(new_ext)
            key = (client.id, new_ext)
            self._ext_index[key] = order
            idem = _Idem(key, now, order)
            self._idem[key] = idem
            self._idem_q.append(idem)
        order.update_timestamp = now
        order.text = None
        book = self._books[instrument.id]
        requeue = to_market or new_price != order.price or new_leaves > order.leaves
        order.qty = new_qty
        if requeue:
            book.remove(order, now)
            if to_market:
                order.type = MARKET
            order.price = new_price
            order.leaves = new_leaves
            self._set_hold(order)
            self._work(order, instrument, now)
        else:
            book.set_leaves(order, new_leaves, now)
            self._set_hold(order)
        return order

    def cancel_order(
        self, caller: AbstractSet[str], ref_id: str, id_type: str = "exchange"
    ) -> dict[str, Any]:
        """DELETE /orders/{ref_id}: answers ``CANCEL_PENDING``; the order is ``CANCELED`` (holds released) at once."""
        # What ``_locked`` does, by hand (a hot call, as create_order).
        lock = self._lock
        lock.acquire()
        outer = getcontext()
        setcontext(self._ctx)
        try:
            if isinstance(caller, str):
                _caller(caller)
            if self._journaling:
                args = {"caller": sorted(caller), "ref_id": ref_id, "id_type": id_type}
                now = self._journal_first("cancel_order", args)
            else:
                now = self._tick()
            return self._cancel_order(caller, ref_id, id_type, now)
        finally:
            setcontext(outer)
            lock.release()

    def _cancel_order(self, caller: AbstractSet[str], ref_id: Any, id_type: Any, now: int) -> dict[str, Any]:
        if id_type is None or (type(id_type) is str and id_type == "exchange"):
            # An exchange id of a visible order of the caller: what _order_by_id(_id(...)) would find.
            order = self._orders.get(ref_id) if type(ref_id) is str else None
            if (
                order is None
                or order.client_id not in caller
                or (order.status != ACTIVE and order.update_timestamp < now - RETENTION_NS)  # _visible
            ):
                order = self._order_by_id(caller, _id(ref_id, "ref_id"), "ref_id", now)
        elif _enum(id_type, "id_type", ("exchange", "client")) == "exchange":
            order = self._order_by_id(caller, _id(ref_id, "ref_id"), "ref_id", now)
        else:
            order = self._order_by_ext(self._caller_clients(caller), _str(ref_id, "ref_id"), "ref_id", now)
        if order.status != ACTIVE:
            raise Conflict(f"ref_id: order {order.id} is already {order.status}")
        order.update_timestamp = now
        view = self._order_view(order)
        view["status"] = CANCEL_PENDING
        self._close(order, CANCELED, now)
        return view

    @_locked
    def active_orders(self, caller: AbstractSet[str], id: str | None = None) -> list[dict[str, Any]]:
        """Open orders of the caller's clients (newest first), or the one with exchange ``id`` if still open."""
        now = self._tick()
        caller = _caller(caller)
        if id is not None:
            order = self._order_by_id(caller, _id(id, "id"), "id", now)
            return [self._order_view(order)] if order.status == ACTIVE else []
        orders = [o for c in self._caller_clients(caller) for o in self._open[c].values()]
        orders.sort(key=lambda o: (o.timestamp, int(o.id)), reverse=True)
        return [self._order_view(o) for o in orders]

    @_locked
    def list_orders(self, caller: AbstractSet[str], query: str | None = None) -> list[dict[str, Any]]:
        """Orders created in the last 24 h (newest first), filtered by the JSON ``query`` string.

        ``query``: ``{"columns": [{"name": C, "filter": [{"$in": [...]}, {"$eq": "..."}]}]}`` with C one of
        status, side, instrument_id, type; all conditions must hold.
        """
        now = self._tick()
        caller = _caller(caller)
        predicate = _parse_query(query)
        cutoff = now - DAY_NS
        orders: list[Order] = []
        for client_id in self._caller_clients(caller):
            for order in reversed(self._client_orders[client_id]):
                if order.timestamp < cutoff:
                    break
                if predicate is None or predicate(order):
                    orders.append(order)
        orders.sort(key=lambda o: (o.timestamp, int(o.id)), reverse=True)
        return [self._order_view(o) for o in orders]

    @_locked
    def order_status(
        self, caller: AbstractSet[str], ref_id: str, id_type: str | None = None
    ) -> dict[str, Any]:
        """One order by exchange id or external id (``id_type`` forces one; default: exchange id first)."""
        now = self._tick()
        caller = _caller(caller)
        kind = None if id_type is None else _enum(id_type, "id_type", ("exchange", "client"))
        ref = _str(ref_id, "ref_id")
        if kind == "exchange" or (kind is None and _ID_RE.match(ref) and ref in self._orders):
            order = self._order_by_id(caller, _id(ref, "ref_id"), "ref_id", now)
        else:
            order = self._order_by_ext(self._caller_clients(caller), ref, "ref_id", now)
        return self._order_view(order)

    @_locked
    def order_trades(
        self, caller: AbstractSet[str], timestamp: int | str | None = None
    ) -> list[dict[str, Any]]:
        """The caller's fills at or after ``timestamp`` (ns) within the last 24 h, newest first."""
        now = self._tick()
        caller = _caller(caller)
        since = max(_timestamp(timestamp, "timestamp") or 0, now - DAY_NS)
        fills: list[Fill] = []
        for client_id in self._caller_clients(caller):
            client_fills = self._fills[client_id]
            fills.extend(client_fills[bisect_left(client_fills, since, key=lambda f: f.timestamp) :])
        fills.sort(key=lambda f: (f.timestamp, int(f.match_id), f.liq_flag == "TAKER"), reverse=True)
        return [self._fill_view(f) for f in fills]

    # =============================================================================== public: balances
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
        caller = _caller(caller)
        wanted_asset = _opt_id(asset_id, "asset_id")
        wanted_client = _opt_id(client_id, "client_id")
        if wanted_client is not None:
            self._client_for(caller, wanted_client, "client_id")
        result = []
        for cid in self._caller_clients(caller):
            if wanted_client is not None and cid != wanted_client:
                continue
            rows = []
            for aid, row in self._balances[cid].items():
                if wanted_asset is not None and aid != wanted_asset:
                    continue
                if asset_name is not None and self._assets[aid].name != asset_name:
                    continue
                rows.append(
                    {
                        "asset_id": aid,
                        "balance": fmt(row.balance),
                        "unsettled": "0",
                        "order_hold": fmt(row.order_hold),
                        "transfer_hold": fmt(row.transfer_hold),
                        "state": "ACTIVE",
                    }
                )
            fees_hold = sum(
                (o.leaves * o.price * o.hold_rate for o in self._open[cid].values() if o.side == BUY), ZERO
            )
            result.append(
                {
                    "id": cid,
                    "status": "INVALID",
                    "unsettled_fees": "0",
                    "fees_hold": fmt(fees_hold),
                    "balances": rows,
                }
            )
        return result

    # ============================================================================== public: transfers
    @_locked
    def create_transfer(self, caller: AbstractSet[str], body: dict[str, Any]) -> dict[str, Any]:
        """POST /transfers ``{"request": {...}}`` → the transfer (``REJECTED`` for a withdraw above available)."""
        caller = _caller(caller)
        delay = self.settle_delay_ns
        if self._journaling:
            args = {"caller": sorted(caller), "body": body, "settle_delay_ns": delay}
            now = self._journal_first("create_transfer", args)
        else:
            now = self._tick()
        return self._transfer_view(self._create_transfer(caller, body, now, delay))

    def _create_transfer(self, caller: AbstractSet[str], body: Any, now: int, delay: int) -> Transfer:
        body = _obj(body, "body")
        request = _obj(body.get("request"), "request")
        asset_id = _id(request.get("asset_id"), "request.asset_id")
        client = self._client_for(
            caller, _id(request.get("client_id"), "request.client_id"), "request.client_id"
        )
        platform = _enum(request.get("platform"), "request.platform", ("FIAT", "CRYPTO", "INTERNAL"))
        kind = _enum(request.get("type"), "request.type", (DEPOSIT, WITHDRAW))
        amount = _dec(request.get("amount"), "request.amount")
        if amount <= 0:
            raise BadRequest("request.amount: must be greater than 0")
        instructions = request.get("instructions")
        if instructions is not None:
            _obj(instructions, "request.instructions")
            _canonical(instructions, "request.instructions")
        if asset_id not in self._assets:
            raise NotFound(f"request.asset_id: no asset with id {asset_id}")
        echo: dict[str, Any] = {
            "asset_id": asset_id,
            "client_id": client.id,
            "platform": platform,
            "type": kind,
            "amount": request["amount"],
        }
        if instructions is not None:
            echo["instructions"] = json.loads(json.dumps(instructions))
        status = T_INITIALIZED
        row = self._balances[client.id][asset_id]
        if kind == WITHDRAW:
            if row.available < amount:
                status = T_REJECTED
            else:
                row.transfer_hold += amount
        transfer = Transfer(
            id=self._new_id(),
            client_id=client.id,
            asset_id=asset_id,
            type=kind,
            amount=amount,
            request=echo,
            status=status,
            timestamp=now,
            update_timestamp=now,
            settle_at=now + delay,
        )
        self._transfers[transfer.id] = transfer
        self._client_transfers[client.id].append(transfer)
        if status != T_REJECTED:
            self._active_transfers.append(transfer)
        return transfer

    def _transfer_visible(self, transfer: Transfer, now: int) -> bool:
        return not transfer.is_final or transfer.timestamp >= now - DAY_NS

    @_locked
    def list_transfers(
        self, caller: AbstractSet[str], timestamp: int | str | None = None
    ) -> list[dict[str, Any]]:
        """Transfers created in the last 24 h and updated at or after ``timestamp`` (ns), newest first."""
        now = self._tick()
        caller = _caller(caller)
        since = _timestamp(timestamp, "timestamp") or 0
        cutoff = now - DAY_NS
        found = [
            t
            for c in self._caller_clients(caller)
            for t in self._client_transfers[c]
            if t.timestamp >= cutoff and t.update_timestamp >= since
        ]
        found.sort(key=lambda t: (t.timestamp, int(t.id)), reverse=True)
        return [self._transfer_view(t) for t in found]

    @_locked
    def active_transfers(
        self, caller: AbstractSet[str], transfer_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Transfers not final yet (INITIALIZED/PENDING), newest first; or the one ``transfer_id`` if active."""
        now = self._tick()
        caller = _caller(caller)
        if transfer_id is not None:
            tid = _id(transfer_id, "transfer_id")
            transfer = self._transfers.get(tid)
            if transfer is None or not self._transfer_visible(transfer, now):
                raise NotFound(f"transfer_id: no transfer with id {tid}")
            if transfer.client_id not in caller:
                raise Forbidden(f"transfer_id: transfer {tid} belongs to a client not bound to this API key")
            return [] if transfer.is_final else [self._transfer_view(transfer)]
        found = [t for c in self._caller_clients(caller) for t in self._client_transfers[c] if not t.is_final]
        found.sort(key=lambda t: (t.timestamp, int(t.id)), reverse=True)
        return [self._transfer_view(t) for t in found]

    # ============================================================================ public: inspection
    @_locked
    def advance(self) -> None:
        """Run the lazy lifecycle step now (every other public call does it too)."""
        self._tick()

    @_locked
    def totals(self) -> dict[str, Decimal]:
        """Sum of ``balance`` per asset id across every account (traders, house, fee account)."""
        totals = dict.fromkeys(self._assets, ZERO)
        for rows in self._balances.values():
            for asset_id, row in rows.items():
                totals[asset_id] += row.balance
        return totals

    @_locked
    def check_invariants(self) -> list[str]:
        """Every violated invariant, as text (empty when all hold). Does not advance the lifecycle."""
        problems: list[str] = []
        totals = self.totals()
        for asset_id, total in totals.items():
            expected = self._initial[asset_id] + self._transfer_net[asset_id]
            if total != expected:
                problems.append(f"asset {asset_id}: total {total} != seeded + net transfers {expected}")
        need_order: dict[tuple[str, str], Decimal] = {}
        for client_id, orders in self._open.items():
            for order in orders.values():
                required = self._required_hold(order)
                if order.status != ACTIVE or order.leaves <= 0:
                    problems.append(f"order {order.id}: open but status {order.status} leaves {order.leaves}")
                if order.hold != required:
                    problems.append(f"order {order.id}: hold {order.hold} != required {required}")
                if order.leaves + order.executed != order.qty:
                    problems.append(f"order {order.id}: leaves + executed != qty")
                if not order.book_seq:
                    problems.append(f"order {order.id}: open but not in the book")
                key = (client_id, order.hold_asset_id)
                need_order[key] = need_order.get(key, ZERO) + required
        for order in self._orders.values():
            if order.status != ACTIVE and order.hold:
                problems.append(f"order {order.id}: {order.status} but still holds {order.hold}")
        need_transfer: dict[tuple[str, str], Decimal] = {}
        for transfer in self._active_transfers:
            if transfer.type == WITHDRAW:
                key = (transfer.client_id, transfer.asset_id)
                need_transfer[key] = need_transfer.get(key, ZERO) + transfer.amount
        for client_id, rows in self._balances.items():
            for asset_id, row in rows.items():
                where = f"client {client_id} asset {asset_id}"
                if row.balance < 0 or row.order_hold < 0 or row.transfer_hold < 0:
                    problems.append(f"{where}: negative component {row}")
                if row.available < 0:
                    problems.append(f"{where}: negative available {row.available}")
                if row.order_hold != need_order.get((client_id, asset_id), ZERO):
                    problems.append(
                        f"{where}: order_hold {row.order_hold} != open orders need "
                        f"{need_order.get((client_id, asset_id), ZERO)}"
                    )
                if row.transfer_hold != need_transfer.get((client_id, asset_id), ZERO):
                    problems.append(f"{where}: transfer_hold {row.transfer_hold} != pending withdrawals")
        for instrument_id, book in self._books.items():
            if book.is_crossed():
                problems.append(
                    f"book {instrument_id}: crossed (bid {book.best_price(BUY)} >= ask {book.best_price(SELL)})"
                )
            seen: set[str] = set()
            for side in (BUY, SELL):
                for level in book.levels(side):
                    live = list(level.orders())
                    if level.count != len(live) or level.qty != sum((o.leaves for o in live), ZERO):
                        problems.append(f"book {instrument_id}: level {side} {level.price} totals are off")
                    for o in live:
                        seen.add(o.id)
                        if o.price != level.price or o.side != side or o.instrument_id != instrument_id:
                            problems.append(f"book {instrument_id}: order {o.id} sits at the wrong level")
            resting = {
                oid for c in self._open.values() for oid, o in c.items() if o.instrument_id == instrument_id
            }
            if seen != resting:
                problems.append(f"book {instrument_id}: resting orders differ from open orders")
        return problems

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
            "clients": [self._client_view(c) for c in self._clients.values()],
            "balances": {
                c: {a: [fmt(r.balance), fmt(r.order_hold), fmt(r.transfer_hold)] for a, r in rows.items()}
                for c, rows in self._balances.items()
            },
            "orders": [self._order_view(o) for o in self._orders.values() if self._visible(o, now)],
            "open": {c: list(orders) for c, orders in self._open.items()},
            "books": {
                i: {s: [[o.id, fmt(o.leaves)] for o in book.orders(s)] for s in (BUY, SELL)}
                for i, book in self._books.items()
            },
            "fills": {
                c: [self._fill_view(f) for f in fills if f.timestamp >= day_ago]
                for c, fills in self._fills.items()
            },
            "trades": {
                i: [t.match_id for t in trades if t.timestamp >= day_ago]
                for i, trades in self._trades.items()
            },
            "transfers": [
                self._transfer_view(t) for t in self._transfers.values() if self._transfer_visible(t, now)
            ],
            "idempotency": sorted(
                [k[0], k[1], order.id, "" if body is None else _canonical(body), str(ts)]
                for k, (body, ts, order) in ((k, _idem_parts(r)) for k, r in self._idem.items())
                if ts >= day_ago
            ),
        }


def _parse_query(query: str | None) -> Callable[[Order], bool] | None:
    if query is None or query == "":
        return None
    if not isinstance(query, str):
        raise BadRequest("query: must be a JSON string")
    try:
        data = json.loads(query)
    except ValueError:
        raise BadRequest("query: is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
        raise BadRequest('query: must be a JSON object {"columns": [{"name": ..., "filter": [...]}]}')
    conditions: list[tuple[str, frozenset[str]]] = []
    for i, column in enumerate(data["columns"]):
        where = f"query: columns[{i}]"
        if not isinstance(column, dict):
            raise BadRequest(f"{where} must be an object")
        name = column.get("name")
        if name not in _QUERY_COLUMNS:
            raise BadRequest(f"{where}.name must be one of {', '.join(_QUERY_COLUMNS)}")
        filters = column.get("filter")
        if not isinstance(filters, list) or not filters:
            raise BadRequest(f"{where}.filter must be a non-empty list")
        for j, item in enumerate(filters):
            if not isinstance(item, dict) or len(item) != 1:
                raise BadRequest(f'{where}.filter[{j}] must be an object with exactly one of "$in", "$eq"')
            ((op, operand),) = item.items()
            if op == "$in":
                if not isinstance(operand, list) or not all(isinstance(v, str) for v in operand):
                    raise BadRequest(f"{where}.filter[{j}].$in must be a list of strings")
                conditions.append((name, frozenset(operand)))
            elif op == "$eq":
                if not isinstance(operand, str):
                    raise BadRequest(f"{where}.filter[{j}].$eq must be a string")
                conditions.append((name, frozenset((operand,))))
            else:
                raise BadRequest(f'{where}.filter[{j}]: unsupported operator {op!r} (use "$in" or "$eq")')

    def predicate(order: Order) -> bool:
        for name, allowed in conditions:
            value = getattr(order, name)
            if value not in allowed:
                return False
        return True

    return predicate


def _settle_fill(
    order: Order,
    rows: dict[str, Balance],
    base: str,
    quote: str,
    qty: Decimal,
    price: Decimal,
    notional: Decimal,
    fee: Decimal,
    now: int,
) -> None:
    """One side of a fill: its client's balances (fee included) and the order's executed figures."""
    if order.side == BUY:
        rows[quote].balance -= notional + fee
        rows[base].balance += qty
    else:
        rows[base].balance -= qty
        rows[quote].balance += notional - fee
    executed = order.executed
    if executed:
        if order.fill_price != price:
            order.fill_price = None
        order.executed = executed + qty
        order.executed_notional += notional
    else:  # the first fill: qty itself (its hash is cached) rather than a fresh ZERO + qty
        order.fill_price = price
        order.executed = qty
        order.executed_notional = notional
    order.update_timestamp = now
