"""Issue 14, "the first hour of a new user": what a newcomer hits first, against a served sandbox.

A rejected order raises; the client id is found from the key; modify prints the new values; connection
errors name the host and the fix; streams write as they go; symbols and increments have helpers.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from truex_ext import AsyncTruex, OrderRejectedError, Truex, TruexError
from truex_ext.cli import main
from truex_ext.types import NewOrderInfo, OrderStatus, OrderType, Side
from truex_sandbox.app import create_app
from truex_sandbox.engine import Exchange
from truex_sandbox.server import serve_in_thread

BTC = "BTC-PYUSD"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[str, Exchange]]:
    exchange = Exchange()
    with serve_in_thread(create_app(exchange)) as server:
        yield server.base_url, exchange


def _key(exchange: Exchange, user: str = "ALICE") -> Any:
    return next(k for k in exchange.seed.api_keys if k.label == user)


def client(sandbox: tuple[str, Exchange], *, client_id: bool = True, user: str = "ALICE") -> Truex:
    base_url, exchange = sandbox
    key = _key(exchange, user)
    return Truex(
        api_key=key.key_id,
        api_secret=key.secret,
        client_id=min(key.client_ids) if client_id else None,
        base_url=base_url,
        environ={},
    )


def aclient(sandbox: tuple[str, Exchange], *, client_id: bool = True) -> AsyncTruex:
    base_url, exchange = sandbox
    key = _key(exchange)
    return AsyncTruex(
        api_key=key.key_id,
        api_secret=key.secret,
        client_id=min(key.client_ids) if client_id else None,
        base_url=base_url,
        environ={},
    )


def cli(sandbox: tuple[str, Exchange], *argv: str, client_id: bool = True) -> tuple[int, str, str]:
    def factory(**kwargs: Any) -> Truex:
        base_url, exchange = sandbox
        key = _key(exchange)
        return Truex(
            api_key=key.key_id,
            api_secret=key.secret,
            client_id=min(key.client_ids) if client_id else None,
            environ={},
            **{**kwargs, "base_url": kwargs.get("base_url") or base_url},
        )

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, client_factory=factory)
    return code, out.getvalue(), err.getvalue()


def _btc_id(c: Truex) -> str:
    return next(i.id for i in c.instruments.list() if i.info.symbol == BTC)


def _tiny_order(c: Truex, client_id: str) -> NewOrderInfo:
    return NewOrderInfo(
        client_id=client_id,
        instrument_id=_btc_id(c),
        qty=Decimal("0.00001"),  # below the instrument's minimum: the exchange rejects it (200, REJECTED)
        price=Decimal("74000"),
        side=Side.BUY,
        type_=OrderType.LIMIT,
    )


# --- 1. a rejected order is an error ----------------------------------------------------------------


def test_a_rejected_order_raises_with_the_exchanges_reason(sandbox: tuple[str, Exchange]) -> None:
    with client(sandbox) as c:
        assert c.client_id is not None
        info = _tiny_order(c, c.client_id)
        with pytest.raises(OrderRejectedError) as caught:
            c.orders.create(info=info)
        exc = caught.value
        assert isinstance(exc, TruexError)
        assert exc.order.status == OrderStatus.REJECTED and exc.order.id == exc.order_id
        assert exc.reason and exc.reason == exc.order.text
        assert str(exc) == f"order {exc.order_id} REJECTED: {exc.reason}"
        # Asked for, the rejected order is returned as the exchange answered it.
        order = c.orders.create(info=info, allow_rejected=True)
        assert order.status == OrderStatus.REJECTED
        # The raw twin answers the response as it came (HTTP 200), for whoever inspects it.
        raw = c.orders.with_raw_response.create(info=info)
        assert raw.status_code == 200 and raw.parse().status == OrderStatus.REJECTED


def test_a_rejected_order_raises_on_the_async_client_too(sandbox: tuple[str, Exchange]) -> None:
    with client(sandbox) as c:
        assert c.client_id is not None
        info = _tiny_order(c, c.client_id)

    async def go() -> None:
        async with aclient(sandbox) as a:
            with pytest.raises(OrderRejectedError, match="REJECTED: "):
                await a.orders.create(info=info)
            order = await a.orders.create(info=info, allow_rejected=True)
            assert order.status == OrderStatus.REJECTED

    asyncio.run(go())


def test_the_cli_exits_1_with_one_line_giving_the_reason(sandbox: tuple[str, Exchange]) -> None:
    code, out, err = cli(
        sandbox, "order", "create", BTC, "--side", "BUY", "--qty", "0.00001", "--price", "74000"
    )
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("truex: error: order ") and " REJECTED: " in err
    code, out, err = cli(
        sandbox, "--json", "order", "create", BTC, "--side", "BUY", "--qty", "0.01", "--price", "74000"
    )
    assert code == 0 and json.loads(out)["status"] == "ACTIVE"


# --- 2. the client id is found from the key -----------------------------------------------------------


def test_without_a_client_id_the_keys_one_client_is_used(sandbox: tuple[str, Exchange]) -> None:
    alice = min(_key(sandbox[1]).client_ids)
    with client(sandbox, client_id=False) as c:
        assert c.client_id is None  # a property never calls the network
        assert c.resolve_client_id() == alice
        assert c.client_id == alice  # remembered
        assert c.with_options(max_retries=0).client_id == alice  # and shared with copies
        order = c.orders.create(info=_tiny_order(c, c.resolve_client_id()), allow_rejected=True)
        assert order.order_info.client_id == alice  # type: ignore[union-attr]

    async def go() -> str:
        async with aclient(sandbox, client_id=False) as a:
            assert a.client_id is None
            return await a.resolve_client_id()

    assert asyncio.run(go()) == alice
    code, out, err = cli(
        sandbox,
        "--json",
        "order",
        "create",
        BTC,
        "--side",
        "BUY",
        "--qty",
        "0.01",
        "--price",
        "74000",
        client_id=False,
    )
    assert code == 0, err
    assert json.loads(out)["order_info"]["client_id"] == alice


def _clients_server(ids: list[str]) -> Any:
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/cefi/clients"
        assert "x-truex-auth-userid" not in {k.lower() for k in request.headers}
        data = [{"id": i, "info": {"mnemonic": f"C{n}"}} for n, i in enumerate(ids)]
        return httpx.Response(
            200, json={"data": data, "pagination": {"size": len(data), "next_cursor": None}}
        )

    return httpx.MockTransport(handler)


def test_several_or_no_clients_bound_to_the_key_is_an_error_listing_them() -> None:
    from truex_ext import ClientIdError

    several = _clients_server(["2", "1"])
    with (
        Truex(api_key="k", api_secret="s", environ={}, transport=several) as c,
        pytest.raises(ClientIdError) as caught,
    ):
        c.resolve_client_id()
    assert caught.value.client_ids == ("1", "2")
    assert str(caught.value) == (
        "this API key is bound to 2 clients (1 (C1), 2 (C0)): choose one with TRUEX_CLIENT_ID or client_id="
    )
    assert isinstance(caught.value, LookupError)
    none = _clients_server([])
    with (
        Truex(api_key="k", api_secret="s", environ={}, transport=none) as c,
        pytest.raises(ClientIdError, match=r"no client is bound to this API key at http://127\.0\.0\.1:8765"),
    ):
        c.resolve_client_id()
    # Configured, nothing is asked.
    with Truex(api_key="k", api_secret="s", client_id="9", environ={}, transport=_clients_server([])) as c:
        assert c.resolve_client_id() == "9"


def test_private_calls_find_the_client_id_themselves(sandbox: tuple[str, Exchange]) -> None:
    alice = min(_key(sandbox[1]).client_ids)
    with client(sandbox, client_id=False) as c:
        assert [b.id for b in c.balances.list()] == [alice]  # was 401: missing x-truex-auth-userid
        assert c.client_id == alice

    async def go() -> list[str]:
        async with aclient(sandbox, client_id=False) as a:
            return [b.id async for b in a.balances.list()]

    assert asyncio.run(go()) == [alice]
    code, out, err = cli(sandbox, "balances", client_id=False)
    assert code == 0 and alice in out, err


# --- 3. modify shows the new terms ---------------------------------------------------------------------


def _row(out: str, order_id: str) -> dict[str, str]:
    lines = out.splitlines()
    header = lines[0].replace("EXTERNAL ID", "EXTERNAL_ID").split()
    row = next(line.split() for line in lines[1:] if line.startswith(order_id))
    return dict(zip(header, row, strict=False))


def test_modify_and_status_print_the_terms_after_the_modify(sandbox: tuple[str, Exchange]) -> None:
    code, out, err = cli(
        sandbox, "--json", "order", "create", BTC, "--side", "BUY", "--qty", "0.01", "--price", "74000"
    )
    assert code == 0, err
    order_id = json.loads(out)["id"]
    code, out, err = cli(sandbox, "order", "modify", order_id, "--qty", "0.02", "--price", "74000.5")
    assert code == 0, err
    row = _row(out, order_id)
    assert (row["QTY"], row["PRICE"], row["LEAVES"]) == ("0.02", "74000.5", "0.02")  # was 0.01 and 74000
    code, out, err = cli(sandbox, "orders", "status", order_id)
    assert code == 0, err
    assert (_row(out, order_id)["QTY"], _row(out, order_id)["PRICE"]) == ("0.02", "74000.5")
    code, out, _ = cli(sandbox, "orders", "active")
    assert (_row(out, order_id)["QTY"], _row(out, order_id)["PRICE"]) == ("0.02", "74000.5")
    # An order never modified shows its own terms.
    code, out, _ = cli(sandbox, "order", "create", BTC, "--side", "BUY", "--qty", "0.03", "--price", "74001")
    assert code == 0 and "0.03" in out and "74001" in out


# --- 4. connection and configuration errors name the host and the fix ----------------------------------


def _dead_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_dead_port_names_the_host_and_how_to_start_the_sandbox() -> None:
    from truex_ext import APIConnectionError

    port = _dead_port()
    url = f"http://127.0.0.1:{port}"
    expected = (
        f"cannot connect to {url} (connection refused): is the sandbox running? start it with "
        "`truex-sandbox`, or set TRUEX_BASE_URL / --env"
    )
    with Truex(base_url=url, environ={}, max_retries=0) as c, pytest.raises(APIConnectionError) as caught:
        c.service.health()
    assert str(caught.value) == expected  # was "connection failed: [Errno 111] Connection refused"
    assert caught.value.origin == url
    out, err = io.StringIO(), io.StringIO()
    code = main(["--base-url", url, "health"], out=out, err=err)
    assert code == 1 and err.getvalue() == f"truex: error: {expected}\n"


def test_a_401_names_the_host(sandbox: tuple[str, Exchange]) -> None:
    from truex_ext import AuthenticationError

    base_url, exchange = sandbox
    key = _key(exchange)
    with (
        Truex(
            api_key=key.key_id, api_secret="not-the-secret", client_id="1", base_url=base_url, environ={}
        ) as c,
        pytest.raises(AuthenticationError) as caught,
    ):
        c.orders.active().first_page()
    origin = base_url.split("/v1/")[0].rstrip("/")
    assert caught.value.origin == origin
    assert f"{origin} is the local sandbox: use the API key and secret its banner printed" in str(
        caught.value
    )
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["balances"],
        out=out,
        err=err,
        client_factory=lambda **kw: Truex(
            api_key="unknown", api_secret="x", client_id="1", base_url=base_url, environ={}
        ),
    )
    assert code == 1 and err.getvalue().count("\n") == 1
    assert err.getvalue().startswith("truex: error: 401 ") and origin in err.getvalue()


# --- 5. streams: --jsonl, Ctrl-C, --query checked ----------------------------------------------------------


def test_jsonl_writes_one_object_a_line(sandbox: tuple[str, Exchange]) -> None:
    for _ in range(3):
        assert (
            cli(sandbox, "order", "create", BTC, "--side", "BUY", "--qty", "0.01", "--price", "74000")[0] == 0
        )
    code, out, err = cli(sandbox, "--jsonl", "orders", "list", "--max", "2")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and all(json.loads(line)["id"] for line in lines)
    code, out, _ = cli(sandbox, "--jsonl", "health")
    assert code == 0 and json.loads(out)["status"] == "healthy" and out.count("\n") == 1
    query = '{"columns":[{"name":"status","filter":[{"$in":["ACTIVE"]}]}]}'
    code, out, err = cli(sandbox, "--jsonl", "orders", "list", "--query", query)
    assert code == 0, err
    assert {json.loads(line)["status"] for line in out.splitlines()} == {"ACTIVE"}


class _Interrupted:
    """A client whose order list yields two orders, then the user presses Ctrl-C."""

    def __init__(self, **_: Any) -> None:
        self.orders = self

    def __enter__(self) -> _Interrupted:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def list(self, **_: Any) -> Iterator[Any]:
        from truex_ext.types import Order

        for n in (1, 2):
            yield Order.from_dict({"id": str(n), "status": "ACTIVE"})
        raise KeyboardInterrupt


def test_ctrl_c_exits_130_with_one_line_and_keeps_what_was_written() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--jsonl", "orders", "list"], out=out, err=err, client_factory=_Interrupted)  # type: ignore[arg-type]
    assert code == 130
    assert [json.loads(line)["id"] for line in out.getvalue().splitlines()] == ["1", "2"]
    assert err.getvalue() == "truex: interrupted; 2 lines written are kept\n"
    out, err = io.StringIO(), io.StringIO()
    code = main(["orders", "list"], out=out, err=err, client_factory=_Interrupted)  # type: ignore[arg-type]
    assert code == 130 and out.getvalue() == "" and err.getvalue() == "truex: interrupted\n"


def test_ctrl_c_on_a_real_process_exits_130(sandbox: tuple[str, Exchange]) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    _, exchange = sandbox
    key = _key(exchange)
    # A slow list: a server that never answers, so the process is surely waiting when SIGINT arrives.
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        env = {
            **os.environ,
            "TRUEX_API_KEY": key.key_id,
            "TRUEX_API_SECRET": key.secret,
            "TRUEX_CLIENT_ID": "1",
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "truex_ext.cli",
                "--base-url",
                f"http://127.0.0.1:{port}",
                "--jsonl",
                "orders",
                "list",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        conn, _ = listener.accept()  # the request arrived: the process waits for the answer
        try:
            time.sleep(0.2)
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=30)
        finally:
            conn.close()
    assert proc.returncode == 130
    assert stderr == "truex: interrupted; 0 lines written are kept\n" and stdout == ""


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{not json", "query: is not valid JSON"),
        ('{"colums": []}', "query: unknown key 'colums'; valid keys: columns"),
        (
            '{"columns":[{"name":"status","filter":[{"$in":["filled"]}]}]}',
            "'filled' is not a status; valid values: ACTIVE, CANCELED, CANCEL_PENDING, FILLED",
        ),
        (
            '{"columns":[{"name":"colour","filter":[{"$eq":"x"}]}]}',
            "valid names: status, side, type, instrument_id",
        ),
        ('{"columns":[{"name":"side","filter":[{"$ne":"BUY"}]}]}', "valid operators: $in, $eq"),
    ],
)
def test_a_bad_query_is_refused_before_sending(query: str, message: str) -> None:
    def never(**_: Any) -> Truex:
        raise AssertionError("no client may be built for a bad query")

    out, err = io.StringIO(), io.StringIO()
    code = main(["orders", "list", "--query", query], out=out, err=err, client_factory=never)
    assert code == 2 and err.getvalue().count("\n") == 1
    assert message in err.getvalue()


def test_max_must_be_at_least_one_and_help_documents_the_query() -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit) as info, contextlib.redirect_stderr(err):
        main(["orders", "list", "--max", "-1"], out=io.StringIO(), err=err)
    assert info.value.code == 2 and "must be at least 1, not -1" in err.getvalue()
    out = io.StringIO()
    with pytest.raises(SystemExit), contextlib.redirect_stdout(out):
        main(["orders", "list", "--help"])
    text = out.getvalue()
    assert "examples:" in text and '"$in"' in text and "FILLED" in text and "--jsonl" in text


def test_python_takes_a_dict_for_query(sandbox: tuple[str, Exchange]) -> None:
    query = {"columns": [{"name": "status", "filter": [{"$in": ["ACTIVE"]}]}]}
    with client(sandbox) as c:
        orders = list(c.orders.list(query=query, max_items=5))
        assert orders and {o.status for o in orders} == {OrderStatus.ACTIVE}
        raw = c.orders.with_raw_response.list(query=query, size=1)
        assert raw.status_code == 200


# --- 6. instruments and assets by symbol and name; increments ---------------------------------------------


def test_instruments_and_assets_by_symbol_and_name(sandbox: tuple[str, Exchange]) -> None:
    from truex_ext import UnknownSymbolError
    from truex_ext.helpers import named_balances

    with client(sandbox) as c:
        btc = c.instruments.get(BTC)
        assert btc.info.symbol == BTC and c.instruments.id_of(BTC) == btc.id
        with pytest.raises(UnknownSymbolError) as caught:
            c.instruments.get("BTC-PUSD")
        assert isinstance(caught.value, LookupError) and not isinstance(caught.value, StopIteration)
        assert str(caught.value) == "no instrument 'BTC-PUSD'; known: BTC-PYUSD, ETH-PYUSD"
        assert c.assets.get("BTC").id == btc.info.base_asset_id
        assert c.assets.name_of(btc.info.quote_asset_id) == "PYUSD"
        with pytest.raises(UnknownSymbolError, match="known: BTC, ETH, PYUSD, USD"):
            c.assets.id_of("XBT")
        rows = {row.asset: row for row in named_balances(c)}
        assert set(rows) == {"USD", "PYUSD", "BTC", "ETH"}
        assert rows["BTC"].asset_id == btc.info.base_asset_id and rows["BTC"].balance.balance == Decimal(10)
        # An order by symbol: the id helper is what instrument_id takes.
        order = c.orders.create(
            info=NewOrderInfo(
                client_id=c.resolve_client_id(),
                instrument_id=c.instruments.id_of(BTC),
                qty=Decimal("0.01"),
                price=Decimal("74000"),
                side=Side.BUY,
                type_=OrderType.LIMIT,
            )
        )
        assert order.status == OrderStatus.ACTIVE

    async def go() -> tuple[str, str, int]:
        from truex_ext.helpers import anamed_balances

        async with aclient(sandbox) as a:
            with pytest.raises(UnknownSymbolError):
                await a.instruments.get("nope")
            return (
                await a.instruments.id_of(BTC),
                await a.assets.id_of("BTC"),
                len(await anamed_balances(a)),
            )

    assert asyncio.run(go()) == (btc.id, btc.info.base_asset_id, 4)
    code, out, _ = cli(sandbox, "balances")
    assert code == 0 and out.splitlines()[0].split()[:3] == ["CLIENT", "ASSET", "ASSET"]
    assert any(line.split()[1] == "BTC" for line in out.splitlines()[1:])


def _info(qty_inc: str | None = "0.0001", price_inc: str | None = "0.5") -> Any:
    from truex_ext.types import InstrumentInfo

    info = InstrumentInfo(symbol=BTC, reference_price=Decimal(75000), base_asset_id="1", quote_asset_id="2")
    if qty_inc is not None:
        info.qty_increment = Decimal(qty_inc)
    if price_inc is not None:
        info.price_increment = Decimal(price_inc)
    return info


@pytest.mark.parametrize(
    ("qty", "expected"),
    [
        ("0.123456", "0.1234"),  # down, never up
        ("0.12349999", "0.1234"),
        ("0.1234", "0.1234"),  # on the grid: unchanged
        ("0.00009", "0.0000"),  # below one increment: zero (the caller decides not to send it)
        ("-0.00015", "-0.0001"),  # toward zero, not toward -infinity
        ("5", "5.0000"),
        ("123456789.123456789", "123456789.1234"),
    ],
)
def test_round_qty_rounds_down_toward_zero(qty: str, expected: str) -> None:
    from truex_ext.helpers import round_qty

    result = round_qty(_info(), Decimal(qty))
    assert result == Decimal(expected) and str(result) == expected


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ("74000.26", "74000.5"),
        ("74000.24", "74000.0"),
        ("74000.25", "74000.0"),  # a tie: to the even multiple (148000 halves)
        ("74000.75", "74001.0"),  # a tie: to the even multiple (148002 halves)
        ("74000.5", "74000.5"),
        ("0.1", "0.0"),
    ],
)
def test_round_price_rounds_to_the_nearest_ties_to_even(price: str, expected: str) -> None:
    from truex_ext.helpers import round_price

    assert str(round_price(_info(), Decimal(price))) == expected


def test_rounding_refuses_floats_and_missing_increments(sandbox: tuple[str, Exchange]) -> None:
    from decimal import ROUND_UP

    from truex_ext.helpers import round_price, round_qty

    with pytest.raises(TypeError, match="must be a Decimal, not float"):
        round_qty(_info(), 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="has no qty_increment"):
        round_qty(_info(qty_inc=None), Decimal("1"))
    with pytest.raises(ValueError, match="finite"):
        round_price(_info(), Decimal("NaN"))
    assert round_price(_info(), Decimal("74000.01"), rounding=ROUND_UP) == Decimal("74000.5")
    # Against the sandbox's own increments: a rounded order is accepted, the raw one rejected.
    with client(sandbox) as c:
        btc = c.instruments.get(BTC)
        assert c.client_id is not None
        info = NewOrderInfo(
            client_id=c.client_id,
            instrument_id=btc.id,
            qty=round_qty(btc, Decimal("0.0123456")),
            price=round_price(btc, Decimal("74000.3")),
            side=Side.BUY,
            type_=OrderType.LIMIT,
        )
        assert c.orders.create(info=info).status == OrderStatus.ACTIVE


def test_an_orders_current_terms() -> None:
    from truex_ext.helpers import order_price, order_qty
    from truex_ext.types import Order

    plain = Order.from_dict(
        {
            "id": "1",
            "status": "ACTIVE",
            "order_info": {
                "client_id": "1",
                "instrument_id": "2",
                "qty": "0.01",
                "price": "74000",
                "side": "BUY",
                "type": "LIMIT",
            },
        }
    )
    assert (order_qty(plain), order_price(plain)) == (Decimal("0.01"), Decimal("74000"))
    modified = Order.from_dict(
        {**plain.to_dict(), "modify_info": {"client_id": "1", "new_qty": "0.02", "new_price": "74000.5"}}
    )
    assert (order_qty(modified), order_price(modified)) == (Decimal("0.02"), Decimal("74000.5"))
    bare = Order.from_dict({"id": "1", "status": "ACTIVE"})
    assert (order_qty(bare), order_price(bare)) == (None, None)
