"""Unit tests of the sandbox exchange core (truex_sandbox: models, seed, book, engine, store)."""

from __future__ import annotations

import json
import re
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from truex_sandbox.book import OrderBook
from truex_sandbox.engine import DAY_NS, BadRequest, Conflict, EngineError, Exchange, Forbidden, NotFound
from truex_sandbox.models import Order, fmt
from truex_sandbox.seed import default_seed, load_seed, seed_from_dict, seed_to_dict
from truex_sandbox.store import MemoryJournal

T0 = 1_700_000_000_000_000_000
SEC = 1_000_000_000

ALICE, BOB, HOUSE, FEES = (
    "300000000000000001",
    "300000000000000002",
    "300000000000000003",
    "300000000000000004",
)
A, B, H = frozenset({ALICE}), frozenset({BOB}), frozenset({HOUSE})
USD, PYUSD, BTC, ETH = "100000000000000001", "100000000000000002", "100000000000000003", "100000000000000004"
BTC_PYUSD, ETH_PYUSD = "200000000000000001", "200000000000000002"
ID_RE = re.compile(r"^[0-9]{18}$")
UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
D = Decimal


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * SEC)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ex(clock: Clock) -> Exchange:
    """An exchange with an empty book (no house liquidity)."""
    return Exchange(default_seed(market_maker=False), clock=clock)


_ext = iter(range(10**9))


def body(
    client: str,
    side: str,
    qty: str,
    price: str | None = None,
    *,
    ext: str | None = None,
    type: str = "LIMIT",
    tif: str | None = None,
    alo: bool = False,
    stp: str | None = None,
    instrument: str = BTC_PYUSD,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "client_id": client,
        "instrument_id": instrument,
        "qty": qty,
        "side": side,
        "type": type,
    }
    if price is not None:
        info["price"] = price
    if tif is not None:
        info["tif"] = tif
    if alo:
        info["exec_inst_flags"] = ["ALO"]
    if stp is not None:
        info["stp"] = stp
    return {"external_id": ext or f"t{next(_ext)}", "info": info}


def place(
    ex: Exchange, client: str, side: str, qty: str, price: str | None = None, **kw: Any
) -> dict[str, Any]:
    return ex.create_order(frozenset({client}), body(client, side, qty, price, **kw))


def row(ex: Exchange, client: str, asset: str) -> dict[str, str]:
    (entity,) = ex.list_balances(frozenset({client}), asset_id=asset)
    (r,) = entity["balances"]
    return dict(r)


def bal(ex: Exchange, client: str, asset: str) -> Decimal:
    return D(row(ex, client, asset)["balance"])


def hold(ex: Exchange, client: str, asset: str) -> Decimal:
    return D(row(ex, client, asset)["order_hold"])


def ok(ex: Exchange) -> None:
    assert ex.check_invariants() == []


# ================================================================================ formatting & models
@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1E-8", "0.00000001"),
        ("0", "0"),
        ("-0", "0"),
        ("0E-10", "0"),
        ("100", "100"),
        ("1E+2", "100"),
        ("75000.50", "75000.5"),
    ],
)
def test_fmt_never_uses_exponent(value: str, text: str) -> None:
    assert fmt(D(value)) == text


def test_band_is_rounded_inwards_to_the_grid(ex: Exchange) -> None:
    (inst,) = ex.list_instruments(id=BTC_PYUSD)
    assert inst["info"]["price_increment"] == "0.5"
    instrument = ex.seed.instruments[0]
    assert instrument.band_low == D("73125.5")  # 75000.5 x 0.975 = 73125.4875
    assert instrument.band_high == D("76875.5")  # 75000.5 x 1.025 = 76875.5125


# ======================================================================================== seed
def test_default_credentials_are_deterministic_uuid4() -> None:
    one, two = default_seed(), default_seed()
    assert [k.key_id for k in one.api_keys] == [k.key_id for k in two.api_keys]
    assert [k.secret for k in one.api_keys] == [k.secret for k in two.api_keys]
    for key in one.api_keys:
        assert UUID4_RE.match(key.key_id)
        assert len(key.secret) >= 32
        assert key.secret not in repr(key)
    assert {k.label for k in one.api_keys} == {"ALICE", "BOB", "HOUSE"}


def test_fresh_credentials_differ() -> None:
    one, two = default_seed(fresh_credentials=True), default_seed(fresh_credentials=True)
    assert {k.key_id for k in one.api_keys}.isdisjoint(k.key_id for k in two.api_keys)
    assert all(UUID4_RE.match(k.key_id) for k in one.api_keys)


def test_load_seed_round_trip(tmp_path: Path) -> None:
    seed = default_seed()
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed_to_dict(seed)))
    again = load_seed(path)
    assert seed_to_dict(again) == seed_to_dict(seed)


def test_seed_errors_name_the_field() -> None:
    data = seed_to_dict(default_seed())
    data["instruments"][0]["price_increment"] = "-1"
    with pytest.raises(ValueError, match=r"instruments\[0\]\.price_increment"):
        seed_from_dict(data)
    data = seed_to_dict(default_seed())
    del data["fee_client"]
    with pytest.raises(ValueError, match="malformed"):
        seed_from_dict(data)


def test_authenticate_key(ex: Exchange) -> None:
    key = next(k for k in ex.seed.api_keys if k.label == "ALICE")
    assert ex.authenticate_key(key.key_id) is key
    assert key.client_ids == A
    assert ex.authenticate_key("00000000-0000-4000-8000-000000000000") is None


# ============================================================================ reference data
def test_assets_list_and_filters(ex: Exchange) -> None:
    assets = ex.list_assets()
    assert [a["fields"]["name"] for a in assets] == ["USD", "PYUSD", "BTC", "ETH"]
    assert assets[2] == {"id": BTC, "status": "ACTIVE", "fields": {"name": "BTC"}}
    assert ex.list_assets(id=ETH)[0]["fields"]["name"] == "ETH"
    assert ex.list_assets(name="PYUSD")[0]["id"] == PYUSD
    assert ex.list_assets(name="pyusd") == []
    with pytest.raises(BadRequest, match=r"^id:"):
        ex.list_assets(id="abc")


def test_instruments_shape_and_symbol_filter(ex: Exchange) -> None:
    (btc,) = ex.list_instruments(symbol="BTC-PYUSD")
    assert btc == {
        "id": BTC_PYUSD,
        "status": "ACTIVE",
        "info": {
            "symbol": "BTC-PYUSD",
            "reference_price": "75000.5",
            "base_asset_id": BTC,
            "quote_asset_id": PYUSD,
            "price_limit_window_secs": "3600",
            "price_limit_percent": "0.015",
            "price_bands_percent": "0.025",
            "price_increment": "0.5",
            "qty_increment": "0.0001",
        },
        "stats": {"last_24hr_notional": "0", "last_24hr_quantity": "0"},
    }
    assert [i["info"]["symbol"] for i in ex.list_instruments(symbol="PYUSD")] == ["BTC-PYUSD", "ETH-PYUSD"]
    assert ex.list_instruments(symbol="btc") == []
    assert ex.list_instruments(id=ETH_PYUSD)[0]["info"]["qty_increment"] == "0.001"


def test_instrument_stats_cover_last_24h(ex: Exchange, clock: Clock) -> None:
    place(ex, BOB, "SELL", "0.3", "75000")
    place(ex, ALICE, "BUY", "0.1", "75000")
    place(ex, ALICE, "BUY", "0.2", "75000")
    stats = ex.list_instruments(id=BTC_PYUSD)[0]["stats"]
    assert stats == {"last_24hr_notional": "22500", "last_24hr_quantity": "0.3"}
    clock.advance(DAY_NS / SEC + 1)
    stats = ex.list_instruments(id=BTC_PYUSD)[0]["stats"]
    assert stats == {"last_24hr_notional": "0", "last_24hr_quantity": "0"}


# =============================================================================== market data
def test_market_quote_empty_book(ex: Exchange) -> None:
    (quote,) = ex.market_quotes(BTC_PYUSD)
    assert quote["id"] == BTC_PYUSD and quote["symbol"] == "BTC-PYUSD"
    info = quote["info"]
    assert info["last_trade"] == {"price": "0", "qty": "0", "timestamp": "0"}
    for side in ("best_bid", "best_ask"):
        assert {k: info[side][k] for k in ("price", "qty", "order_count")} == {
            "price": "0",
            "qty": "0",
            "order_count": "0",
        }
    assert len(ex.market_quotes()) == 2
    assert ex.market_quotes("999999999999999999") == []


def test_market_quote_best_levels(ex: Exchange, clock: Clock) -> None:
    place(ex, BOB, "SELL", "0.1", "75010")
    place(ex, BOB, "SELL", "0.25", "75010")
    place(ex, BOB, "SELL", "1", "75020")
    clock.advance(1)
    place(ex, ALICE, "BUY", "0.5", "74990")
    place(ex, ALICE, "BUY", "0.5", "74980")
    info = ex.market_quotes(BTC_PYUSD)[0]["info"]
    assert info["best_ask"] == {"price": "75010", "qty": "0.35", "order_count": "2", "last_update": str(T0)}
    assert info["best_bid"] == {
        "price": "74990",
        "qty": "0.5",
        "order_count": "1",
        "last_update": str(T0 + SEC),
    }
    assert info["last_update"] == str(T0 + SEC)
    clock.advance(1)
    place(ex, ALICE, "BUY", "0.1", "75010")
    info = ex.market_quotes(BTC_PYUSD)[0]["info"]
    assert info["last_trade"] == {"price": "75010", "qty": "0.1", "timestamp": str(T0 + 2 * SEC)}
    assert info["best_ask"]["qty"] == "0.25" and info["best_ask"]["order_count"] == "1"


def test_market_trades_newest_first_and_24h(ex: Exchange, clock: Clock) -> None:
    place(ex, BOB, "SELL", "1", "75000")
    place(ex, ALICE, "BUY", "0.1", "75000")
    clock.advance(1)
    place(ex, ALICE, "BUY", "0.2", "75000")
    trades = ex.market_trades(BTC_PYUSD)
    assert [t["trade_qty"] for t in trades] == ["0.2", "0.1"]
    assert set(trades[0]) == {"instrument_id", "match_id", "trade_price", "trade_qty", "timestamp"}
    assert ID_RE.match(trades[0]["match_id"])
    assert ex.market_trades(ETH_PYUSD) == []
    assert len(ex.market_trades()) == 2
    clock.advance(DAY_NS / SEC)
    assert [t["trade_qty"] for t in ex.market_trades()] == ["0.2"]


def test_house_market_maker_keeps_levels(clock: Clock) -> None:
    ex = Exchange(default_seed(), clock=clock)
    book = ex.market_quotes(BTC_PYUSD)[0]["info"]
    assert book["best_bid"]["price"] == "74998.5" and book["best_ask"]["price"] == "75002.5"
    orders = ex.active_orders(H)
    assert len(orders) == 20  # 5 per side on 2 instruments
    btc_prices = sorted(
        D(o["order_info"]["price"]) for o in orders if o["order_info"]["instrument_id"] == BTC_PYUSD
    )
    assert all(p % D("0.5") == 0 for p in btc_prices)
    # a sweep through two ask levels is replenished on the next call
    taken = place(ex, ALICE, "BUY", "1", "75004.5")
    assert taken["status"] == "FILLED"
    info = ex.market_quotes(BTC_PYUSD)[0]["info"]
    assert info["best_ask"]["price"] == "75002.5" and info["best_ask"]["qty"] == "0.5"
    assert len(ex.active_orders(H)) == 20
    ok(ex)


def test_house_level_skipped_while_it_would_cross_comes_back_when_the_book_moves(clock: Clock) -> None:
    ex = Exchange(default_seed(), clock=clock)
    # the sweep's remainder rests as the best bid at 75004.5: the house asks at 75002.5 and 75004.5 would cross
    rest = place(ex, ALICE, "BUY", "1.2", "75004.5")
    assert rest["status"] == "ACTIVE" and rest["leaves_qty"] == "0.2"
    for _ in range(3):  # calls that change nothing the house looks at: still skipped
        assert ex.market_quotes(BTC_PYUSD)[0]["info"]["best_ask"]["price"] == "75006.5"
    assert len(ex.active_orders(H)) == 18
    lower = place(ex, BOB, "BUY", "0.1", "75003")
    assert ex.market_quotes(BTC_PYUSD)[0]["info"]["best_ask"]["price"] == "75006.5"
    ex.cancel_order(A, rest["id"])  # best bid 75003: the 75004.5 ask is placed, 75002.5 would still cross
    info = ex.market_quotes(BTC_PYUSD)[0]["info"]
    assert info["best_bid"]["price"] == "75003" and info["best_ask"]["price"] == "75004.5"
    assert len(ex.active_orders(H)) == 19
    ex.cancel_order(B, lower["id"])
    assert ex.market_quotes(BTC_PYUSD)[0]["info"]["best_ask"]["price"] == "75002.5"
    assert len(ex.active_orders(H)) == 20
    ok(ex)


def test_house_without_replenish_places_once(clock: Clock) -> None:
    ex = Exchange(default_seed(), clock=clock, house_replenish=False)
    place(ex, ALICE, "BUY", "0.5", "75002.5")
    assert len(ex.active_orders(H)) == 19
    assert ex.market_quotes(BTC_PYUSD)[0]["info"]["best_ask"]["price"] == "75004.5"


# ================================================================================ compute quote
def _asks(ex: Exchange) -> None:
    place(ex, BOB, "SELL", "0.1", "75100")
    place(ex, BOB, "SELL", "0.2", "75200")


def test_compute_quote_base(ex: Exchange) -> None:
    _asks(ex)
    quote = ex.compute_quote(BTC_PYUSD, "BUY", "0.25", "BASE")
    assert quote == {"qty": "0.25", "price": "75160", "notional": "18790", "notional_residual": "0"}
    # more than the book holds: qty is what was fillable
    assert ex.compute_quote(BTC_PYUSD, "BUY", "1", "BASE")["qty"] == "0.3"
    assert ex.compute_quote(BTC_PYUSD, "BUY", "1", "BASE")["notional"] == "22550"


def test_compute_quote_quote_unit(ex: Exchange) -> None:
    _asks(ex)
    quote = ex.compute_quote(BTC_PYUSD, "BUY", "18000", "QUOTE")
    # 0.1 @ 75100 = 7510, then floor(10490 / 7.52) = 1394 increments at 75200 = 0.1394 -> 10482.88
    assert quote["qty"] == "0.2394"
    assert quote["notional"] == "17992.88"
    assert quote["notional_residual"] == "7.12"
    assert D(quote["price"]) == (D("17992.88") / D("0.2394")).quantize(D("1e-10"))
    tiny = ex.compute_quote(BTC_PYUSD, "BUY", "1", "QUOTE")
    assert tiny == {"qty": "0", "price": "75100", "notional": "0", "notional_residual": "1"}
    assert ex.vwap_quote(BTC_PYUSD, "18000") == {"quote": quote["price"], "buy_amount": "0.2394"}
    # the walk did not touch the book
    assert ex.market_quotes(BTC_PYUSD)[0]["info"]["best_ask"]["qty"] == "0.1"


def test_compute_quote_errors(ex: Exchange) -> None:
    _asks(ex)
    with pytest.raises(NotFound, match="no liquidity"):
        ex.compute_quote(BTC_PYUSD, "SELL", "1", "BASE")
    with pytest.raises(NotFound, match="instrument_id"):
        ex.compute_quote("999999999999999999", "BUY", "1", "BASE")
    with pytest.raises(BadRequest, match=r"^qty_unit:"):
        ex.compute_quote(BTC_PYUSD, "BUY", "1", "BTC")
    with pytest.raises(BadRequest, match=r"^qty:"):
        ex.compute_quote(BTC_PYUSD, "BUY", "0", "BASE")
    with pytest.raises(BadRequest, match=r"^side:"):
        ex.compute_quote(BTC_PYUSD, "buy", "1", "BASE")


# ===================================================================================== clients
def test_clients_list_and_update(ex: Exchange) -> None:
    (client,) = ex.list_clients(A)
    assert client["id"] == ALICE and client["status"] == "ACTIVE"
    assert client["info"]["mnemonic"] == "ALICE"
    assert client["info"]["maker_fee_tier"] == 1 and client["info"]["taker_fee_tier"] == 2
    assert client["info"]["type"] == "INSTITUTION" and UUID4_RE.match(client["info"]["organization_id"])
    assert ex.list_clients(A | B, mnemonic="BOB")[0]["id"] == BOB
    with pytest.raises(Forbidden, match=r"^id:"):
        ex.list_clients(A, id=BOB)
    updated = ex.update_client(A, {"id": ALICE, "info": {"self_trade_prevention": "CANCEL_BOTH"}})
    assert updated["info"]["self_trade_prevention"] == "CANCEL_BOTH"
    with pytest.raises(BadRequest, match="self_trade_prevention"):
        ex.update_client(A, {"id": ALICE, "info": {"self_trade_prevention": "SOMETIMES"}})
    with pytest.raises(Forbidden):
        ex.update_client(A, {"id": BOB, "info": {"self_trade_prevention": "NONE"}})


# ================================================================================ order shapes
def test_order_shape(ex: Exchange) -> None:
    order = ex.create_order(
        A,
        {
            "external_id": "abc-1",
            "info": {
                "client_id": ALICE,
                "instrument_id": BTC_PYUSD,
                "qty": "0.0100",
                "price": "74000.0",
                "side": "BUY",
                "type": "LIMIT",
                "exec_inst_flags": [],
                "hold_fee_rate": "0.002",
            },
        },
    )
    assert ID_RE.match(order["id"])
    assert order["status"] == "ACTIVE"
    assert order["order_info"] == {
        "client_id": ALICE,
        "instrument_id": BTC_PYUSD,
        "qty": "0.0100",
        "price": "74000.0",
        "side": "BUY",
        "type": "LIMIT",
        "tif": "GTC",
        "exec_inst_flags": [],
        "hold_fee_rate": "0.002",
        "msg_id": order["id"],
        "parent_id": "0",
    }
    assert order["external_id"] == "abc-1" and order["ref_external_id"] == "abc-1"
    assert order["pending_qty"] == "0" and order["leaves_qty"] == "0.01"
    assert order["exeuted_qty"] == "0" and order["executed_vwap"] == "0"
    assert order["timestamp"] == order["update_timestamp"] == str(T0)
    assert "text" not in order and "modify_info" not in order
    json.dumps(order)


def test_ids_are_sequential_and_seedable(clock: Clock) -> None:
    ex = Exchange(default_seed(market_maker=False), clock=clock, id_start=812345678900000000)
    first = place(ex, ALICE, "BUY", "0.01", "74000")["id"]
    second = place(ex, ALICE, "BUY", "0.01", "74000")["id"]
    assert (first, second) == ("812345678900000000", "812345678900000001")
    with pytest.raises(ValueError):
        Exchange(clock=clock, id_start=5)


# =================================================================================== matching
def test_price_time_priority(ex: Exchange) -> None:
    s1 = place(ex, BOB, "SELL", "0.1", "75010")
    s2 = place(ex, BOB, "SELL", "0.1", "75010")
    s0 = place(ex, BOB, "SELL", "0.1", "75005")
    buy = place(ex, ALICE, "BUY", "0.25", "75010")
    assert buy["status"] == "FILLED"
    fills = ex.order_trades(B)
    assert [(f["order_id"], f["trade_price"], f["trade_qty"]) for f in reversed(fills)] == [
        (s0["id"], "75005", "0.1"),
        (s1["id"], "75010", "0.1"),
        (s2["id"], "75010", "0.05"),
    ]
    assert D(buy["executed_vwap"]) == (D("0.1") * 75005 + D("0.15") * 75010) / D("0.25")
    (rest,) = ex.active_orders(B)
    assert rest["id"] == s2["id"] and rest["leaves_qty"] == "0.05" and rest["exeuted_qty"] == "0.05"
    ok(ex)


def test_trade_moves_balances_and_fees_exactly(ex: Exchange) -> None:
    before = ex.totals()
    place(ex, BOB, "SELL", "0.5", "75000")  # BOB maker: tier 2 maker 0.0008
    assert hold(ex, BOB, BTC) == D("0.5")
    buy = place(ex, ALICE, "BUY", "0.5", "75000")  # ALICE taker: tier 2 taker 0.0015
    assert buy["status"] == "FILLED"
    assert bal(ex, ALICE, PYUSD) == D(1000000) - D(37500) - D("56.25")
    assert bal(ex, ALICE, BTC) == D("10.5")
    assert bal(ex, BOB, PYUSD) == D(1000000) + D(37500) - D("30")
    assert bal(ex, BOB, BTC) == D("9.5")
    assert bal(ex, FEES, PYUSD) == D("86.25")
    assert hold(ex, ALICE, PYUSD) == 0 and hold(ex, BOB, BTC) == 0
    assert ex.totals() == before
    taker, maker = sorted(ex.order_trades(A | B), key=lambda f: f["liq_flag"], reverse=True)
    assert (
        taker["liq_flag"] == "TAKER" and taker["client_id"] == ALICE and taker["trade_fee_rate"] == "0.0015"
    )
    assert maker["liq_flag"] == "MAKER" and maker["client_id"] == BOB and maker["trade_fee_rate"] == "0.0008"
    assert taker["match_id"] == maker["match_id"]
    assert set(taker) == {
        "client_id",
        "instrument_id",
        "order_id",
        "trade_price",
        "trade_qty",
        "trade_fee_rate",
        "liq_flag",
        "match_id",
        "timestamp",
    }
    ok(ex)


def test_buy_hold_includes_taker_fee_and_partial_fill_releases(ex: Exchange) -> None:
    buy = place(ex, ALICE, "BUY", "0.2", "74000")
    assert hold(ex, ALICE, PYUSD) == D("0.2") * 74000 * D("1.0015")
    (entity,) = ex.list_balances(A)
    assert D(entity["fees_hold"]) == D("0.2") * 74000 * D("0.0015")
    place(ex, BOB, "SELL", "0.05", "74000")  # ALICE is maker now (maker tier 1: 0.0010)
    assert hold(ex, ALICE, PYUSD) == D("0.15") * 74000 * D("1.0015")
    assert bal(ex, ALICE, PYUSD) == D(1000000) - D("0.05") * 74000 * D("1.0010")
    ex.cancel_order(A, buy["id"])
    assert hold(ex, ALICE, PYUSD) == 0
    ok(ex)


def test_taker_buy_below_limit_releases_the_difference(ex: Exchange) -> None:
    place(ex, BOB, "SELL", "0.1", "74000")
    buy = place(ex, ALICE, "BUY", "0.3", "75000")
    assert buy["status"] == "ACTIVE" and buy["leaves_qty"] == "0.2"
    assert hold(ex, ALICE, PYUSD) == D("0.2") * 75000 * D("1.0015")
    assert bal(ex, ALICE, PYUSD) == D(1000000) - D("7400") * D("1.0015")
    ok(ex)


def test_ioc_cancels_the_rest(ex: Exchange) -> None:
    place(ex, BOB, "SELL", "0.1", "75000")
    ioc = place(ex, ALICE, "BUY", "0.3", "75000", tif="IOC")
    assert ioc["status"] == "CANCELED" and ioc["exeuted_qty"] == "0.1" and ioc["leaves_qty"] == "0"
    assert "IOC" in ioc["text"]
    empty = place(ex, ALICE, "BUY", "0.3", "74000", tif="IOC")
    assert empty["status"] == "CANCELED" and empty["exeuted_qty"] == "0"
    assert ex.active_orders(A) == [] and hold(ex, ALICE, PYUSD) == 0
    ok(ex)


def test_market_order_takes_up_to_band_and_cancels_rest(ex: Exchange) -> None:
    place(ex, BOB, "SELL", "0.1", "75000")
    place(ex, BOB, "SELL", "0.1", "76875.5")  # the band high
    market = place(ex, ALICE, "BUY", "0.5", type="MARKET")
    assert market["status"] == "CANCELED" and market["exeuted_qty"] == "0.2"
    assert "MARKET" in market["text"]
    assert "price" not in market["order_info"]
    assert hold(ex, ALICE, PYUSD) == 0
    sell = place(ex, BOB, "SELL", "0.1", type="MARKET")
    assert sell["status"] == "CANCELED" and sell["exeuted_qty"] == "0"
    place(ex, ALICE, "BUY", "0.1", "73125.5")
    sell = place(ex, BOB, "SELL", "0.1", type="MARKET")
    assert sell["status"] == "FILLED" and sell["executed_vwap"] == "73125.5"
    ok(ex)


def test_market_buy_holds_against_band_high(ex: Exchange) -> None:
    # ALICE has 1,000,000 PYUSD: 13 BTC x 76875.5 x 1.0015 > 1,000,000 although the book is cheap
    place(ex, BOB, "SELL", "10", "74000")
    rejected = place(ex, ALICE, "BUY", "13", type="MARKET")
    assert rejected["status"] == "REJECTED" and "insufficient available PYUSD" in rejected["text"]
    filled = place(ex, ALICE, "BUY", "10", type="MARKET")
    assert filled["status"] == "FILLED"
    ok(ex)


def test_alo(ex: Exchange) -> None:
    place(ex, BOB, "SELL", "0.1", "75000")
    rejected = place(ex, ALICE, "BUY", "0.1", "75000", alo=True)
    assert rejected["status"] == "REJECTED" and "ALO" in rejected["text"]
    rests = place(ex, ALICE, "BUY", "0.1", "74999.5", alo=True)
    assert rests["status"] == "ACTIVE" and rests["order_info"]["exec_inst_flags"] == ["ALO"]
    market = place(ex, ALICE, "BUY", "0.1", type="MARKET", alo=True)
    assert market["status"] == "REJECTED"
    ok(ex)


@pytest.mark.parametrize(
    ("qty", "price", "reason"),
    [
        ("0", "75000", "greater than 0"),
        ("-1", "75000", "greater than 0"),
        ("0.00005", "75000", "quantity increment"),
        ("0.1", "75000.25", "price increment"),
        ("0.1", "80000", "price band"),
        ("0.1", "73125", "price band"),
        ("0.1", "0", "greater than 0"),
        ("100", "75000", "insufficient available PYUSD"),
    ],
)
def test_business_rejections(ex: Exchange, qty: str, price: str, reason: str) -> None:
    order = place(ex, ALICE, "BUY", qty, price)
    assert order["status"] == "REJECTED"
    assert reason in order["text"]
    assert order["leaves_qty"] == "0"
    assert hold(ex, ALICE, PYUSD) == 0
    assert ex.order_status(A, order["id"])["status"] == "REJECTED"
    ok(ex)


def test_grid_rules_hold_on_repeats_and_per_instrument(ex: Exchange) -> None:
    """The same quantity / price a second time (and an equal value written differently) gets the same answer,
    and a value that fits one instrument's grid is judged afresh on another's."""
    for _ in range(2):
        assert place(ex, ALICE, "BUY", "0.1", "75000.5")["status"] == "ACTIVE"
        assert "price increment" in place(ex, ALICE, "BUY", "0.1", "75000.25")["text"]
        assert "quantity increment" in place(ex, ALICE, "BUY", "0.00005", "75000")["text"]
        assert "price band" in place(ex, ALICE, "BUY", "0.1", "80000")["text"]
    assert place(ex, ALICE, "BUY", "0.10", "75000.50")["status"] == "ACTIVE"
    assert "quantity increment" in place(ex, ALICE, "BUY", "0.0001", "3000", instrument=ETH_PYUSD)["text"]
    assert place(ex, ALICE, "BUY", "0.0001", "75000")["status"] == "ACTIVE"
    ok(ex)


def test_sell_needs_base_balance(ex: Exchange) -> None:
    order = place(ex, ALICE, "SELL", "10.0001", "75000")
    assert order["status"] == "REJECTED" and "insufficient available BTC" in order["text"]
    assert place(ex, ALICE, "SELL", "10", "75000")["status"] == "ACTIVE"
    assert place(ex, ALICE, "SELL", "0.0001", "75000")["status"] == "REJECTED"


@pytest.mark.parametrize(
    ("mutate", "error", "field"),
    [
        (lambda b: b.pop("info"), BadRequest, "info"),
        (lambda b: b.pop("external_id"), BadRequest, "external_id"),
        (lambda b: b.update(external_id="x" * 19), BadRequest, "external_id"),
        (lambda b: b["info"].update(side="buy"), BadRequest, "info.side"),
        (lambda b: b["info"].update(type="STOP"), BadRequest, "info.type"),
        (lambda b: b["info"].update(tif="FOK"), BadRequest, "info.tif"),
        (lambda b: b["info"].update(qty="1e-4"), BadRequest, "info.qty"),
        (lambda b: b["info"].update(qty=1), BadRequest, "info.qty"),
        (lambda b: b["info"].pop("price"), BadRequest, "info.price"),
        (lambda b: b["info"].update(exec_inst_flags=["POST"]), BadRequest, "info.exec_inst_flags"),
        (lambda b: b["info"].update(stp="ALWAYS"), BadRequest, "info.stp"),
        (lambda b: b["info"].update(client_id=BOB), Forbidden, "info.client_id"),
        (lambda b: b["info"].update(instrument_id="999999999999999999"), NotFound, "info.instrument_id"),
        (lambda b: b["info"].update(instrument_id="BTC-PYUSD"), BadRequest, "info.instrument_id"),
    ],
)
def test_create_request_errors(ex: Exchange, mutate: Any, error: type[EngineError], field: str) -> None:
    request = body(ALICE, "BUY", "0.1", "75000")
    mutate(request)
    with pytest.raises(error) as caught:
        ex.create_order(A, request)
    assert caught.value.detail.startswith(field + ":")
    assert caught.value.status == {BadRequest: 400, Forbidden: 403, NotFound: 404}[error]
    assert caught.value.problem()["status"] == caught.value.status
    assert ex.list_orders(A) == []


def test_uuid_external_id_accepted(ex: Exchange) -> None:
    ext = "0b7e2c4a-6f1d-4c1e-9a2b-3c4d5e6f7a8b"
    assert place(ex, ALICE, "BUY", "0.1", "74000", ext=ext)["external_id"] == ext


# ========================================================================= self-trade prevention
def test_stp_none_lets_them_trade(ex: Exchange) -> None:
    place(ex, ALICE, "SELL", "0.1", "75000")
    buy = place(ex, ALICE, "BUY", "0.1", "75000")
    assert buy["status"] == "FILLED"
    assert bal(ex, ALICE, BTC) == 10
    ok(ex)


def test_stp_cancel_aggressive(ex: Exchange) -> None:
    place(ex, BOB, "SELL", "0.1", "74990")
    own = place(ex, ALICE, "SELL", "0.1", "75000")
    buy = place(ex, ALICE, "BUY", "0.3", "75010", stp="CANCEL_AGGRESSIVE")
    assert buy["status"] == "CANCELED" and buy["exeuted_qty"] == "0.1"  # traded with BOB first
    assert "self-trade prevention (CANCEL_AGGRESSIVE)" in buy["text"]
    assert ex.order_status(A, own["id"])["status"] == "ACTIVE"
    ok(ex)


def test_stp_cancel_both_from_client_setting(ex: Exchange) -> None:
    ex.update_client(A, {"id": ALICE, "info": {"self_trade_prevention": "CANCEL_BOTH"}})
    own = place(ex, ALICE, "SELL", "0.1", "75000")
    buy = place(ex, ALICE, "BUY", "0.1", "75000")
    assert buy["status"] == "CANCELED" and buy["exeuted_qty"] == "0"
    resting = ex.order_status(A, own["id"])
    assert resting["status"] == "CANCELED" and "CANCEL_BOTH" in resting["text"]
    assert hold(ex, ALICE, BTC) == 0
    # the order-level stp overrides the client setting
    place(ex, ALICE, "SELL", "0.1", "75000")
    assert place(ex, ALICE, "BUY", "0.1", "75000", stp="NONE")["status"] == "FILLED"
    ok(ex)


# ================================================================================ idempotency
def test_idempotent_create(ex: Exchange, clock: Clock) -> None:
    request = body(ALICE, "BUY", "0.1", "74000", ext="retry-1")
    first = ex.create_order(A, request)
    clock.advance(5)
    again = ex.create_order(A, json.loads(json.dumps(request)))
    assert again == first
    assert len(ex.active_orders(A)) == 1
    changed = body(ALICE, "BUY", "0.2", "74000", ext="retry-1")
    with pytest.raises(Conflict, match=r"^external_id:"):
        ex.create_order(A, changed)
    # another client may use the same external id
    assert place(ex, BOB, "BUY", "0.1", "74000", ext="retry-1")["status"] == "ACTIVE"
    # a rejected create is idempotent too
    bad = body(ALICE, "BUY", "0.1", "74000.25", ext="retry-2")
    assert ex.create_order(A, bad)["id"] == ex.create_order(A, bad)["id"]
    # after 24 h the external id is free again
    clock.advance(DAY_NS / SEC)
    newer = ex.create_order(A, changed)
    assert newer["id"] != first["id"] and newer["status"] == "ACTIVE"
    assert ex.order_status(A, "retry-1")["id"] == newer["id"]


def test_idempotent_create_compares_the_body_as_sent(ex: Exchange) -> None:
    """A retry must repeat the body exactly: an explicit default tif, or a dropped one, is a different body."""
    without_tif = body(ALICE, "BUY", "0.1", "74000", ext="tif-1")
    first = ex.create_order(A, without_tif)
    assert ex.create_order(A, json.loads(json.dumps(without_tif)))["id"] == first["id"]
    with pytest.raises(Conflict, match=r"^external_id:"):
        ex.create_order(A, body(ALICE, "BUY", "0.1", "74000", ext="tif-1", tif="GTC"))
    with_tif = body(ALICE, "SELL", "0.010", "76000", ext="tif-2", tif="GTC")
    second = ex.create_order(A, with_tif)
    assert ex.create_order(A, json.loads(json.dumps(with_tif)))["id"] == second["id"]
    for changed in (
        body(ALICE, "SELL", "0.010", "76000", ext="tif-2"),
        body(ALICE, "SELL", "0.01", "76000", ext="tif-2", tif="GTC"),
        {**with_tif, "info": {**with_tif["info"], "stp": None}},
    ):
        with pytest.raises(Conflict, match=r"^external_id:"):
            ex.create_order(A, changed)
    assert len(ex.active_orders(A)) == 2


# ===================================================================================== modify
def _modify(ex: Exchange, order: dict[str, Any], qty: str, price: str | None, **extra: Any) -> dict[str, Any]:
    info: dict[str, Any] = {"client_id": order["order_info"]["client_id"], "new_qty": qty}
    if price is not None:
        info["new_price"] = price
    info.update(extra.pop("info", {}))
    request: dict[str, Any] = {"id": order["id"], "info": info}
    request.update(extra)
    return ex.modify_order(frozenset({info["client_id"]}), request)


def test_modify_size_decrease_keeps_priority(ex: Exchange) -> None:
    s1 = place(ex, BOB, "SELL", "0.2", "75100")
    s2 = place(ex, BOB, "SELL", "0.2", "75100")
    modified = _modify(ex, s1, "0.1", "75100")
    assert modified["leaves_qty"] == "0.1" and modified["status"] == "ACTIVE"
    assert modified["modify_info"]["new_qty"] == "0.1" and modified["modify_info"]["prev_modify"] == "0"
    assert ID_RE.match(modified["modify_info"]["msg_id"])
    assert hold(ex, BOB, BTC) == D("0.3")
    place(ex, ALICE, "BUY", "0.1", "75100")
    assert ex.order_status(B, s1["id"])["status"] == "FILLED"
    assert ex.order_status(B, s2["id"])["leaves_qty"] == "0.2"
    ok(ex)


def test_modify_size_increase_loses_priority(ex: Exchange) -> None:
    s1 = place(ex, BOB, "SELL", "0.1", "75100")
    s2 = place(ex, BOB, "SELL", "0.1", "75100")
    _modify(ex, s1, "0.2", "75100")
    place(ex, ALICE, "BUY", "0.1", "75100")
    assert ex.order_status(B, s2["id"])["status"] == "FILLED"
    assert ex.order_status(B, s1["id"])["leaves_qty"] == "0.2"
    ok(ex)


def test_modify_price_change_loses_priority_and_may_cross(ex: Exchange) -> None:
    b1 = place(ex, ALICE, "BUY", "0.1", "74000")
    b2 = place(ex, ALICE, "BUY", "0.1", "74000")
    moved = _modify(ex, b1, "0.1", "74500")
    assert hold(ex, ALICE, PYUSD) == D("0.1") * 74500 * D("1.0015") + D("0.1") * 74000 * D("1.0015")
    _modify(ex, moved, "0.1", "74000")  # back to the same price: now behind b2
    place(ex, BOB, "SELL", "0.1", "74000")
    assert ex.order_status(A, b2["id"])["status"] == "FILLED"
    assert ex.order_status(A, b1["id"])["status"] == "ACTIVE"
    place(ex, BOB, "SELL", "0.05", "74800")
    crossed = _modify(ex, b1, "0.1", "75000")
    assert (
        crossed["status"] == "ACTIVE" and crossed["exeuted_qty"] == "0.05" and crossed["leaves_qty"] == "0.05"
    )
    assert ex.order_trades(A)[0]["liq_flag"] == "TAKER"
    ok(ex)


def test_modify_total_quantity_semantics(ex: Exchange) -> None:
    buy = place(ex, ALICE, "BUY", "0.3", "74000")
    place(ex, BOB, "SELL", "0.1", "74000")
    before = ex.dump_state()
    for qty in ("0.1", "0.05"):  # new total <= executed 0.1 -> 400, nothing changes
        with pytest.raises(BadRequest, match=r"^info\.new_qty:"):
            _modify(ex, buy, qty, "74000")
    assert ex.dump_state() == before
    modified = _modify(ex, buy, "0.15", "74000")
    assert modified["leaves_qty"] == "0.05" and modified["exeuted_qty"] == "0.1"
    assert hold(ex, ALICE, PYUSD) == D("0.05") * 74000 * D("1.0015")
    ok(ex)


def test_modify_rule_failures_are_400_and_change_nothing(ex: Exchange) -> None:
    place(ex, BOB, "SELL", "0.1", "75000")
    buy = place(ex, ALICE, "BUY", "0.1", "74000", alo=True)
    before = ex.dump_state()
    cases: list[tuple[str, str | None, dict[str, Any], str]] = [
        ("0.1", "74000.25", {}, "info.new_price"),
        ("0.1", "90000", {}, "info.new_price"),
        ("0.00001", "74000", {}, "info.new_qty"),
        ("0.1", "75000", {}, "info.new_price"),  # ALO would take
        ("0.1", None, {"info": {"new_type": "MARKET"}}, "info.new_type"),  # ALO cannot become MARKET
        ("20", "74000", {}, "info.new_qty"),  # insufficient balance
        ("0.1", None, {}, "info.new_price"),  # LIMIT needs a price
        ("0.1", "74000", {"info": {"new_type": "STOP"}}, "info.new_type"),
    ]
    for qty, price, extra, field in cases:
        with pytest.raises(BadRequest) as caught:
            _modify(ex, buy, qty, price, **extra)
        assert caught.value.detail.startswith(field + ":"), caught.value.detail
    with pytest.raises(BadRequest, match=r"^id:"):
        ex.modify_order(A, {"info": {"client_id": ALICE, "new_qty": "1", "new_price": "74000"}})
    assert ex.dump_state() == before


def test_modify_closed_unknown_foreign(ex: Exchange) -> None:
    buy = place(ex, ALICE, "BUY", "0.1", "74000")
    with pytest.raises(Forbidden):
        ex.modify_order(
            B, {"id": buy["id"], "info": {"client_id": BOB, "new_qty": "1", "new_price": "74000"}}
        )
    with pytest.raises(NotFound):
        ex.modify_order(
            A, {"id": "899999999999999999", "info": {"client_id": ALICE, "new_qty": "1", "new_price": "1"}}
        )
    ex.cancel_order(A, buy["id"])
    with pytest.raises(Conflict, match="CANCELED"):
        _modify(ex, buy, "0.2", "74000")


def test_modify_external_id_rules(ex: Exchange) -> None:
    buy = place(ex, ALICE, "BUY", "0.1", "74000", ext="orig-1")
    # by external id only: identifies the order
    by_ext = ex.modify_order(
        A, {"external_id": "orig-1", "info": {"client_id": ALICE, "new_qty": "0.2", "new_price": "74000"}}
    )
    assert by_ext["id"] == buy["id"] and by_ext["external_id"] == "orig-1"
    # id and external id: the external id becomes the order's new one, ref_external_id keeps the original
    renamed = _modify(ex, buy, "0.2", "74000.5", external_id="mod-1")
    assert renamed["external_id"] == "mod-1" and renamed["ref_external_id"] == "orig-1"
    renamed = _modify(ex, buy, "0.2", "74001", external_id="mod-2")
    assert renamed["external_id"] == "mod-2" and renamed["ref_external_id"] == "orig-1"
    assert renamed["modify_info"]["prev_modify"] != "0"
    assert ex.order_status(A, "mod-2")["id"] == buy["id"]
    assert ex.order_status(A, "orig-1")["id"] == buy["id"]
    other = place(ex, ALICE, "BUY", "0.1", "74000", ext="other")
    with pytest.raises(Conflict, match=r"^external_id:"):
        _modify(ex, other, "0.1", "74000", external_id="mod-1")
    with pytest.raises(Conflict, match=r"^external_id:"):
        ex.create_order(A, body(ALICE, "BUY", "0.1", "74000", ext="mod-2"))


def test_modify_to_market(ex: Exchange) -> None:
    place(ex, BOB, "SELL", "0.1", "75500")
    buy = place(ex, ALICE, "BUY", "0.3", "74000")
    result = _modify(ex, buy, "0.3", None, info={"new_type": "MARKET"})
    assert result["status"] == "CANCELED" and result["exeuted_qty"] == "0.1"
    assert hold(ex, ALICE, PYUSD) == 0
    ok(ex)


# ====================================================================================== cancel
def test_cancel(ex: Exchange, clock: Clock) -> None:
    buy = place(ex, ALICE, "BUY", "0.1", "74000", ext="c-1")
    clock.advance(1)
    canceled = ex.cancel_order(A, buy["id"])
    assert canceled["status"] == "CANCEL_PENDING" and canceled["leaves_qty"] == "0.1"
    assert canceled["update_timestamp"] == str(T0 + SEC)
    assert hold(ex, ALICE, PYUSD) == 0
    after = ex.order_status(A, buy["id"])
    assert after["status"] == "CANCELED" and after["leaves_qty"] == "0" and "text" not in after
    assert ex.active_orders(A) == []
    with pytest.raises(Conflict, match=r"^ref_id:"):
        ex.cancel_order(A, buy["id"])
    with pytest.raises(NotFound):
        ex.cancel_order(A, "899999999999999999")
    with pytest.raises(BadRequest, match=r"^id_type:"):
        ex.cancel_order(A, buy["id"], "internal")
    sell = place(ex, BOB, "SELL", "0.1", "76000", ext="c-1")
    with pytest.raises(Forbidden):
        ex.cancel_order(A, sell["id"])
    with pytest.raises(Conflict):  # A's own "c-1" is the one found
        ex.cancel_order(A, "c-1", "client")
    assert ex.cancel_order(B, "c-1", "client")["id"] == sell["id"]
    ok(ex)


# ============================================================================ order listings
def test_active_orders_and_lookup(ex: Exchange) -> None:
    first = place(ex, ALICE, "BUY", "0.1", "74000")
    second = place(ex, ALICE, "BUY", "0.1", "74001")
    place(ex, BOB, "SELL", "0.1", "76000")
    assert [o["id"] for o in ex.active_orders(A)] == [second["id"], first["id"]]
    assert [o["id"] for o in ex.active_orders(A, id=first["id"])] == [first["id"]]
    assert len(ex.active_orders(A | B)) == 3
    ex.cancel_order(A, first["id"])
    assert ex.active_orders(A, id=first["id"]) == []
    with pytest.raises(NotFound):
        ex.active_orders(A, id="899999999999999999")
    with pytest.raises(Forbidden):
        ex.active_orders(B, id=second["id"])


def test_list_orders_query_filter(ex: Exchange) -> None:
    place(ex, ALICE, "BUY", "0.1", "74000.25")  # rejected
    canceled = place(ex, ALICE, "BUY", "0.1", "74000")
    ex.cancel_order(A, canceled["id"])
    place(ex, ALICE, "SELL", "0.1", "76000")
    place(ex, ALICE, "BUY", "1", "3000", instrument=ETH_PYUSD)
    assert len(ex.list_orders(A)) == 4
    query = json.dumps({"columns": [{"name": "status", "filter": [{"$in": ["REJECTED", "CANCELED"]}]}]})
    assert sorted(o["status"] for o in ex.list_orders(A, query)) == ["CANCELED", "REJECTED"]
    query = json.dumps(
        {
            "columns": [
                {"name": "side", "filter": [{"$eq": "BUY"}]},
                {"name": "instrument_id", "filter": [{"$in": [BTC_PYUSD]}]},
                {"name": "type", "filter": [{"$eq": "LIMIT"}]},
            ]
        }
    )
    assert len(ex.list_orders(A, query)) == 2
    for bad in (
        "{",
        "[]",
        '{"columns": [{"name": "price", "filter": [{"$eq": "1"}]}]}',
        '{"columns": [{"name": "side", "filter": [{"$gt": "A"}]}]}',
    ):
        with pytest.raises(BadRequest, match=r"^query"):
            ex.list_orders(A, bad)
    assert ex.list_orders(B) == []


def test_history_windows_and_retention(ex: Exchange, clock: Clock) -> None:
    old = place(ex, ALICE, "BUY", "0.1", "74000", ext="old-1")
    ex.cancel_order(A, old["id"])
    resting = place(ex, ALICE, "BUY", "0.1", "74000")
    place(ex, BOB, "SELL", "0.05", "74000")
    assert len(ex.order_trades(A)) == 1
    clock.advance(DAY_NS / SEC + 1)
    assert ex.list_orders(A) == []
    assert ex.order_trades(A) == []
    assert [o["id"] for o in ex.active_orders(A)] == [resting["id"]]  # open orders never expire
    assert ex.order_status(A, "old-1")["status"] == "CANCELED"
    clock.advance(27 * DAY_NS / SEC)
    with pytest.raises(NotFound):
        ex.order_status(A, old["id"])
    with pytest.raises(NotFound):
        ex.order_status(A, "old-1")
    assert ex.order_status(A, resting["id"])["status"] == "ACTIVE"
    ok(ex)


def test_order_trades_since_timestamp(ex: Exchange, clock: Clock) -> None:
    place(ex, BOB, "SELL", "1", "75000")
    place(ex, ALICE, "BUY", "0.1", "75000")
    clock.advance(10)
    place(ex, ALICE, "BUY", "0.2", "75000")
    assert [f["trade_qty"] for f in ex.order_trades(A, str(T0 + 5 * SEC))] == ["0.2"]
    assert len(ex.order_trades(A, T0)) == 2
    assert len(ex.order_trades(A | B)) == 4
    with pytest.raises(BadRequest, match=r"^timestamp:"):
        ex.order_trades(A, "yesterday")


# ==================================================================================== balances
def test_balances_shape_and_filters(ex: Exchange) -> None:
    (entity,) = ex.list_balances(A)
    assert entity["id"] == ALICE and entity["status"] == "INVALID" and entity["unsettled_fees"] == "0"
    assert [r["asset_id"] for r in entity["balances"]] == [USD, PYUSD, BTC, ETH]
    assert entity["balances"][1] == {
        "asset_id": PYUSD,
        "balance": "1000000",
        "unsettled": "0",
        "order_hold": "0",
        "transfer_hold": "0",
        "state": "ACTIVE",
    }
    assert [r["asset_id"] for r in ex.list_balances(A, asset_name="BTC")[0]["balances"]] == [BTC]
    assert ex.list_balances(A, asset_id="999999999999999999")[0]["balances"] == []
    assert [e["id"] for e in ex.list_balances(A | B)] == [ALICE, BOB]
    assert [e["id"] for e in ex.list_balances(A | B, client_id=BOB)] == [BOB]
    with pytest.raises(Forbidden, match=r"^client_id:"):
        ex.list_balances(A, client_id=BOB)
    with pytest.raises(BadRequest, match=r"^asset_id:"):
        ex.list_balances(A, asset_id="x")


# =================================================================================== transfers
def _transfer(
    ex: Exchange, client: str, kind: str, amount: str, asset: str = PYUSD, **extra: Any
) -> dict[str, Any]:
    request = {"asset_id": asset, "client_id": client, "platform": "FIAT", "type": kind, "amount": amount}
    request.update(extra)
    return ex.create_transfer(frozenset({client}), {"request": request})


def test_deposit_lifecycle(ex: Exchange, clock: Clock) -> None:
    deposit = _transfer(ex, ALICE, "DEPOSIT", "1000.50", instructions={"transfer_id": "abc"})
    assert deposit["status"] == "INITIALIZED" and ID_RE.match(deposit["id"])
    assert deposit["request"] == {
        "asset_id": PYUSD,
        "client_id": ALICE,
        "platform": "FIAT",
        "type": "DEPOSIT",
        "amount": "1000.50",
        "instructions": {"transfer_id": "abc"},
    }
    assert deposit["timestamp"] == deposit["update_timestamp"] == str(T0)
    clock.advance(0.5)
    (pending,) = ex.active_transfers(A)
    assert pending["status"] == "PENDING" and pending["update_timestamp"] == str(T0 + SEC // 2)
    assert bal(ex, ALICE, PYUSD) == D(1000000)
    clock.advance(1.5)
    assert ex.active_transfers(A) == []
    (done,) = ex.list_transfers(A, T0)
    assert done["status"] == "COMPLETED" and done["update_timestamp"] == str(T0 + 2 * SEC)
    assert bal(ex, ALICE, PYUSD) == D("1001000.5")
    ok(ex)


def test_withdraw_holds_then_moves_out(ex: Exchange, clock: Clock) -> None:
    before = ex.totals()[BTC]
    withdraw = _transfer(ex, ALICE, "WITHDRAW", "4", BTC, platform="CRYPTO")
    assert withdraw["status"] == "INITIALIZED"
    assert D(row(ex, ALICE, BTC)["transfer_hold"]) == 4
    assert place(ex, ALICE, "SELL", "6.0001", "75000")["status"] == "REJECTED"  # only 6 available
    rejected = _transfer(ex, ALICE, "WITHDRAW", "6.0001", BTC)
    assert rejected["status"] == "REJECTED"
    clock.advance(2)
    ex.advance()
    assert row(ex, ALICE, BTC)["transfer_hold"] == "0" and bal(ex, ALICE, BTC) == 6
    assert ex.totals()[BTC] == before - 4
    ok(ex)


def test_settle_delay_zero_completes_on_next_call(clock: Clock) -> None:
    ex = Exchange(default_seed(market_maker=False), clock=clock, settle_delay_ns=0)
    deposit = _transfer(ex, BOB, "DEPOSIT", "5", ETH)
    assert deposit["status"] == "INITIALIZED"
    assert ex.list_transfers(B)[0]["status"] == "COMPLETED"
    assert bal(ex, BOB, ETH) == 105


def test_transfer_request_errors(ex: Exchange) -> None:
    for amount in ("0", "-5"):
        with pytest.raises(BadRequest, match=r"^request\.amount:"):
            _transfer(ex, ALICE, "DEPOSIT", amount)
    with pytest.raises(BadRequest, match=r"^request\.platform:"):
        _transfer(ex, ALICE, "DEPOSIT", "1", platform="WIRE")
    with pytest.raises(BadRequest, match=r"^request\.type:"):
        _transfer(ex, ALICE, "SEND", "1")
    with pytest.raises(BadRequest, match=r"^request\.instructions:"):
        _transfer(ex, ALICE, "DEPOSIT", "1", instructions="wire it")
    with pytest.raises(NotFound, match=r"^request\.asset_id:"):
        _transfer(ex, ALICE, "DEPOSIT", "1", asset="999999999999999999")
    with pytest.raises(Forbidden, match=r"^request\.client_id:"):
        ex.create_transfer(
            A,
            {
                "request": {
                    "asset_id": PYUSD,
                    "client_id": BOB,
                    "platform": "FIAT",
                    "type": "DEPOSIT",
                    "amount": "1",
                }
            },
        )
    with pytest.raises(BadRequest, match=r"^request:"):
        ex.create_transfer(A, {"asset_id": PYUSD})
    assert ex.list_transfers(A) == []


def test_transfer_lists(ex: Exchange, clock: Clock) -> None:
    first = _transfer(ex, ALICE, "DEPOSIT", "1")
    clock.advance(10)
    second = _transfer(ex, ALICE, "DEPOSIT", "2")
    clock.advance(1)
    assert [t["id"] for t in ex.active_transfers(A)] == [second["id"]]
    assert [t["id"] for t in ex.active_transfers(A, transfer_id=second["id"])] == [second["id"]]
    assert ex.active_transfers(A, transfer_id=first["id"]) == []
    with pytest.raises(Forbidden):
        ex.active_transfers(B, transfer_id=first["id"])
    with pytest.raises(NotFound):
        ex.active_transfers(A, transfer_id="899999999999999999")
    assert [t["id"] for t in ex.list_transfers(A)] == [second["id"], first["id"]]
    # since = update timestamp reference
    assert [t["id"] for t in ex.list_transfers(A, str(T0 + 11 * SEC))] == [second["id"]]
    clock.advance(DAY_NS / SEC)
    assert ex.list_transfers(A) == []


# ================================================================================ invariants
def test_totals_and_invariants_after_a_busy_session(clock: Clock) -> None:
    ex = Exchange(default_seed(), clock=clock)
    start = ex.totals()
    for i in range(30):
        who = (ALICE, BOB)[i % 2]
        side = ("BUY", "SELL")[(i // 2) % 2]
        price = str(D("75000.5") + (i % 7 - 3) * 2)
        place(ex, who, side, "0.3", price, tif="IOC" if i % 5 == 0 else None)
        clock.advance(0.1)
    assert ex.totals() == start
    assert D(ex.totals()[PYUSD]) == D(ex.seed.balances[ALICE][PYUSD]) * 2 + D("100000000")
    ok(ex)


def test_concurrent_callers_keep_invariants(clock: Clock) -> None:
    ex = Exchange(default_seed(), clock=clock)

    def trader(client: str, side: str) -> None:
        for i in range(60):
            place(ex, client, side, "0.01", str(D("75000.5") + (i % 9 - 4) * D("0.5")))

    threads = [
        threading.Thread(target=trader, args=args)
        for args in ((ALICE, "BUY"), (BOB, "SELL"), (ALICE, "SELL"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok(ex)
    assert len(ex.list_orders(A | B)) == 180


# ================================================================================ persistence
def _busy(ex: Exchange, clock: Clock) -> dict[str, str]:
    """A session touching every kind of state; returns some ids."""
    ids: dict[str, str] = {}
    ids["resting"] = place(ex, ALICE, "BUY", "0.2", "74000", ext="keep-1")["id"]
    ids["filled"] = place(ex, BOB, "BUY", "0.6", "75004.5")["id"]  # takes house liquidity
    ids["rejected"] = place(ex, ALICE, "BUY", "0.1", "74000.25")["id"]
    canceled = place(ex, BOB, "SELL", "0.1", "76000")
    ex.cancel_order(B, canceled["id"])
    ex.modify_order(
        A,
        {
            "id": ids["resting"],
            "external_id": "keep-2",
            "info": {"client_id": ALICE, "new_qty": "0.3", "new_price": "74001"},
        },
    )
    ex.update_client(B, {"id": BOB, "info": {"self_trade_prevention": "CANCEL_AGGRESSIVE"}})
    clock.advance(1)
    ids["done"] = _transfer(ex, ALICE, "DEPOSIT", "500")["id"]
    clock.advance(3)
    ids["pending"] = _transfer(ex, BOB, "WITHDRAW", "1", BTC)["id"]
    clock.advance(1)
    ex.market_quotes()  # a read that advances the lifecycle (house re-quote, transfer state)
    return ids


def test_sqlite_restart_keeps_everything(tmp_path: Path, clock: Clock) -> None:
    db = tmp_path / "sandbox.db"
    ex = Exchange(default_seed(fresh_credentials=True), clock=clock, store=db)
    keys = {k.key_id: k.secret for k in ex.seed.api_keys}
    ids = _busy(ex, clock)
    state = ex.dump_state()
    ok(ex)
    ex.close()

    again = Exchange(clock=clock, store=db)  # seed and config come from the database
    assert {k.key_id: k.secret for k in again.seed.api_keys} == keys
    assert again.dump_state() == state
    ok(again)
    assert [o["id"] for o in again.active_orders(A)] == [ids["resting"]]
    assert again.order_status(A, "keep-2")["ref_external_id"] == "keep-1"
    assert again.order_status(B, ids["filled"])["status"] == "FILLED"
    assert len(again.order_trades(B)) >= 2
    assert [t["status"] for t in again.active_transfers(B)] == ["PENDING"]
    assert again.list_clients(B)[0]["info"]["self_trade_prevention"] == "CANCEL_AGGRESSIVE"
    # the id counter continues, idempotency survives, the pending withdraw completes
    next_id = place(again, ALICE, "BUY", "0.1", "74000")["id"]
    assert int(next_id) == int(state["next_id"])
    replayed = again.create_order(A, body(ALICE, "BUY", "0.2", "74000", ext="keep-1"))
    assert replayed["id"] == ids["resting"]
    clock.advance(2)
    assert again.list_transfers(B)[0]["status"] == "COMPLETED"
    final = again.dump_state()
    again.close()
    third = Exchange(clock=clock, store=db)
    assert third.dump_state() == final
    third.close()


def test_memory_journal_replay_is_deterministic(clock: Clock) -> None:
    journal = MemoryJournal()
    ex = Exchange(default_seed(), clock=clock, store=journal)
    _busy(ex, clock)
    assert journal.entries and {op for _, op, _ in journal.entries} >= {
        "advance",
        "create_order",
        "modify_order",
        "cancel_order",
        "update_client",
        "create_transfer",
    }
    # journal first: a command the engine refuses is written before it runs (and replays to the same
    # refusal); a plain read that changes nothing is not journaled
    count = len(journal.entries)
    with pytest.raises(BadRequest):
        place(ex, ALICE, "BUY", "x")
    assert [op for _, op, _ in journal.entries[count:]] == ["create_order"]
    ex.list_orders(A)
    assert len(journal.entries) == count + 1
    assert Exchange(clock=clock, store=journal).dump_state() == ex.dump_state()


def test_replay_is_stable_across_pruning(clock: Clock) -> None:
    journal = MemoryJournal()
    ex = Exchange(default_seed(), clock=clock, store=journal)
    for day in range(32):
        place(ex, ALICE, "BUY", "0.6", "75004.5", ext=f"d{day}")
        place(ex, BOB, "SELL", "0.1", "76000", ext=f"d{day}")
        _transfer(ex, BOB, "DEPOSIT", "1")
        clock.advance(DAY_NS / SEC / 3)
        ex.market_quotes()
        clock.advance(DAY_NS / SEC * 2 / 3)
    assert len(ex.order_trades(A)) == 0 and len(ex.active_orders(B)) == 32
    with pytest.raises(NotFound):
        ex.order_status(A, "d0")
    assert ex.order_status(A, "d5")["status"] == "FILLED"
    assert Exchange(clock=clock, store=journal).dump_state() == ex.dump_state()
    ok(ex)


def test_no_store_writes_nothing(ex: Exchange) -> None:
    assert ex._journaling is False
    place(ex, ALICE, "BUY", "0.1", "74000")


# ======================================================================================== book
class _O:
    def __init__(self, oid: str, side: str, price: str, leaves: str) -> None:
        self.id, self.side, self.price, self.leaves, self.book_seq = oid, side, D(price), D(leaves), 0


def test_book_ordering_and_lazy_removal() -> None:
    book: OrderBook[_O] = OrderBook("x")
    orders = [_O(str(i), "BUY", p, "1") for i, p in enumerate(["10", "12", "11", "12"])]
    for o in orders:
        book.add(o, 1)
    asks = [_O(f"a{i}", "SELL", p, "2") for i, p in enumerate(["15", "13", "14"])]
    for o in asks:
        book.add(o, 2)
    assert [lv.price for lv in book.levels("BUY")] == [12, 11, 10]
    assert [lv.price for lv in book.levels("SELL")] == [13, 14, 15]
    best = book.best("BUY")
    assert best is not None and best.count == 2 and best.qty == 2 and best.first() is orders[1]
    book.remove(orders[1], 3)
    assert best.first() is orders[3] and best.count == 1
    book.set_leaves(orders[3], D("0.5"), 4)  # keeps its place
    assert best.qty == D("0.5") and book.best_price("BUY") == 12
    book.set_leaves(orders[3], D(0), 5)
    assert book.best_price("BUY") == 11 and book.depth("BUY") == 2
    assert not book.is_crossed()
    # many removals at one level compact its queue
    many = [_O(f"m{i}", "SELL", "20", "1") for i in range(200)]
    for o in many:
        book.add(o, 6)
    for o in many[1:-1]:
        book.remove(o, 7)
    level = book.level_at("SELL", D(20))
    assert level is not None and level.count == 2 and len(level.queue) < 100
    assert [o.id for o in level.orders()] == ["m0", "m199"]
    assert book.best_prices() == (11, 13)
    book.remove(asks[2], 8)  # an ask level in the middle, then the best one, goes
    book.remove(asks[1], 8)
    assert [lv.price for lv in book.levels("SELL")] == [15, 20]
    assert book.best_prices() == (book.best_price("BUY"), book.best_price("SELL")) == (11, 15)
    for o in (orders[0], orders[2], asks[0], many[0], many[-1]):
        book.remove(o, 9)
    assert book.best_prices() == (None, None) and book.best("SELL") is None


def test_book_accepts_engine_orders() -> None:
    book: OrderBook[Order] = OrderBook("x")
    order = Order(
        id="1",
        client_id="c",
        instrument_id="x",
        side="SELL",
        type="LIMIT",
        tif="GTC",
        price=D("5"),
        qty=D("1"),
        leaves=D("1"),
        external_id="e",
        ref_external_id="e",
        timestamp=0,
        update_timestamp=0,
        order_info={},
    )
    book.add(order, 0)
    assert list(book.orders()) == [order]
