"""The engine workload of ``make bench``: a deterministic mix of resting, crossing and cancelled limit orders.

Two traders (ALICE and BOB of the default seed, the house market maker quoting as in the sandbox) send, in
a fixed pseudo-random order: resting limit orders away from the touch (50 %), crossing limit orders that
trade with the house or the other trader's resting orders (25 %, half IOC), and cancels of their own
resting orders (25 %). The number of resting orders is bounded (the oldest is cancelled past ``max_resting``)
so holds never exhaust the seeded balances, however long the run.

``python bench/engine_load.py [N]`` prints the throughput; ``--profile`` runs it under cProfile.
"""

from __future__ import annotations

import random
import sys
import time
from collections import deque
from decimal import Decimal
from typing import Any

from truex_sandbox.engine import Conflict, Exchange
from truex_sandbox.models import ACTIVE

BTC = "200000000000000001"
ALICE = "300000000000000001"
BOB = "300000000000000002"


class _Clock:
    """A fake clock (ns) advancing 20 µs per read: no wall-clock reads inside the measured loop."""

    def __init__(self) -> None:
        self.now = 1_800_000_000 * 1_000_000_000

    def __call__(self) -> int:
        self.now += 20_000
        return self.now


def make_ops(n: int, seed: int = 7) -> list[tuple[str, Any]]:
    """``n`` operations: ("create", (caller, body)) or ("cancel", (caller, index of the create to cancel))."""
    rng = random.Random(seed)
    ops: list[tuple[str, Any]] = []
    resting: dict[str, deque[int]] = {ALICE: deque(), BOB: deque()}
    for i in range(n):
        client = ALICE if rng.random() < 0.5 else BOB
        r = rng.random()
        own = resting[client]
        if r < 0.25 and own:
            ops.append(("cancel", (client, own.popleft() if rng.random() < 0.5 else own.pop())))
            continue
        if len(own) > 400:
            ops.append(("cancel", (client, own.popleft())))
            continue
        side = "BUY" if rng.random() < 0.5 else "SELL"
        qty = Decimal(rng.randint(1, 20)) / 1000
        info: dict[str, Any] = {"client_id": client, "instrument_id": BTC, "side": side, "type": "LIMIT"}
        if r < 0.5:  # crossing: through the house's first levels (and the other trader's resting orders)
            ticks = rng.randint(0, 60)
            if rng.random() < 0.1:  # now and then a sweep through the house's levels into resting orders
                qty *= 100
            price = Decimal("75004.5") + ticks if side == "BUY" else Decimal("74996.5") - ticks
            if rng.random() < 0.5:
                info["tif"] = "IOC"
        else:  # resting: away from the touch
            ticks = rng.randint(20, 1900)
            price = (
                Decimal("74980") - ticks / Decimal(2)
                if side == "BUY"
                else Decimal("75021") + ticks / Decimal(2)
            )
            own.append(i)
        info["qty"] = format(qty, "f")
        info["price"] = format(price, "f")
        ops.append(("create", (client, {"external_id": f"b{i}", "info": info})))
    return ops


def run(n: int = 20_000, *, ops: list[tuple[str, Any]] | None = None) -> dict[str, Any]:
    """Run the workload on a fresh exchange; the figures and whether the invariants still hold."""
    ops = ops if ops is not None else make_ops(n)
    exchange = Exchange(clock=_Clock())
    callers = {ALICE: frozenset({ALICE}), BOB: frozenset({BOB})}
    ids: dict[int, str] = {}
    created = cancelled = closed_already = 0
    statuses: dict[str, int] = {}
    create, cancel = exchange.create_order, exchange.cancel_order
    start = time.perf_counter()
    for i, (kind, args) in enumerate(ops):
        if kind == "create":
            client, body = args
            order = create(callers[client], body)
            ids[i] = order["id"]
            created += 1
            if order["status"] != ACTIVE:
                statuses[order["status"]] = statuses.get(order["status"], 0) + 1
        else:
            client, index = args
            try:
                cancel(callers[client], ids[index])
                cancelled += 1
            except Conflict:  # filled meanwhile
                closed_already += 1
    elapsed = time.perf_counter() - start
    problems = exchange.check_invariants()
    return {
        "ops": len(ops),
        "creates": created,
        "cancels": cancelled,
        "cancel_conflicts": closed_already,
        "closed_at_create": statuses,
        "seconds": elapsed,
        "ops_per_s": len(ops) / elapsed,
        "invariants_ok": not problems,
        "problems": problems[:5],
    }


class _BookOrder:
    __slots__ = ("book_seq", "id", "leaves", "price", "side")

    def __init__(self, id: str, side: str, price: Decimal, leaves: Decimal) -> None:
        self.id, self.side, self.price, self.leaves, self.book_seq = id, side, price, leaves, 0


def run_book(n: int = 20_000, *, ops: list[tuple[str, Any]] | None = None) -> dict[str, Any]:
    """The floor of :func:`run`: the same operations on a bare :class:`~truex_sandbox.book.OrderBook`.

    No validation, balances, fees, ids, trades, views or house: parse the price and quantity, match a crossing
    order against the best levels, rest the remainder unless IOC, remove on cancel.
    """
    from truex_sandbox.book import OrderBook

    ops = ops if ops is not None else make_ops(n)
    book: OrderBook[_BookOrder] = OrderBook(BTC)
    orders: dict[int, _BookOrder] = {}
    start = time.perf_counter()
    for i, (kind, args) in enumerate(ops):
        if kind == "cancel":
            order = orders.pop(args[1], None)
            if order is not None and order.book_seq:
                book.remove(order, i)
            continue
        info = args[1]["info"]
        order = _BookOrder(str(i), info["side"], Decimal(info["price"]), Decimal(info["qty"]))
        buying = order.side == "BUY"
        opposite = "SELL" if buying else "BUY"
        while order.leaves > 0:
            level = book.best(opposite)
            if level is None or (level.price > order.price if buying else level.price < order.price):
                break
            resting = level.first()
            assert resting is not None
            take = min(order.leaves, resting.leaves)
            order.leaves -= take
            book.set_leaves(resting, resting.leaves - take, i)
        if order.leaves > 0 and info.get("tif") != "IOC":
            book.add(order, i)
            orders[i] = order
    elapsed = time.perf_counter() - start
    return {"ops": len(ops), "seconds": elapsed, "ops_per_s": len(ops) / elapsed}


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(args[0]) if args else 20_000
    workload = make_ops(count)
    if "--profile" in sys.argv:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        result = run(ops=workload)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    else:
        result = run(ops=workload)
    print({k: v for k, v in result.items()})
