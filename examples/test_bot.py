"""Testing a trading bot against the local TrueX sandbox with the pytest plugin (README: "Testing your bot").

Run with ``pytest examples/test_bot.py`` after ``pip install 'truex-cefi[sandbox]'``: the plugin registers
itself, so the fixtures ``truex_sandbox``, ``truex_client`` and ``async_truex_client`` are there without a
conftest. Each test gets a fresh exchange on a free loopback port; nothing here sleeps.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest

from truex_ext import APIStatusError, AsyncTruex, RateLimitError, Truex
from truex_ext.types import (
    NewOrderInfo,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TransferNew,
    TransferPlatform,
    TransferStatus,
    TransferType,
)
from truex_sandbox.pytest_plugin import TestSandbox as Sandbox

BTC_PYUSD = "200000000000000001"  # the default seed's instrument ids
PYUSD = "100000000000000002"


def bid(client_id: str, price: str = "74000", qty: str = "0.01") -> NewOrderInfo:
    """A resting limit buy inside the price band, below the house's asks."""
    return NewOrderInfo(
        client_id=client_id,
        instrument_id=BTC_PYUSD,
        qty=Decimal(qty),
        price=Decimal(price),
        side=Side.BUY,
        type_=OrderType.LIMIT,
        tif=TimeInForce.GTC,
    )


def place_order(
    client: Truex, info: NewOrderInfo, external_id: str, sleep: Callable[[float], None], attempts: int = 8
) -> Order:
    """What a bot does: try, and on a 429 or a 5xx wait as told (Retry-After) and try again, same external_id."""
    for attempt in range(attempts):
        try:
            return client.orders.create(info=info, external_id=external_id)
        except (RateLimitError, APIStatusError) as exc:
            if exc.status_code not in (429, 502, 503) or attempt == attempts - 1:
                raise
            sleep(float(exc.headers.get("retry-after", "1")))
    raise AssertionError("unreachable")


def test_place_and_cancel(truex_client: Truex, truex_sandbox: Sandbox) -> None:
    alice = truex_sandbox.credentials("ALICE").client_id
    order = truex_client.orders.create(info=bid(alice), external_id=str(uuid.uuid4()))
    assert order.status == OrderStatus.ACTIVE
    canceled = truex_client.orders.cancel(ref_id=order.id)
    assert canceled.id == order.id
    assert truex_sandbox.orders("ALICE", active=True) == []


def test_retry_loop_under_429_and_503_ends_with_one_order(truex_sandbox: Sandbox) -> None:
    client = truex_sandbox.client("ALICE", max_retries=0)  # the bot retries by itself
    truex_sandbox.faults.add(429, operation="create_order", times=2, retry_after=2)
    truex_sandbox.faults.add(503, operation="create_order", times=1, retry_after=1)
    truex_sandbox.clock.freeze()
    start = truex_sandbox.clock.time()

    alice = truex_sandbox.credentials("ALICE").client_id
    order = place_order(client, bid(alice), str(uuid.uuid4()), sleep=truex_sandbox.clock.sleep)

    assert [f.fault for f in truex_sandbox.faults.seen] == ["429", "429", "503"]
    assert truex_sandbox.clock.time() - start == 5  # waited as told, in sandbox time only
    assert [o["id"] for o in truex_sandbox.orders("ALICE")] == [order.id]


def test_dropped_connection_after_create_leaves_one_order(
    truex_client: Truex, truex_sandbox: Sandbox
) -> None:
    # The exchange applies the create, then the connection drops before the answer: the SDK retries with the
    # same external_id and the exchange answers the repeat with the order it already has.
    truex_sandbox.faults.add("drop-after", operation="create_order")
    alice = truex_sandbox.credentials("ALICE").client_id

    order = truex_client.orders.create(info=bid(alice), external_id=str(uuid.uuid4()))

    assert len(truex_sandbox.faults.fired("drop-after")) == 1
    assert [o["id"] for o in truex_sandbox.orders("ALICE")] == [order.id]


@pytest.mark.truex_sandbox(settle_delay=3600)
def test_a_deposit_settles_when_the_clock_moves(truex_client: Truex, truex_sandbox: Sandbox) -> None:
    truex_sandbox.clock.freeze()
    alice = truex_sandbox.credentials("ALICE").client_id
    deposit = truex_client.transfers.create(
        request=TransferNew(
            asset_id=PYUSD,
            client_id=alice,
            platform=TransferPlatform.INTERNAL,
            type_=TransferType.DEPOSIT,
            amount=Decimal("2500"),
        )
    )
    assert deposit.status == TransferStatus.INITIALIZED

    truex_sandbox.clock.advance(3600)  # an hour later, at once

    assert list(truex_client.transfers.active()) == []
    assert truex_sandbox.balance("ALICE", "PYUSD")["balance"] == "1002500"


@pytest.mark.asyncio  # pytest-asyncio runs it
async def test_async_client_sees_a_degraded_exchange(
    async_truex_client: AsyncTruex, truex_sandbox: Sandbox
) -> None:
    truex_sandbox.faults.add("degraded", operation="get_health")
    health = await async_truex_client.service.health()
    assert str(health.status) == "degraded"
    assert str((await async_truex_client.service.health()).status) == "healthy"


@pytest.mark.truex_sandbox(inprocess=True)
def test_in_process_without_a_socket(truex_client: Truex, truex_sandbox: Sandbox) -> None:
    truex_sandbox.fund("ALICE", "PYUSD", "10000")
    assert truex_sandbox.balance("ALICE", "PYUSD")["balance"] == "1010000"
    truex_sandbox.faults.add("drop-after", operation="create_order")
    alice = truex_sandbox.credentials("ALICE").client_id
    order = truex_client.orders.create(info=bid(alice), external_id=str(uuid.uuid4()))
    assert [o["id"] for o in truex_sandbox.orders("ALICE")] == [order.id]


@pytest.mark.asyncio
@pytest.mark.truex_sandbox(inprocess=True)
async def test_async_create_retried_after_a_dropped_answer(
    async_truex_client: AsyncTruex, truex_sandbox: Sandbox
) -> None:
    truex_sandbox.faults.add("drop-after", operation="create_order")
    alice = truex_sandbox.credentials("ALICE").client_id
    order = await async_truex_client.orders.create(info=bid(alice), external_id=str(uuid.uuid4()))
    assert [o["id"] for o in truex_sandbox.orders("ALICE")] == [order.id]
    truex_sandbox.check()
