"""Hypothesis state machine: random order/transfer flows from several clients keep the exchange invariants.

After every step: no asset is created or destroyed except by completed transfers (checked independently
from the transfer list), no available balance is negative, order_hold equals what the open orders need,
the books are never crossed (all via ``Exchange.check_invariants``). At teardown the journal is replayed
into a fresh exchange, which must reach the identical state.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from truex_sandbox.engine import BadRequest, Conflict, Exchange
from truex_sandbox.seed import default_seed
from truex_sandbox.store import MemoryJournal

T0 = 1_700_000_000_000_000_000
SEC = 1_000_000_000
ALICE, BOB, HOUSE = "300000000000000001", "300000000000000002", "300000000000000003"
TRADERS = (ALICE, BOB, HOUSE)
ASSETS = {"PYUSD": "100000000000000002", "BTC": "100000000000000003", "ETH": "100000000000000004"}
# instrument id -> (reference price, price increment, qty increment)
INSTRUMENTS = {
    "200000000000000001": (Decimal("75000.5"), Decimal("0.5"), Decimal("0.0001")),
    "200000000000000002": (Decimal("3000"), Decimal("0.01"), Decimal("0.001")),
}

clients = st.sampled_from(TRADERS)
instruments = st.sampled_from(sorted(INSTRUMENTS))
sides = st.sampled_from(("BUY", "SELL"))
ticks = st.integers(min_value=-40, max_value=40)
qty_units = st.integers(min_value=1, max_value=8000)
stps = st.sampled_from((None, "NONE", "CANCEL_AGGRESSIVE", "CANCEL_BOTH", "INVALID"))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


class ExchangeMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.journal = MemoryJournal()
        self.ex = Exchange(default_seed(), clock=self.clock, settle_delay_ns=SEC, store=self.journal)
        self.start = self.ex.totals()
        self.n = 0

    # ------------------------------------------------------------------ helpers
    def _ext(self) -> str:
        self.n += 1
        return f"h{self.n}"

    def _create(self, client: str, info: dict[str, Any]) -> dict[str, Any]:
        info = {"client_id": client, **info}
        order = self.ex.create_order(frozenset({client}), {"external_id": self._ext(), "info": info})
        assert order["status"] in {"ACTIVE", "FILLED", "CANCELED", "REJECTED"}
        if order["status"] == "ACTIVE":
            assert Decimal(order["leaves_qty"]) > 0
        else:
            assert order["leaves_qty"] == "0"
        if order["status"] == "REJECTED":
            assert order["text"]
        event(f"order {order['status']}" + (" with fills" if order["exeuted_qty"] != "0" else ""))
        return order

    def _open_orders(self, client: str) -> list[dict[str, Any]]:
        return self.ex.active_orders(frozenset({client}))

    # -------------------------------------------------------------------- rules
    @rule(
        client=clients,
        instrument=instruments,
        side=sides,
        tick=ticks,
        units=qty_units,
        tif=st.sampled_from(("GTC", "IOC")),
        stp=stps,
    )
    def limit(
        self, client: str, instrument: str, side: str, tick: int, units: int, tif: str, stp: str | None
    ) -> None:
        ref, inc, qinc = INSTRUMENTS[instrument]
        info: dict[str, Any] = {
            "instrument_id": instrument,
            "side": side,
            "type": "LIMIT",
            "tif": tif,
            "qty": str(units * qinc),
            "price": str(ref + tick * inc),
        }
        if stp is not None:
            info["stp"] = stp
        self._create(client, info)

    @rule(client=clients, instrument=instruments, side=sides, tick=ticks, units=qty_units)
    def post_only(self, client: str, instrument: str, side: str, tick: int, units: int) -> None:
        ref, inc, qinc = INSTRUMENTS[instrument]
        order = self._create(
            client,
            {
                "instrument_id": instrument,
                "side": side,
                "type": "LIMIT",
                "qty": str(units * qinc),
                "price": str(ref + tick * inc),
                "exec_inst_flags": ["ALO"],
            },
        )
        assert order["exeuted_qty"] == "0"

    @rule(client=clients, instrument=instruments, side=sides, units=qty_units)
    def market(self, client: str, instrument: str, side: str, units: int) -> None:
        _, _, qinc = INSTRUMENTS[instrument]
        order = self._create(
            client, {"instrument_id": instrument, "side": side, "type": "MARKET", "qty": str(units * qinc)}
        )
        assert order["status"] in {"FILLED", "CANCELED", "REJECTED"}

    @rule(
        client=clients,
        instrument=instruments,
        side=sides,
        price=st.sampled_from(("0.001", "1", "80000.25", "76876", "3000.005", "-5")),
        qty=st.sampled_from(("0", "0.00001", "1000000", "0.5")),
    )
    def odd_order(self, client: str, instrument: str, side: str, price: str, qty: str) -> None:
        self._create(
            client, {"instrument_id": instrument, "side": side, "type": "LIMIT", "qty": qty, "price": price}
        )

    @rule(
        client=clients,
        data=st.data(),
        tick=ticks,
        scale=st.sampled_from(("0.5", "1", "1.5", "2")),
        market=st.booleans(),
    )
    def modify(self, client: str, data: st.DataObject, tick: int, scale: str, market: bool) -> None:
        orders = self._open_orders(client)
        if not orders:
            return
        order = data.draw(st.sampled_from(orders))
        ref, inc, qinc = INSTRUMENTS[order["order_info"]["instrument_id"]]
        executed = Decimal(order["exeuted_qty"])
        new_qty = executed + (Decimal(order["leaves_qty"]) * Decimal(scale) / qinc).to_integral_value() * qinc
        info: dict[str, Any] = {
            "client_id": client,
            "new_qty": str(new_qty),
            "new_price": str(ref + tick * inc),
        }
        if market:
            info["new_type"] = "MARKET"
        before = self.ex.dump_state()
        try:
            result = self.ex.modify_order(frozenset({client}), {"id": order["id"], "info": info})
        except BadRequest:
            assert self.ex.dump_state() == before  # a failed modify changes nothing
            event("modify rejected (400)")
            return
        event(f"modify -> {result['status']}")
        assert result["id"] == order["id"]
        assert Decimal(result["exeuted_qty"]) + Decimal(result["leaves_qty"]) <= new_qty

    @rule(client=clients, data=st.data())
    def cancel(self, client: str, data: st.DataObject) -> None:
        orders = self._open_orders(client)
        if not orders:
            return
        order = data.draw(st.sampled_from(orders))
        result = self.ex.cancel_order(frozenset({client}), order["id"])
        assert result["status"] == "CANCEL_PENDING"
        assert self.ex.order_status(frozenset({client}), order["id"])["status"] == "CANCELED"
        try:
            self.ex.cancel_order(frozenset({client}), order["id"])
        except Conflict:
            pass
        else:
            raise AssertionError("a second cancel must conflict")

    @rule(
        client=clients,
        asset=st.sampled_from(sorted(ASSETS)),
        amount=st.sampled_from(("0.5", "10", "2500", "100000")),
        withdraw=st.booleans(),
    )
    def transfer(self, client: str, asset: str, amount: str, withdraw: bool) -> None:
        request = {
            "asset_id": ASSETS[asset],
            "client_id": client,
            "platform": "INTERNAL",
            "type": "WITHDRAW" if withdraw else "DEPOSIT",
            "amount": amount,
        }
        result = self.ex.create_transfer(frozenset({client}), {"request": request})
        assert result["status"] in {"INITIALIZED", "REJECTED"}
        event(f"transfer {request['type']} {result['status']}")
        assert withdraw or result["status"] == "INITIALIZED"

    @rule(client=clients, stp=st.sampled_from(("NONE", "CANCEL_AGGRESSIVE", "CANCEL_BOTH")))
    def client_stp(self, client: str, stp: str) -> None:
        self.ex.update_client(frozenset({client}), {"id": client, "info": {"self_trade_prevention": stp}})

    @rule(seconds=st.sampled_from((0, 0.3, 1, 2.5, 60)))
    def wait(self, seconds: float) -> None:
        self.clock.now += int(seconds * SEC)
        self.ex.advance()

    # --------------------------------------------------------------- invariants
    @invariant()
    def exchange_invariants(self) -> None:
        assert self.ex.check_invariants() == []

    @invariant()
    def totals_change_only_by_completed_transfers(self) -> None:
        expected = dict(self.start)
        for client in TRADERS:
            for transfer in self.ex.list_transfers(frozenset({client})):
                if transfer["status"] == "COMPLETED":
                    amount = Decimal(transfer["request"]["amount"])
                    sign = 1 if transfer["request"]["type"] == "DEPOSIT" else -1
                    expected[transfer["request"]["asset_id"]] += sign * amount
        assert self.ex.totals() == expected

    @invariant()
    def books_not_crossed_on_the_wire(self) -> None:
        for quote in self.ex.market_quotes():
            bid, ask = quote["info"]["best_bid"], quote["info"]["best_ask"]
            if bid["order_count"] != "0" and ask["order_count"] != "0":
                assert Decimal(bid["price"]) < Decimal(ask["price"])

    def teardown(self) -> None:
        replayed = Exchange(clock=self.clock, store=self.journal)
        assert replayed.dump_state() == self.ex.dump_state()


ExchangeMachine.TestCase.settings = settings(
    max_examples=50, stateful_step_count=30, deadline=None, derandomize=True, database=None
)
TestExchangeMachine = ExchangeMachine.TestCase
