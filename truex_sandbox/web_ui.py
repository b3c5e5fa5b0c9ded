"""The sandbox's web page (``GET /``) and the small JSON API behind it (``/sandbox/ui/...``), sandbox only.

The page (``truex_sandbox/web/``: plain HTML, CSS and ES modules, no build step) takes market data live from
the sandbox's own WebSocket (``SUBSCRIBE_NO_AUTH``: DEPTH, EBBO, TRADE, INSTRUMENT) and polls
``/sandbox/ui/state`` for what is private to the seeded clients (balances, orders, fills, transfers), the
house's quotes and the exchange's invariants. It needs no secret: these endpoints read the engine directly,
as the views render it, and its controls act as a seeded client through the engine's public commands (the
same parsing and rules as the REST API, journaled alike).

Exposure: the routes are served where the sandbox listens (loopback by default). Every request must name
that address in ``Host`` (``localhost`` too), so a page of another site cannot read them through DNS
rebinding. A request that changes state must also come from a loopback peer, carry an ``Origin`` equal to
``http://`` + ``Host`` and a JSON body (a cross-site form cannot send one without a preflight, which is never
answered): a sandbox listening on another interface serves a read-only page to other machines.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Mapping
from decimal import Context, Decimal
from importlib import resources
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .engine import EngineError, Exchange
from .models import fmt

__all__ = ["PAGE_PATH", "UI_PREFIX", "web_routes"]

PAGE_PATH: Final = "/"
UI_PREFIX: Final = "/sandbox/ui"
#: The page's files, by the name under ``/sandbox/ui/``, with their media types.
_ASSETS: Final = {
    "app.js": "text/javascript; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "decimal.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
#: How much history per client the state carries (the page shows the newest; the REST API has the rest).
RECENT: Final = 25
OPEN_SHOWN: Final = 100
#: Exact products of up to three 64-digit wire decimals (as the engine computes fees).
_EXACT: Final = Context(prec=200)
_SECURITY_HEADERS: Final = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
# The page loads only its own files and talks only to its own origin (WebSocket included).
_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _asset(name: str) -> bytes:
    return (resources.files("truex_sandbox") / "web" / name).read_bytes()


def _json(payload: Any, status: int = 200) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Response(body, status, headers=_SECURITY_HEADERS, media_type="application/json")


def _problem(status: int, title: str, detail: str) -> Response:
    payload = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    response = _json(payload, status)
    response.headers["content-type"] = "application/problem+json"
    return response


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _allowed_hosts(request: Request) -> set[str] | None:
    """The ``Host`` values that name this server (None: not served over a socket, nothing to compare)."""
    server = request.scope.get("server")
    if not server or server[1] is None:
        return None
    host, port = str(server[0]), int(server[1])
    named = f"[{host}]" if ":" in host else host
    names = {named}
    if _is_loopback(host):
        names |= {"localhost", "127.0.0.1", "[::1]"}
    hosts = {f"{name}:{port}" for name in names}
    return hosts | names if port == 80 else hosts  # a client leaves the default port out of Host


def _refusal(request: Request, *, mutating: bool) -> Response | None:
    """Why this request is refused (see the module docstring), or None."""
    host = request.headers.get("host", "")
    allowed = _allowed_hosts(request)
    if allowed is not None and host not in allowed:
        return _problem(403, "Forbidden", f"Host {host!r} is not this sandbox's address")
    if not mutating:
        return None
    client = request.scope.get("client")
    if client and not _is_loopback(str(client[0])):
        return _problem(403, "Forbidden", "the page's controls answer loopback clients only")
    if request.headers.get("origin") != f"http://{host}":
        return _problem(403, "Forbidden", "cross-origin request refused: Origin must be this sandbox")
    media = request.headers.get("content-type", "").split(";", 1)[0].strip()
    if media != "application/json":
        return _problem(415, "Unsupported Media Type", "send the body as application/json")
    return None


class WebUi:
    """The page's endpoints over one exchange."""

    def __init__(self, exchange: Exchange, ws_coalesce: float) -> None:
        self.exchange = exchange
        self.ws_coalesce = ws_coalesce
        self.clients = {c.id: c for c in exchange.seed.clients}
        self.house = exchange.seed.market_maker_client_id
        self.fee_client = exchange.seed.fee_client_id
        self._ids = {c.mnemonic: c.id for c in exchange.seed.clients}

    # ------------------------------------------------------------------------------------ reads
    def market(self) -> dict[str, Any]:
        """What the page starts from: instruments, assets, clients, where and how often market data comes."""
        ex = self.exchange
        return {
            "instruments": ex.list_instruments(),
            "assets": ex.list_assets(),
            "clients": [
                {
                    "id": c.id,
                    "mnemonic": c.mnemonic,
                    "role": "house"
                    if c.id == self.house
                    else "fees"
                    if c.id == self.fee_client
                    else "trader",
                }
                for c in self.clients.values()
            ],
            "ws_coalesce": str(self.ws_coalesce),
            "now": str(ex.clock() // 1_000_000_000),
        }

    def trades(self, instrument_id: str) -> list[dict[str, Any]]:
        return self.exchange.market_trades(instrument_id)[:200]

    def state(self) -> dict[str, Any]:
        """One instant of every client's private state, the house's quotes and the invariants."""
        ex = self.exchange
        with ex.consistent():
            clients = {cid: self._client_state(cid) for cid in self.clients}
            problems = ex.check_invariants()
            now = ex.clock()
        house = clients.get(self.house or "", {}).get("open_orders", [])
        return {
            "now": str(now),
            "invariants": {"ok": not problems, "problems": problems},
            "house_quotes": [
                {
                    "instrument_id": o["order_info"]["instrument_id"],
                    "side": o["order_info"]["side"],
                    "price": o["order_info"]["price"],
                    "qty": o["leaves_qty"],
                }
                for o in house
            ],
            "clients": clients,
        }

    def _client_state(self, client_id: str) -> dict[str, Any]:
        ex = self.exchange
        caller = {client_id}
        open_orders = ex.active_orders(caller)
        orders = ex.list_orders(caller)[:RECENT]
        fills = ex.order_trades(caller)
        shown = {o["id"] for o in open_orders[:OPEN_SHOWN]} | {o["id"] for o in orders}
        return {
            "balances": [
                _with_available(row) for row in ex.list_balances(caller, client_id=client_id)[0]["balances"]
            ],
            "open_count": len(open_orders),
            "open_orders": open_orders[:OPEN_SHOWN],
            "orders": orders,
            "fills": fills[:RECENT],
            "fees": _fees_by_order(fills, shown),
            "transfers": ex.list_transfers(caller)[:RECENT],
        }

    # ---------------------------------------------------------------------------------- commands
    def client_id(self, value: Any) -> str:
        """A seeded client by id or mnemonic (the page sends ids; a mnemonic is handy from curl)."""
        text = str(value)
        if text in self.clients:
            return text
        if text in self._ids:
            return self._ids[text]
        raise _UiError(404, f"client: no seeded client {text!r}")

    def create_order(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The create body the REST API takes, acting as ``body["info"]["client_id"]``."""
        info = dict(body.get("info") or {})
        client_id = self.client_id(info.get("client_id"))
        info["client_id"] = client_id
        return self.exchange.create_order({client_id}, {**body, "info": info})

    def cancel_order(self, client: Any, order_id: str) -> dict[str, Any]:
        client_id = self.client_id(client)
        return self.exchange.cancel_order({client_id}, order_id)

    def create_transfer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The transfer body the REST API takes, acting as ``body["request"]["client_id"]``."""
        request = dict(body.get("request") or {})
        client_id = self.client_id(request.get("client_id"))
        request["client_id"] = client_id
        return self.exchange.create_transfer({client_id}, {**body, "request": request})


class _UiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _with_available(row: dict[str, Any]) -> dict[str, Any]:
    """A balance row plus ``available`` (balance less both holds, exactly), which the wire leaves out."""
    held = _EXACT.add(Decimal(row["order_hold"]), Decimal(row["transfer_hold"]))
    return {**row, "available": fmt(_EXACT.subtract(Decimal(row["balance"]), held))}


def _fees_by_order(fills: list[dict[str, Any]], orders: set[str]) -> dict[str, str]:
    """Each order's fees so far, exactly as the engine charged them (price x qty x rate per fill)."""
    fees: dict[str, Decimal] = {}
    for fill in fills:
        order_id = fill["order_id"]
        if order_id in orders:
            fee = _EXACT.multiply(
                _EXACT.multiply(Decimal(fill["trade_price"]), Decimal(fill["trade_qty"])),
                Decimal(fill["trade_fee_rate"]),
            )
            fees[order_id] = _EXACT.add(fees.get(order_id, Decimal(0)), fee)
    return {order_id: fmt(fee) for order_id, fee in fees.items()}


Endpoint = Callable[[Request], Awaitable[Response]]


def _guarded(call: Callable[[Request], Awaitable[Any]], *, mutating: bool = False) -> Endpoint:
    """An endpoint answering ``call``'s result as JSON; refusals and engine errors as problems."""

    async def endpoint(request: Request) -> Response:
        refused = _refusal(request, mutating=mutating)
        if refused is not None:
            return refused
        try:
            return _json(await call(request))
        except EngineError as error:
            return _problem(error.status, error.title, error.detail)
        except _UiError as error:
            return _problem(error.status, "Not Found" if error.status == 404 else "Bad Request", error.detail)

    return endpoint


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise _UiError(400, "body: not JSON") from None
    if not isinstance(body, dict):
        raise _UiError(400, "body: must be a JSON object")
    return body


def web_routes(exchange: Exchange, *, ws_coalesce: float) -> list[BaseRoute]:
    """``GET /`` (the page), its files, and the JSON endpoints under :data:`UI_PREFIX`.

    Engine calls run in a worker thread: with a journal, even a read may write (the lifecycle step).
    """
    ui = WebUi(exchange, ws_coalesce)
    page = _asset("index.html")

    async def index(request: Request) -> Response:
        refused = _refusal(request, mutating=False)
        if refused is not None:
            return refused
        headers = {**_SECURITY_HEADERS, "content-security-policy": _CSP}
        return Response(page, headers=headers, media_type="text/html; charset=utf-8")

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _ASSETS:
            return _problem(404, "Not Found", f"no file {name!r}")
        refused = _refusal(request, mutating=False)
        if refused is not None:
            return refused
        return Response(_asset(name), headers=_SECURITY_HEADERS, media_type=_ASSETS[name])

    async def market(request: Request) -> Any:
        return await run_in_threadpool(ui.market)

    async def state(request: Request) -> Any:
        return await run_in_threadpool(ui.state)

    async def trades(request: Request) -> Any:
        return await run_in_threadpool(ui.trades, request.query_params.get("instrument_id", ""))

    async def create_order(request: Request) -> Any:
        return await run_in_threadpool(ui.create_order, await _body(request))

    async def cancel_order(request: Request) -> Any:
        body = await _body(request)
        return await run_in_threadpool(
            ui.cancel_order, body.get("client_id"), request.path_params["order_id"]
        )

    async def create_transfer(request: Request) -> Any:
        return await run_in_threadpool(ui.create_transfer, await _body(request))

    return [
        Route(PAGE_PATH, index, methods=["GET"], name="web-page"),
        Route(f"{UI_PREFIX}/market", _guarded(market), methods=["GET"]),
        Route(f"{UI_PREFIX}/state", _guarded(state), methods=["GET"]),
        Route(f"{UI_PREFIX}/trades", _guarded(trades), methods=["GET"]),
        Route(f"{UI_PREFIX}/orders", _guarded(create_order, mutating=True), methods=["POST"]),
        Route(
            f"{UI_PREFIX}/orders/{{order_id}}/cancel",
            _guarded(cancel_order, mutating=True),
            methods=["POST"],
        ),
        Route(f"{UI_PREFIX}/transfers", _guarded(create_transfer, mutating=True), methods=["POST"]),
        Route(f"{UI_PREFIX}/{{name}}", asset, methods=["GET"]),
    ]
