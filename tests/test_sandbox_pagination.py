"""Pagination: cursors under v2026_01_23 (walk to the end, filters kept, forged cursors refused) and
skip/size under v2024_01_01."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from sandbox_support import BTC, V2026, Creds, Signer, asgi_client, assert_problem, creds_of

from truex_sandbox.app import create_app

NOW = 1_780_000_000.0
CURSOR = re.compile(r"^[A-Za-z0-9_=-]+$")  # the spec's pattern for the cursor parameter
SELLS = json.dumps({"columns": [{"name": "side", "filter": [{"$eq": "SELL"}]}]})


@pytest.fixture
def app() -> Any:
    return create_app(clock=lambda: NOW)


@pytest.fixture
def alice(app: Any) -> Creds:
    return creds_of(app.state.exchange, "ALICE")


@pytest.fixture
def bob(app: Any) -> Creds:
    return creds_of(app.state.exchange, "BOB")


async def place(client: httpx.AsyncClient, creds: Creds, n: int, side: str = "BUY") -> dict[str, Any]:
    body = {
        "external_id": f"{side.lower()}-{n}",
        "info": {
            "client_id": creds.client_id,
            "instrument_id": BTC,
            "qty": "0.01",
            "price": "74000" if side == "BUY" else "76000",
            "side": side,
            "type": "LIMIT",
        },
    }
    response = await client.post(
        "/api/v1/orders",
        content=json.dumps(body),
        headers={"content-type": "application/json", "X-Truex-Version": V2026},
    )
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()["data"]
    assert order["status"] == "ACTIVE"
    return order


@pytest.fixture
async def client(app: Any, alice: Creds) -> Any:
    async with asgi_client(app, Signer(alice, lambda: NOW)) as c:
        for n in range(15):
            await place(c, alice, n, "BUY")
        for n in range(8):
            await place(c, alice, n, "SELL")
        yield c


async def walk(client: httpx.AsyncClient, path: str, size: int, **params: str) -> list[list[dict[str, Any]]]:
    """Every page of a v2026 listing, following next_cursor with the same filters."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = dict(params, size=str(size)) | ({"cursor": cursor} if cursor else {})
        response = await client.get(path, params=query, headers={"X-Truex-Version": V2026})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["pagination"]["size"] == size
        pages.append(body["data"])
        cursor = body["pagination"]["next_cursor"]
        if cursor is None:
            return pages
        assert CURSOR.match(cursor) and len(cursor) <= 512
        assert len(pages) < 100, "the walk does not end"


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def everything(client: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    response = await client.get(path, params=dict(params, size="100"), headers={"X-Truex-Version": V2026})
    assert response.status_code == 200 and response.json()["pagination"]["next_cursor"] is None
    data: list[dict[str, Any]] = response.json()["data"]
    return data


@pytest.mark.parametrize("path", ["/api/v1/orders/list", "/api/v1/order", "/api/v1/orders/active"])
async def test_walk_all_pages_with_cursors(client: httpx.AsyncClient, path: str) -> None:
    pages = await walk(client, path, 5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    walked = [order for page in pages for order in page]
    assert ids(walked) == ids(await everything(client, path))
    assert len(set(ids(walked))) == 23


async def test_filters_are_kept_and_bound_to_the_cursor(client: httpx.AsyncClient) -> None:
    pages = await walk(client, "/api/v1/orders/list", 3, query=SELLS)
    walked = [order for page in pages for order in page]
    assert len(walked) == 8 and {o["order_info"]["side"] for o in walked} == {"SELL"}

    first = await client.get(
        "/api/v1/orders/list", params={"size": "3", "query": SELLS}, headers={"X-Truex-Version": V2026}
    )
    cursor = first.json()["pagination"]["next_cursor"]
    # The same cursor without the filter, or with another one, is refused rather than mixing listings.
    for params in ({"cursor": cursor}, {"cursor": cursor, "query": SELLS.replace("SELL", "BUY")}):
        response = await client.get("/api/v1/orders/list", params=params, headers={"X-Truex-Version": V2026})
        assert "query.cursor" in assert_problem(response, 400, V2026)["detail"]
    # The page size may change between pages; the singular twin is the same listing.
    response = await client.get(
        "/api/v1/order",
        params={"cursor": cursor, "query": SELLS, "size": "10"},
        headers={"X-Truex-Version": V2026},
    )
    assert response.status_code == 200
    assert ids(response.json()["data"]) == ids(walked[3:])


@pytest.mark.parametrize(
    "forge",
    [
        lambda c: "AAAA",
        lambda c: "bm90LWEtY3Vyc29y",  # base64 of "not-a-cursor"
        lambda c: c[:-2] + ("A" if c[-2] != "A" else "B") + c[-1],  # one character changed
        lambda c: c[: len(c) // 2],  # truncated
    ],
)
async def test_a_forged_cursor_is_a_400(client: httpx.AsyncClient, forge: Any) -> None:
    first = await client.get("/api/v1/orders/list", params={"size": "5"}, headers={"X-Truex-Version": V2026})
    cursor = first.json()["pagination"]["next_cursor"]
    response = await client.get(
        "/api/v1/orders/list",
        params={"size": "5", "cursor": forge(cursor)},
        headers={"X-Truex-Version": V2026},
    )
    assert assert_problem(response, 400, V2026)["detail"].startswith("query.cursor: ")


async def test_a_cursor_is_only_good_for_its_operation_and_key(
    client: httpx.AsyncClient, app: Any, bob: Creds
) -> None:
    first = await client.get("/api/v1/orders/list", params={"size": "5"}, headers={"X-Truex-Version": V2026})
    cursor = first.json()["pagination"]["next_cursor"]
    other_operation = await client.get(
        "/api/v1/orders/active", params={"cursor": cursor}, headers={"X-Truex-Version": V2026}
    )
    assert_problem(other_operation, 400, V2026)
    async with asgi_client(app, Signer(bob, lambda: NOW), V2026) as as_bob:
        other_key = await as_bob.get("/api/v1/orders/list", params={"cursor": cursor})
    assert_problem(other_key, 400, V2026)


async def test_new_items_do_not_repeat_on_the_next_page(client: httpx.AsyncClient, alice: Creds) -> None:
    first = await client.get("/api/v1/orders/list", params={"size": "5"}, headers={"X-Truex-Version": V2026})
    cursor = first.json()["pagination"]["next_cursor"]
    await place(client, alice, 99)  # newest first: it lands at the head, before the first page
    second = await client.get(
        "/api/v1/orders/list", params={"size": "5", "cursor": cursor}, headers={"X-Truex-Version": V2026}
    )
    assert not set(ids(first.json()["data"])) & set(ids(second.json()["data"]))
    everything_now = ids(await everything(client, "/api/v1/orders/list"))
    assert ids(second.json()["data"]) == everything_now[6:11]


async def test_cursor_and_skip_do_not_mix(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/orders/list", params={"size": "5"}, headers={"X-Truex-Version": V2026})
    cursor = first.json()["pagination"]["next_cursor"]
    response = await client.get(
        "/api/v1/orders/list", params={"cursor": cursor, "skip": "5"}, headers={"X-Truex-Version": V2026}
    )
    assert (
        assert_problem(response, 400, V2026)["detail"] == "query.skip: cannot be combined with query.cursor"
    )


async def test_skip_and_size_under_v2024(client: httpx.AsyncClient) -> None:
    full = ids(await everything(client, "/api/v1/orders/list"))
    pages = []
    for skip in range(0, 30, 10):
        response = await client.get("/api/v1/orders/list", params={"skip": str(skip), "size": "10"})
        assert response.status_code == 200
        assert isinstance(response.json(), list)  # v2024: a bare array, no cursor anywhere
        pages.append(ids(response.json()))
    assert [len(p) for p in pages] == [10, 10, 3]
    assert [i for p in pages for i in p] == full
    # Default page size 10 where offset pagination is documented; filters apply the same way.
    assert len((await client.get("/api/v1/orders/list")).json()) == 10
    sells = (await client.get("/api/v1/orders/list", params={"query": SELLS, "skip": "5"})).json()
    assert len(sells) == 3 and {o["order_info"]["side"] for o in sells} == {"SELL"}


async def test_v2024_lists_without_skip_come_whole(client: httpx.AsyncClient) -> None:
    # No offset pagination was ever documented for active orders: a v2024 bot gets all of them...
    assert len((await client.get("/api/v1/order/active")).json()) == 23
    # ...unless it asks for a size.
    assert len((await client.get("/api/v1/order/active", params={"size": "4"})).json()) == 4


async def test_transfers_pages_keep_the_timestamp(client: httpx.AsyncClient, alice: Creds) -> None:
    for n in range(4):
        body = {
            "request": {
                "asset_id": "100000000000000002",
                "client_id": alice.client_id,
                "platform": "FIAT",
                "type": "DEPOSIT",
                "amount": str(n + 1),
            }
        }
        response = await client.post(
            "/api/v1/transfers", content=json.dumps(body), headers={"content-type": "application/json"}
        )
        assert response.status_code == 200
    pages = await walk(client, "/api/v1/transfers", 3, timestamp="0")
    assert [len(p) for p in pages] == [3, 1]
    assert sorted(t["request"]["amount"] for p in pages for t in p) == ["1", "2", "3", "4"]
