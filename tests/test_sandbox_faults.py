"""Fault plans, rate limits and the controllable clock of the sandbox (issue 15), in process (ASGI, no socket).

Requests are signed by the tests' own signer (tests/sandbox_support.py), not by the SDK.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_support import BTC, Creds, Signer, asgi_client, json_body

from truex_sandbox.clock import SandboxClock
from truex_sandbox.faults import FaultError, load_faults, parse_faults
from truex_sandbox.ratelimit import PROFILES, RateLimiter, RateLimitError, rate_classes
from truex_sandbox.testing import Sandbox

T0 = 1_800_000_000.0


def _creds(sandbox: Sandbox, who: str = "ALICE") -> Creds:
    c = sandbox.credentials(who)
    return Creds(c.api_key, c.api_secret, c.client_id)


def _client(sandbox: Sandbox, who: str = "ALICE") -> httpx.AsyncClient:
    return asgi_client(sandbox.app, Signer(_creds(sandbox, who), sandbox.clock.time))


def _order(client_id: str, external_id: str) -> tuple[bytes, dict[str, str]]:
    return json_body(
        {
            "external_id": external_id,
            "info": {
                "client_id": client_id,
                "instrument_id": BTC,
                "qty": "0.01",
                "price": "74000",
                "side": "BUY",
                "type": "LIMIT",
            },
        }
    )


# ------------------------------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"fault": 418}], "fault '418': not one of"),
        ([{"fault": 429, "operation": "create_orders"}], "operation 'create_orders': not an operationId"),
        ([{"operation": "create_order"}], "'fault' is required"),
        ([{"fault": 429, "times": 0}], "times must be >= 1"),
        ([{"fault": 429, "share": 1.5}], "share must be in (0, 1]"),
        ([{"fault": "slow", "seconds": -1}], "seconds must be a number >= 0"),
        ([{"fault": 429, "colour": "red"}], "unknown key(s) colour"),
        ({"rules": []}, "unknown top-level key(s) rules"),
        ("429", "expected a list of fault rules"),
    ],
)
def test_a_bad_rule_is_one_clear_error(rules: Any, message: str) -> None:
    with pytest.raises(FaultError) as caught:
        parse_faults(rules)
    assert message in str(caught.value)


def test_fault_files_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "f.json").write_text(json.dumps([{"fault": "503", "share": 0.5}]))
    (tmp_path / "f.yaml").write_text("faults:\n  - {fault: drop-after, operation: create_order, times: 2}\n")
    (tmp_path / "bad.yaml").write_text("faults: [\n")
    (rule,) = load_faults(tmp_path / "f.json")
    assert (rule.fault, rule.share, rule.times) == ("503", 0.5, None)
    (rule,) = load_faults(tmp_path / "f.yaml")
    assert (rule.fault, rule.operation, rule.remaining) == ("drop-after", "create_order", 2)
    with pytest.raises(FaultError, match="does not parse"):
        load_faults(tmp_path / "bad.yaml")
    with pytest.raises(FaultError, match="cannot read"):
        load_faults(tmp_path / "missing.yaml")


# ------------------------------------------------------------------------------------- faults
async def test_statuses_match_by_operation_method_path_and_client() -> None:
    sandbox = Sandbox(frozen_at=T0)
    sandbox.faults.add(408, operation="list_balances", client="BOB")  # a mnemonic: BOB's id
    sandbox.faults.add(502, method="GET", path="/v1/cefi/orders/active")
    sandbox.faults.add(500, operation="list_assets", times=2)
    async with _client(sandbox) as alice, _client(sandbox, "BOB") as bob:
        assert (await alice.get("/v1/cefi/balances")).status_code == 200  # not ALICE's fault
        answer = await bob.get("/v1/cefi/balances")
        assert answer.status_code == 408 and answer.json()["title"] == "Request Timeout"
        assert (await bob.get("/v1/cefi/balances")).status_code == 200  # times=1: spent
        assert (await alice.get("/v1/cefi/orders/active")).status_code == 502
        assert [(await alice.get("/v1/cefi/assets")).status_code for _ in range(3)] == [500, 500, 200]
        # A deprecated twin matches its replacement's operationId.
        sandbox.faults.add(503, operation="list_assets", retry_after=7)
        answer = await alice.get("/api/v1/asset")
        assert answer.status_code == 503 and answer.headers["retry-after"] == "7"
    seen = [(r.fault, r.operation, r.client_id) for r in sandbox.faults.seen]
    assert seen == [
        ("408", "list_balances", sandbox.client_id("BOB")),
        ("502", "list_active_orders", sandbox.client_id("ALICE")),
        ("500", "list_assets", sandbox.client_id("ALICE")),
        ("500", "list_assets", sandbox.client_id("ALICE")),
        ("503", "list_assets_deprecated", sandbox.client_id("ALICE")),
    ]
    assert all(r.at == T0 for r in sandbox.faults.seen)


async def test_a_share_of_requests_is_repeatable() -> None:
    def run() -> list[int]:
        sandbox = Sandbox()
        sandbox.faults.add(503, operation="get_health", share=0.3)

        async def go() -> list[int]:
            async with _client(sandbox) as c:
                return [(await c.get("/v1/cefi/health")).status_code for _ in range(40)]

        import asyncio

        return asyncio.run(go())

    first = await _in_thread(run)
    assert first == await _in_thread(run)
    assert 4 <= first.count(503) <= 20


async def _in_thread(fn: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(fn)


async def test_drop_before_applies_nothing_drop_after_applies_once() -> None:
    sandbox = Sandbox(frozen_at=T0)
    alice = sandbox.client_id("ALICE")
    sandbox.faults.add("drop-before", operation="create_order")
    sandbox.faults.add("drop-after", operation="create_order")
    async with _client(sandbox) as c:
        content, headers = _order(alice, "e-1")
        dropped = await c.post("/v1/cefi/orders", content=content, headers=headers)
        assert dropped.status_code == 502 and dropped.headers["x-truex-sandbox-dropped"] == "1"
        assert sandbox.orders("ALICE") == []  # dropped before: not applied
        dropped = await c.post("/v1/cefi/orders", content=content, headers=headers)
        assert dropped.headers["x-truex-sandbox-dropped"] == "1"
        (order,) = sandbox.orders("ALICE")  # dropped after: applied
        again = await c.post("/v1/cefi/orders", content=content, headers=headers)
        assert again.status_code == 200 and again.json()["id"] == order["id"]
    assert len(sandbox.orders("ALICE")) == 1
    sandbox.check()


async def test_slow_answers_late_and_degraded_health() -> None:
    sandbox = Sandbox()
    sandbox.faults.add("slow", operation="get_health", seconds=0.2)
    sandbox.faults.add("degraded", operation="get_health")
    async with _client(sandbox) as c:
        start = time.monotonic()
        assert (await c.get("/v1/cefi/health")).json()["status"] == "healthy"
        assert time.monotonic() - start >= 0.2
        degraded = await c.get("/v1/cefi/health", headers={"x-truex-version": "v2026_01_23"})
        assert degraded.json()["data"]["status"] == "degraded"
        assert int(degraded.headers["content-length"]) == len(degraded.content)


async def test_served_drop_resets_the_connection() -> None:
    sandbox = Sandbox()
    sandbox.faults.add("drop-after", operation="create_order")
    alice = sandbox.client_id("ALICE")
    content, headers = _order(alice, "e-2")
    with sandbox.serve():
        assert sandbox.base_url is not None
        async with httpx.AsyncClient(base_url=sandbox.base_url, auth=Signer(_creds(sandbox))) as c:
            with pytest.raises(httpx.RemoteProtocolError):
                await c.post("/v1/cefi/orders", content=content, headers=headers)
            assert (await c.get("/v1/cefi/health")).status_code == 200  # the server is fine
    assert len(sandbox.orders("ALICE")) == 1


# -------------------------------------------------------------------------------- rate limits
def test_rate_limit_profiles_and_files(tmp_path: Path) -> None:
    assert rate_classes("off") == () and rate_classes("default") == PROFILES["default"]
    path = tmp_path / "limits.yaml"
    path.write_text(
        "classes:\n  trading: {rate: 5, burst: 5, operations: [create_order]}\n  default: {rate: 1}\n"
    )
    trading, default = rate_classes(path)
    assert (trading.rate, trading.burst, default.operations) == (5, 5, None)
    for text, message in [
        ("classes:\n  x: {rate: 1, operations: [nope]}\n", "unknown operation(s) nope"),
        ("classes:\n  x: {rate: 1}\n", "operations is required"),
        ("limits: {}\n", "expected"),
        ("classes:\n  default: {rate: fast}\n", "must be numbers"),
    ]:
        path.write_text(text)
        with pytest.raises(RateLimitError, match=message.replace("(", r"\(").replace(")", r"\)")):
            rate_classes(path)
    with pytest.raises(RateLimitError, match="neither a profile"):
        rate_classes("turbo")


def test_buckets_refill_on_the_clock() -> None:
    clock = SandboxClock(frozen_at=T0)
    limiter = RateLimiter(PROFILES["strict"], clock.time)
    assert [limiter.take(["create_order"], "k1") for _ in range(2)] == [None, None]
    assert limiter.take(["create_order"], "k1") == pytest.approx(1.0)
    assert limiter.take(["create_order"], "k2") is None  # per key
    assert limiter.take(["list_orders"], "k1") is None  # per class
    clock.advance(1)
    assert limiter.take(["create_order"], "k1") is None


async def test_rate_limited_requests_get_a_429_problem_and_change_nothing() -> None:
    sandbox = Sandbox(frozen_at=T0, rate_limits="strict")
    alice = sandbox.client_id("ALICE")
    async with _client(sandbox) as c:
        codes = []
        for i in range(3):
            content, headers = _order(alice, f"r-{i}")
            answer = await c.post("/v1/cefi/orders", content=content, headers=headers)
            codes.append(answer.status_code)
        assert codes == [200, 200, 429]
        assert answer.headers["retry-after"] == "1" and answer.json()["title"] == "Too Many Requests"
        assert len(sandbox.orders("ALICE")) == 2
        sandbox.clock.advance(1)
        answer = await c.post("/v1/cefi/orders", content=content, headers=headers)
        assert answer.status_code == 200


# -------------------------------------------------------------------------------------- clock
def test_clock_freeze_advance_resume() -> None:
    now = [10_000_000_000]
    clock = SandboxClock(base=lambda: now[0])
    assert clock.time() == 10.0 and not clock.frozen
    clock.freeze()
    now[0] += 5_000_000_000
    assert clock.time() == 10.0
    clock.advance(2.5)
    clock.sleep(0.5)
    assert clock.time() == 13.0
    clock.resume()
    now[0] += 1_000_000_000
    assert clock.time() == 14.0
    clock.set(100)
    assert clock.time() == 100.0
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)


async def test_the_clock_moves_windows_and_settles_transfers() -> None:
    sandbox = Sandbox(frozen_at=T0, settle_delay=3600)
    alice = sandbox.client_id("ALICE")
    async with _client(sandbox) as c:
        content, headers = _order(alice, "w-1")
        assert (await c.post("/v1/cefi/orders", content=content, headers=headers)).status_code == 200
        body, headers = json_body(
            {
                "request": {
                    "asset_id": "100000000000000002",
                    "client_id": alice,
                    "platform": "INTERNAL",
                    "type": "DEPOSIT",
                    "amount": "10",
                }
            }
        )
        assert (await c.post("/v1/cefi/transfers", content=body, headers=headers)).status_code == 200
        assert len((await c.get("/v1/cefi/transfers/active")).json()) == 1
        sandbox.clock.advance(3600)
        assert (await c.get("/v1/cefi/transfers/active")).json() == []
        assert sandbox.balance("ALICE", "PYUSD")["balance"] == "1000010"
        # A client whose clock is an hour behind the exchange's is refused (the signature's time window).
        late = asgi_client(sandbox.app, Signer(_creds(sandbox), lambda: T0))
        async with late:
            assert (await late.get("/v1/cefi/balances")).status_code == 401
        sandbox.clock.advance(25 * 3600)  # the 24 h history window
        assert sandbox.orders("ALICE") == []  # the order list covers the last 24 h
        assert len(sandbox.orders("ALICE", active=True)) == 1  # still resting
        assert (await c.get(f"/v1/cefi/transfers?timestamp={int(T0 * 1e9)}")).json() == []


# ------------------------------------------------------------------------------- market moves
def test_move_market_moves_the_band_and_the_house_quotes() -> None:
    sandbox = Sandbox(frozen_at=T0)
    before = sandbox.exchange.market_quotes(BTC)[0]
    moved = sandbox.move_market("BTC-PYUSD", to="80000")
    assert moved["info"]["reference_price"] == "80000"
    after = sandbox.exchange.market_quotes(BTC)[0]
    assert before != after
    infos = [o["order_info"] for o in sandbox.orders("HOUSE", active=True)]
    bids = [i for i in infos if i["side"] == "BUY" and i["instrument_id"] == BTC]
    assert len(bids) == 5 and all(Decimal("79000") < Decimal(i["price"]) < Decimal("80000") for i in bids)
    sandbox.check()
    with pytest.raises(Exception, match="reference_price"):
        sandbox.move_market("BTC-PYUSD", to="-1")


def test_move_market_is_journaled(tmp_path: Path) -> None:
    from truex_sandbox.engine import Exchange

    db = tmp_path / "x.db"
    live = Exchange(store=db, clock=lambda: int(T0 * 1e9))
    live.move_market(BTC, "80000")
    live.advance()
    state = live.dump_state()
    live.close()
    replayed = Exchange(store=db, clock=lambda: int(T0 * 1e9))
    try:
        assert replayed.dump_state() == state
    finally:
        replayed.close()
