"""Requests parsed once, at the boundary, into typed commands: what the HTTP handlers and journal replay share.

A wire body becomes a frozen command (:class:`NewOrder`, :class:`ModifyOrder`, :class:`CancelOrder`,
:class:`UpdateClient`, :class:`NewTransfer`) or a :class:`~truex_sandbox.errors.BadRequest` naming the field
and the rule. Parsing checks what the request says on its own (types, patterns, enums, decimal syntax); what
depends on the exchange's state (is the client bound to the key, does the instrument exist, is the price on
the grid, is there balance) is the engine's to decide. Whether the API key may act for the client named is
checked here, right after the client id (a client is told 403 before any later field's problem). A command carries who asked (``caller``: the client ids
bound to the API key) and, for an order, its idempotency key (``client_id``, ``external_id``).

The journal records a request as ``(op, args)`` with the wire body as sent (before it is parsed: a refused
request is journaled too), and :func:`from_record` parses it again on replay through the same code.

The query-parameter parsers of the read operations live here too (:func:`opt_id`, :func:`timestamp`,
:func:`order_query`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Final

from .errors import BadRequest, Forbidden
from .models import (
    BUY,
    CLIENT_STP_VALUES,
    DEPOSIT,
    GTC,
    IOC,
    LIMIT,
    MARKET,
    MAX_DECIMAL_CHARS,
    SELL,
    WITHDRAW,
    Order,
    parse_decimal,
)
from .store import JournalError, Record

__all__ = [
    "CancelOrder",
    "Command",
    "ModifyOrder",
    "NewOrder",
    "NewTransfer",
    "UpdateClient",
    "bound_client",
    "caller_set",
    "cancel_order",
    "canonical",
    "decimal",
    "enum",
    "from_record",
    "modify_order",
    "new_order",
    "new_transfer",
    "numeric_id",
    "opt_id",
    "order_query",
    "text",
    "timestamp",
    "update_client",
]

ID_RE: Final = re.compile(r"^[1-9][0-9]*$")
_EXT_RE: Final = re.compile(r"^[A-Za-z0-9._~-]{1,18}$")
_UUID4_RE: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_ORDER_STP: Final = tuple(sorted({"INVALID", *CLIENT_STP_VALUES}))
#: Optional ``info`` fields of a create, echoed in ``order_info`` in this order when present.
_OPTIONAL_INFO: Final = ("exec_inst_flags", "stp", "flags", "hold_fee_rate")
_QUERY_COLUMNS: Final = ("status", "side", "instrument_id", "type")


# ------------------------------------------------------------------------------------- field parsers
def obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{name}: must be a JSON object")
    return value


def text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{name}: is required and must be a string")
    return value


def numeric_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or ID_RE.match(value) is None:
        raise BadRequest(f"{name}: must be a numeric id string matching ^[1-9][0-9]*$")
    return value


def opt_id(value: Any, name: str) -> str | None:
    return None if value is None else numeric_id(value, name)


def decimal(value: Any, name: str) -> Decimal:
    if not isinstance(value, str):
        raise BadRequest(f"{name}: is required and must be a decimal string")
    number = parse_decimal(value)
    if number is None:
        raise BadRequest(
            f"{name}: must be a decimal string matching ^-?[0-9]+(\\.[0-9]+)?$ (at most {MAX_DECIMAL_CHARS} characters)"
        )
    return number


def enum(value: Any, name: str, allowed: Iterable[str]) -> str:
    options = tuple(allowed)
    if value not in options:
        raise BadRequest(f"{name}: must be one of {', '.join(options)}")
    return str(value)


def timestamp(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise BadRequest(f"{name}: must be Unix nanoseconds as a non-negative integer string")


def external_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or (_EXT_RE.match(value) is None and _UUID4_RE.match(value) is None):
        raise BadRequest(
            f"{name}: must be 1-18 characters of A-Z a-z 0-9 - _ . ~ or a lowercase hyphenated UUIDv4"
        )
    return value


def bound_client(caller: AbstractSet[str], value: Any, name: str) -> str:
    """A client id the API key may act for (403 otherwise; whether the client exists is the engine's to say)."""
    client_id = numeric_id(value, name)
    if client_id not in caller:
        raise Forbidden(f"{name}: client {client_id} is not bound to this API key")
    return client_id


def caller_set(caller: AbstractSet[str]) -> frozenset[str]:
    """The client ids bound to the API key, as a frozenset (a lone string is a programming error)."""
    if isinstance(caller, str):
        raise TypeError("caller must be a set of client ids, not a string")
    return frozenset(caller)


_CANONICAL: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical(data: Any, name: str = "body") -> str:
    """``data`` as canonical JSON (sorted keys): how the journal and idempotency compare requests."""
    try:
        return _CANONICAL.encode(data)
    except (TypeError, ValueError):
        raise BadRequest(f"{name}: must be JSON-serialisable data") from None


def _flag_list(value: Any, name: str, allowed: str) -> list[str] | None:
    if value is not None and (not isinstance(value, list) or any(f != allowed for f in value)):
        raise BadRequest(f'{name}: must be a list whose only allowed value is "{allowed}"')
    return value


# ------------------------------------------------------------------------------------------ commands
@dataclass(frozen=True, slots=True)
class NewOrder:
    """POST /orders. ``price`` is None for a MARKET order (a price sent with one is checked and echoed only)."""

    OP: ClassVar[str] = "create_order"

    caller: frozenset[str]
    #: The wire body as canonical JSON (journaled; an idempotent repeat must send the same one).
    body_json: str
    external_id: str
    client_id: str
    instrument_id: str
    side: str
    type: str
    tif: str
    qty: Decimal
    price: Decimal | None
    #: Add liquidity only (``exec_inst_flags: ["ALO"]``).
    alo: bool
    #: The order's own self-trade prevention as sent (``INVALID`` or None: the client's setting applies).
    stp: str | None
    #: The request as ``order_info`` echoes it (wire strings as sent), without the engine's ``msg_id``/``parent_id``.
    echo: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ModifyOrder:
    """PATCH /orders: the order by exchange ``order_id`` (then ``external_id`` renames it) or by ``external_id``."""

    OP: ClassVar[str] = "modify_order"

    caller: frozenset[str]
    #: The wire body as canonical JSON (journaled).
    body_json: str
    client_id: str
    order_id: str | None
    external_id: str | None
    new_qty: Decimal
    #: None when converting to MARKET without a price.
    new_price: Decimal | None
    to_market: bool
    #: ``modify_info``'s echo of the request (wire strings as sent).
    echo: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """DELETE /orders/{ref_id}: ``ref_id`` is an exchange id (``by == "exchange"``) or an external id."""

    OP: ClassVar[str] = "cancel_order"

    caller: frozenset[str]
    ref_id: str
    by: str


@dataclass(frozen=True, slots=True)
class UpdateClient:
    """PATCH /clients: the client's self-trade prevention setting."""

    OP: ClassVar[str] = "update_client"

    caller: frozenset[str]
    #: The wire body as canonical JSON (journaled).
    body_json: str
    client_id: str
    self_trade_prevention: str


@dataclass(frozen=True, slots=True)
class NewTransfer:
    """POST /transfers: a deposit or withdrawal, settled ``settle_delay_ns`` after it is created."""

    OP: ClassVar[str] = "create_transfer"

    caller: frozenset[str]
    #: The wire body as canonical JSON (journaled).
    body_json: str
    client_id: str
    asset_id: str
    kind: str
    amount: Decimal
    settle_delay_ns: int
    #: The request as the transfer echoes it (``amount`` as sent).
    echo: Mapping[str, Any]

    def record(self) -> dict[str, Any]:
        return {
            "caller": sorted(self.caller),
            "body": json.loads(self.body_json),
            "settle_delay_ns": self.settle_delay_ns,
        }


@dataclass(frozen=True, slots=True)
class MoveMarket:
    """A test moving an instrument's market (not an API operation): a new reference price, so a new price band
    and new house quotes around it (:meth:`~truex_sandbox.engine.Exchange.move_market`)."""

    OP: ClassVar[str] = "move_market"

    instrument_id: str
    reference_price: Decimal

    def record(self) -> dict[str, Any]:
        return {"instrument_id": self.instrument_id, "reference_price": str(self.reference_price)}


Command = NewOrder | ModifyOrder | CancelOrder | UpdateClient | NewTransfer | MoveMarket


# ------------------------------------------------------------------------------------------- parsing
def new_order(caller: AbstractSet[str], body: Any) -> NewOrder:
    """Every check of a create's body that needs no state, in the order a client is told about them."""
    who = caller_set(caller)
    body = obj(body, "body")
    ext = external_id(body.get("external_id"), "external_id")
    info = obj(body.get("info"), "info")
    client_id = bound_client(who, info.get("client_id"), "info.client_id")
    instrument_id = numeric_id(info.get("instrument_id"), "info.instrument_id")
    side = enum(info.get("side"), "info.side", (BUY, SELL))
    otype = enum(info.get("type"), "info.type", (LIMIT, MARKET))
    tif = enum(info.get("tif", GTC), "info.tif", (GTC, IOC))
    qty = decimal(info.get("qty"), "info.qty")
    price: Decimal | None = None
    if otype == LIMIT or info.get("price") is not None:
        price = decimal(info.get("price"), "info.price")
    alo = bool(_flag_list(info.get("exec_inst_flags"), "info.exec_inst_flags", "ALO"))
    stp = info.get("stp")
    if stp is not None:
        enum(stp, "info.stp", _ORDER_STP)
    _flag_list(info.get("flags"), "info.flags", "USE_AGGRESSIVE_PRICING")
    hold_fee_rate = info.get("hold_fee_rate")
    if hold_fee_rate is not None and decimal(hold_fee_rate, "info.hold_fee_rate") < 0:
        raise BadRequest("info.hold_fee_rate: must be >= 0")
    return NewOrder(
        caller=who,
        body_json=canonical(body),
        external_id=ext,
        client_id=client_id,
        instrument_id=instrument_id,
        side=side,
        type=otype,
        tif=tif,
        qty=qty,
        price=price if otype == LIMIT else None,
        alo=alo,
        stp=stp,
        echo=_order_echo(info, client_id, instrument_id, side, otype, tif),
    )


def _order_echo(
    info: dict[str, Any], client_id: str, instrument_id: str, side: str, otype: str, tif: str
) -> dict[str, Any]:
    """``order_info`` as the wire orders its keys: the request's strings as sent, optional fields when set."""
    echo: dict[str, Any] = {"client_id": client_id, "instrument_id": instrument_id, "qty": info["qty"]}
    if info.get("price") is not None:
        echo["price"] = info["price"]
    echo.update(side=side, type=otype, tif=tif)
    for name in _OPTIONAL_INFO:
        value = info.get(name)
        if value is not None:
            echo[name] = list(value) if isinstance(value, list) else value
    return echo


def modify_order(caller: AbstractSet[str], body: Any) -> ModifyOrder:
    who = caller_set(caller)
    body = obj(body, "body")
    info = obj(body.get("info"), "info")
    client_id = bound_client(who, info.get("client_id"), "info.client_id")
    raw_id, raw_ext = body.get("id"), body.get("external_id")
    if raw_id is None and raw_ext is None:
        raise BadRequest("id: either id (exchange order id) or external_id is required")
    order_id = None if raw_id is None else numeric_id(raw_id, "id")
    ext = None if raw_ext is None else external_id(raw_ext, "external_id")
    new_type = info.get("new_type")
    if new_type is not None:
        enum(new_type, "info.new_type", (MARKET, LIMIT, "INVALID"))
    to_market = new_type == MARKET
    new_qty = decimal(info.get("new_qty"), "info.new_qty")
    new_price: Decimal | None = None
    if not to_market or info.get("new_price") is not None:
        new_price = decimal(info.get("new_price"), "info.new_price")
    echo: dict[str, Any] = {"client_id": client_id, "new_qty": info["new_qty"]}
    if info.get("new_price") is not None:
        echo["new_price"] = info["new_price"]
    if new_type is not None:
        echo["new_type"] = new_type
    return ModifyOrder(
        caller=who,
        body_json=canonical(body),
        client_id=client_id,
        order_id=order_id,
        external_id=ext,
        new_qty=new_qty,
        new_price=None if to_market else new_price,
        to_market=to_market,
        echo=echo,
    )


def cancel_order(caller: AbstractSet[str], ref_id: Any, id_type: Any = "exchange") -> CancelOrder:
    by = "exchange" if id_type is None else enum(id_type, "id_type", ("exchange", "client"))
    ref = numeric_id(ref_id, "ref_id") if by == "exchange" else text(ref_id, "ref_id")
    return CancelOrder(caller=caller_set(caller), ref_id=ref, by=by)


def update_client(caller: AbstractSet[str], body: Any) -> UpdateClient:
    who = caller_set(caller)
    body = obj(body, "body")
    client_id = bound_client(who, body.get("id"), "id")
    info = obj(body.get("info"), "info")
    stp = enum(info.get("self_trade_prevention"), "info.self_trade_prevention", sorted(CLIENT_STP_VALUES))
    return UpdateClient(
        caller=who,
        body_json=canonical(body),
        client_id=client_id,
        self_trade_prevention=stp,
    )


def new_transfer(caller: AbstractSet[str], body: Any, settle_delay_ns: int) -> NewTransfer:
    who = caller_set(caller)
    body = obj(body, "body")
    request = obj(body.get("request"), "request")
    asset_id = numeric_id(request.get("asset_id"), "request.asset_id")
    client_id = bound_client(who, request.get("client_id"), "request.client_id")
    platform = enum(request.get("platform"), "request.platform", ("FIAT", "CRYPTO", "INTERNAL"))
    kind = enum(request.get("type"), "request.type", (DEPOSIT, WITHDRAW))
    amount = decimal(request.get("amount"), "request.amount")
    if amount <= 0:
        raise BadRequest("request.amount: must be greater than 0")
    echo: dict[str, Any] = {
        "asset_id": asset_id,
        "client_id": client_id,
        "platform": platform,
        "type": kind,
        "amount": request["amount"],
    }
    instructions = request.get("instructions")
    if instructions is not None:
        obj(instructions, "request.instructions")
        echo["instructions"] = json.loads(canonical(instructions, "request.instructions"))
    return NewTransfer(
        caller=who,
        body_json=canonical(body),
        client_id=client_id,
        asset_id=asset_id,
        kind=kind,
        amount=amount,
        settle_delay_ns=settle_delay_ns,
        echo=echo,
    )


#: The arguments each kind of journal record carries (``advance`` carries none and is not a command).
_RECORD_KEYS: Final = {
    "advance": frozenset(),
    "create_order": frozenset({"caller", "body"}),
    "modify_order": frozenset({"caller", "body"}),
    "cancel_order": frozenset({"caller", "ref_id", "id_type"}),
    "update_client": frozenset({"caller", "body"}),
    "create_transfer": frozenset({"caller", "body", "settle_delay_ns"}),
    "move_market": frozenset({"instrument_id", "reference_price"}),
}


def move_market(instrument_id: Any, reference_price: Any) -> MoveMarket:
    price = decimal(reference_price, "reference_price")
    if price <= 0:
        raise BadRequest("reference_price: must be greater than 0")
    return MoveMarket(numeric_id(instrument_id, "instrument_id"), price)


def from_record(record: Record) -> Command | None:
    """The command a journal record holds (None for ``advance``), parsed as it was live.

    :class:`~truex_sandbox.store.JournalError` for a record this sandbox cannot have written; a
    :class:`~truex_sandbox.errors.BadRequest` for a request that was refused live as well.
    """
    args, op = record.args, record.op
    keys = _RECORD_KEYS.get(op)
    if keys is None or not isinstance(args, dict) or not keys <= args.keys():
        raise JournalError(
            f"journal record {record.seq} ({op!r}) is not a command this sandbox wrote; restore the file "
            "from a backup or pass a new file to --db"
        )
    if op == "advance":
        return None
    if op == "move_market":
        return move_market(args["instrument_id"], args["reference_price"])
    caller = frozenset(args["caller"])
    if op == "create_order":
        return new_order(caller, args["body"])
    if op == "modify_order":
        return modify_order(caller, args["body"])
    if op == "cancel_order":
        return cancel_order(caller, args["ref_id"], args["id_type"])
    if op == "update_client":
        return update_client(caller, args["body"])
    return new_transfer(caller, args["body"], int(args["settle_delay_ns"]))


# -------------------------------------------------------------------------------------- list queries
def order_query(query: str | None) -> Callable[[Order], bool] | None:
    """The predicate of a ``list_orders`` query: ``{"columns": [{"name": C, "filter": [{"$in"|"$eq": …}]}]}``."""
    if query is None or query == "":
        return None
    if not isinstance(query, str):
        raise BadRequest("query: must be a JSON string")
    try:
        data = json.loads(query)
    except ValueError:
        raise BadRequest("query: is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
        raise BadRequest('query: must be a JSON object {"columns": [{"name": ..., "filter": [...]}]}')
    conditions = [
        condition for i, column in enumerate(data["columns"]) for condition in _column_conditions(i, column)
    ]

    def predicate(order: Order) -> bool:
        return all(getattr(order, name) in allowed for name, allowed in conditions)

    return predicate


def _column_conditions(i: int, column: Any) -> list[tuple[str, frozenset[str]]]:
    where = f"query: columns[{i}]"
    if not isinstance(column, dict):
        raise BadRequest(f"{where} must be an object")
    name = column.get("name")
    if name not in _QUERY_COLUMNS:
        raise BadRequest(f"{where}.name must be one of {', '.join(_QUERY_COLUMNS)}")
    filters = column.get("filter")
    if not isinstance(filters, list) or not filters:
        raise BadRequest(f"{where}.filter must be a non-empty list")
    return [(name, _filter_values(f"{where}.filter[{j}]", item)) for j, item in enumerate(filters)]


def _filter_values(where: str, item: Any) -> frozenset[str]:
    if not isinstance(item, dict) or len(item) != 1:
        raise BadRequest(f'{where} must be an object with exactly one of "$in", "$eq"')
    ((op, operand),) = item.items()
    if op == "$in":
        if not isinstance(operand, list) or not all(isinstance(v, str) for v in operand):
            raise BadRequest(f"{where}.$in must be a list of strings")
        return frozenset(operand)
    if op == "$eq":
        if not isinstance(operand, str):
            raise BadRequest(f"{where}.$eq must be a string")
        return frozenset((operand,))
    raise BadRequest(f'{where}: unsupported operator {op!r} (use "$in" or "$eq")')
