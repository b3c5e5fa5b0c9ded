"""``truex``: the TrueX API from the shell.

    truex health
    truex instruments
    truex book BTC-PYUSD
    truex quote BTC-PYUSD --side BUY --qty 1 --unit BASE
    truex balances
    truex orders list|active|status REF
    truex order create BTC-PYUSD --side BUY --qty 0.01 --price 75000.50
    truex order modify ORDER_ID --qty 0.02 --price 75001
    truex order cancel ORDER_ID
    truex trades
    truex transfers [--active]
    truex --jsonl orders list [--query JSON] [--max N]
    truex watch book BTC-PYUSD [--depth N]   # live book over the WebSocket API (the stream extra)
    truex watch orders                       # drop copy: one line per order update

Credentials come from ``TRUEX_API_KEY``, ``TRUEX_API_SECRET`` (and ``TRUEX_CLIENT_ID`` when the key is
bound to several clients; otherwise the key's one client is used); ``--env prod|uat|sandbox``
(or ``TRUEX_ENVIRONMENT``) picks a documented environment, ``--base-url`` (or ``TRUEX_BASE_URL``) any URL;
the default is the local sandbox. ``--json`` prints machine
output, ``--jsonl`` one object a line as pages arrive (Ctrl-C exits 130 keeping the lines written). Errors
are one line on stderr and a non-zero exit; secrets are never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TextIO

from ._version import __version__
from .endpoints import ENVIRONMENTS

if TYPE_CHECKING:  # the client is imported only when a command runs: `truex --help` stays fast
    from .client import Truex

# Exit statuses: 1 an API or network error, 2 bad usage or bad input.
EXIT_API, EXIT_USAGE = 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT (128 + 2)
DAY_NS = 24 * 3600 * 10**9
WATCH_CONNECT_TIMEOUT = 15.0  # seconds for `truex watch` to connect and have its subscription confirmed


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite decimal number")
    return value


def _max(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


QUERY_HELP = """\
--query filters the orders, as JSON (checked before anything is sent):

  {"columns": [{"name": COLUMN, "filter": [{"$in": [VALUE, ...]} | {"$eq": VALUE}]}, ...]}

COLUMN is status, side, type or instrument_id; columns are ANDed, the values of one column ORed.
Values are the API's upper-case ones: status ACTIVE, CANCELED, CANCEL_PENDING, FILLED, INITIALIZED,
MODIFY_PENDING, NEW_PENDING, REJECTED; side BUY, SELL; type LIMIT, MARKET.

examples:
  truex orders list --query '{"columns":[{"name":"status","filter":[{"$in":["FILLED"]}]}]}'
  truex orders list --query '{"columns":[{"name":"side","filter":[{"$eq":"SELL"}]},
                                         {"name":"status","filter":[{"$in":["ACTIVE","FILLED"]}]}]}'
  truex --jsonl orders list --max 1000 > orders.jsonl    # one order a line, written as pages arrive
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="truex", description="The TrueX CeFi REST API from the shell.")
    parser.add_argument("--version", action="version", version=f"truex-cefi {__version__}")
    parser.add_argument(
        "--env",
        choices=sorted(ENVIRONMENTS),
        help="environment: prod, uat or sandbox (default: $TRUEX_ENVIRONMENT, else the local sandbox)",
    )
    parser.add_argument(
        "--base-url",
        help="API URL, e.g. https://api.truex.co/v1/cefi; wins over --env (default: $TRUEX_BASE_URL)",
    )
    parser.add_argument("--api-version", help="X-Truex-Version (default: v2026_01_23)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="machine-readable JSON output")
    output.add_argument(
        "--jsonl",
        action="store_true",
        help="one JSON object a line, written as pages arrive (lists: orders, trades, transfers, ...)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("health", help="service health")
    sub.add_parser("versions", help="supported API versions")
    sub.add_parser("instruments", help="tradeable instruments")
    book = sub.add_parser("book", help="best bid and offer of an instrument")
    book.add_argument("symbol")
    quote = sub.add_parser("quote", help="VWAP quote from the live book")
    quote.add_argument("symbol")
    quote.add_argument("--side", choices=["BUY", "SELL"], required=True)
    quote.add_argument("--qty", type=_decimal, required=True)
    quote.add_argument("--unit", choices=["BASE", "QUOTE"], default="BASE")
    sub.add_parser("balances", help="balances of your clients")

    orders = sub.add_parser("orders", help="query orders")
    osub = orders.add_subparsers(dest="what", required=True, metavar="list|active|status")
    olist = osub.add_parser(
        "list",
        help="orders of the last 24 hours (all pages)",
        epilog=QUERY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    olist.add_argument(
        "--query",
        help='JSON filter (see below), e.g. \'{"columns":[{"name":"status","filter":[{"$in":["FILLED"]}]}]}\'',
    )
    olist.add_argument("--max", type=_max, dest="max_items", help="stop after this many orders (≥ 1)")
    osub.add_parser("active", help="active orders")
    ostatus = osub.add_parser("status", help="status of one order")
    ostatus.add_argument("ref")
    ostatus.add_argument("--client-id", action="store_true", help="REF is the external (client) order id")

    order = sub.add_parser("order", help="create, modify or cancel an order")
    asub = order.add_subparsers(dest="action", required=True, metavar="create|modify|cancel")
    create = asub.add_parser("create", help="place an order")
    create.add_argument("symbol")
    create.add_argument("--side", choices=["BUY", "SELL"], required=True)
    create.add_argument("--qty", type=_decimal, required=True)
    create.add_argument("--price", type=_decimal, help="limit price (omit with --type MARKET)")
    create.add_argument("--type", choices=["LIMIT", "MARKET"], default="LIMIT")
    create.add_argument("--tif", choices=["GTC", "IOC"], default="GTC")
    create.add_argument("--post-only", action="store_true", help="ALO: rejected if it would take liquidity")
    create.add_argument("--external-id", help="client order id (default: a fresh UUIDv4)")
    modify = asub.add_parser("modify", help="change the total quantity and price of an order")
    modify.add_argument("order_id")
    modify.add_argument("--qty", type=_decimal, required=True, help="new TOTAL quantity")
    modify.add_argument("--price", type=_decimal, required=True)
    cancel = asub.add_parser("cancel", help="cancel an order")
    cancel.add_argument("ref")
    cancel.add_argument("--client-id", action="store_true", help="REF is the external (client) order id")

    trades = sub.add_parser("trades", help="your trades of the last 24 hours")
    trades.add_argument("--max", type=_max, dest="max_items", help="stop after this many trades (≥ 1)")
    transfers = sub.add_parser("transfers", help="your transfers of the last 24 hours")
    transfers.add_argument("--active", action="store_true", help="only transfers not yet final")

    watch = sub.add_parser("watch", help="live updates over the WebSocket API (needs the stream extra)")
    wsub = watch.add_subparsers(dest="what", required=True, metavar="book|orders")
    wbook = wsub.add_parser("book", help="live top of book and depth (redrawn in place on a terminal)")
    wbook.add_argument("symbol")
    wbook.add_argument("--depth", type=_max, default=5, help="levels a side to show (default 5)")
    worders = wsub.add_parser("orders", help="drop copy: one line per update of your orders")
    for p in (wbook, worders):
        p.add_argument("--max-updates", type=_max, help="stop after this many updates (≥ 1)")
    return parser


def _levels(levels: Iterable[tuple[Decimal, Decimal]]) -> str:
    return " ".join(f"{price}x{qty}" for price, qty in levels) or "-"


def _book_view(symbol: str, snap: Any, depth: int, live: bool) -> str:
    """A book: one line when piped; a small table when redrawn on a terminal."""
    bid = f"{snap.bids[0][0]} x {snap.bids[0][1]}" if snap.bids else "-"
    ask = f"{snap.asks[0][0]} x {snap.asks[0][1]}" if snap.asks else "-"
    spread = snap.asks[0][0] - snap.bids[0][0] if snap.bids and snap.asks else "-"
    top = f"{symbol} bid {bid}  ask {ask}  spread {spread}"
    if not live:
        return f"{top}  bids {_levels(snap.bids[:depth])}  asks {_levels(snap.asks[:depth])}"
    rows = [top, "", f"{'BID QTY':>14} {'BID':>14} | {'ASK':<14} {'ASK QTY':<14}"]
    for i in range(depth):
        b = snap.bids[i] if i < len(snap.bids) else None
        a = snap.asks[i] if i < len(snap.asks) else None
        rows.append(
            f"{str(b[1]) if b else '':>14} {str(b[0]) if b else '':>14} | "
            f"{str(a[0]) if a else '':<14} {str(a[1]) if a else '':<14}"
        )
    return "\n".join(rows)


def order_update_line(update: Any) -> str:
    """One drop-copy line: id, status, side, qty @ price, leaves, executed (the ``Order`` columns)."""
    raw = dict(update.raw)
    cells = [_get(raw, path) for _, path in COLUMNS["Order"]]
    order_id, external, status, side, kind, qty, price, leaves, executed = cells
    return (
        f"{order_id} {status} {side} {kind} {qty} @ {price} leaves {leaves} executed {executed}"
        f" ext {external or '-'} ({update.update.lower()})"
    )


def _watch(args: argparse.Namespace, client: Truex, out: TextIO) -> int:
    """``truex watch book|orders``: print updates until ``--max-updates`` (or Ctrl-C)."""
    import importlib.util

    if importlib.util.find_spec("websockets") is None:
        raise ValueError("truex watch needs the stream extra: pip install 'truex-cefi[stream]'")
    from .errors import APIConnectionError
    from .stream import OrderUpdate, StreamClosedError, stream_url

    limit = args.max_updates
    count = 0
    live = out.isatty() and not (args.json or args.jsonl)
    with client.stream() as stream:
        channel, item = ("DEPTH", args.symbol) if args.what == "book" else ("DROPCOPY", _client_id(client))
        try:
            stream.subscribe(channel, [item], timeout=WATCH_CONNECT_TIMEOUT)
        except TimeoutError:
            raise APIConnectionError(
                f"no {channel} subscription within {WATCH_CONNECT_TIMEOUT:g} s (is the WebSocket API up?)",
                url=stream_url(client.base_url),
            ) from None
        book = stream.book(args.symbol) if args.what == "book" else None
        shown: Any = None
        while limit is None or count < limit:
            try:
                event = stream.next()
            except StopIteration:
                raise StreamClosedError("the stream closed") from None
            if args.what == "orders":
                if not isinstance(event, OrderUpdate):
                    continue
                line = json.dumps(dict(event.raw), sort_keys=True) if args.json or args.jsonl else None
                out.write((line or order_update_line(event)) + "\n")
            else:
                assert book is not None
                snap = book.snapshot(args.depth)  # read through a copy: the stream's thread writes the book
                if not snap.is_synced:
                    continue
                if shown is not None and (snap.bids, snap.asks) == shown:
                    continue
                shown = (snap.bids, snap.asks)
                view = _book_view(args.symbol, snap, args.depth, live)
                out.write(f"\033[H\033[J{view}\n" if live else view + "\n")
            out.flush()
            count += 1
    return 0


def _client_id(client: Truex) -> str:
    return client.resolve_client_id()  # TRUEX_CLIENT_ID, else the one client bound to the key


def _instrument_id(client: Truex, symbol: str) -> str:
    return client.instruments.id_of(symbol)  # UnknownSymbolError lists the symbols there are


def _progress(items: Iterable[Any], noun: str, stream: TextIO) -> Iterable[Any]:
    """Yield ``items``, showing a running count on a terminal (a long history export takes a while)."""
    live = stream.isatty()
    count = 0
    for count, item in enumerate(items, 1):
        if live and count % 100 == 0:
            stream.write(f"\r{count} {noun} fetched...")
            stream.flush()
        yield item
    if live and count >= 100:
        stream.write(f"\r{count} {noun} fetched.   \n")


class Stream:
    """The items of a list command, fetched page by page as they are iterated."""

    def __init__(self, items: Iterable[Any], noun: str) -> None:
        self.items = items
        self.noun = noun


def _check(args: argparse.Namespace) -> None:
    """What can be refused before a client is built or anything is sent (exit 2)."""
    if getattr(args, "query", None):
        from .queries import check_order_query

        args.query = check_order_query(args.query)


def _run(args: argparse.Namespace, client: Truex, err: TextIO) -> Any:
    from truex_client.models import (
        ExecInstFlag,
        IdType,
        ModifyOrderInfo,
        NewOrderInfo,
        OrderType,
        QtyUnit,
        Side,
        TimeInForce,
    )

    if args.command == "health":
        return client.service.health()
    if args.command == "versions":
        return client.service.versions()
    if args.command == "instruments":
        return Stream(client.instruments.list(size=100), "instruments")
    if args.command == "book":
        return client.market.quotes(instrument_id=_instrument_id(client, args.symbol)).first_page().items
    if args.command == "quote":
        return client.market.compute_quote(
            instrument_id=_instrument_id(client, args.symbol),
            side=Side(args.side),
            qty=args.qty,
            qty_unit=QtyUnit(args.unit),
        )
    if args.command == "balances":
        if args.json or args.jsonl:
            return Stream(client.balances.list(size=100), "balances")
        from .helpers import named_balances

        return named_balances(client)  # the table names each asset
    if args.command == "orders":
        if args.what == "list":
            kwargs: dict[str, Any] = {"size": 100, "max_items": args.max_items}
            if args.query:
                kwargs["query"] = args.query
            return Stream(_progress(client.orders.list(**kwargs), "orders", err), "orders")
        if args.what == "active":
            return Stream(client.orders.active(size=100), "orders")
        id_type = IdType.CLIENT if args.client_id else IdType.EXCHANGE
        return client.orders.status(ref_id=args.ref, id_type=id_type)
    if args.command == "order":
        if args.action == "create":
            info = NewOrderInfo(
                client_id=_client_id(client),
                instrument_id=_instrument_id(client, args.symbol),
                qty=args.qty,
                side=Side(args.side),
                type_=OrderType(args.type),
                tif=TimeInForce(args.tif),
            )
            if args.price is not None:
                info.price = args.price
            if args.post_only:
                info.exec_inst_flags = [ExecInstFlag.ALO]
            return client.orders.create(info=info, external_id=args.external_id)
        if args.action == "modify":
            new = ModifyOrderInfo(client_id=_client_id(client), new_qty=args.qty, new_price=args.price)
            return client.orders.modify(id=args.order_id, info=new)
        id_type = IdType.CLIENT if args.client_id else IdType.EXCHANGE
        return client.orders.cancel(ref_id=args.ref, id_type=id_type)
    if args.command == "trades":
        since = str(time.time_ns() - DAY_NS)
        trades = client.orders.trades(timestamp=since, size=100, max_items=args.max_items)
        return Stream(_progress(trades, "trades", err), "trades")
    if args.command == "transfers":
        if args.active:
            return Stream(client.transfers.active(size=100), "transfers")
        return Stream(client.transfers.list(timestamp=str(time.time_ns() - DAY_NS), size=100), "transfers")
    raise AssertionError(args.command)  # pragma: no cover - argparse only admits the commands above


# Columns of the table view per model class name: (header, path into the JSON object).
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "Instrument": [
        ("ID", "id"),
        ("SYMBOL", "info.symbol"),
        ("STATUS", "status"),
        ("REF PRICE", "info.reference_price"),
    ],
    "MarketQuote": [
        ("SYMBOL", "symbol"),
        ("BID", "info.best_bid.price"),
        ("BID QTY", "info.best_bid.qty"),
        ("ASK", "info.best_ask.price"),
        ("ASK QTY", "info.best_ask.qty"),
        ("LAST", "info.last_trade.price"),
    ],
    "Order": [
        ("ID", "id"),
        ("EXTERNAL ID", "external_id"),
        ("STATUS", "status"),
        ("SIDE", "order_info.side"),
        ("TYPE", "order_info.type"),
        # A modified order keeps its first terms in order_info; its current ones are in modify_info.
        ("QTY", "modify_info.new_qty|order_info.qty"),
        ("PRICE", "modify_info.new_price|order_info.price"),
        ("LEAVES", "leaves_qty"),
        ("EXECUTED", "executed_qty"),
    ],
    "NamedBalance": [
        ("CLIENT", "client_id"),
        ("ASSET", "asset"),
        ("ASSET ID", "asset_id"),
        ("BALANCE", "balance"),
        ("ORDER HOLD", "order_hold"),
        ("TRANSFER HOLD", "transfer_hold"),
    ],
    "Trade": [
        ("MATCH", "match_id"),
        ("ORDER", "order_id"),
        ("PRICE", "trade_price"),
        ("QTY", "trade_qty"),
        ("LIQ", "liq_flag"),
        ("FEE RATE", "trade_fee_rate"),
    ],
    "Transfer": [
        ("ID", "id"),
        ("STATUS", "status"),
        ("TYPE", "request.type"),
        ("ASSET", "request.asset_id"),
        ("AMOUNT", "request.amount"),
    ],
    "ApiVersionInfo": [
        ("VERSION", "version"),
        ("STATUS", "status"),
        ("DEFAULT", "default"),
        ("SUNSET", "sunset"),
    ],
}


def _get(obj: Any, path: str) -> str:
    """The value at a dotted ``path``; ``a.b|c.d`` is the first of the alternatives that is present."""
    for alternative in path.split("|"):
        value = obj
        for part in alternative.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return str(value)
    return ""


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    cells = [[h for h, _ in columns]] + [[_get(row, p) for _, p in columns] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells)


def _balances_rows(entities: list[dict[str, Any]]) -> str:
    columns = [("CLIENT", "client"), ("ASSET", "asset_id"), ("BALANCE", "balance"), ("ORDER HOLD", "order_hold"),
               ("TRANSFER HOLD", "transfer_hold")]  # fmt: skip
    rows = [{"client": e.get("id"), **b} for e in entities for b in e.get("balances", [])]
    return _table(rows, columns)


def _json_line(item: Any) -> str:
    return json.dumps(item.to_dict() if hasattr(item, "to_dict") else item, sort_keys=True)


def render(result: Any, as_json: bool) -> str:
    """The text printed for ``result`` (a model, or a list of models)."""
    items = result if isinstance(result, list) else [result]
    data = [item.to_dict() if hasattr(item, "to_dict") else item for item in items]
    if as_json:
        return json.dumps(data if isinstance(result, list) else data[0], indent=2, sort_keys=True)
    kind = type(items[0]).__name__ if items else ""
    if kind == "BalanceEntity":
        return _balances_rows(data)
    if kind in COLUMNS:
        return _table(data, COLUMNS[kind])
    if not items:
        return "(none)"
    return "\n".join(
        f"{k}: {v}" for d in data for k, v in sorted(d.items()) if not isinstance(v, dict | list)
    )


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    client_factory: Callable[..., Truex] | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    from .errors import APIStatusError, TruexError

    if client_factory is None:
        from .client import Truex

        client_factory = Truex
    written = 0
    try:
        _check(args)
        with client_factory(
            base_url=args.base_url, environment=args.env, api_version=args.api_version
        ) as client:
            if args.command == "watch":
                return _watch(args, client, out)
            result = _run(args, client, err)
            if isinstance(result, Stream) and args.jsonl:
                for item in result.items:  # each line out as soon as its page has arrived
                    out.write(_json_line(item) + "\n")
                    out.flush()
                    written += 1
                return 0
            if isinstance(result, Stream):
                result = list(result.items)
    except KeyboardInterrupt:
        out.flush()
        kept = f"; {written} line{'s' if written != 1 else ''} written are kept" if args.jsonl else ""
        if args.command == "watch":
            kept = ""
        print(f"truex: interrupted{kept}", file=err)
        return EXIT_INTERRUPTED
    except APIStatusError as exc:
        detail = exc.problem.detail if exc.problem and exc.problem.detail else str(exc)
        print(
            f"truex: error: {exc.status_code} {detail}"
            + (f" (request id {exc.request_id})" if exc.request_id else "")
            + (f" ({exc.hint})" if exc.hint else ""),
            file=err,
        )
        return EXIT_API
    except (TruexError, LookupError, ValueError) as exc:
        code = EXIT_USAGE if isinstance(exc, ValueError | LookupError) else EXIT_API
        print(f"truex: error: {exc}", file=err)
        return code
    if args.jsonl:
        for item in result if isinstance(result, list) else [result]:
            print(_json_line(item), file=out)
        return 0
    print(render(result, args.json), file=out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
