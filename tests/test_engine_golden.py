"""Golden replay of the engine: a fixed, seeded script of operations answers exactly as recorded.

The engine's hot paths are tuned for speed (``make bench``); this pins what they must not change: every
answer (views, wire strings of decimals, error statuses and details), and the state after the run, for a
mixed script (creates of every kind, crossing and resting, IOC, MARKET, ALO, STP, rejects, idempotent
repeats, conflicts, modifies, cancels by either id, bad bodies) and the queries that read it back.

The recording is ``tests/test_engine_golden.json`` (one short hash per answer, so a difference names the
first operation that answers differently). Regenerate it only for an intended behaviour change:
``TRUEX_UPDATE_GOLDEN=1 pytest tests/test_engine_golden.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from truex_sandbox.engine import EngineError, Exchange
from truex_sandbox.seed import default_seed
from truex_sandbox.store import MemoryJournal

GOLDEN = Path(__file__).with_name("test_engine_golden.json")

ALICE, BOB, HOUSE = "300000000000000001", "300000000000000002", "300000000000000003"
BTC, ETH = "200000000000000001", "200000000000000002"
CALLERS = {ALICE: frozenset({ALICE}), BOB: frozenset({BOB}), "both": frozenset({ALICE, BOB})}


class _Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000 * 1_000_000_000

    def __call__(self) -> int:
        self.now += 20_000
        return self.now


def _price(rng: random.Random, instrument: str, side: str, crossing: bool) -> str:
    if instrument == BTC:
        ticks = rng.randint(0, 60) if crossing else rng.randint(20, 400)
        if crossing:
            value = Decimal("75004.5") + ticks if side == "BUY" else Decimal("74996.5") - ticks
        else:
            half = Decimal(ticks) / 2
            value = Decimal("74980") - half if side == "BUY" else Decimal("75021") + half
    else:
        ticks = rng.randint(0, 30) if crossing else rng.randint(10, 200)
        base = Decimal("3000")
        value = base + ticks if (side == "BUY") == crossing else base - ticks
    return format(value, "f")


def _ops(n: int, seed: int) -> list[tuple[str, Any]]:
    """A seeded mix of every request kind; cancels and modifies refer to earlier creates by index."""
    rng = random.Random(seed)
    ops: list[tuple[str, Any]] = []
    creates: list[int] = []
    for i in range(n):
        who = ALICE if rng.random() < 0.5 else BOB
        r = rng.random()
        if r < 0.15 and creates:
            target = rng.choice(creates)
            by = "client" if rng.random() < 0.3 else "exchange"
            ops.append(("cancel", (who, target, by)))
            continue
        if r < 0.22 and creates:
            target = rng.choice(creates)
            qty = format(Decimal(rng.randint(1, 30)) / 1000, "f")
            info: dict[str, Any] = {"client_id": who, "new_qty": qty}
            if rng.random() < 0.1:
                info["new_type"] = "MARKET"
            else:
                info["new_price"] = _price(rng, BTC, rng.choice(["BUY", "SELL"]), rng.random() < 0.3)
            ops.append(("modify", (who, target, info, rng.random() < 0.2)))
            continue
        if r < 0.25 and creates:
            ops.append(("repeat", (who, rng.choice(creates), rng.random() < 0.5)))
            continue
        instrument = BTC if rng.random() < 0.8 else ETH
        side = rng.choice(["BUY", "SELL"])
        crossing = rng.random() < 0.4
        step = Decimal("0.0001") if instrument == BTC else Decimal("0.001")
        qty_value = step * rng.randint(1, 300)
        if rng.random() < 0.05:
            qty_value *= 1000  # too big for the balance now and then
        info = {"client_id": who, "instrument_id": instrument, "side": side, "type": "LIMIT"}
        info["qty"] = format(qty_value, "f") if rng.random() > 0.1 else format(qty_value, "f") + "0"
        info["price"] = _price(rng, instrument, side, crossing)
        kind = rng.random()
        if kind < 0.08:
            info["type"] = "MARKET"
            if rng.random() < 0.5:
                del info["price"]
        elif kind < 0.18:
            info["tif"] = "IOC"
        elif kind < 0.25:
            info["exec_inst_flags"] = ["ALO"]
        elif kind < 0.3:
            info["stp"] = rng.choice(["NONE", "CANCEL_AGGRESSIVE", "CANCEL_BOTH", "INVALID"])
        elif kind < 0.32:
            info["flags"] = ["USE_AGGRESSIVE_PRICING"]
            info["hold_fee_rate"] = "0.001"
        elif kind < 0.34:
            info["tif"] = "GTC"
        bad = rng.random()
        body: dict[str, Any] = {"external_id": f"g{i}", "info": info}
        if bad < 0.015:
            info["qty"] = "1e3"
        elif bad < 0.03:
            info["price"] = "75000.25"  # off the price grid
        elif bad < 0.04:
            info["qty"] = "0.00005"  # off the quantity grid
        elif bad < 0.05:
            info["side"] = "buy"
        elif bad < 0.06:
            info["instrument_id"] = "299999999999999999"
        elif bad < 0.065:
            info["client_id"] = HOUSE
        elif bad < 0.07:
            body["external_id"] = "not valid!"
        elif bad < 0.075:
            info["exec_inst_flags"] = ["ALO", "POST"]
        elif bad < 0.08:
            info["price"] = "99999"  # outside the band
        elif bad < 0.085:
            info["qty"] = "0"
        elif bad < 0.09:
            info["tif"] = 5
        elif bad < 0.095:
            body["extra"] = {"nested": [1, 2]}
        creates.append(i)
        ops.append(("create", (who, body)))
    return ops


def _call(ex: Exchange, op: tuple[str, Any], ids: dict[int, str], bodies: dict[int, Any]) -> Any:
    kind, args = op
    if kind == "create":
        who, body = args
        return ex.create_order(CALLERS[who], body)
    if kind == "repeat":
        who, index, same = args
        body = json.loads(json.dumps(bodies[index]))
        if not same and isinstance(body.get("info"), dict):
            body["info"]["qty"] = "0.0002"
        return ex.create_order(CALLERS[who], body)
    if kind == "cancel":
        who, index, by = args
        ref = ids.get(index, "1") if by == "exchange" else bodies[index].get("external_id", "x")
        return ex.cancel_order(CALLERS[who], ref, by)
    who, index, info, by_ext = args
    body = {"info": info, **({"external_id": f"g{index}"} if by_ext else {"id": ids.get(index, "1")})}
    return ex.modify_order(CALLERS[who], body)


def _answers(ex: Exchange, ops: list[tuple[str, Any]], clock: _Clock) -> list[Any]:
    out: list[Any] = []
    ids: dict[int, str] = {}
    bodies: dict[int, Any] = {}
    for i, op in enumerate(ops):
        if op[0] == "create":
            bodies[i] = op[1][1]
        try:
            answer = _call(ex, op, ids, bodies)
            if op[0] == "create":
                ids[i] = answer["id"]
        except EngineError as exc:
            answer = {"error": type(exc).__name__, "status": exc.status, "detail": exc.detail}
        out.append(answer)
        if i % 97 == 0:
            clock.now += 3_000_000_000  # let the house re-quote and time move on
        if i % 50 == 49:
            both = CALLERS["both"]
            out.append(ex.list_balances(both))
            out.append(ex.market_quotes())
            out.append(ex.compute_quote(BTC, "BUY", "0.3", "BASE"))
            out.append(ex.compute_quote(BTC, "SELL", "1000", "QUOTE"))
    both = CALLERS["both"]
    out.append(ex.list_orders(both))
    out.append(ex.active_orders(both))
    out.append(ex.order_trades(both))
    out.append(ex.market_trades())
    out.append(ex.list_instruments())
    out.append(ex.list_balances(both))
    out.append(ex.dump_state())
    out.append(ex.check_invariants())
    return out


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=False, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _run(market_maker: bool, seed: int, n: int) -> tuple[list[Any], Exchange, MemoryJournal]:
    clock = _Clock()
    journal = MemoryJournal()
    ex = Exchange(default_seed(market_maker=market_maker), clock=clock, store=journal)
    return _answers(ex, _ops(n, seed), clock), ex, journal


CASES = {"house": (True, 11, 1500), "empty": (False, 12, 600)}


def test_golden_answers() -> None:
    recorded = {name: [_digest(a) for a in _run(*args)[0]] for name, args in CASES.items()}
    if os.environ.get("TRUEX_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(recorded, indent=0) + "\n")
    expected = json.loads(GOLDEN.read_text())
    for name, digests in recorded.items():
        want = expected[name]
        for i, (got, exp) in enumerate(zip(digests, want, strict=False)):
            if got != exp:
                answers = _run(*CASES[name])[0]
                raise AssertionError(f"{name}: answer {i} differs from the recording: {answers[i]!r}")
        assert len(digests) == len(want), name


def test_golden_run_replays_to_the_same_state() -> None:
    _, ex, journal = _run(*CASES["house"])
    now = int(ex.dump_state()["now"])
    replayed = Exchange(clock=lambda: now, store=journal)
    assert replayed.dump_state() == ex.dump_state()
    assert replayed.check_invariants() == []
