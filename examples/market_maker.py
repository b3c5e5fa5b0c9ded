"""A small market-making loop: quote a bid and an ask around the book's mid, N times, then stop.

    truex-sandbox &                       # the local exchange (prints the API key and secret)
    export TRUEX_API_KEY=... TRUEX_API_SECRET=...
    python examples/market_maker.py --symbol BTC-PYUSD --spread 0.001 --qty 0.001 --iterations 5

Each iteration cancels the previous quotes, reads the best bid and ask, and posts one post-only (ALO) order
per side at mid -/+ half the spread, rounded to the instrument's increments. A quote the exchange rejects
(it would take liquidity, the price band, the balance) is printed and skipped. Ctrl-C, or the last
iteration, cancels what is left.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

from truex_ext import OrderRejectedError, Truex
from truex_ext.helpers import round_price, round_qty
from truex_ext.types import ExecInstFlag, NewOrderInfo, Order, OrderType, Side


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbol", default="BTC-PYUSD")
    parser.add_argument("--spread", type=Decimal, default=Decimal("0.001"), help="relative, 0.001 = 10 bp")
    parser.add_argument("--qty", type=Decimal, default=Decimal("0.001"))
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between iterations")
    args = parser.parse_args()

    with Truex() as client:
        instrument = client.instruments.get(args.symbol)
        client_id = client.resolve_client_id()
        qty = round_qty(instrument, args.qty)
        live: list[Order] = []
        try:
            for n in range(1, args.iterations + 1):
                for order in live:
                    client.orders.cancel(ref_id=order.id)
                live.clear()
                book = next(iter(client.market.quotes(instrument_id=instrument.id)))
                bid, ask = book.info.best_bid, book.info.best_ask
                if not bid or not ask:
                    print(f"{n}: one side of the book is empty; waiting")
                    time.sleep(args.interval)
                    continue
                mid = (bid.price + ask.price) / 2
                half = mid * args.spread / 2
                for side, price in ((Side.BUY, mid - half), (Side.SELL, mid + half)):
                    info = NewOrderInfo(
                        client_id=client_id,
                        instrument_id=instrument.id,
                        qty=qty,
                        price=round_price(instrument, price),
                        side=side,
                        type_=OrderType.LIMIT,
                        exec_inst_flags=[ExecInstFlag.ALO],
                    )
                    try:
                        live.append(client.orders.create(info=info))
                    except OrderRejectedError as exc:
                        print(f"{n}: {side.value} {exc.reason}")
                print(
                    f"{n}: mid {mid:f}, quoting {len(live)} orders: "
                    + ", ".join(
                        f"{o.order_info.side.value} {o.order_info.price}" for o in live if o.order_info
                    )
                )
                if n < args.iterations:
                    time.sleep(args.interval)
        finally:
            for order in live:
                client.orders.cancel(ref_id=order.id)
    print("done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
