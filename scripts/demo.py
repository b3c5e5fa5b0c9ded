"""``make demo``: a short trading session through the client against the embedded sandbox.

Starts ``truex_sandbox`` in-process on a free loopback port and drives it with ``truex_ext.Truex`` as
two trading clients would: market data, two orders that cross, fills, balances and holds, a modify and
a cancel, paging through history, a deprecated path's warning and a bad input's error. A WebSocket stream
(``client.stream()``) subscribed to DEPTH and DROPCOPY before the orders shows the book moving as they cross
and ALICE's own order reports arriving.
"""

from __future__ import annotations

import sys
import time
import warnings
from decimal import Decimal
from typing import Any

from truex_ext import InvalidParameterError, Truex, TruexDeprecationWarning
from truex_ext.stream import DepthData, MarketData, OrderUpdate, Stream
from truex_ext.types import BookTop, ModifyOrderInfo, NewOrderInfo, OrderType, QtyUnit, Side
from truex_sandbox.app import create_app
from truex_sandbox.engine import Exchange
from truex_sandbox.server import serve_in_thread

BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def section(title: str) -> None:
    print(f"\n{BOLD}== {title}{RESET}")


def show(label: str, value: Any) -> None:
    print(f"  {label:<28} {value}")


def balances(client: Truex, assets: dict[str, str]) -> None:
    for entity in client.balances.list():
        for b in entity.balances:
            available = b.balance - b.order_hold - b.transfer_hold
            show(
                f"{assets.get(b.asset_id, b.asset_id)}",
                f"balance {b.balance:>14}  order_hold {b.order_hold:>12}  available {available:>14}",
            )


def order_line(order: Any) -> str:
    info = order.order_info
    return (
        f"{order.id} {order.status.value:<14} {info.side.value:<4} {info.qty} @ {info.price} "
        f"leaves {order.leaves_qty} executed {order.executed_qty} vwap {order.executed_vwap}"
    )


def top_line(stream: Stream, symbol: str) -> str:
    snap = stream.book(symbol).snapshot(1)
    bid = f"{snap.bids[0][0]} x {snap.bids[0][1]}" if snap.bids else "-"
    ask = f"{snap.asks[0][0]} x {snap.asks[0][1]}" if snap.asks else "-"
    return f"bid {bid}  /  ask {ask}"


def watch(stream: Stream, symbol: str, order_id: str, leaves: Decimal, seconds: float = 3.0) -> None:
    """Print the DEPTH updates (the book moving) and the DROPCOPY reports of ``order_id`` that arrived, until
    a report shows ``leaves`` left and the book has moved, or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    reported = moved = False
    while time.monotonic() < deadline and not (reported and moved):
        try:
            event = stream.next(timeout=max(deadline - time.monotonic(), 0.01))
        except TimeoutError:
            break
        if isinstance(event, OrderUpdate) and event.order_id == order_id:
            raw = event.raw
            show(
                f"DROPCOPY {event.update.lower()}",
                f"{order_id} {raw.get('status')} leaves {raw.get('leaves_qty')} "
                f"executed {raw.get('executed_qty')}",
            )
            reported = reported or Decimal(str(raw.get("leaves_qty"))) == leaves
        elif isinstance(event, MarketData) and event.channel == "DEPTH" and event.update == "UPDATE":
            assert isinstance(event.data, DepthData)
            levels = [f"bid {lv.price} -> {lv.qty}" for lv in event.data.bids]
            levels += [f"ask {lv.price} -> {lv.qty}" for lv in event.data.asks]
            show("DEPTH update", ", ".join(levels))
            bids = stream.book(symbol).snapshot(1).bids
            moved = bool(bids) and bids[0][1] == leaves  # the stream's book has caught up
    show("DEPTH book now", top_line(stream, symbol))


def main() -> int:
    started = time.perf_counter()
    exchange = Exchange()
    keys = {key.label: key for key in exchange.seed.api_keys}
    with serve_in_thread(create_app(exchange)) as server:
        print(f"{DIM}sandbox serving {server.base_url}/v1/cefi/ (in-process){RESET}")

        def connect(mnemonic: str) -> Truex:
            key = keys[mnemonic]
            return Truex(
                base_url=server.base_url,
                api_key=key.key_id,
                api_secret=key.secret,
                client_id=min(key.client_ids),
                environ={},
            )

        with connect("ALICE") as alice, connect("BOB") as bob, alice.stream() as live:
            section("Service")
            health = alice.service.health()
            show("health", f"{health.status.value} at {health.timestamp} ({health.service})")
            for v in alice.service.versions():
                show(
                    f"version {v.version.value}",
                    f"{v.status.value}{' (server default)' if v.default else ''}",
                )

            section("Instruments and the top of the book")
            assets = {a.id: a.fields.name for a in alice.assets.list()}
            btc = next(i for i in alice.instruments.list() if i.info.symbol == "BTC-PYUSD")
            show(
                btc.info.symbol,
                f"id {btc.id}, tick {btc.info.price_increment}, step {btc.info.qty_increment}",
            )
            top = alice.market.quotes(instrument_id=btc.id).first_page().items[0].info
            bid_top, ask_top = top.best_bid, top.best_ask  # optional in the spec: a sparse answer is legal
            if isinstance(bid_top, BookTop) and isinstance(ask_top, BookTop):
                show("best bid / ask", f"{bid_top.price} x {bid_top.qty}  /  {ask_top.price} x {ask_top.qty}")
            quote = alice.market.compute_quote(
                instrument_id=btc.id, side=Side.BUY, qty=Decimal("0.05"), qty_unit=QtyUnit.BASE
            )
            show("VWAP to buy 0.05 BTC", f"{quote.price} (notional {quote.notional})")

            section("Balances before (ALICE)")
            balances(alice, assets)

            section("A stream: DEPTH and ALICE's DROPCOPY, subscribed before the orders")
            live.subscribe("DROPCOPY", [alice.client_id or ""])
            live.subscribe("DEPTH", [btc.info.symbol])
            deadline = time.monotonic() + 5
            while not live.book(btc.info.symbol).is_synced and time.monotonic() < deadline:
                time.sleep(0.02)
            show("DEPTH book (synced)", top_line(live, btc.info.symbol))

            section("Two clients cross")
            price = Decimal("75000.0")  # inside the house spread, so BOB meets ALICE
            bid = alice.orders.create(
                info=NewOrderInfo(
                    client_id=alice.client_id or "",
                    instrument_id=btc.id,
                    qty=Decimal("0.0100"),
                    price=price,
                    side=Side.BUY,
                    type_=OrderType.LIMIT,
                )
            )
            show("ALICE bids (rests)", order_line(bid))
            ask = bob.orders.create(
                info=NewOrderInfo(
                    client_id=bob.client_id or "",
                    instrument_id=btc.id,
                    qty=Decimal("0.0040"),
                    price=price,
                    side=Side.SELL,
                    type_=OrderType.LIMIT,
                )
            )
            show("BOB sells into it", order_line(ask))
            show("ALICE's bid now", order_line(alice.orders.status(ref_id=bid.id)[0]))
            for trade in alice.orders.trades(timestamp="0"):
                show(
                    "ALICE trade",
                    f"{trade.trade_qty} @ {trade.trade_price} {trade.liq_flag.value} fee rate {trade.trade_fee_rate}",
                )

            section("What the stream saw (bounded wait)")
            watch(live, btc.info.symbol, bid.id, leaves=Decimal("0.0060"))

            section("Balances after (ALICE): the rest of the bid is on hold")
            balances(alice, assets)

            section("Modify and cancel")
            modified = alice.orders.modify(
                id=bid.id,
                info=ModifyOrderInfo(
                    client_id=alice.client_id or "", new_qty=Decimal("0.0080"), new_price=price
                ),
            )
            show("modify: new total 0.008", order_line(modified))
            canceled = alice.orders.cancel(ref_id=bid.id)
            show("cancel answers", canceled.status.value)
            show("then", alice.orders.status(ref_id=bid.id)[0].status.value)

            section("Paging through order history (2 per page)")
            for extra in range(3):
                alice.orders.create(
                    info=NewOrderInfo(
                        client_id=alice.client_id or "",
                        instrument_id=btc.id,
                        qty=Decimal("0.0010"),
                        price=Decimal("74000") + extra,
                        side=Side.BUY,
                        type_=OrderType.LIMIT,
                    )
                )
            for n, page in enumerate(alice.orders.list(size=2).pages(), 1):
                show(f"page {n}", f"{[o.id for o in page.items]} next cursor {page.next_cursor}")

            section("A deprecated singular path")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TruexDeprecationWarning)
                active = list(alice.orders.active_deprecated())
            show("GET /api/v1/order/active", f"{len(active)} active orders")
            for w in caught:
                show("warning", str(w.message))

            section("A bad input, refused before anything is sent")
            try:
                alice.balances.list(client_id="0")
            except InvalidParameterError as exc:
                show(type(exc).__name__, str(exc))
            try:
                alice.orders.create(
                    info=NewOrderInfo(
                        client_id=alice.client_id or "",
                        instrument_id=btc.id,
                        qty=0.01,  # type: ignore[arg-type]  # a float: money must be Decimal
                        price=price,
                        side=Side.BUY,
                        type_=OrderType.LIMIT,
                    )
                )
            except InvalidParameterError as exc:
                show(type(exc).__name__, str(exc))

            problems = exchange.check_invariants()
            section("Exchange invariants")
            show("violations", problems or "none")
    print(f"\n{DIM}demo finished in {time.perf_counter() - started:.2f} s{RESET}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
