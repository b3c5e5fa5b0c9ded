"""The client against an independent mock of the spec: Stoplight Prism (issue 6, part 4).

``make contract-prism`` (``scripts/prism.sh``) starts ``prism mock openapi/truex.yaml`` twice - static
(the spec's examples, or values Prism builds from the schemas) and dynamic (``-d --seed``: json-schema-faker
values, the same on every run) - and runs this file with ``TRUEX_PRISM_URL`` and
``TRUEX_PRISM_DYNAMIC_URL`` set; ``make test`` runs it that way. Without them the Prism tests are skipped.

Prism checks what the sandbox cannot check independently: that every request the client sends is valid
for the spec (parameters, bodies, the ``X-Truex-Version`` header; an invalid one is answered 4xx) and
carries the security headers the spec declares (else 401), and it answers with bodies written from the
spec alone. Every operation is called through ``Truex`` and ``AsyncTruex`` in the default version
(``v2026_01_23``, the shape the spec describes) and what comes back must parse into the generated models,
losslessly (``to_dict()`` gives back the JSON that came, every decimal a ``Decimal``).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import ssl
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import attrs
import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from truex_client.models import (
    ClientUpdateInfo,
    ModifyOrderInfo,
    NewOrderInfo,
    OrderType,
    QtyUnit,
    SelfTradePrevention,
    Side,
    TransferNew,
    TransferPlatform,
    TransferType,
)
from truex_client.types import Unset
from truex_ext import (
    APIStatusError,
    AsyncPaginator,
    AsyncTruex,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    SyncPaginator,
    Truex,
    TruexDeprecationWarning,
    UnsupportedMediaTypeError,
)
from truex_ext.deprecation import reset_warning_registry
from truex_ext.operations import Operation
from truex_ext.resources import OPERATIONS

SPEC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "openapi", "truex.yaml")
URLS = {"static": os.environ.get("TRUEX_PRISM_URL"), "dynamic": os.environ.get("TRUEX_PRISM_DYNAMIC_URL")}
MODES = ["sync", "async"]
CID = "300000000000000001"
INSTRUMENT = "200000000000000001"
ORDER = "800000000000000021"
CREDENTIALS = {
    "api_key": "123e4567-e89b-42d3-a456-426614174000",
    "api_secret": "prism-checks-presence-not-signatures",
    "client_id": CID,
}
RESOURCE = {
    "Service": "service",
    "Assets": "assets",
    "Instruments": "instruments",
    "Market Data": "market",
    "Clients": "clients",
    "Orders": "orders",
    "Balances": "balances",
    "Transfers": "transfers",
}
ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    409: ConflictError,
    415: UnsupportedMediaTypeError,
    429: RateLimitError,
    500: InternalServerError,
    503: InternalServerError,
}
pytestmark = pytest.mark.filterwarnings("ignore::truex_ext.deprecation.TruexDeprecationWarning")


def _order_info() -> NewOrderInfo:
    return NewOrderInfo(
        client_id=CID,
        instrument_id=INSTRUMENT,
        qty=Decimal("0.01"),
        price=Decimal("74000"),
        side=Side.BUY,
        type_=OrderType.LIMIT,
    )


_TRANSFER = TransferNew(
    asset_id="100000000000000002",
    client_id=CID,
    platform=TransferPlatform.INTERNAL,
    type_=TransferType.DEPOSIT,
    amount=Decimal("250.75"),
)
_MODIFY = ModifyOrderInfo(client_id=CID, new_qty=Decimal("0.02"), new_price=Decimal("74000.5"))

# The arguments of each operation (a deprecated twin takes its replacement's unless listed).
ARGS: dict[str, Callable[[], dict[str, Any]]] = {
    "get_health": dict,
    "list_versions": dict,
    "list_assets": lambda: {"name": "BTC"},
    "list_instruments": lambda: {"symbol": "BTC-PYUSD"},
    "list_market_quotes": lambda: {"instrument_id": INSTRUMENT},
    "get_vwap_quote_deprecated": lambda: {"qty": Decimal("750.025"), "instrument_id": INSTRUMENT},
    "compute_market_quote": lambda: {
        "qty": Decimal("0.01"),
        "instrument_id": INSTRUMENT,
        "side": Side.BUY,
        "qty_unit": QtyUnit.BASE,
    },
    "list_market_trades": lambda: {"instrument_id": INSTRUMENT},
    "list_clients": dict,
    "update_client": lambda: {
        "id": CID,
        "info": ClientUpdateInfo(self_trade_prevention=SelfTradePrevention.CANCEL_BOTH),
    },
    "create_order": lambda: {"info": _order_info()},
    "modify_order": lambda: {"id": ORDER, "info": _MODIFY},
    "list_orders": lambda: {"size": 25},
    "cancel_order": lambda: {"ref_id": ORDER},
    "list_active_orders": dict,
    "get_order_status": lambda: {"ref_id": ORDER},
    "list_order_trades": lambda: {"timestamp": "1752156263825281640"},
    "list_balances": lambda: {"asset_name": "PYUSD"},
    "list_transfers": lambda: {"timestamp": "1752156263825281640", "size": 100},
    "create_transfer": lambda: {"request": _TRANSFER},
    "list_active_transfers": dict,
}


def args_of(op: Operation) -> dict[str, Any]:
    make = ARGS.get(op.id) or ARGS[op.replacement or op.id]
    return make()


def prism_url(kind: str) -> str:
    url = URLS[kind]
    if not url:
        name = "TRUEX_PRISM_URL" if kind == "static" else "TRUEX_PRISM_DYNAMIC_URL"
        pytest.skip(f"{name} is not set: `make contract-prism` (scripts/prism.sh) starts Prism and sets it")
    return url


_TLS = ssl.create_default_context()


class Wire(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Real HTTP to Prism; adds ``extra`` headers and drops ``strip`` ones after signing."""

    def __init__(self, extra: dict[str, str] | None = None, strip: tuple[str, ...] = ()) -> None:
        # One TLS context for all (building one per transport costs ~50 ms; Prism is plain HTTP).
        self._sync = httpx.HTTPTransport(verify=_TLS)
        self._async = httpx.AsyncHTTPTransport(verify=_TLS)
        self.extra = extra or {}
        self.strip = strip
        self.sent: list[httpx.Request] = []

    def _edit(self, request: httpx.Request) -> None:
        for name in list(request.headers):
            if name.lower().startswith(self.strip) and self.strip:
                del request.headers[name]
        request.headers.update(self.extra)
        self.sent.append(request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._edit(request)
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._edit(request)
        return await self._async.handle_async_request(request)

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()


class Session:
    """One client on one Prism; ``raw(op)`` calls an operation through its ``with_raw_response`` twin."""

    def __init__(self, mode: str, url: str, wire: Wire, *, credentials: bool = True) -> None:
        self.mode = mode
        self.wire = wire
        args: dict[str, Any] = {"base_url": url, "environ": {}, "max_retries": 0, "transport": wire}
        if credentials:
            args.update(CREDENTIALS)
        self.client: Any = AsyncTruex(**args) if mode == "async" else Truex(**args)

    async def raw(self, op: Operation, **kwargs: Any) -> Any:
        resource = getattr(self.client, RESOURCE[op.tag])
        result = getattr(resource.with_raw_response, op.sdk_method)(**(args_of(op) | kwargs))
        if self.mode == "async":
            assert inspect.isawaitable(result)
            return await result
        return result

    async def first_page(self, paginator: Any) -> Any:
        if isinstance(paginator, AsyncPaginator):
            return await paginator
        assert isinstance(paginator, SyncPaginator)
        return paginator.first_page()

    async def close(self) -> None:
        if self.mode == "async":
            await self.client.close()
        else:
            self.client.close()


@pytest.fixture(params=["static", "dynamic"])
def prism(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param, prism_url(request.param)


@pytest.fixture(autouse=True)
def _fresh_warning_registry() -> None:
    reset_warning_registry()


# --- parsing: the generated models take what a spec-only server says ------------------------------


def check_model(value: Any, where: str = "") -> None:
    """Every field of an attrs model (recursively) holds what its annotation says, decimals as Decimal."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_model(item, f"{where}[{i}]")
        return
    if not attrs.has(type(value)):
        return
    for field in attrs.fields(type(value)):
        got = getattr(value, field.name)
        name = f"{where}.{field.name}"
        kind = str(field.type)
        if isinstance(got, Unset) or got is None:
            assert "Unset" in kind or "None" in kind, f"{name}: required but missing"
            continue
        if "Decimal" in kind:
            assert isinstance(got, Decimal), f"{name}: {got!r} is not a Decimal"
        elif "datetime.date" in kind:
            assert isinstance(got, date), f"{name}: {got!r}"
        elif kind.startswith("UUID"):
            assert isinstance(got, UUID), f"{name}: {got!r}"
        check_model(got, name)


def wire_json(value: Any) -> Any:
    """What ``to_dict()`` gives, as JSON would carry it (dates and UUIDs as strings)."""
    return json.loads(json.dumps(value, default=str))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
async def test_every_operation_parses_what_prism_answers(
    prism: tuple[str, str], op_id: str, mode: str
) -> None:
    _, url = prism
    op = OPERATIONS[op_id]
    session = Session(mode, url, Wire())
    try:
        if op.deprecated:
            with pytest.warns(
                TruexDeprecationWarning, match=re.escape(f"{op.method} {op.bases[0]}{op.path} is deprecated")
            ):
                raw = await session.raw(op)
        else:
            raw = await session.raw(op)
    finally:
        await session.close()
    assert raw.status_code == 200
    (request,) = session.wire.sent
    assert request.method == op.method and request.headers["x-truex-version"] == "v2026_01_23"
    if not op.public:
        assert all(request.headers.get(h) for h in ("x-truex-auth-token", "x-truex-auth-signature"))
    body = json.loads(raw.content)
    if op.paginated:
        page = await session.first_page(raw.parsed)
        items = page.items
        assert isinstance(page.next_cursor, str | None)
        assert page.next_cursor == body["pagination"]["next_cursor"]
        check_model(items)
        assert wire_json([item.to_dict() for item in items]) == body["data"]  # lossless
    else:
        parsed = raw.parsed
        check_model(parsed)
        data = body["data"]
        if isinstance(parsed, list):  # order status: a list without pagination
            assert wire_json([item.to_dict() for item in parsed]) == data
        else:
            assert wire_json(parsed.to_dict()) == data
    if op.deprecated:  # Prism marks a deprecated operation with the legacy `Deprecation: true`
        assert raw.deprecation is not None and raw.deprecation.deprecated


# --- security, errors, pagination -------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_the_clients_public_operations_are_the_specs(mode: str) -> None:
    """Without the HMAC headers Prism answers 401 exactly where the spec declares security."""
    session = Session(mode, prism_url("static"), Wire(strip=("x-truex-auth-",)))
    try:
        for op in OPERATIONS.values():
            if op.public:
                raw = await session.raw(op)
                assert raw.status_code == 200, op.id
            else:
                with pytest.raises(AuthenticationError) as refused:
                    await session.raw(op)
                assert refused.value.status_code == 401, op.id
    finally:
        await session.close()
    assert len(session.wire.sent) == len(OPERATIONS)
    assert not any(h.startswith("x-truex-auth-") for r in session.wire.sent for h in r.headers)


def _documented_errors() -> Iterator[tuple[str, int]]:
    with open(SPEC, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                for status in sorted(operation["responses"]):
                    if int(status) >= 400:
                        yield operation["operationId"], int(status)


@pytest.mark.parametrize("mode", MODES)
async def test_every_documented_error_is_its_typed_error(mode: str) -> None:
    """Prism answers each documented error status (``Prefer: code=N``) with the spec's problem body."""
    session = Session(mode, prism_url("static"), Wire())
    seen = 0
    try:
        for op_id, status in _documented_errors():
            op = OPERATIONS[op_id]
            session.wire.extra = {"Prefer": f"code={status}"}
            sent = len(session.wire.sent)
            if op_id == "get_health" and status == 503:  # a degraded service: an answer, not an error
                raw = await session.raw(op)
                assert raw.status_code == 503 and raw.parsed.service
                continue
            with pytest.raises(ERRORS[status]) as caught:
                await session.raw(op)
            error = caught.value
            assert error.status_code == status, (op_id, status)
            assert error.problem is not None and error.problem.title and error.problem.type, (op_id, status)
            assert len(session.wire.sent) == sent + 1, (op_id, status)  # max_retries=0: sent once
            seen += 1
    finally:
        await session.close()
    assert seen == len(list(_documented_errors())) - 1 > 250  # all but the health 503


@pytest.mark.parametrize("mode", MODES)
async def test_a_mock_that_repeats_its_cursor_is_caught(mode: str) -> None:
    """Static Prism answers every page with the example cursor: iteration stops with PaginationError."""
    session = Session(mode, prism_url("static"), Wire())
    try:
        with pytest.raises(PaginationError, match="repeated cursor"):
            if mode == "async":
                [o async for o in session.client.orders.list()]
            else:
                list(session.client.orders.list())
    finally:
        await session.close()
    cursors = [r.url.params.get("cursor") for r in session.wire.sent]
    assert cursors == [None, "b2Zmc2V0OjEw"]  # the second page asked once, then the repeat is refused


# --- the spec itself (no Prism needed) --------------------------------------------------------------


def test_every_cursor_a_page_can_carry_is_a_valid_cursor_parameter() -> None:
    with open(SPEC, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    components = spec["components"]
    next_cursor = components["schemas"]["Pagination"]["properties"]["next_cursor"]
    parameter = components["parameters"]["Cursor"]["schema"]
    for candidate in ("labore occaecat", "a/b+c", "", "x" * 513):  # what Prism -d and others produce
        carried = Draft202012Validator(next_cursor).is_valid(candidate)
        accepted = Draft202012Validator(parameter).is_valid(candidate)
        assert carried <= accepted, f"next_cursor {candidate!r} cannot be sent back as ?cursor="
