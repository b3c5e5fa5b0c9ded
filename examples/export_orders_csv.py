"""Export your orders of the last 24 hours to CSV, page by page (a long history never sits in memory).

    python examples/export_orders_csv.py orders.csv [--status FILLED --status CANCELED]

Each row: id, external id, status, side, type, the current quantity and price (after any modify),
leaves and executed quantity. Amounts are written as the exchange sent them (exact decimals).
"""

from __future__ import annotations

import argparse
import csv
import sys
from decimal import Decimal
from typing import Any

from truex_ext import Truex
from truex_ext.helpers import order_price, order_qty
from truex_ext.types import OrderInfo


def _text(value: object) -> str:
    """A cell: the value as sent (a Decimal keeps its digits), empty when the answer left it out."""
    return str(value) if isinstance(value, str | Decimal) else ""


COLUMNS = ["id", "external_id", "status", "side", "type", "qty", "price", "leaves_qty", "executed_qty"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="the CSV file to write ('-' for stdout)")
    parser.add_argument("--status", action="append", help="only these statuses (repeat), e.g. FILLED")
    args = parser.parse_args()

    query: dict[str, Any] | None = None
    if args.status:
        query = {"columns": [{"name": "status", "filter": [{"$in": args.status}]}]}
    out = sys.stdout if args.path == "-" else open(args.path, "w", newline="")  # noqa: SIM115
    count = 0
    try:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        with Truex() as client:
            orders = client.orders.list(query=query, size=100) if query else client.orders.list(size=100)
            for order in orders:
                info = order.order_info if isinstance(order.order_info, OrderInfo) else None
                writer.writerow(
                    [
                        order.id,
                        _text(order.external_id),
                        order.status.value,
                        info.side.value if info else "",
                        info.type_.value if info else "",
                        _text(order_qty(order)),
                        _text(order_price(order)),
                        _text(order.leaves_qty),
                        _text(order.executed_qty),
                    ]
                )
                count += 1
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"{count} orders written to {args.path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
