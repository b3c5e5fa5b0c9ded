# mypy: warn-unused-ignores, disallow-untyped-defs, disallow-any-generics
"""Type-checked by mypy (not run by pytest): the facade's generated methods are typed as the spec says.

Each ``# type: ignore[...]`` below is a call that must stay a type error; with ``warn-unused-ignores`` an
ignore that is no longer needed (a signature that got looser) fails ``mypy tests/typing``.
"""

from __future__ import annotations

from decimal import Decimal

from truex_client.models import (
    ApiVersion,
    ApiVersionInfo,
    Health,
    IdType,
    ModifyOrderInfo,
    NewOrderInfo,
    Order,
    OrderType,
    Side,
    Trade,
    Transfer,
    TransferNew,
    TransferPlatform,
    TransferType,
)
from truex_ext import AsyncPaginator, AsyncTruex, Page, RawResponse, SyncPaginator, Truex


def info() -> NewOrderInfo:
    return NewOrderInfo(
        client_id="78901985048264710",
        instrument_id="78901949723181070",
        qty=Decimal("0.01"),
        price=Decimal("75000.50"),
        side=Side.BUY,
        type_=OrderType.LIMIT,
    )


def sync_calls(client: Truex) -> None:
    order: Order = client.orders.create(info=info())
    order = client.orders.create(info=info(), external_id="abc-1", x_truex_version=ApiVersion.V2024_01_01)
    order = client.orders.modify(
        id=order.id,
        info=ModifyOrderInfo(
            client_id="78901985048264710", new_qty=Decimal("0.02"), new_price=Decimal("75001")
        ),
    )
    order = client.orders.cancel(ref_id=order.id, id_type=IdType.EXCHANGE)
    statuses: list[Order] = client.orders.status(ref_id="abc-1")
    qty: Decimal | None = None
    for o in client.orders.list(query="side=BUY", size=100, max_items=50):
        if not isinstance(o.leaves_qty, Decimal):
            continue
        qty = o.leaves_qty
    paginator: SyncPaginator[Order] = client.orders.active()
    first: Page[Order] = paginator.first_page()
    for page in client.orders.active().pages():
        cursor: str | None = page.next_cursor
        orders: list[Order] = page.items
    trades: list[Trade] = list(client.orders.trades(timestamp="1700000000000000000"))
    transfer: Transfer = client.transfers.create(
        request=TransferNew(
            asset_id="1",
            client_id="78901985048264710",
            platform=TransferPlatform.INTERNAL,
            type_=TransferType.DEPOSIT,
            amount=Decimal("10"),
        )
    )
    health: Health = client.service.health()
    versions: list[ApiVersionInfo] = client.service.versions()
    raw: RawResponse[Order] = client.orders.with_raw_response.create(info=info())
    parsed: Order = raw.parse()
    status_code: int = raw.status_code
    request_id: str | None = raw.request_id
    raw_list: RawResponse[SyncPaginator[Order]] = client.orders.with_raw_response.list(size=10)
    copy: Truex = client.with_options(timeout=5.0, max_retries=0, api_version="v2024_01_01")
    offset: float | None = copy.clock_offset
    del statuses, qty, first, cursor, orders, trades, transfer, health, versions, parsed
    del status_code, request_id, raw_list, offset

    # Calls that must not type-check.
    client.orders.create(info=info(), qty=Decimal("1"))  # type: ignore[call-arg]
    client.orders.create(info=info(), external_id=7)  # type: ignore[arg-type]
    client.orders.cancel("799477895858487977")  # type: ignore[call-arg]
    client.orders.list(size="10")  # type: ignore[arg-type]
    NewOrderInfo(  # type: ignore[call-arg]
        client_id="1", instrument_id="1", qty=Decimal("1"), side=Side.BUY
    )
    wrong: Order = client.orders.status(ref_id="1")  # type: ignore[assignment]
    del wrong


async def async_calls(client: AsyncTruex) -> None:
    order: Order = await client.orders.create(info=info())
    order = await client.orders.cancel(ref_id=order.id)
    first: Page[Order] = await client.orders.list()
    async for o in client.orders.list(size=100):
        order = o
    paginator: AsyncPaginator[Order] = client.orders.active()
    async for page in paginator.pages():
        orders: list[Order] = page.items
    raw: RawResponse[Order] = await client.orders.with_raw_response.cancel(ref_id="1")
    raw_list: RawResponse[AsyncPaginator[Order]] = await client.orders.with_raw_response.list()
    health: Health = await client.service.health()
    async with client.with_options(max_retries=0) as copy:
        other: Order = await copy.orders.cancel(ref_id="1")
    del first, orders, raw, raw_list, health, other

    # Calls that must not type-check.
    not_awaited: Order = client.orders.cancel(ref_id="1")  # type: ignore[assignment]
    del not_awaited
    for _ in client.orders.list():  # type: ignore[attr-defined]
        pass


def clients() -> None:
    with Truex(api_key="k", api_secret="s", client_id="1") as client:
        sync_calls(client)
    Truex(api_key=1)  # type: ignore[arg-type]
    AsyncTruex(transport=object())  # type: ignore[arg-type]
