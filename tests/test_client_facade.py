"""Unit tests of the ``Truex`` / ``AsyncTruex`` facade against an in-process mock exchange (issue 4).

Every behavioural test runs twice, through the sync and through the async client: the ``h`` fixture
builds the client for one mode and runs a call either way (``h.run(lambda c: c.orders.create(...))``,
``h.items(lambda c: c.orders.list())``), so each test body is written once.

The mock exchange (:class:`Server`) records every request, recomputes the HMAC signature of each signed
request from its own copy of the secret over the exact bytes received (a wrong one is answered 401),
and answers from a script. Time is fake: ``clock``, ``monotonic`` and ``sleep`` are injected, and
``sleep`` advances the clock, so retries take no real time and their delays can be asserted.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truex_client.models import (
    ApiVersion,
    IdType,
    ModifyOrderInfo,
    NewOrderInfo,
    Order,
    OrderType,
    QtyUnit,
    Side,
    TransferNew,
    TransferPlatform,
    TransferType,
)
from truex_ext import (
    APIConnectionError,
    APIResponse,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncPaginator,
    AsyncTruex,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    Credentials,
    CredentialsRequiredError,
    InternalServerError,
    InvalidParameterError,
    NotFoundError,
    Page,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RawResponse,
    RequestTimeoutError,
    RetryPolicy,
    SyncPaginator,
    TimestampSkewError,
    Truex,
    TruexDeprecationWarning,
    UnsupportedMediaTypeError,
    logs,
)
from truex_ext.auth import sign
from truex_ext.deprecation import reset_warning_registry

KEY = "123e4567-e89b-12d3-a456-426614174000"
SECRET = "unit-test-secret-7f3a"
CID = "78901985048264710"
INSTRUMENT = "78901949723181070"
T0 = 1_700_000_000.0
V2024, V2026 = "v2024_01_01", "v2026_01_23"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
MODES = ["sync", "async"]


# --- the mock exchange ----------------------------------------------------------------------------


def order(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """An order object as the exchange sends it (wire JSON)."""
    body: dict[str, Any] = {
        "id": str(799477895858487976 + n),
        "status": "ACTIVE",
        "external_id": f"ext-{n}",
        "order_info": {
            "client_id": CID,
            "instrument_id": INSTRUMENT,
            "qty": "0.01",
            "price": "75000.50",
            "side": "BUY",
            "type": "LIMIT",
            "tif": "GTC",
        },
        "pending_qty": "0",
        "leaves_qty": "0.01",
        "exeuted_qty": "0",
        "executed_vwap": "0",
    }
    body.update(overrides)
    return body


TRANSFER = {
    "id": "8000000000000000001",
    "status": "PENDING",
    "request": {
        "asset_id": "1",
        "client_id": CID,
        "platform": "INTERNAL",
        "type": "DEPOSIT",
        "amount": "10",
    },
}
HEALTH = {"status": "healthy", "timestamp": "2026-01-23 00:00:00", "service": "rest-gateway"}


def respond(
    status: int = 200,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    content_type: str = "application/json",
) -> httpx.Response:
    raw = content if content is not None else json.dumps(body).encode()
    return httpx.Response(status, content=raw, headers={"content-type": content_type, **(headers or {})})


def one(data: Any, **kw: Any) -> httpx.Response:
    """A v2026 single-object answer."""
    return respond(200, {"data": data}, **kw)


def page(items: list[Any], cursor: str | None = None, **kw: Any) -> httpx.Response:
    """A v2026 list answer."""
    return respond(200, {"data": items, "pagination": {"size": len(items), "next_cursor": cursor}}, **kw)


def problem(status: int, detail: str = "went wrong", *, wrapped: bool = True, **kw: Any) -> httpx.Response:
    body = {"type": "about:blank", "title": "Error", "status": status, "detail": detail}
    return respond(
        status, {"error": body} if wrapped else body, content_type="application/problem+json", **kw
    )


Reply = httpx.Response | Callable[[httpx.Request], httpx.Response] | Exception


class Transport(httpx.MockTransport):
    """A mock transport that also counts how often it was closed."""

    closed = 0

    def close(self) -> None:
        self.closed += 1

    async def aclose(self) -> None:
        self.closed += 1


class Server:
    """The mock exchange: scripted replies; every request recorded and its signature checked."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.requests: list[httpx.Request] = []
        self.bad_signatures: list[httpx.Request] = []
        self.script: list[Reply] = []
        self.default: Reply | None = None
        self.transport = Transport(self._handle)

    def queue(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        signature = request.headers.get("x-truex-auth-signature")
        if signature is not None:
            path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
            expected = sign(
                self.secret, request.headers["x-truex-auth-timestamp"], request.method, path, request.content
            )
            if signature != expected:
                self.bad_signatures.append(request)
                return problem(401, "signature does not match")
        if self.script:
            reply = self.script.pop(0)
        elif self.default is not None:
            reply = self.default
        else:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if isinstance(reply, Exception):
            raise reply
        response = reply(request) if callable(reply) else reply
        # A fresh copy every time: a scripted reply may be served more than once.
        return httpx.Response(response.status_code, headers=response.headers, content=response.content)

    # Views of what was sent.
    def query(self, i: int = -1) -> dict[str, str]:
        return dict(self.requests[i].url.params)

    def body(self, i: int = -1) -> Any:
        return json.loads(self.requests[i].content)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


class FakeTime:
    """Wall clock and monotonic clock in one; ``sleep`` advances both and records the delay."""

    def __init__(self, start: float = T0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


async def _await(awaitable: Any) -> Any:
    # Defined in this file so that a warning raised inside an awaited SDK call points here.
    return await awaitable


async def _collect(aiterable: Any) -> list[Any]:
    return [x async for x in aiterable]


Client = Truex | AsyncTruex


class Harness:
    """Builds clients for one mode (sync or async) and runs calls on them the same way."""

    def __init__(self, mode: str, server: Server) -> None:
        self.mode = mode
        self.server = server
        self.time = FakeTime()
        self.loop = asyncio.new_event_loop() if mode == "async" else None
        self._made: list[Client] = []
        self.client = self.make()

    @property
    def is_async(self) -> bool:
        return self.mode == "async"

    def make(self, *, credentials: bool = True, **kw: Any) -> Any:
        args: dict[str, Any] = {
            "transport": self.server.transport,
            "clock": self.time,
            "monotonic": self.time,
            "sleep": self.time.asleep if self.is_async else self.time.sleep,
            "environ": {},
            "retry_policy": RetryPolicy(jitter=(1.0, 1.0)),
        }
        if credentials:
            args.update(api_key=KEY, api_secret=self.server.secret, client_id=CID)
        args.update(kw)
        client: Client = (AsyncTruex if self.is_async else Truex)(**args)
        self._made.append(client)
        return client

    def run(self, fn: Callable[[Any], Any], client: Any = None) -> Any:
        """Run one (non-list) call: ``fn(client)`` returns the value or, async, an awaitable."""
        result = fn(self.client if client is None else client)
        if self.loop is not None:
            assert inspect.isawaitable(result), "the async client must return an awaitable"
            return self.loop.run_until_complete(_await(result))
        return result

    def items(self, fn: Callable[[Any], Any], client: Any = None) -> list[Any]:
        """Every item of a list call, iterated with ``for`` or ``async for``."""
        paginator = fn(self.client if client is None else client)
        if self.loop is not None:
            assert isinstance(paginator, AsyncPaginator)
            return self.loop.run_until_complete(_collect(paginator))
        assert isinstance(paginator, SyncPaginator)
        return list(paginator)

    def do(self, fn: Callable[[Any], Any], client: Any = None) -> Any:
        """Run any call: a list call is iterated to the end, any other call is run."""
        result = fn(self.client if client is None else client)
        if isinstance(result, SyncPaginator | AsyncPaginator):
            return self.items(lambda _: result)
        if self.loop is not None:
            return self.loop.run_until_complete(_await(result))
        return result

    def pages(self, fn: Callable[[Any], Any]) -> list[Page[Any]]:
        paginator = fn(self.client)
        if self.loop is not None:
            return self.loop.run_until_complete(_collect(paginator.pages()))
        return list(paginator.pages())

    def first_page(self, fn: Callable[[Any], Any]) -> Page[Any]:
        """``await aclient.orders.list()`` / ``client.orders.list().first_page()``."""
        paginator = fn(self.client)
        if self.loop is not None:
            return self.loop.run_until_complete(_await(paginator))
        return paginator.first_page()

    def close(self, client: Any) -> None:
        if self.loop is not None:
            self.loop.run_until_complete(client.close())
        else:
            client.close()

    def session(self, client: Any, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn`` inside ``with client`` / ``async with client``."""
        if self.loop is None:
            with client as c:
                return fn(c)

        async def go() -> Any:
            async with client as c:
                result = fn(c)
                return await result if inspect.isawaitable(result) else result

        return self.loop.run_until_complete(go())

    def shutdown(self) -> None:
        if self.loop is not None:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def h(mode: str, server: Server) -> Iterator[Harness]:
    harness = Harness(mode, server)
    yield harness
    harness.shutdown()


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    """Deprecation warnings are once per process and TRUEX_LOG adds a handler: undo both per test."""
    reset_warning_registry()
    level = logs.logger.level
    yield
    reset_warning_registry()
    for handler in list(logs.logger.handlers):
        if isinstance(handler, logs._StderrHandler):
            logs.logger.removeHandler(handler)
    logs.logger.setLevel(level)


def new_order(**overrides: Any) -> NewOrderInfo:
    args: dict[str, Any] = {
        "client_id": CID,
        "instrument_id": INSTRUMENT,
        "qty": Decimal("0.01"),
        "price": Decimal("75000.50"),
        "side": Side.BUY,
        "type_": OrderType.LIMIT,
    }
    args.update(overrides)
    return NewOrderInfo(**args)


def quote_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "instrument_id": INSTRUMENT,
        "side": Side.BUY,
        "qty": Decimal("1"),
        "qty_unit": QtyUnit.BASE,
    }
    args.update(overrides)
    return args


def modify_info(**overrides: Any) -> ModifyOrderInfo:
    args: dict[str, Any] = {"client_id": CID, "new_qty": Decimal("0.02"), "new_price": Decimal("75001")}
    args.update(overrides)
    return ModifyOrderInfo(**args)


def transfer_new(**overrides: Any) -> TransferNew:
    args: dict[str, Any] = {
        "asset_id": "1",
        "client_id": CID,
        "platform": TransferPlatform.INTERNAL,
        "type_": TransferType.DEPOSIT,
        "amount": Decimal("10"),
    }
    args.update(overrides)
    return TransferNew(**args)


# --- configuration, context managers, with_options -------------------------------------------------


def test_configured_from_arguments(h: Harness, server: Server) -> None:
    client = h.make(base_url="http://exchange.test:9742/", api_version=ApiVersion.V2024_01_01)
    assert (client.base_url, client.api_version, client.client_id) == (
        "http://exchange.test:9742/v1/cefi",
        V2024,
        CID,
    )
    server.queue(respond(200, [order()]))
    h.items(lambda c: c.orders.active(), client)
    sent = server.requests[0]
    assert str(sent.url).startswith("http://exchange.test:9742/v1/cefi/orders/active")
    assert sent.headers["x-truex-version"] == V2024
    assert sent.headers["x-truex-auth-token"] == KEY
    assert sent.headers["x-truex-auth-userid"] == CID


def test_configured_from_the_environment(h: Harness, server: Server) -> None:
    environ = {
        "TRUEX_API_KEY": "env-key-0000-0000",
        "TRUEX_API_SECRET": SECRET,
        "TRUEX_CLIENT_ID": "42",
        "TRUEX_BASE_URL": "http://env.test/",
        "TRUEX_API_VERSION": V2024,
    }
    client = h.make(credentials=False, environ=environ)
    assert (client.base_url, client.api_version, client.client_id) == ("http://env.test/v1/cefi", V2024, "42")
    server.queue(respond(200, [order()]))
    h.items(lambda c: c.orders.active(), client)
    sent = server.requests[0]
    assert sent.url.host == "env.test"
    assert sent.headers["x-truex-version"] == V2024
    assert (sent.headers["x-truex-auth-token"], sent.headers["x-truex-auth-userid"]) == (
        "env-key-0000-0000",
        "42",
    )
    assert server.bad_signatures == []  # signed with TRUEX_API_SECRET


def test_arguments_win_over_the_environment(h: Harness, server: Server) -> None:
    environ = {
        "TRUEX_API_KEY": "env-key",
        "TRUEX_API_SECRET": "env-secret",
        "TRUEX_BASE_URL": "http://env.test",
    }
    client = h.make(environ=environ, base_url="http://arg.test")
    server.queue(one(order()))
    h.run(lambda c: c.orders.cancel(ref_id="1"), client)
    assert server.requests[0].url.host == "arg.test"
    assert server.requests[0].headers["x-truex-auth-token"] == KEY
    assert server.bad_signatures == []


def test_environment_values_are_stripped(h: Harness, server: Server) -> None:
    # A trailing newline from a secrets file must not break every signature (as Credentials.from_env).
    environ = {"TRUEX_API_KEY": f" {KEY}\n", "TRUEX_API_SECRET": f"{SECRET}\n", "TRUEX_CLIENT_ID": f"{CID}\n"}
    client = h.make(credentials=False, environ=environ)
    server.queue(one(order()))
    h.run(lambda c: c.orders.cancel(ref_id="1"), client)
    assert server.requests[0].headers["x-truex-auth-token"] == KEY
    assert server.requests[0].headers["x-truex-auth-userid"] == CID
    assert server.bad_signatures == []


def test_the_defaults_are_the_sandbox_and_v2026(h: Harness, server: Server) -> None:
    client = h.make()
    assert client.base_url == "http://127.0.0.1:8765/v1/cefi"
    assert client.api_version == V2026


def test_half_credentials_or_an_unknown_version_are_refused(h: Harness) -> None:
    with pytest.raises(ValueError, match="TRUEX_API_SECRET") as info:
        h.make(credentials=False, environ={"TRUEX_API_KEY": KEY})
    assert KEY not in str(info.value)
    with pytest.raises(ValueError, match="api_version"):
        h.make(api_version="v1999_01_01")
    with pytest.raises(ValueError, match="api_version"):
        h.make(credentials=False, environ={"TRUEX_API_VERSION": "latest"})


def test_context_manager_closes_the_connections(h: Harness, server: Server) -> None:
    server.queue(one(HEALTH))
    health = h.session(h.make(), lambda c: c.service.health())
    assert health.status.value == "healthy"
    assert server.transport.closed == 1


def test_with_options_overrides_per_call_and_shares_connections(h: Harness, server: Server) -> None:
    base = h.client
    other = base.with_options(timeout=3.5, max_retries=0, api_version=V2024)
    assert (other.api_version, base.api_version) == (V2024, V2026)
    assert repr(other).startswith(type(base).__name__)

    server.queue(problem(503), problem(503), one(order()))
    h.run(lambda c: c.orders.cancel(ref_id="1"))  # the original: default retries, v2026, default timeout
    server.queue(problem(503))
    with pytest.raises(InternalServerError):
        h.run(lambda c: c.orders.cancel(ref_id="1"), other)  # the copy: no retry

    first, last = server.requests[0], server.requests[-1]
    assert len(server.requests) == 4
    assert first.headers["x-truex-version"] == V2026
    assert last.headers["x-truex-version"] == V2024
    assert first.extensions["timeout"]["read"] == 30.0
    assert last.extensions["timeout"] == {"connect": 3.5, "read": 3.5, "write": 3.5, "pool": 3.5}

    # One set of connections: closing the copy leaves them open, closing the original closes them.
    h.close(other)
    assert server.transport.closed == 0
    h.close(base)
    assert server.transport.closed == 1


def test_a_client_builds_no_transport_it_does_not_use(
    h: Harness, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each real httpx transport loads the CA bundle (tens of ms): a sync client needs no async one.
    built: list[str] = []
    monkeypatch.setattr(httpx, "HTTPTransport", lambda **kw: built.append("sync"))
    monkeypatch.setattr(httpx, "AsyncHTTPTransport", lambda **kw: built.append("async"))
    client = h.make()
    server.queue(one(order()))
    h.run(lambda c: c.orders.cancel(ref_id="1"), client)
    h.close(client)
    h.make(transport=None)
    assert built == []


# --- signing and the version header ---------------------------------------------------------------


def test_every_request_is_signed_over_the_exact_bytes_sent(h: Harness, server: Server) -> None:
    server.queue(one(order()), one(order()), page([order()]), one(order()))
    h.run(lambda c: c.orders.create(info=new_order(), external_id="abc-1"))
    h.run(lambda c: c.orders.cancel(ref_id="799477895858487977", id_type=IdType.EXCHANGE))
    h.items(lambda c: c.orders.list(query="status=ACTIVE", size=5))
    h.run(lambda c: c.orders.modify(id="799477895858487977", info=modify_info()))

    assert server.paths() == [
        "POST /v1/cefi/orders",
        "DELETE /v1/cefi/orders/799477895858487977",
        "GET /v1/cefi/orders/list",
        "PATCH /v1/cefi/orders",
    ]
    for sent in server.requests:
        assert sent.headers["x-truex-version"] == V2026
        timestamp = sent.headers["x-truex-auth-timestamp"]
        assert timestamp == str(int(T0))
        path = sent.url.raw_path.split(b"?")[0].decode()
        assert sent.headers["x-truex-auth-signature"] == sign(
            SECRET, timestamp, sent.method, path, sent.content
        )
    assert server.bad_signatures == []
    assert server.body(0) == {
        "external_id": "abc-1",
        "info": {
            "client_id": CID,
            "instrument_id": INSTRUMENT,
            "qty": "0.01",
            "price": "75000.50",
            "side": "BUY",
            "type": "LIMIT",
        },
    }
    assert server.requests[1].content == b""


def test_a_wrong_secret_is_caught_by_the_mock(h: Harness, server: Server) -> None:
    # The signature check of the mock exchange is real: a client with another secret is refused.
    client = h.make(api_secret="another-secret")
    with pytest.raises(AuthenticationError):
        h.run(lambda c: c.orders.cancel(ref_id="1"), client)
    assert len(server.bad_signatures) == 1


def test_version_header_default_and_overrides(h: Harness, server: Server) -> None:
    server.default = one(order())
    h.run(lambda c: c.orders.cancel(ref_id="1"))
    pinned = h.make(api_version=V2024)
    server.default = respond(200, order())  # v2024: raw object
    h.run(lambda c: c.orders.cancel(ref_id="1"), pinned)
    h.run(lambda c: c.orders.cancel(ref_id="1"), h.client.with_options(api_version=ApiVersion.V2024_01_01))
    h.run(lambda c: c.orders.cancel(ref_id="1", x_truex_version=ApiVersion.V2024_01_01))
    server.default = one(order())
    h.run(lambda c: c.orders.cancel(ref_id="1", x_truex_version=ApiVersion.V2026_01_23), pinned)
    sent = [r.headers.get_list("x-truex-version") for r in server.requests]
    assert sent == [[V2026], [V2024], [V2024], [V2024], [V2026]]


def test_public_requests_carry_the_version_too(h: Harness, server: Server) -> None:
    anonymous = h.make(credentials=False)
    server.queue(one(HEALTH))
    h.run(lambda c: c.service.health(), anonymous)
    assert server.requests[0].headers["x-truex-version"] == V2026


# --- the normaliser: v2024 bodies and errors ------------------------------------------------------

# (call, v2026 answer, v2024 raw answer)
NORMALISED: list[tuple[str, Callable[[Any], Any], Any, Any]] = [
    (
        "create",
        lambda c: c.orders.create(info=new_order(), external_id="ext-1"),
        {"data": order()},
        order(),
    ),
    ("cancel", lambda c: c.orders.cancel(ref_id="ext-1"), {"data": order()}, [order()]),
    (
        "status",
        lambda c: c.orders.status(ref_id="ext-1"),
        {"data": [order()], "pagination": {"size": 1, "next_cursor": None}},
        [order()],
    ),
    ("health", lambda c: c.service.health(), {"data": HEALTH}, HEALTH),
    ("transfer", lambda c: c.transfers.create(request=transfer_new()), {"data": TRANSFER}, TRANSFER),
]


@pytest.mark.parametrize(("name", "call", "v2026", "v2024"), NORMALISED, ids=[n[0] for n in NORMALISED])
def test_v2024_raw_bodies_parse_like_v2026_envelopes(
    h: Harness, server: Server, name: str, call: Callable[[Any], Any], v2026: Any, v2024: Any
) -> None:
    server.queue(respond(200, v2026))
    modern = h.run(call)
    server.queue(respond(200, v2024))
    legacy = h.run(call, h.make(api_version=V2024))
    assert type(legacy) is type(modern)
    assert legacy == modern


def test_v2024_list_becomes_the_same_items(h: Harness, server: Server) -> None:
    server.queue(page([order(1), order(2)]))
    modern = h.items(lambda c: c.orders.active())
    server.queue(respond(200, [order(1), order(2)]))
    legacy = h.items(lambda c: c.orders.active(), h.make(api_version=V2024))
    assert all(isinstance(o, Order) for o in legacy)
    assert legacy == modern


def test_concurrent_calls_are_normalised_each_for_its_own_operation(h: Harness, server: Server) -> None:
    # The operation being sent travels in a context variable: concurrent calls (threads, tasks) must
    # not see each other's, or a v2024 `[order]` would be unwrapped for the wrong one.
    server.default = lambda request: respond(200, [order()])
    client = h.make(api_version=V2024)
    calls = [lambda c: c.orders.cancel(ref_id="1"), lambda c: c.orders.status(ref_id="1")] * 8
    if h.loop is not None:

        async def together() -> list[Any]:
            return list(await asyncio.gather(*(call(client) for call in calls)))

        results = h.loop.run_until_complete(together())
    else:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda call: call(client), calls))
    assert [type(r).__name__ for r in results] == ["Order", "list"] * 8
    assert len(server.requests) == 16


STATUS_ERRORS = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (408, RequestTimeoutError),
    (409, ConflictError),
    (415, UnsupportedMediaTypeError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
]


@pytest.mark.parametrize("wrapped", [True, False], ids=["v2026-error-envelope", "v2024-top-level"])
@pytest.mark.parametrize(("status", "cls"), STATUS_ERRORS, ids=[str(s) for s, _ in STATUS_ERRORS])
def test_every_non_2xx_becomes_its_typed_error(
    h: Harness, server: Server, status: int, cls: type[APIStatusError], wrapped: bool
) -> None:
    body = {
        "type": "https://truex.co/problems/x",
        "title": "Something",
        "status": status,
        "detail": "order 42 says no",
        "instance": "/v1/cefi/orders/status/42",
        "extensions": {"reason": "because"},
    }
    server.queue(
        respond(
            status,
            {"error": body} if wrapped else body,
            headers={"x-request-id": "req-123"},
            content_type="application/problem+json",
        )
    )
    client = h.make(max_retries=0)
    with pytest.raises(cls) as info:
        h.run(lambda c: c.orders.status(ref_id="42"), client)
    err = info.value
    assert type(err) is cls
    assert (err.status_code, err.request_id, err.method, err.url) == (
        status,
        "req-123",
        "GET",
        "/v1/cefi/orders/status/42",
    )
    assert err.problem is not None
    assert (err.problem.type, err.problem.title, err.problem.detail, err.problem.instance) == (
        "https://truex.co/problems/x",
        "Something",
        "order 42 says no",
        "/v1/cefi/orders/status/42",
    )
    assert err.problem.extensions == {"reason": "because"}
    assert "order 42 says no" in str(err) and "req-123" in str(err)
    assert len(server.requests) == 1


def test_an_html_502_is_kept_as_text(h: Harness, server: Server) -> None:
    html = (
        b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    )
    server.queue(respond(502, content=html, content_type="text/html", headers={"x-request-id": "edge-1"}))
    with pytest.raises(InternalServerError) as info:
        h.run(lambda c: c.orders.status(ref_id="42"), h.make(max_retries=0))
    assert info.value.problem is None
    assert info.value.body_text == html.decode()
    assert info.value.request_id == "edge-1"
    assert "502 Bad Gateway" in str(info.value) and "<h1>" not in str(info.value)


def test_a_401_about_the_timestamp_carries_the_measured_clock_offset(h: Harness, server: Server) -> None:
    server_time = datetime.fromtimestamp(T0 + 42, tz=UTC)
    server.queue(
        problem(401, "timestamp is too old", headers={"date": format_datetime(server_time, usegmt=True)})
    )
    with pytest.raises(TimestampSkewError) as info:
        h.run(lambda c: c.orders.cancel(ref_id="1"))
    assert info.value.offset == pytest.approx(42.0)
    assert h.client.clock_offset == pytest.approx(42.0)
    assert "42.0 s behind" in str(info.value)
    assert isinstance(info.value, AuthenticationError)


def test_a_401_about_something_else_is_not_a_skew_error(h: Harness, server: Server) -> None:
    server.queue(problem(401, "unknown API key"))
    with pytest.raises(AuthenticationError) as info:
        h.run(lambda c: c.orders.cancel(ref_id="1"))
    assert type(info.value) is AuthenticationError


def test_clock_skew_correction_uses_the_date_header(h: Harness, server: Server) -> None:
    server_time = datetime.fromtimestamp(T0 + 42, tz=UTC)
    date = format_datetime(server_time, usegmt=True)
    client = h.make(correct_clock_skew=True)
    server.queue(problem(401, "timestamp is too old", headers={"date": date}), one(order()))
    with pytest.raises(TimestampSkewError):
        h.run(lambda c: c.orders.cancel(ref_id="1"), client)
    h.run(lambda c: c.orders.cancel(ref_id="1"), client)
    assert [r.headers["x-truex-auth-timestamp"] for r in server.requests] == [str(int(T0)), str(int(T0 + 42))]
    assert server.bad_signatures == []


# --- deprecation ----------------------------------------------------------------------------------


def test_a_deprecated_operation_warns_before_sending(h: Harness, server: Server) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruexDeprecationWarning)
        with pytest.raises(TruexDeprecationWarning, match="POST /api/v1/order is deprecated"):
            h.run(lambda c: c.orders.create_deprecated(info=new_order()))
    assert server.requests == []  # the warning came first: nothing was sent


def test_a_deprecated_operation_warns_even_when_the_server_fails(h: Harness, server: Server) -> None:
    server.queue(problem(500, "boom"))
    with pytest.warns(TruexDeprecationWarning) as record, pytest.raises(InternalServerError):
        h.run(lambda c: c.orders.create_deprecated(info=new_order()))
    assert len(record) == 1
    message = str(record[0].message)
    assert "POST /api/v1/order is deprecated" in message
    assert "POST /v1/cefi/orders" in message and "create" in message  # its replacement
    assert issubclass(record[0].category, FutureWarning)
    assert record[0].filename == __file__  # points at the caller, not at the SDK
    assert server.paths() == ["POST /api/v1/order"]


def test_a_deprecated_list_operation_warns_when_called(h: Harness, server: Server) -> None:
    server.queue(page([order()]))
    with pytest.warns(
        TruexDeprecationWarning, match=r"GET /api/v1/order/active .*GET /v1/cefi/orders/active"
    ):
        paginator = h.client.orders.active_deprecated()
    assert server.requests == []
    assert len(h.items(lambda c: paginator)) == 1


DEPRECATION_HEADERS = {
    "deprecation": "@1767225600",
    "sunset": "Wed, 05 Aug 2026 00:00:00 GMT",
    "link": '</api/v1/orders/active>; rel="successor-version"',
}


def test_deprecation_headers_warn_once_per_method_and_path(h: Harness, server: Server) -> None:
    server.default = page([order()], headers=DEPRECATION_HEADERS)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        h.items(lambda c: c.orders.active())
        h.items(lambda c: c.orders.active())
        h.items(lambda c: c.orders.active(id="5"))
        server.default = one(order(), headers=DEPRECATION_HEADERS)
        h.run(lambda c: c.orders.cancel(ref_id="1"))
        h.run(lambda c: c.orders.cancel(ref_id="2"))  # another URL, the same method + path template
    ours = [w for w in record if issubclass(w.category, TruexDeprecationWarning)]
    assert [str(w.message).split(" is ")[0] for w in ours] == [
        "GET /v1/cefi/orders/active",
        "DELETE /v1/cefi/orders/{ref_id}",
    ]
    assert "since 2026-01-01" in str(ours[0].message)
    assert "removed on 2026-08-05" in str(ours[0].message)
    assert "use /api/v1/orders/active instead" in str(ours[0].message)
    assert all(w.filename == __file__ for w in ours), [w.filename for w in ours]


def test_raw_response_shows_status_headers_request_id_and_deprecation(h: Harness, server: Server) -> None:
    server.queue(one(order(), headers={"x-request-id": "req-9", **DEPRECATION_HEADERS}))
    with pytest.warns(TruexDeprecationWarning):
        raw = h.run(lambda c: c.orders.with_raw_response.create(info=new_order(), external_id="ext-1"))
    assert isinstance(raw, RawResponse)
    assert (raw.status_code, raw.request_id, raw.headers["sunset"]) == (
        200,
        "req-9",
        "Wed, 05 Aug 2026 00:00:00 GMT",
    )
    assert raw.deprecation is not None and raw.deprecation.deprecated
    assert raw.deprecation.sunset == datetime(2026, 8, 5, tzinfo=UTC)
    assert raw.deprecation.links == {"successor-version": "/api/v1/orders/active"}
    parsed = raw.parse()
    assert isinstance(parsed, Order) and parsed.id == order()["id"]


def test_raw_response_keeps_repeated_headers_and_is_built_once(h: Harness, server: Server) -> None:
    body = json.dumps({"data": order()}).encode()
    headers = [("content-type", "application/json"), ("x-request-id", "r9"), ("link", "<a>"), ("link", "<b>")]
    server.queue(httpx.Response(200, content=body, headers=headers))
    client = h.make()
    assert client.orders.with_raw_response is client.orders.with_raw_response  # built once per resource
    raw = h.run(lambda c: c.orders.with_raw_response.cancel(ref_id="1"), client)
    assert isinstance(raw, APIResponse) and RawResponse is APIResponse
    assert raw.headers.get_list("link") == ["<a>", "<b>"]
    assert (raw.status_code, raw.request_id, raw.json()) == (200, "r9", {"data": order()})
    assert isinstance(raw.parse(), Order) and raw.parse().id == order()["id"]


def test_raw_response_of_a_list_gives_the_paginator(h: Harness, server: Server) -> None:
    server.queue(page([order(1)], "c2", headers={"x-request-id": "p1"}), page([order(2)], None))
    raw = h.run(lambda c: c.orders.with_raw_response.active(size=1))
    assert (raw.status_code, raw.request_id, raw.deprecation) == (200, "p1", None)
    assert len(server.requests) == 1
    assert [o.id for o in h.items(lambda c: raw.parse())] == [order(1)["id"], order(2)["id"]]


# --- pagination -----------------------------------------------------------------------------------


def test_cursor_pages_keep_the_filters(h: Harness, server: Server) -> None:
    server.queue(
        page([order(1), order(2)], "c2"),
        page([order(3), order(4)], "c3"),
        page([order(5)], None),
    )
    got = h.items(lambda c: c.orders.list(query="side=BUY", size=2))
    assert [o.id for o in got] == [order(n)["id"] for n in range(1, 6)]
    assert [server.query(i) for i in range(3)] == [
        {"query": "side=BUY", "size": "2"},
        {"query": "side=BUY", "size": "2", "cursor": "c2"},
        {"query": "side=BUY", "size": "2", "cursor": "c3"},
    ]
    assert all(r.url.path == "/v1/cefi/orders/list" for r in server.requests)


def test_a_cursor_page_drops_the_starting_offset(h: Harness, server: Server) -> None:
    # The exchange refuses skip next to cursor (400): the offset applies to the first page only.
    server.queue(page([order(1)], "c2"), page([order(2)], None))
    h.items(lambda c: c.orders.list(skip=4, size=1))
    assert [server.query(i) for i in range(2)] == [{"skip": "4", "size": "1"}, {"cursor": "c2", "size": "1"}]


def test_offset_pages_in_v2024(h: Harness, server: Server) -> None:
    server.queue(
        respond(200, [order(1), order(2)]),
        respond(200, [order(3), order(4)]),
        respond(200, [order(5)]),
    )
    client = h.make(api_version=V2024)
    got = h.items(lambda c: c.orders.list(query="side=BUY", size=2), client)
    assert [o.id for o in got] == [order(n)["id"] for n in range(1, 6)]
    assert [server.query(i) for i in range(3)] == [
        {"query": "side=BUY", "size": "2"},
        {"query": "side=BUY", "size": "2", "skip": "2"},
        {"query": "side=BUY", "size": "2", "skip": "4"},
    ]


def test_offset_pages_with_a_per_call_version(h: Harness, server: Server) -> None:
    server.queue(respond(200, [order(1)]), respond(200, []))
    got = h.items(lambda c: c.orders.list(size=1, x_truex_version=ApiVersion.V2024_01_01))
    assert len(got) == 1
    assert [server.query(i) for i in range(2)] == [{"size": "1"}, {"size": "1", "skip": "1"}]
    assert {r.headers["x-truex-version"] for r in server.requests} == {V2024}


def test_offset_pages_stop_on_an_empty_page(h: Harness, server: Server) -> None:
    server.queue(respond(200, [order(1), order(2)]), respond(200, []))
    got = h.items(lambda c: c.orders.list(size=2), h.make(api_version=V2024))
    assert len(got) == 2
    assert [server.query(i).get("skip") for i in range(2)] == [None, "2"]


def test_cursor_pages_stop_on_an_empty_page(h: Harness, server: Server) -> None:
    server.queue(page([order(1)], "c2"), page([], "c3"))
    got = h.items(lambda c: c.orders.active(size=1))
    assert len(got) == 1
    assert len(server.requests) == 2


def test_pages_iterates_pages(h: Harness, server: Server) -> None:
    server.queue(page([order(1), order(2)], "c2"), page([order(3)], None))
    pages = h.pages(lambda c: c.orders.active(size=2))
    assert [(len(p.items), p.next_cursor) for p in pages] == [(2, "c2"), (1, None)]
    assert all(isinstance(p, Page) for p in pages)
    assert int(pages[0].response.status_code) == 200


def test_max_items_stops_early(h: Harness, server: Server) -> None:
    server.default = page([order(1), order(2)], "next")
    server.queue(page([order(1), order(2)], "c2"), page([order(3), order(4)], "c3"))
    got = h.items(lambda c: c.orders.active(size=2, max_items=3))
    assert len(got) == 3
    assert len(server.requests) == 2  # no page fetched beyond the one holding the third item
    assert h.items(lambda c: c.orders.active(size=2, max_items=0)) == []
    assert len(server.requests) == 2


def test_a_repeated_cursor_raises(h: Harness, server: Server) -> None:
    server.queue(page([order(1)], "c2"), page([order(2)], "c3"), page([order(3)], "c2"))
    with pytest.raises(PaginationError, match="c2"):
        h.items(lambda c: c.orders.active(size=1))
    assert len(server.requests) == 3


def test_the_starting_cursor_counts_as_seen(h: Harness, server: Server) -> None:
    server.queue(page([order(1)], "c1"))
    with pytest.raises(PaginationError, match="c1"):
        h.items(lambda c: c.orders.active(cursor="c1", size=1))
    assert len(server.requests) == 1  # the same page is not fetched (and yielded) twice


def test_the_first_page_alone(h: Harness, server: Server) -> None:
    server.queue(page([order(1), order(2)], "c2"))
    first = h.first_page(lambda c: c.orders.active(size=2))
    assert isinstance(first, Page)
    assert [o.id for o in first.items] == [order(1)["id"], order(2)["id"]]
    assert first.next_cursor == "c2"
    assert len(server.requests) == 1


async def test_await_on_the_async_list_gives_the_first_page() -> None:
    server = Server()
    server.queue(page([order(1)], "c2"))
    async with AsyncTruex(
        api_key=KEY, api_secret=SECRET, client_id=CID, environ={}, transport=server.transport
    ) as client:
        first = await client.orders.list()
    assert [o.id for o in first.items] == [order(1)["id"]]
    assert len(server.requests) == 1


# --- retries --------------------------------------------------------------------------------------

RETRIED: list[Reply] = [
    problem(408),
    problem(429),
    problem(502),
    problem(503),
    respond(504, content=b"gateway timeout", content_type="text/plain"),
    httpx.ConnectError("connection refused"),
    httpx.ReadTimeout("read timed out"),
]
RETRIED_IDS = ["408", "429", "502", "503", "504", "connect", "timeout"]
# (call, its success answer)
IDEMPOTENT: list[tuple[Callable[[Any], Any], httpx.Response]] = [
    (lambda c: c.orders.status(ref_id="1"), page([order()])),
    (lambda c: c.orders.active(), page([order()])),
    (lambda c: c.orders.cancel(ref_id="1"), one(order())),
    (lambda c: c.orders.create(info=new_order()), one(order())),
]


@pytest.mark.parametrize("failure", RETRIED, ids=RETRIED_IDS)
@pytest.mark.parametrize(("call", "ok"), IDEMPOTENT, ids=["GET", "GET-list", "DELETE", "POST-create"])
def test_idempotent_calls_are_retried_with_backoff(
    h: Harness, server: Server, failure: Reply, call: Callable[[Any], Any], ok: httpx.Response
) -> None:
    server.queue(failure, failure, ok)
    h.do(call)
    assert len(server.requests) == 3
    assert len({r.url.path for r in server.requests}) == 1
    assert h.time.sleeps == [0.5, 1.0]


def test_retries_give_up_after_max_retries(h: Harness, server: Server) -> None:
    server.default = problem(503)
    with pytest.raises(InternalServerError):
        h.run(lambda c: c.orders.cancel(ref_id="1"))
    assert len(server.requests) == 3  # the default: 2 retries
    assert h.time.sleeps == [0.5, 1.0]


def test_default_backoff_has_jitter_within_bounds(h: Harness, server: Server) -> None:
    server.default = problem(503)
    with pytest.raises(InternalServerError):
        h.run(lambda c: c.orders.cancel(ref_id="1"), h.make(retry_policy=RetryPolicy()))
    first, second = h.time.sleeps
    assert 0.375 <= first <= 0.5 and 0.75 <= second <= 1.0


def test_500_is_not_retried(h: Harness, server: Server) -> None:
    server.queue(problem(500))
    with pytest.raises(InternalServerError):
        h.run(lambda c: c.orders.cancel(ref_id="1"))
    assert len(server.requests) == 1 and h.time.sleeps == []


def test_retry_after_in_seconds_is_honoured(h: Harness, server: Server) -> None:
    server.queue(problem(429, headers={"retry-after": "3"}), one(order()))
    h.run(lambda c: c.orders.cancel(ref_id="1"))
    assert h.time.sleeps == [3.0]


def test_retry_after_as_an_http_date_is_honoured(h: Harness, server: Server) -> None:
    when = format_datetime(datetime.fromtimestamp(T0 + 7, tz=UTC), usegmt=True)
    server.queue(problem(503, headers={"retry-after": when}), one(order()))
    h.run(lambda c: c.orders.cancel(ref_id="1"))
    assert h.time.sleeps == [7.0]


def test_a_retry_after_above_the_cap_is_not_retried(h: Harness, server: Server) -> None:
    server.queue(problem(429, headers={"retry-after": "61"}))
    with pytest.raises(RateLimitError) as info:
        h.run(lambda c: c.orders.cancel(ref_id="1"))
    assert info.value.headers["retry-after"] == "61"
    assert len(server.requests) == 1 and h.time.sleeps == []


def test_the_total_deadline_bounds_the_retries(h: Harness, server: Server) -> None:
    policy = RetryPolicy(
        max_retries=10, initial_backoff=1.0, max_backoff=1.0, jitter=(1.0, 1.0), total_deadline=2.5
    )
    server.default = problem(503)
    with pytest.raises(InternalServerError):
        h.run(lambda c: c.orders.cancel(ref_id="1"), h.make(retry_policy=policy))
    # Fails at t=0 and t=1 and retries; at t=2 another second would pass the 2.5 s deadline.
    assert h.time.sleeps == [1.0, 1.0]
    assert len(server.requests) == 3


def test_max_retries_per_client_and_per_with_options(h: Harness, server: Server) -> None:
    server.default = problem(503)
    client = h.make(max_retries=1)
    for target, attempts in [
        (client, 2),
        (client.with_options(max_retries=0), 1),
        (client.with_options(max_retries=4), 5),
    ]:
        server.requests.clear()
        with pytest.raises(InternalServerError):
            h.run(lambda c: c.orders.cancel(ref_id="1"), target)
        assert len(server.requests) == attempts


def test_create_order_is_retried_with_the_same_generated_external_id(h: Harness, server: Server) -> None:
    server.queue(
        problem(503),
        httpx.ReadTimeout("lost"),
        lambda r: one(order(external_id=json.loads(r.content)["external_id"])),
    )
    created = h.run(lambda c: c.orders.create(info=new_order()))
    ids = [server.body(i)["external_id"] for i in range(3)]
    assert len(set(ids)) == 1 and UUID4.match(ids[0])
    assert created.external_id == ids[0]
    assert server.bad_signatures == []

    server.requests.clear()
    server.queue(one(order()))
    h.run(lambda c: c.orders.create(info=new_order()))
    assert server.body(0)["external_id"] != ids[0]  # a fresh key per call, not per client


def test_create_order_keeps_the_callers_external_id_on_every_attempt(h: Harness, server: Server) -> None:
    server.queue(problem(502), one(order()))
    h.run(lambda c: c.orders.create(info=new_order(), external_id="mine-1"))
    assert [server.body(i)["external_id"] for i in range(2)] == ["mine-1", "mine-1"]


@pytest.mark.parametrize(
    "failure",
    [
        problem(503),
        problem(429, headers={"retry-after": "1"}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("lost"),
    ],
    ids=["503", "429", "connect", "timeout"],
)
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.orders.modify(id="1", info=modify_info()),
        lambda c: c.orders.modify_deprecated(id="1", info=modify_info()),
        lambda c: c.transfers.create(request=transfer_new()),
        lambda c: c.transfers.create_deprecated(request=transfer_new()),
    ],
    ids=["modify", "modify_deprecated", "transfer", "transfer_deprecated"],
)
def test_modify_and_transfers_are_never_retried(
    h: Harness, server: Server, failure: Any, call: Callable[[Any], Any]
) -> None:
    server.queue(failure)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruexDeprecationWarning)
        with pytest.raises((APIStatusError, APIConnectionError)):
            h.run(call)
    assert len(server.requests) == 1 and h.time.sleeps == []


def test_each_attempt_is_signed_afresh(h: Harness, server: Server) -> None:
    policy = RetryPolicy(initial_backoff=1.0, jitter=(1.0, 1.0))
    server.queue(problem(503), problem(503), one(order()))
    h.run(lambda c: c.orders.create(info=new_order(), external_id="abc"), h.make(retry_policy=policy))
    stamps = [r.headers["x-truex-auth-timestamp"] for r in server.requests]
    assert stamps == [str(int(T0)), str(int(T0 + 1)), str(int(T0 + 3))]
    assert len({r.headers["x-truex-auth-signature"] for r in server.requests}) == 3
    assert server.bad_signatures == []


def test_a_timeout_is_an_api_timeout_error(h: Harness, server: Server) -> None:
    server.default = httpx.ReadTimeout("slow")
    with pytest.raises(APITimeoutError) as info:
        h.run(lambda c: c.orders.cancel(ref_id="1"))
    assert (info.value.method, info.value.url) == ("DELETE", "/v1/cefi/orders/1")


# --- money ----------------------------------------------------------------------------------------


def test_decimals_in_and_out(h: Harness, server: Server) -> None:
    server.queue(one(order(leaves_qty="0.00000001", executed_vwap="75000.50000000")))
    created = h.run(
        lambda c: c.orders.create(
            info=new_order(qty=Decimal("1E-8"), price=Decimal("75000.50000000")), external_id="e"
        )
    )
    assert server.body()["info"]["qty"] == "0.00000001"
    assert server.body()["info"]["price"] == "75000.50000000"
    assert isinstance(created.leaves_qty, Decimal) and created.leaves_qty == Decimal("0.00000001")
    assert str(created.executed_vwap) == "75000.50000000"
    assert isinstance(created.order_info.price, Decimal)


def _echo(request: httpx.Request) -> httpx.Response:
    """Answer a create with an order echoing the request's money fields (as wire strings)."""
    info = json.loads(request.content)["info"]
    return one(
        order(
            order_info={**order()["order_info"], "qty": info["qty"], "price": info["price"]},
            leaves_qty=info["qty"],
        )
    )


CANONICAL_DECIMAL = st.from_regex(r"\A-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,18})?\Z")


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(qty=CANONICAL_DECIMAL, price=CANONICAL_DECIMAL)
def test_decimal_wire_strings_round_trip(mode: str, qty: str, price: str) -> None:
    server = Server()
    server.default = _echo
    harness = Harness(mode, server)
    try:
        created = harness.run(
            lambda c: c.orders.create(info=new_order(qty=Decimal(qty), price=Decimal(price)), external_id="e")
        )
    finally:
        harness.shutdown()
    assert server.body()["info"]["qty"] == qty and server.body()["info"]["price"] == price
    assert created.order_info.qty == Decimal(qty) and created.leaves_qty == Decimal(qty)
    # The parsed value gives back exactly the wire string (trailing zeros and all).
    assert format(created.order_info.qty, "f") == qty
    assert format(created.order_info.price, "f") == price


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.orders.create(info=new_order(qty=0.01)), "info.qty"),
        (lambda c: c.orders.create(info=new_order(price=75000.5)), "info.price"),
        (lambda c: c.orders.modify(id="1", info=modify_info(new_price=1.5)), "info.new_price"),
        (lambda c: c.transfers.create(request=transfer_new(amount=10.0)), "request.amount"),
        (lambda c: c.market.compute_quote(**quote_args(qty=1.0)), "qty"),
    ],
    ids=["qty", "price", "new_price", "amount", "quote"],
)
def test_a_float_is_refused_before_sending(
    h: Harness, server: Server, call: Callable[[Any], Any], field: str
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        h.run(call)
    assert info.value.field == field
    assert "Decimal" in info.value.rule and "float" in info.value.rule
    assert server.requests == []


@pytest.mark.parametrize(
    ("call", "field", "rule"),
    [
        (
            lambda c: c.orders.create(info=new_order(side="buy")),
            "info.side",
            "must be a Side (one of BUY, SELL), not str",
        ),
        (
            lambda c: c.orders.create(info=new_order(exec_inst_flags=["ALO"])),
            "info.exec_inst_flags[0]",
            "one of ALO",
        ),
        (
            lambda c: c.transfers.create(request=transfer_new(platform="CARD")),
            "request.platform",
            "TransferPlatform",
        ),
    ],
    ids=["side", "flags", "platform"],
)
def test_a_string_for_an_enum_field_is_refused_before_sending(
    h: Harness, server: Server, call: Callable[[Any], Any], field: str, rule: str
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        h.run(call)
    assert info.value.field == field
    assert rule in info.value.rule
    assert server.requests == []


# --- bad input is refused before sending ----------------------------------------------------------

BAD_INPUT: list[tuple[str, Callable[[Any], Any], str, str]] = [
    ("client_id 0", lambda c: c.balances.list(client_id="0"), "client_id", "pattern"),
    ("size 101", lambda c: c.orders.list(size=101), "size", "<= 100"),
    ("size 0", lambda c: c.orders.active(size=0), "size", ">= 1"),
    ("skip -1", lambda c: c.orders.list(skip=-1), "skip", ">= 0"),
    (
        "external_id 19",
        lambda c: c.orders.create(info=new_order(), external_id="a" * 19),
        "external_id",
        "pattern",
    ),
    (
        "external_id space",
        lambda c: c.orders.create(info=new_order(), external_id="a b"),
        "external_id",
        "pattern",
    ),
    (
        "modify without id",
        lambda c: c.orders.modify(info=modify_info()),
        "body",
        "needs one of id, external_id",
    ),
    ("query too long", lambda c: c.orders.list(query="x" * 4097), "query", "at most 4096"),
    (
        "instrument_id 0",
        lambda c: c.orders.create(info=new_order(instrument_id="01")),
        "info.instrument_id",
        "pattern",
    ),
    ("ref_id too long", lambda c: c.orders.cancel(ref_id="1" * 37), "ref_id", "at most 36"),
    (
        "id_type enum",
        lambda c: c.orders.cancel(ref_id="1", id_type="bogus"),
        "id_type",
        "one of client, exchange",
    ),
    (
        "version enum",
        lambda c: c.orders.cancel(ref_id="1", x_truex_version="v1999"),
        "x_truex_version",
        "one of",
    ),
    ("timestamp required", lambda c: c.orders.trades(timestamp=None), "timestamp", "required"),
]


@pytest.mark.parametrize(("name", "call", "field", "rule"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_is_refused_before_sending(
    h: Harness, server: Server, name: str, call: Callable[[Any], Any], field: str, rule: str
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        h.do(call)
    assert isinstance(info.value, ValueError)
    assert info.value.field == field
    assert rule in info.value.rule
    assert str(info.value).startswith(f"{field}: ")
    assert server.requests == []


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.orders.create(info=new_order()),
        lambda c: c.orders.cancel(ref_id="1"),
        lambda c: c.orders.list(),
        lambda c: c.balances.list(),
        lambda c: c.transfers.create(request=transfer_new()),
    ],
    ids=["create", "cancel", "list", "balances", "transfer"],
)
def test_authenticated_operations_need_credentials(
    h: Harness, server: Server, call: Callable[[Any], Any]
) -> None:
    anonymous = h.make(credentials=False)
    with pytest.raises(CredentialsRequiredError, match="TRUEX_API_KEY"):
        h.do(call, anonymous)
    assert server.requests == []


def test_public_operations_work_without_credentials(h: Harness, server: Server) -> None:
    anonymous = h.make(credentials=False)
    assert anonymous.client_id is None
    server.queue(one(HEALTH), page([{"id": "1", "status": "ACTIVE", "fields": {"name": "BTC"}}]))
    assert h.run(lambda c: c.service.health(), anonymous).service == "rest-gateway"
    assert [a.fields.name for a in h.items(lambda c: c.assets.list(), anonymous)] == ["BTC"]
    for sent in server.requests:
        assert not [name for name in sent.headers if name.startswith("x-truex-auth")]


# --- logging and secrets --------------------------------------------------------------------------


def test_each_request_is_logged_with_its_path_template(
    h: Harness, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="truex")
    server.queue(problem(503, headers={"x-request-id": "r-1"}), one(order(), headers={"x-request-id": "r-2"}))
    h.run(lambda c: c.orders.cancel(ref_id="799477895858487977"))
    records = [r for r in caplog.records if r.name == "truex" and hasattr(r, "path_template")]
    assert [(r.http_method, r.path_template, r.status_code, r.request_id) for r in records] == [  # type: ignore[attr-defined]
        ("DELETE", "/v1/cefi/orders/{ref_id}", 503, "r-1"),
        ("DELETE", "/v1/cefi/orders/{ref_id}", 200, "r-2"),
    ]
    assert all(isinstance(r.elapsed_ms, float) and r.elapsed_ms >= 0 for r in records)  # type: ignore[attr-defined]
    assert all("799477895858487977" not in r.getMessage() for r in records)
    assert "DELETE /v1/cefi/orders/{ref_id} -> 200 (request id r-2" in records[-1].getMessage()


def test_a_failed_call_is_logged_with_its_status(
    h: Harness, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="truex")
    server.queue(problem(404, headers={"x-request-id": "r-404"}), respond(200, content=b"not json"))
    with pytest.raises(NotFoundError):
        h.run(lambda c: c.orders.cancel(ref_id="1"))
    with pytest.raises(APIResponseValidationError):
        h.run(lambda c: c.orders.cancel(ref_id="1"))
    records = [r for r in caplog.records if hasattr(r, "path_template")]
    assert [(r.status_code, r.request_id) for r in records] == [(404, "r-404"), (200, None)]  # type: ignore[attr-defined]


def test_a_connection_failure_is_logged_without_status(
    h: Harness, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="truex")
    server.queue(httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError):
        h.run(lambda c: c.orders.modify(id="1", info=modify_info()))
    (record,) = [r for r in caplog.records if hasattr(r, "path_template")]
    assert record.status_code is None and "no response" in record.getMessage()  # type: ignore[attr-defined]


def test_the_secret_never_leaks(
    mode: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    sentinel = f"SENTINEL-{uuid.uuid4().hex}"
    server = Server(secret=sentinel)
    harness = Harness(mode, server)
    seen: list[str] = []
    caplog.set_level(logging.DEBUG)
    environ = {
        "TRUEX_API_KEY": KEY,
        "TRUEX_API_SECRET": sentinel,
        "TRUEX_CLIENT_ID": CID,
        "TRUEX_LOG": "debug",
    }
    try:
        client = harness.make(credentials=False, environ=environ)
        seen += [repr(client), str(client), repr(client.with_options(max_retries=0)), repr(client._config)]
        seen += [repr(Credentials(KEY, sentinel, CID))]
        server_time = format_datetime(datetime.fromtimestamp(T0 + 99, tz=UTC), usegmt=True)
        server.queue(
            problem(503),  # retried
            one(order(), headers=DEPRECATION_HEADERS),
            problem(404, "no such order"),
            problem(401, "stale timestamp", headers={"date": server_time}),
            httpx.ConnectError("refused"),
            httpx.ConnectError("refused"),
            httpx.ConnectError("refused"),
            respond(200, content=b"garbage"),
        )
        calls: list[Callable[[Any], Any]] = [
            lambda c: c.orders.create_deprecated(info=new_order()),
            lambda c: c.orders.cancel(ref_id="1"),
            lambda c: c.orders.cancel(ref_id="1"),
            lambda c: c.orders.cancel(ref_id="1"),
            lambda c: c.orders.cancel(ref_id="1"),
            lambda c: c.orders.create(info=new_order(qty=0.5)),
        ]
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            for call in calls:
                try:
                    harness.run(call, client)
                except Exception as exc:  # every error's text is checked below
                    seen += [repr(exc), str(exc), repr(getattr(exc, "__cause__", None))]
        seen += [str(w.message) for w in record]
    finally:
        harness.shutdown()
    assert len(server.requests) == 8 and server.bad_signatures == []
    for rec in caplog.records:
        seen += [rec.getMessage(), rec.exc_text or "", repr(rec.__dict__)]
    seen.append(capsys.readouterr().err)
    assert any("/v1/cefi/orders/{ref_id}" in s for s in seen)  # the run was logged ...
    assert "DEBUG" in seen[-1] or "INFO" in seen[-1]  # ... and TRUEX_LOG=debug printed it
    leaks = [s for s in seen if sentinel in s]
    assert leaks == []


# --- responses that do not match the spec ---------------------------------------------------------

GARBAGE = [
    ("html", b"<html>oops</html>"),
    ("missing id", json.dumps({"data": {"status": "ACTIVE"}}).encode()),
    ("null data", b'{"data": null}'),
    ("list for object", b"[1, 2]"),
    ("bad decimal", json.dumps({"data": order(leaves_qty="lots")}).encode()),
    ("number decimal", json.dumps({"data": order(leaves_qty=0.01)}).encode()),
    ("no data", b"{}"),
]


@pytest.mark.parametrize("content", [g[1] for g in GARBAGE], ids=[g[0] for g in GARBAGE])
def test_a_2xx_body_off_the_spec_is_a_validation_error(h: Harness, server: Server, content: bytes) -> None:
    server.queue(respond(200, content=content))
    with pytest.raises(APIResponseValidationError, match="create_order") as info:
        h.run(lambda c: c.orders.create(info=new_order(), external_id="e"))
    assert (info.value.method, info.value.url) == ("POST", "/v1/cefi/orders")
    assert len(server.requests) == 1  # a body that does not parse is not retried


def test_a_list_page_off_the_spec_is_a_validation_error(h: Harness, server: Server) -> None:
    server.queue(respond(200, {"data": [order()]}))  # no pagination
    with pytest.raises(APIResponseValidationError, match="list_active_orders"):
        h.items(lambda c: c.orders.active())


def test_a_degraded_health_503_is_an_answer_not_an_error(h: Harness, server: Server) -> None:
    server.queue(respond(503, {"data": {**HEALTH, "status": "degraded"}}))
    health = h.run(lambda c: c.service.health())
    assert health.status.value == "degraded"
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [
        problem(503, "maintenance"),
        problem(503, "maintenance", wrapped=False),
        respond(503, content=b"<html>down</html>", content_type="text/html"),
    ],
    ids=["v2026-problem", "v2024-problem", "html"],
)
def test_an_error_503_on_health_is_an_error(h: Harness, server: Server, reply: httpx.Response) -> None:
    server.default = reply
    with pytest.raises(InternalServerError) as info:
        h.run(lambda c: c.service.health())
    assert info.value.status_code == 503
    assert len(server.requests) == 3  # retried like any 503 of a GET


def test_a_bug_in_user_code_is_not_mislabelled(h: Harness, server: Server) -> None:
    def broken_clock() -> float:
        raise KeyError("the caller's clock is broken")

    client = h.make(clock=broken_clock)
    with pytest.raises(KeyError, match="clock is broken"):
        h.run(lambda c: c.orders.cancel(ref_id="1"), client)
    assert server.requests == []

    def broken_transport(request: httpx.Request) -> httpx.Response:
        raise ValueError("the caller's transport is broken")

    client = h.make(transport=httpx.MockTransport(broken_transport))
    with pytest.raises(ValueError, match="transport is broken") as info:
        h.run(lambda c: c.orders.cancel(ref_id="1"), client)
    assert not isinstance(info.value, APIResponseValidationError)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["data", "id", "status", "pagination", "x"]), inner, max_size=4)
    ),
    max_leaves=8,
)


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(body=JSON)
def test_any_2xx_body_parses_or_is_a_validation_error(mode: str, body: Any) -> None:
    server = Server()
    server.default = respond(200, body)
    harness = Harness(mode, server)
    try:
        result = harness.run(lambda c: c.orders.cancel(ref_id="1"))
    except APIResponseValidationError as exc:
        assert "cancel_order" in str(exc)
    else:
        assert isinstance(result, Order)
    finally:
        harness.shutdown()


# --- bases and environments (docs v1.0.5: /v1/cefi, the legacy /api/v1) -----------------------------


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("http://exchange.test", "/v1/cefi/health"),
        ("http://exchange.test/", "/v1/cefi/health"),
        ("http://exchange.test/v1/cefi", "/v1/cefi/health"),
        ("http://exchange.test/v1/cefi/", "/v1/cefi/health"),
        ("http://exchange.test/api/v1", "/api/v1/health"),
        ("http://exchange.test/api/v1/", "/api/v1/health"),
        ("http://exchange.test/gateway/v1/cefi", "/gateway/v1/cefi/health"),
    ],
)
def test_a_base_url_is_understood_with_or_without_its_base_and_never_doubled(
    h: Harness, server: Server, given: str, sent: str
) -> None:
    client = h.make(base_url=given)
    server.queue(one(HEALTH))
    h.run(lambda c: c.service.health(), client)
    assert server.requests[0].url.path == sent
    assert client.base_url == "http://exchange.test" + sent.removesuffix("/health")


def test_paths_are_signed_as_sent_under_either_base(h: Harness, server: Server) -> None:
    for base in ("http://exchange.test/v1/cefi", "http://exchange.test/api/v1"):
        server.queue(one(order()))
        h.run(lambda c: c.orders.cancel(ref_id="799477895858487977"), h.make(base_url=base))
    assert server.paths() == [
        "DELETE /v1/cefi/orders/799477895858487977",
        "DELETE /api/v1/orders/799477895858487977",
    ]
    assert server.bad_signatures == []  # the mock re-signs the path it received, base included


def test_signature_vectors_of_both_bases() -> None:
    # FACTS-v105-WS A.2: the v1.0.4 rule over the path as sent, prefix included.
    assert (
        sign("my-secret", 1700000000, "GET", "/api/v1/balances")
        == "dAqHLoKABrri1KMovRuLdM8+u1W10gIEX/RjIrxWqD0="
    )
    assert (
        sign("my-secret", 1700000000, "GET", "/v1/cefi/balances")
        == "W5AFg4IU5+08peSBivRb3XrNlXuoXTmCuBV4cBRmqM8="
    )
    assert (
        sign("my-secret", 1700000000, "DELETE", "/v1/cefi/orders/799477895858487977")
        == "OsgVt31/z7r8x+7u7rbk5ejPnnpwRuIhIYk4EASpwCY="
    )


def test_a_twin_goes_to_the_legacy_base_whatever_the_client_uses(h: Harness, server: Server) -> None:
    server.queue(one(order()), one(order()))
    with pytest.warns(
        TruexDeprecationWarning, match=r"POST /api/v1/order is deprecated; use POST /v1/cefi/orders"
    ):
        h.run(lambda c: c.orders.create_deprecated(info=new_order()))
    h.run(lambda c: c.orders.create(info=new_order()))
    assert server.paths() == ["POST /api/v1/order", "POST /v1/cefi/orders"]
    assert server.bad_signatures == []


@pytest.mark.parametrize(
    ("kwargs", "environ", "expected"),
    [
        ({}, {}, "http://127.0.0.1:8765/v1/cefi"),
        ({"environment": "prod"}, {}, "https://api.truex.co/v1/cefi"),
        ({"environment": "UAT"}, {}, "https://api.uat.truex.co/v1/cefi"),
        ({}, {"TRUEX_ENVIRONMENT": "prod"}, "https://api.truex.co/v1/cefi"),
        ({"environment": "sandbox"}, {"TRUEX_ENVIRONMENT": "prod"}, "http://127.0.0.1:8765/v1/cefi"),
        ({"environment": "prod", "base_url": "http://mine.test"}, {}, "http://mine.test/v1/cefi"),
        (
            {},
            {"TRUEX_ENVIRONMENT": "prod", "TRUEX_BASE_URL": "http://mine.test/api/v1"},
            "http://mine.test/api/v1",
        ),
    ],
)
def test_environments_map_to_the_documented_urls_and_a_base_url_wins(
    h: Harness, kwargs: dict[str, str], environ: dict[str, str], expected: str
) -> None:
    assert h.make(environ=environ, **kwargs).base_url == expected


def test_an_unknown_environment_lists_the_valid_ones(h: Harness) -> None:
    with pytest.raises(
        ValueError, match="'staging' does not exist; valid environments: 'sandbox', 'uat', 'prod'"
    ):
        h.make(environment="staging")
    with pytest.raises(ValueError, match="valid environments"):
        h.make(environ={"TRUEX_ENVIRONMENT": "production"})


@pytest.mark.parametrize(
    "bad", ["127.0.0.1:8765", "api.truex.co/v1/cefi", "ftp://x.test", "http://x.test/v1/cefi?a=1"]
)
def test_a_base_url_that_is_not_an_http_url_is_a_configuration_error(
    h: Harness, server: Server, bad: str
) -> None:
    with pytest.raises(ValueError, match="base_url") as info:
        h.make(base_url=bad)
    if "://" not in bad:
        assert f"did you mean 'http://{bad}'" in str(info.value)
    assert server.requests == []  # refused at construction: nothing sent, nothing retried
