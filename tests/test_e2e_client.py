"""The client against the sandbox, end to end, over real HTTP (issue 6, part 3).

Every operation of the spec - the deprecated singular twins included - is called through ``Truex`` and
``AsyncTruex``, under both API versions, against a sandbox served by uvicorn on a loopback port:
``test_every_operation`` is parametrised over ``truex_ext.resources.OPERATIONS`` (36 operations x
sync/async x v2024_01_01/v2026_01_23), so an operation added to the spec without a case in ``CASES``
fails here. A recording transport (wrapping ``httpx.HTTPTransport`` / ``httpx.AsyncHTTPTransport``)
checks that each case put exactly that operation on the wire, in the version asked for.

The behavioural tests below it use a fresh exchange where state matters: crossing orders trade and move
balances and holds, modify/cancel transitions, pagination over several pages in both versions, typed
errors, transfers, idempotent creates and a create retried after the connection dropped once the
exchange had accepted it. Set-up and checks go to the engine directly (``Exchange`` methods), so the
wire carries only the calls under test.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import re
import ssl
import threading
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from truex_client.models import (
    ApiVersion,
    ApiVersionInfo,
    ApiVersionStatus,
    Asset,
    BalanceEntity,
    ClientAccount,
    ClientUpdateInfo,
    ComputeQuote,
    Health,
    HealthStatus,
    IdType,
    Instrument,
    LiquidityFlag,
    MarketQuote,
    MarketTrade,
    ModifyOrderInfo,
    NewOrderInfo,
    Order,
    OrderStatus,
    OrderType,
    QtyUnit,
    SelfTradePrevention,
    Side,
    Trade,
    Transfer,
    TransferNew,
    TransferPlatform,
    TransferStatus,
    TransferType,
    VwapQuote,
)
from truex_client.types import Unset
from truex_ext import (
    APIConnectionError,
    APIStatusError,
    AsyncPaginator,
    AsyncTruex,
    ConflictError,
    NotFoundError,
    Page,
    PermissionDeniedError,
    RetryPolicy,
    SyncPaginator,
    Truex,
    TruexDeprecationWarning,
)
from truex_ext.deprecation import reset_warning_registry
from truex_ext.endpoints import CURRENT_BASE, LEGACY_BASE
from truex_ext.jwt_key import JwtKey
from truex_ext.operations import Operation
from truex_ext.resources import OPERATIONS
from truex_sandbox.app import create_app
from truex_sandbox.engine import Exchange
from truex_sandbox.jwt_keys import key_file
from truex_sandbox.seed import default_seed
from truex_sandbox.server import serve_in_thread

V2024, V2026 = "v2024_01_01", "v2026_01_23"
VERSIONS = [V2024, V2026]
MODES = ["sync", "async"]
BTC_PYUSD = "200000000000000001"  # instruments and assets of the default seed
PYUSD, BTC = "100000000000000002", "100000000000000003"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
HOUR_NS = 3_600_000_000_000
# The resource attribute of the client for each tag of the spec.
RESOURCE = {
    "Service": "service",
    "Assets": "assets",
    "Instruments": "instruments",
    "Market Data": "market",
    "Clients": "clients",
    "Orders": "orders",
    "Balances": "balances",
    "Transfers": "transfers",
}

# Under v2024_01_01 every answer says the version itself is deprecated (once per process); that warning is
# expected and asserted in tests/test_deprecation.py, not here. Path warnings are asserted below.
pytestmark = pytest.mark.filterwarnings(
    "ignore:X-TRUEX-VERSION v2024_01_01 is deprecated:truex_ext.deprecation.TruexDeprecationWarning"
)


# --- the wire -------------------------------------------------------------------------------------


@dataclass
class Sent:
    method: str
    path: str
    query: dict[str, str]
    version: str | None
    body: bytes
    auth: str = ""  # "hmac", "bearer", "both" or "" (which auth headers the request carried)


class Wire(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Real HTTP (``httpx.HTTPTransport`` / ``httpx.AsyncHTTPTransport``) that records every request.

    ``drop`` decides, per request, whether to lose the response after the server has handled it: the
    request is forwarded, its response read and thrown away, and the exception returned by ``drop`` is
    raised instead - the connection broke after the exchange acted, before the answer arrived.
    """

    def __init__(self, drop: Callable[[httpx.Request, int], Exception | None] | None = None) -> None:
        # One TLS context for all (building one per transport costs ~50 ms; the sandbox is plain HTTP).
        self._sync = httpx.HTTPTransport(verify=_TLS)
        self._async = httpx.AsyncHTTPTransport(verify=_TLS)
        self.drop = drop
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def _record(self, request: httpx.Request) -> int:
        with self._lock:
            self.sent.append(
                Sent(
                    request.method,
                    request.url.raw_path.split(b"?", 1)[0].decode(),
                    dict(request.url.params),
                    request.headers.get("x-truex-version"),
                    request.content,
                    _auth_of(request.headers),
                )
            )
            return len(self.sent)

    def _dropped(self, request: httpx.Request, n: int) -> Exception | None:
        return self.drop(request, n) if self.drop is not None else None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        n = self._record(request)
        response = self._sync.handle_request(request)
        lost = self._dropped(request, n)
        if lost is not None:
            response.read()
            response.close()
            raise lost
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        n = self._record(request)
        response = await self._async.handle_async_request(request)
        lost = self._dropped(request, n)
        if lost is not None:
            await response.aread()
            await response.aclose()
            raise lost
        return response

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()


_TLS = ssl.create_default_context()


def _auth_of(headers: httpx.Headers) -> str:
    hmac = any(name.lower().startswith("x-truex-auth-") for name in headers)
    bearer = headers.get("authorization", "").startswith("Bearer ")
    return "both" if hmac and bearer else "hmac" if hmac else "bearer" if bearer else ""


def path_pattern(op: Operation, base: str = CURRENT_BASE) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(base + op.path)) + "$")


# --- the sandbox and the sessions on it -----------------------------------------------------------


@dataclass
class World:
    """A served sandbox, its engine, and the seeded users."""

    base_url: str
    exchange: Exchange
    t0: str  # a `timestamp` filter (ns) from before anything happened
    ids: dict[str, str] = field(default_factory=dict)  # ALICE/BOB -> client id
    keys: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, base_url: str, exchange: Exchange) -> World:
        world = cls(base_url, exchange, str(time.time_ns() - 1_000_000_000))
        for label in ("ALICE", "BOB"):
            key = next(k for k in exchange.seed.api_keys if k.label == label)
            world.keys[label] = key
            world.ids[label] = min(key.client_ids)
        return world

    @property
    def alice(self) -> str:
        return self.ids["ALICE"]

    @property
    def bob(self) -> str:
        return self.ids["BOB"]

    def caller(self, user: str = "ALICE") -> set[str]:
        return {self.ids[user]}

    # Set-up and checks straight on the engine: nothing of it goes over the wire.
    def rest(
        self,
        user: str = "ALICE",
        *,
        qty: str = "0.01",
        price: str = "74000",
        side: str = "BUY",
        external_id: str | None = None,
    ) -> dict[str, Any]:
        info = {
            "client_id": self.ids[user],
            "instrument_id": BTC_PYUSD,
            "qty": qty,
            "price": price,
            "side": side,
            "type": "LIMIT",
        }
        body = {"external_id": external_id or str(uuid.uuid4()), "info": info}
        return self.exchange.create_order(self.caller(user), body)

    def deposit(self, user: str = "ALICE", amount: str = "125.5") -> dict[str, Any]:
        request = {
            "asset_id": PYUSD,
            "client_id": self.ids[user],
            "platform": "INTERNAL",
            "type": "DEPOSIT",
            "amount": amount,
        }
        return self.exchange.create_transfer(self.caller(user), {"request": request})

    def order(self, order_id: str, user: str = "ALICE") -> dict[str, Any]:
        return self.exchange.order_status(self.caller(user), order_id)

    def orders(self, user: str = "ALICE") -> list[dict[str, Any]]:
        return self.exchange.list_orders(self.caller(user))

    def balance(self, asset: str, user: str = "ALICE") -> dict[str, Any]:
        (entity,) = self.exchange.list_balances(self.caller(user), asset_id=asset)
        (row,) = entity["balances"]
        return dict(row)

    @contextlib.asynccontextmanager
    async def session(
        self,
        mode: str,
        version: str,
        user: str = "ALICE",
        *,
        wire: Wire | None = None,
        base: str = "",
        auth: str = "hmac",
        **options: Any,
    ) -> AsyncIterator[Session]:
        wire = wire or Wire()
        key = self.keys[user]
        credentials: dict[str, Any] = {"api_key": key.key_id, "api_secret": key.secret}
        if auth == "jwt":  # the seeded JWT key of that client; the Auth API is the sandbox's own
            record = next(k for k in self.exchange.seed.jwt_keys if k.client_id == self.ids[user])
            credentials = {"jwt_key": JwtKey.from_mapping(key_file(record))}
        args: dict[str, Any] = {
            **credentials,
            "client_id": self.ids[user],
            "base_url": self.base_url + base,
            "api_version": version,
            "environ": {},
            "transport": wire,
            **options,
        }
        if mode == "async":
            aclient = AsyncTruex(**args)
            try:
                yield Session(aclient, wire, mode, version, self)
            finally:
                await aclient.close()
        else:
            client = Truex(**args)
            try:
                yield Session(client, wire, mode, version, self)
            finally:
                client.close()


@dataclass
class Session:
    """One client (sync or async) on a world; ``do`` runs any call the same way in both modes."""

    client: Any
    wire: Wire
    mode: str
    version: str
    world: World

    @property
    def v2026(self) -> bool:
        return self.version == V2026

    def method(self, op_id: str) -> Callable[..., Any]:
        op = OPERATIONS[op_id]
        method: Callable[..., Any] = getattr(getattr(self.client, RESOURCE[op.tag]), op.sdk_method)
        return method

    async def do(self, result: Any) -> Any:
        """The value of a call: every item of a list call, the awaited result of an async one."""
        if self.mode == "async":
            assert isinstance(result, AsyncPaginator) or inspect.isawaitable(result), result
            if isinstance(result, AsyncPaginator):
                return [item async for item in result]
            return await result
        assert not inspect.isawaitable(result), result
        if isinstance(result, SyncPaginator):
            return list(result)
        return result

    async def call(self, op_id: str, **kwargs: Any) -> Any:
        return await self.do(self.method(op_id)(**kwargs))

    async def pages(self, paginator: Any) -> list[Page[Any]]:
        if self.mode == "async":
            return [page async for page in paginator.pages()]
        return list(paginator.pages())


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One sandbox for the whole module; transfers stay active (settle in an hour)."""
    exchange = Exchange(settle_delay_ns=HOUR_NS)
    with serve_in_thread(create_app(exchange)) as server:
        w = World.of(server.base_url, exchange)
        # One trade of ALICE's against the house: market and order trades are never empty.
        taker = w.rest(qty="0.01", price="75002.5")
        assert taker["status"] == "FILLED", taker
        yield w


@pytest.fixture
def fresh() -> Iterator[Callable[..., World]]:
    """A factory of fresh sandboxes (``fresh(market_maker=False, clock=..., ...)``) for stateful tests."""
    with contextlib.ExitStack() as stack:

        def make(*, market_maker: bool = True, **exchange_args: Any) -> World:
            exchange = Exchange(default_seed(market_maker=market_maker), **exchange_args)
            server = stack.enter_context(serve_in_thread(create_app(exchange)))
            return World.of(server.base_url, exchange)

        yield make


@pytest.fixture(autouse=True)
def _fresh_warning_registry() -> None:
    # Deprecation warnings are emitted once per process and path; every test starts from none.
    reset_warning_registry()


# --- one case per operation -----------------------------------------------------------------------

Case = Callable[[Session, World, str], Awaitable[None]]
CASES: dict[str, Case] = {}


def case(*op_ids: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        for op_id in op_ids:
            assert op_id not in CASES, op_id
            CASES[op_id] = fn
        return fn

    return register


def is_decimal(*values: Any) -> bool:
    return all(isinstance(v, Decimal) for v in values)


@case("get_health")
async def _health(s: Session, w: World, op: str) -> None:
    health = await s.call(op)
    assert isinstance(health, Health)
    assert health.status == HealthStatus.HEALTHY and health.service
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", health.timestamp)


@case("list_versions")
async def _versions(s: Session, w: World, op: str) -> None:
    versions = await s.call(op)
    assert all(isinstance(v, ApiVersionInfo) for v in versions)
    by_name = {v.version: v for v in versions}
    assert set(by_name) == {ApiVersion.V2024_01_01, ApiVersion.V2026_01_23}
    assert by_name[ApiVersion.V2026_01_23].status == ApiVersionStatus.CURRENT
    old = by_name[ApiVersion.V2024_01_01]
    assert old.status == ApiVersionStatus.DEPRECATED and old.sunset is not None
    assert old.sunset.isoformat() == "2026-08-05"
    assert sum(v.default for v in versions) == 1


@case("list_assets", "list_assets_deprecated")
async def _assets(s: Session, w: World, op: str) -> None:
    assets = await s.call(op)
    assert all(isinstance(a, Asset) for a in assets)
    assert {a.fields.name: a.id for a in assets} == {
        "USD": "100000000000000001",
        "PYUSD": PYUSD,
        "BTC": BTC,
        "ETH": "100000000000000004",
    }
    (btc,) = await s.call(op, name="BTC")
    assert btc.id == BTC


@case("list_instruments", "list_instruments_deprecated")
async def _instruments(s: Session, w: World, op: str) -> None:
    instruments = await s.call(op)
    assert {i.info.symbol for i in instruments} == {"BTC-PYUSD", "ETH-PYUSD"}
    (btc,) = await s.call(op, symbol="BTC-PYUSD")
    assert isinstance(btc, Instrument) and btc.id == BTC_PYUSD
    info = btc.info
    assert is_decimal(info.reference_price, info.price_increment, info.qty_increment)
    assert (info.price_increment, info.qty_increment) == (Decimal("0.5"), Decimal("0.0001"))
    assert (info.base_asset_id, info.quote_asset_id) == (BTC, PYUSD)


@case("list_market_quotes")
async def _quotes(s: Session, w: World, op: str) -> None:
    (quote,) = await s.call(op, instrument_id=BTC_PYUSD)
    assert isinstance(quote, MarketQuote) and quote.symbol == "BTC-PYUSD"
    bid, ask = quote.info.best_bid, quote.info.best_ask
    assert not isinstance(bid, Unset) and not isinstance(ask, Unset)
    assert is_decimal(bid.price, bid.qty, ask.price, ask.qty)
    assert (bid.price, ask.price) == (Decimal("74998.5"), Decimal("75002.5"))


@case("get_vwap_quote_deprecated")
async def _vwap(s: Session, w: World, op: str) -> None:
    quote = await s.call(op, qty=Decimal("750.025"), instrument_id=BTC_PYUSD)
    assert isinstance(quote, VwapQuote)
    assert (quote.quote, quote.buy_amount) == (Decimal("75002.5"), Decimal("0.01"))


@case("compute_market_quote")
async def _compute(s: Session, w: World, op: str) -> None:
    quote = await s.call(
        op, qty=Decimal("0.01"), instrument_id=BTC_PYUSD, side=Side.BUY, qty_unit=QtyUnit.BASE
    )
    assert isinstance(quote, ComputeQuote)
    assert (quote.qty, quote.price) == (Decimal("0.01"), Decimal("75002.5"))
    if s.v2026:
        assert (quote.notional, quote.notional_residual) == (Decimal("750.025"), Decimal("0"))
    else:  # v2024_01_01 has no notional fields
        assert isinstance(quote.notional, Unset) and isinstance(quote.notional_residual, Unset)


@case("list_market_trades")
async def _market_trades(s: Session, w: World, op: str) -> None:
    trades = await s.call(op, instrument_id=BTC_PYUSD)
    assert trades and all(isinstance(t, MarketTrade) for t in trades)
    assert (trades[-1].trade_price, trades[-1].trade_qty) == (Decimal("75002.5"), Decimal("0.01"))


@case("list_clients", "list_clients_deprecated")
async def _clients(s: Session, w: World, op: str) -> None:
    (me,) = await s.call(op)
    assert isinstance(me, ClientAccount) and me.id == w.alice
    assert not isinstance(me.info, Unset) and me.info.mnemonic == "ALICE"


@case("update_client", "update_client_deprecated")
async def _update_client(s: Session, w: World, op: str) -> None:
    info = ClientUpdateInfo(self_trade_prevention=SelfTradePrevention.CANCEL_AGGRESSIVE)
    try:
        updated = await s.call(op, id=w.alice, info=info)
        assert isinstance(updated, ClientAccount) and updated.id == w.alice
        assert not isinstance(updated.info, Unset)
        assert updated.info.self_trade_prevention == "CANCEL_AGGRESSIVE"
        (client,) = w.exchange.list_clients(w.caller())
        assert client["info"]["self_trade_prevention"] == "CANCEL_AGGRESSIVE"
    finally:
        w.exchange.update_client(w.caller(), {"id": w.alice, "info": {"self_trade_prevention": "NONE"}})


@case("create_order", "create_order_deprecated")
async def _create_order(s: Session, w: World, op: str) -> None:
    info = NewOrderInfo(
        client_id=w.alice,
        instrument_id=BTC_PYUSD,
        qty=Decimal("0.0100"),
        price=Decimal("7.4E+4"),  # written fixed-point on the wire
        side=Side.BUY,
        type_=OrderType.LIMIT,
    )
    order = await s.call(op, info=info)
    try:
        assert isinstance(order, Order) and order.status == OrderStatus.ACTIVE
        assert not isinstance(order.order_info, Unset)
        assert str(order.order_info.price) == "74000" and str(order.order_info.qty) == "0.0100"
        assert (order.leaves_qty, order.exeuted_qty) == (Decimal("0.01"), Decimal("0"))
        assert isinstance(order.external_id, str) and UUID4.match(order.external_id)  # filled in
        assert w.order(order.id)["external_id"] == order.external_id
        assert json.loads(s.wire.sent[0].body)["info"]["price"] == "74000"
    finally:
        w.exchange.cancel_order(w.caller(), order.id)


@case("modify_order", "modify_order_deprecated")
async def _modify_order(s: Session, w: World, op: str) -> None:
    resting = w.rest(qty="0.01", price="74000")
    info = ModifyOrderInfo(client_id=w.alice, new_qty=Decimal("0.02"), new_price=Decimal("74000.5"))
    order = await s.call(op, id=resting["id"], info=info)
    assert isinstance(order, Order) and order.id == resting["id"]
    assert order.status == OrderStatus.ACTIVE and order.leaves_qty == Decimal("0.02")
    assert not isinstance(order.modify_info, Unset)
    assert (order.modify_info.new_qty, order.modify_info.new_price) == (Decimal("0.02"), Decimal("74000.5"))
    w.exchange.cancel_order(w.caller(), order.id)


@case("list_orders", "list_orders_deprecated")
async def _list_orders(s: Session, w: World, op: str) -> None:
    resting = w.rest()
    try:
        orders = await s.call(op, size=100)
        assert all(isinstance(o, Order) for o in orders)
        assert [o.id for o in orders] == [o["id"] for o in w.orders()]  # every page, newest first
        assert orders[0].id == resting["id"]
        query = json.dumps({"columns": [{"name": "status", "filter": [{"$eq": "FILLED"}]}]})
        filled = await s.call(op, query=query)
        assert filled and {o.status for o in filled} == {OrderStatus.FILLED}
    finally:
        w.exchange.cancel_order(w.caller(), resting["id"])


@case("cancel_order", "cancel_order_deprecated")
async def _cancel_order(s: Session, w: World, op: str) -> None:
    resting = w.rest()
    order = await s.call(op, ref_id=resting["id"])
    assert isinstance(order, Order) and order.id == resting["id"]
    assert order.status == OrderStatus.CANCEL_PENDING
    assert w.order(resting["id"])["status"] == "CANCELED"


@case("list_active_orders", "list_active_orders_deprecated")
async def _active_orders(s: Session, w: World, op: str) -> None:
    resting = w.rest()
    (order,) = await s.call(op, id=resting["id"])
    assert isinstance(order, Order) and order.id == resting["id"] and order.status == OrderStatus.ACTIVE
    assert is_decimal(order.leaves_qty, order.exeuted_qty, order.executed_vwap)
    w.exchange.cancel_order(w.caller(), resting["id"])
    assert await s.call(op, id=resting["id"]) == []


@case("get_order_status", "get_order_status_deprecated")
async def _order_status(s: Session, w: World, op: str) -> None:
    resting = w.rest()
    (order,) = await s.call(op, ref_id=resting["id"])
    assert isinstance(order, Order) and order.id == resting["id"] and order.status == OrderStatus.ACTIVE
    (by_external,) = await s.call(op, ref_id=resting["external_id"], id_type=IdType.CLIENT)
    assert by_external.id == resting["id"]
    w.exchange.cancel_order(w.caller(), resting["id"])


@case("list_order_trades", "list_order_trades_deprecated")
async def _order_trades(s: Session, w: World, op: str) -> None:
    trades = await s.call(op, timestamp=w.t0)
    assert trades and all(isinstance(t, Trade) for t in trades)
    first = trades[-1]
    assert (first.client_id, first.instrument_id) == (w.alice, BTC_PYUSD)
    assert (first.trade_price, first.trade_qty) == (Decimal("75002.5"), Decimal("0.01"))
    assert first.liq_flag == LiquidityFlag.TAKER and first.trade_fee_rate == Decimal("0.0015")


@case("list_balances", "list_balances_deprecated")
async def _balances(s: Session, w: World, op: str) -> None:
    entities = await s.call(op)
    assert [e.id for e in entities] == [w.alice] and all(isinstance(e, BalanceEntity) for e in entities)
    assert {b.asset_id for b in entities[0].balances} == {
        "100000000000000001",
        PYUSD,
        BTC,
        "100000000000000004",
    }
    (entity,) = await s.call(op, asset_name="BTC")
    (btc,) = entity.balances
    assert is_decimal(btc.balance, btc.order_hold, btc.transfer_hold, entity.fees_hold)
    assert (btc.asset_id, btc.balance, btc.order_hold) == (BTC, Decimal("10.01"), Decimal("0"))


@case("list_transfers", "list_transfers_deprecated")
async def _transfers(s: Session, w: World, op: str) -> None:
    deposit = w.deposit()
    transfers = await s.call(op, timestamp=w.t0, size=100)
    assert all(isinstance(t, Transfer) for t in transfers)
    mine = next(t for t in transfers if t.id == deposit["id"])
    assert mine.request.amount == Decimal("125.5") and mine.request.type_ == TransferType.DEPOSIT


@case("create_transfer", "create_transfer_deprecated")
async def _create_transfer(s: Session, w: World, op: str) -> None:
    request = TransferNew(
        asset_id=PYUSD,
        client_id=w.alice,
        platform=TransferPlatform.INTERNAL,
        type_=TransferType.DEPOSIT,
        amount=Decimal("250.75"),
    )
    transfer = await s.call(op, request=request)
    assert isinstance(transfer, Transfer) and transfer.status == TransferStatus.INITIALIZED
    assert transfer.request.amount == Decimal("250.75") and transfer.request.client_id == w.alice
    newest = w.exchange.list_transfers(w.caller())[0]
    assert newest["id"] == transfer.id and newest["request"]["amount"] == "250.75"


@case("list_active_transfers", "list_active_transfers_deprecated")
async def _active_transfers(s: Session, w: World, op: str) -> None:
    deposit = w.deposit(amount="1")
    (transfer,) = await s.call(op, transfer_id=deposit["id"])
    assert isinstance(transfer, Transfer) and transfer.id == deposit["id"]
    assert transfer.status in (TransferStatus.INITIALIZED, TransferStatus.PENDING)
    assert transfer.request.amount == Decimal("1")


def test_every_operation_of_the_spec_has_a_case() -> None:
    assert sorted(set(OPERATIONS) - set(CASES)) == [], "operations without an end-to-end case"
    assert sorted(set(CASES) - set(OPERATIONS)) == [], "cases of operations the spec no longer has"
    assert len(OPERATIONS) == 36


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("base", "auth"), [(CURRENT_BASE, "hmac"), (CURRENT_BASE, "jwt"), (LEGACY_BASE, "hmac")]
)
@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
async def test_every_operation(
    world: World, op_id: str, base: str, auth: str, mode: str, version: str
) -> None:
    """Every operation through the client under /v1/cefi with HMAC and with JWT, and under /api/v1 with
    HMAC (the deprecated twins always go to /api/v1)."""
    op = OPERATIONS[op_id]
    run = CASES.get(op_id)
    assert run is not None, f"{op_id}: no end-to-end case (add one to CASES)"
    sent_base = base if base in op.bases else LEGACY_BASE
    path_warning = re.escape(f"{op.method} {sent_base}{op.path} is deprecated")
    async with world.session(mode, version, base=base, auth=auth) as s:
        if op.deprecated or sent_base == LEGACY_BASE:
            with pytest.warns(TruexDeprecationWarning, match=path_warning) as caught:
                await run(s, world, op_id)
            (message,) = [str(w.message) for w in caught if re.match(path_warning, str(w.message))]
            if op.deprecated:  # the spec names the replacement operation
                successor = OPERATIONS[op.replacement or ""]
                assert f"use {successor.method} {CURRENT_BASE}{successor.path}" in message
            else:  # the legacy base: the exchange's Link names the same path under /v1/cefi
                assert f"use {CURRENT_BASE}/" in message and "removal date, 2026-08-05, has passed" in message
        else:
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                await run(s, world, op_id)
            assert not [w for w in seen if re.match(path_warning, str(w.message))]
    pattern = path_pattern(op, sent_base)
    assert s.wire.sent, f"{op_id}: nothing was sent"
    for sent in s.wire.sent:
        assert sent.method == op.method and pattern.match(sent.path), (op_id, sent.method, sent.path)
        assert sent.version == version
        assert sent.auth == ("bearer" if auth == "jwt" else "hmac")  # never both


# --- behaviour ------------------------------------------------------------------------------------

both = pytest.mark.parametrize("version", VERSIONS)
modes = pytest.mark.parametrize("mode", MODES)


@both
@modes
async def test_crossing_orders_trade_and_move_balances_and_holds(
    fresh: Callable[..., World], mode: str, version: str
) -> None:
    w = fresh(market_maker=False)  # an empty book: ALICE and BOB trade with each other
    async with w.session(mode, version, "BOB") as bob, w.session(mode, version) as alice:
        sell = await bob.call(
            "create_order",
            info=NewOrderInfo(
                client_id=w.bob,
                instrument_id=BTC_PYUSD,
                qty=Decimal("0.02"),
                price=Decimal("75000"),
                side=Side.SELL,
                type_=OrderType.LIMIT,
            ),
        )
        assert sell.status == OrderStatus.ACTIVE
        (bob_btc,) = (await bob.call("list_balances", asset_id=BTC))[0].balances
        assert (bob_btc.balance, bob_btc.order_hold) == (Decimal("10"), Decimal("0.02"))

        # A BUY below the ask rests and holds qty x price x (1 + max(maker, taker) fee) of PYUSD.
        low = await alice.call(
            "create_order",
            info=NewOrderInfo(
                client_id=w.alice,
                instrument_id=BTC_PYUSD,
                qty=Decimal("0.01"),
                price=Decimal("74000"),
                side=Side.BUY,
                type_=OrderType.LIMIT,
            ),
        )
        (pyusd,) = (await alice.call("list_balances", asset_id=PYUSD))[0].balances
        assert (pyusd.balance, pyusd.order_hold) == (Decimal("1000000"), Decimal("741.11"))
        await alice.call("cancel_order", ref_id=low.id)
        (pyusd,) = (await alice.call("list_balances", asset_id=PYUSD))[0].balances
        assert pyusd.order_hold == Decimal("0")

        # A BUY at or above the ask trades at the maker's price.
        buy = await alice.call(
            "create_order",
            info=NewOrderInfo(
                client_id=w.alice,
                instrument_id=BTC_PYUSD,
                qty=Decimal("0.01"),
                price=Decimal("75000.5"),
                side=Side.BUY,
                type_=OrderType.LIMIT,
            ),
        )
        assert buy.status == OrderStatus.FILLED
        assert (buy.leaves_qty, buy.exeuted_qty, buy.executed_vwap) == (
            Decimal("0"),
            Decimal("0.01"),
            Decimal("75000"),
        )
        (taker,) = await alice.call("list_order_trades", timestamp=w.t0)
        assert (taker.order_id, taker.trade_price, taker.trade_qty) == (
            buy.id,
            Decimal("75000"),
            Decimal("0.01"),
        )
        assert taker.liq_flag == LiquidityFlag.TAKER and taker.trade_fee_rate == Decimal("0.0015")
        (maker,) = await bob.call("list_order_trades", timestamp=w.t0)
        assert maker.liq_flag == LiquidityFlag.MAKER and maker.match_id == taker.match_id
        (public,) = await alice.call("list_market_trades", instrument_id=BTC_PYUSD)
        assert (public.trade_price, public.trade_qty) == (Decimal("75000"), Decimal("0.01"))

        # 750 PYUSD notional: ALICE pays it plus 0.15 % taker fee, BOB gets it less 0.08 % maker fee.
        rows = {b.asset_id: b for b in (await alice.call("list_balances"))[0].balances}
        assert (rows[BTC].balance, rows[PYUSD].balance) == (Decimal("10.01"), Decimal("999248.875"))
        assert rows[PYUSD].order_hold == Decimal("0")
        rows = {b.asset_id: b for b in (await bob.call("list_balances"))[0].balances}
        assert (rows[BTC].balance, rows[BTC].order_hold) == (Decimal("9.99"), Decimal("0.01"))
        assert rows[PYUSD].balance == Decimal("1000749.4")
        (rest,) = await bob.call("get_order_status", ref_id=sell.id)
        assert (rest.status, rest.leaves_qty, rest.exeuted_qty) == (
            OrderStatus.ACTIVE,
            Decimal("0.01"),
            Decimal("0.01"),
        )


@both
@modes
async def test_modify_and_cancel_transitions(fresh: Callable[..., World], mode: str, version: str) -> None:
    w = fresh()
    async with w.session(mode, version) as s:
        order = await s.call(
            "create_order",
            external_id="mod-1",
            info=NewOrderInfo(
                client_id=w.alice,
                instrument_id=BTC_PYUSD,
                qty=Decimal("0.01"),
                price=Decimal("74000"),
                side=Side.BUY,
                type_=OrderType.LIMIT,
            ),
        )
        assert (order.status, order.external_id) == (OrderStatus.ACTIVE, "mod-1")
        # A new total quantity and price, the order found by its exchange id: the hold follows.
        bigger = await s.call(
            "modify_order",
            id=order.id,
            info=ModifyOrderInfo(client_id=w.alice, new_qty=Decimal("0.03"), new_price=Decimal("74500")),
        )
        assert (bigger.status, bigger.leaves_qty) == (OrderStatus.ACTIVE, Decimal("0.03"))
        assert w.balance(PYUSD)["order_hold"] == "2238.3525"  # 0.03 x 74500 x 1.0015
        # Then by its external id: a pure size decrease.
        smaller = await s.call(
            "modify_order",
            external_id="mod-1",
            info=ModifyOrderInfo(client_id=w.alice, new_qty=Decimal("0.02"), new_price=Decimal("74500")),
        )
        assert smaller.id == order.id and smaller.leaves_qty == Decimal("0.02")
        assert not isinstance(smaller.modify_info, Unset) and smaller.modify_info.new_qty == Decimal("0.02")
        (active,) = await s.call("list_active_orders")
        assert active.id == order.id and active.leaves_qty == Decimal("0.02")

        canceled = await s.call("cancel_order", ref_id="mod-1", id_type=IdType.CLIENT)
        assert canceled.id == order.id and canceled.status == OrderStatus.CANCEL_PENDING
        (final,) = await s.call("get_order_status", ref_id=order.id)
        assert (final.status, final.leaves_qty) == (OrderStatus.CANCELED, Decimal("0"))
        assert await s.call("list_active_orders") == []
        assert w.balance(PYUSD)["order_hold"] == "0"

        with pytest.raises(ConflictError) as closed:
            await s.call("cancel_order", ref_id=order.id)
        assert closed.value.status_code == 409 and "CANCELED" in str(closed.value.problem)
        with pytest.raises(ConflictError):
            await s.call(
                "modify_order",
                id=order.id,
                info=ModifyOrderInfo(client_id=w.alice, new_qty=Decimal("0.05"), new_price=Decimal("74500")),
            )


@both
@modes
async def test_pagination_across_several_pages(fresh: Callable[..., World], mode: str, version: str) -> None:
    w = fresh()
    made = [w.rest(price=str(74000 + i)) for i in range(7)]
    newest_first = [o["id"] for o in reversed(made)]
    for i in range(5):
        w.deposit(amount=str(i + 1))
    async with w.session(mode, version) as s:
        pages = await s.pages(s.client.orders.list(size=3))
        assert [len(p.items) for p in pages] == [3, 3, 1]
        assert [o.id for p in pages for o in p.items] == newest_first
        assert [(x.method, x.path) for x in s.wire.sent] == [("GET", "/v1/cefi/orders/list")] * 3
        queries = [x.query for x in s.wire.sent]
        if s.v2026:  # opaque cursors, the last page has none
            cursors = [p.next_cursor for p in pages]
            assert all(cursors[:2]) and cursors[2] is None and len(set(cursors[:2])) == 2
            assert [q.get("cursor") for q in queries] == [None, *cursors[:2]]
        else:  # offsets
            assert [p.next_cursor for p in pages] == [None, None, None]
            assert [q.get("skip") for q in queries] == [None, "3", "6"]
        assert {q["size"] for q in queries} == {"3"}

        # The deprecated twin pages the same way; filters are kept from page to page.
        query = json.dumps({"columns": [{"name": "status", "filter": [{"$eq": "ACTIVE"}]}]})
        with pytest.warns(TruexDeprecationWarning):
            twin = await s.call("list_orders_deprecated", size=2, query=query)
        assert [o.id for o in twin] == newest_first

        transfers = await s.pages(s.client.transfers.list(timestamp=w.t0, size=2))
        assert [len(p.items) for p in transfers] == [2, 2, 1]
        assert [t.request.amount for p in transfers for t in p.items] == [Decimal(n) for n in "54321"]
        assert await s.call("list_orders", size=2, max_items=5) == await s.call("list_orders", max_items=5)
        if s.v2026:  # cursor pages on every list operation, offset or not
            active = await s.pages(s.client.orders.active(size=3))
            assert [len(p.items) for p in active] == [3, 3, 1]
            assert [o.id for p in active for o in p.items] == newest_first


# Under v2024_01_01 a list without `skip` cannot page: the client asks for all of it rather than size=10.
@pytest.mark.parametrize("version", [V2024, V2026])
@modes
async def test_lists_without_offset_come_whole(fresh: Callable[..., World], mode: str, version: str) -> None:
    w = fresh()
    made = [w.rest(price=str(74000 + i)) for i in range(12)]
    async with w.session(mode, version) as s:
        active = await s.call("list_active_orders")
    assert len(active) == len(made)


@both
@modes
async def test_typed_errors(fresh: Callable[..., World], mode: str, version: str) -> None:
    w = fresh()
    theirs = w.rest("BOB")
    mine = w.rest()
    w.exchange.cancel_order(w.caller(), mine["id"])
    async with w.session(mode, version) as s:
        with pytest.raises(NotFoundError) as missing:
            await s.call("get_order_status", ref_id="999999999999999999")
        with pytest.raises(NotFoundError):
            await s.call("cancel_order", ref_id="999999999999999999")
        with pytest.raises(PermissionDeniedError) as forbidden:
            await s.call("get_order_status", ref_id=theirs["id"])
        with pytest.raises(PermissionDeniedError):
            await s.call("cancel_order", ref_id=theirs["id"])
        with pytest.raises(ConflictError) as conflict:
            await s.call("cancel_order", ref_id=mine["id"])
    for exc, status in ((missing, 404), (forbidden, 403), (conflict, 409)):
        error = exc.value
        assert error.status_code == status and error.request_id
        assert error.problem is not None and error.problem.status == status and error.problem.detail
    assert w.order(theirs["id"], "BOB")["status"] == "ACTIVE"  # a refused request changed nothing
    assert [x.method for x in s.wire.sent] == ["GET", "DELETE", "GET", "DELETE", "DELETE"]  # none retried


@both
@modes
async def test_transfers_deposit_then_list_and_active(
    fresh: Callable[..., World], mode: str, version: str
) -> None:
    skew = [0]
    w = fresh(clock=lambda: time.time_ns() + skew[0], settle_delay_ns=2_000_000_000)
    async with w.session(mode, version) as s:
        transfer = await s.call(
            "create_transfer",
            request=TransferNew(
                asset_id=PYUSD,
                client_id=w.alice,
                platform=TransferPlatform.INTERNAL,
                type_=TransferType.DEPOSIT,
                amount=Decimal("1234.5678"),
            ),
        )
        assert transfer.status == TransferStatus.INITIALIZED
        (active,) = await s.call("list_active_transfers")
        assert active.id == transfer.id and active.request.amount == Decimal("1234.5678")
        (listed,) = await s.call("list_transfers", timestamp=w.t0)
        assert listed.id == transfer.id
        assert w.balance(PYUSD)["balance"] == "1000000"

        skew[0] = 3_000_000_000  # the exchange's clock moves past the settlement delay
        assert await s.call("list_active_transfers") == []
        (settled,) = await s.call("list_transfers", timestamp=w.t0)
        assert settled.status == TransferStatus.COMPLETED
        (row,) = (await s.call("list_balances", asset_id=PYUSD))[0].balances
        assert row.balance == Decimal("1001234.5678")


@both
@modes
async def test_create_is_idempotent_by_external_id(
    fresh: Callable[..., World], mode: str, version: str
) -> None:
    w = fresh()
    info = NewOrderInfo(
        client_id=w.alice,
        instrument_id=BTC_PYUSD,
        qty=Decimal("0.01"),
        price=Decimal("74000"),
        side=Side.BUY,
        type_=OrderType.LIMIT,
    )
    async with w.session(mode, version) as s:
        first = await s.call("create_order", info=info, external_id="same-id-1")
        again = await s.call("create_order", info=info, external_id="same-id-1")
        assert again.id == first.id and again.status == OrderStatus.ACTIVE
        orders = await s.call("list_orders")
        assert [o.id for o in orders] == [first.id]
        assert w.balance(PYUSD)["order_hold"] == "741.11"  # held once
        other = NewOrderInfo(
            client_id=w.alice,
            instrument_id=BTC_PYUSD,
            qty=Decimal("0.02"),
            price=Decimal("74000"),
            side=Side.BUY,
            type_=OrderType.LIMIT,
        )
        with pytest.raises(ConflictError):  # the same external id with another body
            await s.call("create_order", info=other, external_id="same-id-1")
    assert len(w.orders()) == 1


def _lose_first(method: str, path: str, error: type[httpx.TransportError]) -> Callable[..., Exception | None]:
    """A ``Wire.drop`` that loses the answer to the first ``method path`` request."""
    lost: list[int] = []

    def drop(request: httpx.Request, n: int) -> Exception | None:
        if request.method == method and request.url.path == path and not lost:
            lost.append(n)
            return error("connection lost after the request was sent", request=request)
        return None

    return drop


@both
@modes
@pytest.mark.parametrize("error", [httpx.ReadError, httpx.ConnectError])
async def test_a_create_whose_answer_was_lost_is_retried_into_one_order(
    fresh: Callable[..., World], mode: str, version: str, error: type[httpx.TransportError]
) -> None:
    w = fresh()
    wire = Wire(drop=_lose_first("POST", "/v1/cefi/orders", error))
    fast = RetryPolicy(initial_backoff=0.01, jitter=(1.0, 1.0))
    async with w.session(mode, version, wire=wire, retry_policy=fast) as s:
        order = await s.call(
            "create_order",
            info=NewOrderInfo(
                client_id=w.alice,
                instrument_id=BTC_PYUSD,
                qty=Decimal("0.01"),
                price=Decimal("74000"),
                side=Side.BUY,
                type_=OrderType.LIMIT,
            ),
        )
    posts = [json.loads(x.body) for x in wire.sent if x.method == "POST"]
    assert len(posts) == 2 and posts[0] == posts[1]  # the same body, the same generated external_id
    assert UUID4.match(posts[0]["external_id"]) and order.external_id == posts[0]["external_id"]
    (only,) = w.orders()  # the exchange accepted the first attempt and answered the second with it
    assert only["id"] == order.id and order.status == OrderStatus.ACTIVE
    assert w.balance(PYUSD)["order_hold"] == "741.11"


@modes
async def test_a_transfer_whose_answer_was_lost_is_not_retried(
    fresh: Callable[..., World], mode: str
) -> None:
    w = fresh()
    wire = Wire(drop=_lose_first("POST", "/v1/cefi/transfers", httpx.ReadError))
    async with w.session(mode, V2026, wire=wire) as s:
        with pytest.raises(APIConnectionError):
            await s.call(
                "create_transfer",
                request=TransferNew(
                    asset_id=PYUSD,
                    client_id=w.alice,
                    platform=TransferPlatform.INTERNAL,
                    type_=TransferType.DEPOSIT,
                    amount=Decimal("10"),
                ),
            )
    assert [x.method for x in wire.sent] == ["POST"]  # no key makes a second transfer safe: not resent
    assert len(w.exchange.list_transfers(w.caller())) == 1


@both
@modes
async def test_deprecated_paths_are_flagged_on_the_raw_response(
    world: World, mode: str, version: str
) -> None:
    resting = world.rest()
    async with world.session(mode, version) as s:
        with pytest.warns(TruexDeprecationWarning, match=re.escape("GET /api/v1/order/status/{ref_id}")):
            raw = await s.do(s.client.orders.with_raw_response.status_deprecated(ref_id=resting["id"]))
        plural = await s.do(s.client.orders.with_raw_response.status(ref_id=resting["id"]))
    assert raw.status_code == 200 and [o.id for o in raw.parsed] == [resting["id"]]
    assert raw.deprecation is not None and raw.deprecation.deprecated
    assert raw.deprecation.links.get("successor-version") == f"/v1/cefi/orders/status/{resting['id']}"
    assert raw.request_id and raw.request_id != plural.request_id
    if s.v2026:
        assert plural.deprecation is None
    world.exchange.cancel_order(world.caller(), resting["id"])


def test_a_kept_alive_connection_is_answered_without_delay(world: World) -> None:
    with httpx.Client(base_url=world.base_url) as http:
        http.get("/v1/cefi/health").raise_for_status()  # connect
        started = time.perf_counter()
        for _ in range(10):
            http.get("/v1/cefi/health").raise_for_status()
        elapsed = time.perf_counter() - started
    assert elapsed < 0.2, f"10 requests on one connection took {elapsed:.3f} s"


@modes
async def test_with_the_legacy_base_gone_the_default_client_still_trades(mode: str) -> None:
    """`truex-sandbox --legacy gone`: the exchange after the announced removal of /api/v1."""
    exchange = Exchange(settle_delay_ns=HOUR_NS)
    with serve_in_thread(create_app(exchange, legacy="gone")) as server:
        w = World.of(server.base_url, exchange)
        async with w.session(mode, V2026) as s:  # the default base: /v1/cefi
            order = await s.call(
                "create_order",
                info=NewOrderInfo(
                    client_id=w.alice,
                    instrument_id=BTC_PYUSD,
                    qty=Decimal("0.01"),
                    price=Decimal("74000"),
                    side=Side.BUY,
                    type_=OrderType.LIMIT,
                ),
            )
            assert order.id in {o.id for o in await s.call("list_active_orders")}
            await s.call("cancel_order", ref_id=order.id)
        async with w.session(mode, V2026, base=LEGACY_BASE) as legacy:
            with pytest.raises(APIStatusError) as info:
                await legacy.call("list_balances")
        assert info.value.status_code == 410
        assert "use /v1/cefi/balances" in str(info.value.problem.detail if info.value.problem else "")
