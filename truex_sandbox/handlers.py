"""One handler per operation: read the validated request, call the :class:`~truex_sandbox.engine.Exchange`.

A handler returns the payload only — a ``list`` for list operations, a ``dict`` for single objects — in the
wire shape of the spec's item schemas; :mod:`truex_sandbox.versions` wraps it (or not) and the app cuts
pages. Handlers are keyed by operationId. A deprecated singular operation has no handler of its own: the app
gives it the handler of its ``x-replacement`` twin (after checking the two take the same parameters and
body), so the twins cannot behave differently. ``get_vwap_quote_deprecated`` is the one deprecated
operation with a handler of its own, because its body and answer differ from its replacement's.

Handlers run on the event loop thread, synchronously: the engine is in-memory and fast, and it is the single
writer of all state (it also takes its own lock, for callers on other threads). With a journal, every call
may wait for the disk: the app then runs the handlers outside :data:`ENGINE_FREE` in a worker thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from .auth import Principal
from .engine import Exchange
from .versions import version_list
from .views import wire_order

__all__ = ["ENGINE_FREE", "HANDLERS", "SERVICE_NAME", "USER_ID_OPTIONAL", "Call", "Handler", "wire_order"]

SERVICE_NAME: Final = "truex-sandbox"

#: Operations (by their handler's operationId) that work without the user-id header: client discovery
#: (DECISIONS §11; True Markets' tools call it before they know their client id).
USER_ID_OPTIONAL: Final = frozenset({"list_clients"})

#: Handlers that never call the engine: they answer on the event loop even while the engine waits for a disk.
ENGINE_FREE: Final = frozenset({"get_health", "list_versions"})


@dataclass(slots=True)  # not frozen: a frozen dataclass pays object.__setattr__ per field, per request
class Call:
    """A validated request as a handler sees it."""

    exchange: Exchange
    version: str
    query: Mapping[str, Any]
    path: Mapping[str, Any]
    body: Any
    principal: Principal | None
    #: Unix seconds, from the app's clock.
    now: float

    @property
    def caller(self) -> frozenset[str]:
        """The clients the request may act for: those bound to its API key."""
        if self.principal is None:  # pragma: no cover - public operations never ask
            raise RuntimeError("an authenticated operation ran without a principal")
        return self.principal.client_ids


Handler = Callable[[Call], Any]


# ------------------------------------------------------------------------------------------ service
@functools.lru_cache(maxsize=4)
def _utc_text(second: int) -> str:
    # Cached per second: health checks come in bursts and strftime is the costliest step of the answer.
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def get_health(call: Call) -> dict[str, Any]:
    return {"status": "healthy", "timestamp": _utc_text(int(call.now)), "service": SERVICE_NAME}


def list_versions(call: Call) -> list[dict[str, Any]]:
    return version_list()


# ------------------------------------------------------------------------------- reference data
def list_assets(call: Call) -> list[dict[str, Any]]:
    return call.exchange.list_assets(id=call.query.get("id"), name=call.query.get("name"))


def list_instruments(call: Call) -> list[dict[str, Any]]:
    return call.exchange.list_instruments(id=call.query.get("id"), symbol=call.query.get("symbol"))


# ---------------------------------------------------------------------------------- market data
def list_market_quotes(call: Call) -> list[dict[str, Any]]:
    return call.exchange.market_quotes(instrument_id=call.query.get("instrument_id"))


def list_market_trades(call: Call) -> list[dict[str, Any]]:
    return call.exchange.market_trades(instrument_id=call.query.get("instrument_id"))


def compute_market_quote(call: Call) -> dict[str, Any]:
    body = call.body
    return call.exchange.compute_quote(body["instrument_id"], body["side"], body["qty"], body["qty_unit"])


def get_vwap_quote_deprecated(call: Call) -> dict[str, Any]:
    return call.exchange.vwap_quote(call.body["instrument_id"], call.body["qty"])


# -------------------------------------------------------------------------------------- clients
def list_clients(call: Call) -> list[dict[str, Any]]:
    return call.exchange.list_clients(
        call.caller, id=call.query.get("id"), mnemonic=call.query.get("mnemonic")
    )


def update_client(call: Call) -> dict[str, Any]:
    return call.exchange.update_client(call.caller, call.body)


# --------------------------------------------------------------------------------------- orders
def create_order(call: Call) -> dict[str, Any]:
    return wire_order(call.exchange.create_order(call.caller, call.body))


def modify_order(call: Call) -> dict[str, Any]:
    return wire_order(call.exchange.modify_order(call.caller, call.body))


def cancel_order(call: Call) -> dict[str, Any]:
    return wire_order(
        call.exchange.cancel_order(call.caller, call.path["ref_id"], call.query.get("id_type", "exchange"))
    )


def list_active_orders(call: Call) -> list[dict[str, Any]]:
    return [wire_order(o) for o in call.exchange.active_orders(call.caller, id=call.query.get("id"))]


def list_orders(call: Call) -> list[dict[str, Any]]:
    return [wire_order(o) for o in call.exchange.list_orders(call.caller, query=call.query.get("query"))]


def get_order_status(call: Call) -> list[dict[str, Any]]:
    # A list of one (the v2024_01_01 array, FACTS §4.6 O11). Without id_type the engine tries the exchange
    # id first, then the client order id: a superset of the documented default (exchange).
    return [
        wire_order(call.exchange.order_status(call.caller, call.path["ref_id"], call.query.get("id_type")))
    ]


def list_order_trades(call: Call) -> list[dict[str, Any]]:
    return call.exchange.order_trades(call.caller, timestamp=call.query["timestamp"])


# ------------------------------------------------------------------------------------- balances
def list_balances(call: Call) -> list[dict[str, Any]]:
    query = call.query
    return call.exchange.list_balances(
        call.caller,
        asset_id=query.get("asset_id"),
        asset_name=query.get("asset_name"),
        client_id=query.get("client_id"),
    )


# ------------------------------------------------------------------------------------ transfers
def create_transfer(call: Call) -> dict[str, Any]:
    return call.exchange.create_transfer(call.caller, call.body)


def list_transfers(call: Call) -> list[dict[str, Any]]:
    return call.exchange.list_transfers(call.caller, timestamp=call.query["timestamp"])


def list_active_transfers(call: Call) -> list[dict[str, Any]]:
    return call.exchange.active_transfers(call.caller, transfer_id=call.query.get("transfer_id"))


HANDLERS: Final[Mapping[str, Handler]] = {
    "get_health": get_health,
    "list_versions": list_versions,
    "list_assets": list_assets,
    "list_instruments": list_instruments,
    "list_market_quotes": list_market_quotes,
    "get_vwap_quote_deprecated": get_vwap_quote_deprecated,
    "compute_market_quote": compute_market_quote,
    "list_market_trades": list_market_trades,
    "list_clients": list_clients,
    "update_client": update_client,
    "create_order": create_order,
    "modify_order": modify_order,
    "cancel_order": cancel_order,
    "list_active_orders": list_active_orders,
    "list_orders": list_orders,
    "get_order_status": get_order_status,
    "list_order_trades": list_order_trades,
    "list_balances": list_balances,
    "create_transfer": create_transfer,
    "list_transfers": list_transfers,
    "list_active_transfers": list_active_transfers,
}
