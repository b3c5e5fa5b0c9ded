"""What the in-process contract tests and the CLI hooks share.

**Versions.** The spec describes the ``X-Truex-Version: v2026_01_23`` bodies. The sandbox also serves
``v2024_01_01`` (the default when the header is absent, and the version an unknown header value is answered
in), whose bodies are the raw payloads: a list is a bare array, an object is not wrapped in ``{"data": ...}``,
a problem sits at the top level. Those cannot match the spec's response schemas, so:

- a request sent with ``v2026_01_23`` runs every check, ``response_schema_conformance`` included;
- any other request (``v2024_01_01``, no header, or an invalid value the fuzzer made) runs every check but
  ``response_schema_conformance``, and :func:`v2024_body_conformance` instead, which validates the raw
  body against the spec's schema of what the envelope's ``data`` holds (or against ``Problem``).

:func:`pin_version` sends a case in the version under test; :func:`version_echo` checks the sandbox's
``x-truex-version`` echo on every answer.

**Schema-valid but refused.** :class:`Steering` points positive cases at ids that exist and are the caller's;
:data:`REFUSALS` lists what the exchange still rightly refuses, and :func:`refusals_are_documented` fails
any other refusal of a schema-valid request. :func:`is_shadowed_delete` is the one excused deviation.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from truex_sandbox.models import Instrument, fmt
from truex_sandbox.seed import default_seed
from truex_sandbox.spec import load_spec

__all__ = [
    "REFUSALS",
    "SHADOWING_PATHS",
    "V2024",
    "V2026",
    "VERSION_HEADER",
    "Refusal",
    "Steering",
    "canonical_operation_id",
    "is_legacy_only_method",
    "is_positive",
    "is_shadowed_delete",
    "pin_version",
    "refusals_are_documented",
    "sent_version",
    "v2024_body_conformance",
    "version_echo",
]

V2024 = "v2024_01_01"
V2026 = "v2026_01_23"
VERSIONS = (V2024, V2026)
VERSION_HEADER = "X-Truex-Version"


def pin_version(case: Any, version: str) -> None:
    """Send ``case`` in ``version`` unless its version header is what the fuzzer made invalid on purpose.

    A valid generated value (absent, or the other version) is replaced; schemathesis revalidates the case
    afterwards, so it stays positive. Under ``v2024_01_01`` an absent header is kept: it *is* that version.
    """
    headers = case.headers
    if headers is None:
        headers = {}
    current = headers.get(VERSION_HEADER)
    if current is not None and current not in VERSIONS:
        return  # an invalid value: the negative case under test
    if version == V2024 and current is None:
        return
    if current != version:
        headers = dict(headers)
        headers[VERSION_HEADER] = version
        case.headers = headers


def sent_version(case: Any) -> str | None:
    headers = case.headers or {}
    value = headers.get(VERSION_HEADER)
    return value if isinstance(value, str) else None


def _expected_echo(case: Any) -> str:
    sent = sent_version(case)
    return sent if sent in VERSIONS else V2024  # absent or unknown → the default (README, Sandbox)


def version_echo(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every API answer says which version it is rendered in: the one asked for, else v2024_01_01."""
    if case.path.endswith("/openapi.json"):
        return None
    echoed = response.headers.get("x-truex-version")
    if isinstance(echoed, list):
        echoed = echoed[0] if echoed else None
    expected = _expected_echo(case)
    assert echoed == expected, f"x-truex-version: expected {expected!r}, got {echoed!r}"
    return None


# ------------------------------------------------------------------------------ v2024_01_01 shapes
@functools.lru_cache(maxsize=1)
def _registry() -> Registry[Any]:
    return Registry().with_resource("urn:spec", DRAFT202012.create_resource(load_spec()))


@functools.lru_cache(maxsize=256)
def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": "urn:spec" + pointer}, registry=_registry())


def _node(pointer: str) -> Any:
    node: Any = load_spec()
    for raw in pointer.removeprefix("#/").split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _resolve(pointer: str) -> str:
    """``pointer`` after following the ``$ref`` chain it starts (so sub-pointers can be appended)."""
    for _ in range(32):
        node = _node(pointer)
        if isinstance(node, Mapping) and "$ref" in node and len(node) == 1:
            pointer = str(node["$ref"])
            continue
        return pointer
    raise AssertionError(f"$ref loop at {pointer}")


def _raw_pointer(definition: Mapping[str, Any], status: int) -> tuple[str, bool] | None:
    """Pointer to the schema of the raw v2024 payload of ``status``, and whether it is a bare list."""
    responses = definition.get("responses", {})
    spec_path = None
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            spec_path = key
            break
    if spec_path is None:
        return None  # status_code_conformance reports it
    response = responses[spec_path]
    if "$ref" in response:
        response = _node(str(response["$ref"]))
    content = response.get("content", {})
    media = content.get("application/json") or content.get("application/problem+json")
    if media is None:
        return None
    envelope = media["schema"]
    if "$ref" not in envelope:
        raise AssertionError("response schemas are expected to be $refs")
    envelope_pointer = _resolve(str(envelope["$ref"]))
    envelope_schema = _node(envelope_pointer)
    properties = envelope_schema.get("properties", {})
    if "error" in properties:
        return _resolve(envelope_pointer + "/properties/error"), False
    data = _resolve(envelope_pointer + "/properties/data")
    if _node(data).get("type") == "array":
        return _resolve(data + "/items"), True
    return data, False


def v2024_body_conformance(ctx: Any, response: Any, case: Any) -> bool | None:
    """A ``v2024_01_01`` body is the spec's enveloped payload, unwrapped (see the module docstring)."""
    if _expected_echo(case) != V2024:
        return None
    target = _raw_pointer(case.operation.definition.raw, response.status_code)
    if target is None:
        return None
    pointer, is_list = target
    body = response.json()
    validator = _validator(pointer)
    items: list[Any]
    if is_list:
        assert isinstance(body, list), (
            f"v2024_01_01 list body must be a bare array, got {type(body).__name__}"
        )
        items = body
    else:
        assert isinstance(body, dict), f"v2024_01_01 body must be an object, got {type(body).__name__}"
        assert "data" not in body and "error" not in body, "v2024_01_01 bodies are not enveloped"
        items = [body]
    for index, item in enumerate(items):
        errors = sorted(validator.iter_errors(item), key=lambda e: list(e.absolute_path))
        assert not errors, (
            f"v2024_01_01 body{f'[{index}]' if is_list else ''} violates {pointer}: "
            + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:3])
        )
    return None


# ------------------------------------------------------------------------------ steering
def canonical_operation_id(operation: Any) -> str:
    """The operationId whose handler serves ``operation`` (a deprecated twin's ``x-replacement``)."""
    raw = operation.definition.raw
    return str(raw.get("x-replacement") or raw["operationId"])


def is_positive(case: Any) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.value == "positive"


def _canonical(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


class Steering:
    """Points the ids of a *positive* case at things that exist and are the caller's own.

    The spec can say an id is a numeric string, but not that it must be one of *your* clients, an instrument
    that exists, or an order you placed: a random one is schema-valid and rightly answered 403 / 404. So, in
    positive cases only (negative ones are sent as generated), before sending:

    - client ids become the caller's client; instrument and asset ids one of the seed's;
    - a ``cursor`` is dropped (only a server-issued one is valid; the stateful phase follows real ones);
    - every other create becomes a live order (:meth:`_live_order`), and a create that would reuse an
      external id with another body gets a fresh one (:meth:`_fresh_external_id`);
    - every other order lookup, cancel or modify targets the caller's latest (live) order, learnt from the
      answers (:meth:`observe`) - the rest keep their generated (unknown) ids.

    That makes schema-valid requests reach the exchange's success paths, so ``positive_data_acceptance`` can
    demand a 2xx; what remains refused is listed in :data:`REFUSALS`. Choices are deterministic functions of
    the generated data.
    """

    def __init__(self, client_id: str, instruments: Sequence[Instrument], asset_ids: Sequence[str]) -> None:
        self.client_id = client_id
        self.instruments = {i.id: i for i in instruments}
        self.instrument_ids = tuple(self.instruments)
        self.asset_ids = tuple(asset_ids)
        #: external_id -> the create body it was sent with (None: taken by a modify)
        self.external_ids: dict[str, str | None] = {}
        #: exchange order id -> (qty, price) of the caller's open orders, oldest first
        self.live_orders: dict[str, tuple[str, str]] = {}
        #: the caller's orders, open or not (a status lookup finds a closed one too)
        self.known_orders: list[str] = []

    def reset(self) -> None:
        """Forget what was learnt (the exchange behind was reset)."""
        self.external_ids.clear()
        self.live_orders.clear()
        self.known_orders.clear()

    @classmethod
    def for_default_seed(cls, client_id: str) -> Steering:
        seed = default_seed()
        return cls(client_id, seed.instruments, [a.id for a in seed.assets])

    @staticmethod
    def _digest(value: Any) -> bytes:
        return hashlib.sha256(_canonical(value).encode("utf-8")).digest()

    def _pick(self, choices: tuple[str, ...], generated: Any) -> str:
        # Deterministic, and still varied: the generated value chooses which existing id it becomes.
        return choices[self._digest(generated)[0] % len(choices)]

    def _live_order(self, info: dict[str, Any]) -> None:
        """Every other create becomes an order that rests on the book (the rest are sent as generated).

        A random quantity and price almost never fit the increments, the band and the balance, so without
        this nearly every order is REJECTED and everything after a create (status, modify, cancel) only ever
        meets a closed order. A LIMIT GTC order a few ticks inside the band edge, away from the house quotes,
        on the quantity grid: it rests, and can be read, modified and canceled.
        """
        digest = self._digest(info)
        if digest[0] % 2:
            return
        instrument = self.instruments[info["instrument_id"]]
        ticks = instrument.price_increment * (1 + digest[1] % 8)
        if info.get("side") == "SELL":
            price = instrument.band_high - ticks
        else:
            info["side"] = "BUY"
            price = instrument.band_low + ticks
        qty = instrument.qty_increment * (1 + digest[2])
        info.update(type="LIMIT", tif="GTC", price=fmt(price), qty=fmt(qty))

    def _fresh_external_id(self, body: dict[str, Any]) -> None:
        """A create reusing an external id with another body is a 409 (DECISIONS §14): give it a new one.

        The same body keeps its id (that is the idempotent retry, answered 200 with the first order).
        """
        external_id = body.get("external_id")
        if not isinstance(external_id, str):
            return
        seen = self.external_ids.get(external_id, "")
        if seen != "" and seen != _canonical({**body, "external_id": ""}):
            body["external_id"] = external_id = "st" + self._digest(body).hex()[:16]
        self.external_ids[external_id] = _canonical({**body, "external_id": ""})

    def _live_target(self, generated: Any) -> tuple[str, tuple[str, str]] | None:
        """The caller's latest open order, for every other case (chosen by the generated data)."""
        if not self.live_orders or self._digest(generated)[0] % 2:
            return None
        order_id = next(reversed(self.live_orders))
        return order_id, self.live_orders[order_id]

    def __call__(self, case: Any) -> None:
        if not is_positive(case):
            return
        op = canonical_operation_id(case.operation)
        query = case.query
        if isinstance(query, Mapping) and query:
            new_query = dict(query)
            new_query.pop("cursor", None)
            if op == "list_clients" and "id" in new_query:
                new_query["id"] = self.client_id
            if op == "list_balances" and "client_id" in new_query:
                new_query["client_id"] = self.client_id
            if op == "list_active_orders" and "id" in new_query:
                target = self._live_target(new_query)
                if target is not None:
                    new_query["id"] = target[0]
            if new_query != query:
                case.query = new_query
        if op in ("get_order_status", "cancel_order"):
            generated = [case.path_parameters, case.query]
            ref_id = None
            if op == "cancel_order":
                target = self._live_target(generated)
                ref_id = None if target is None else target[0]
            elif self.known_orders and self._digest(generated)[0] % 2 == 0:
                ref_id = self.known_orders[-1]
            if ref_id is not None:
                case.path_parameters = {**case.path_parameters, "ref_id": ref_id}
                if isinstance(case.query, Mapping) and "id_type" in case.query:
                    case.query = {**case.query, "id_type": "exchange"}
        body = case.body
        if not isinstance(body, Mapping):
            return
        new_body = copy.deepcopy(dict(body))
        info = new_body.get("info")
        request = new_body.get("request")
        if op == "update_client":
            new_body["id"] = self.client_id
        elif op == "create_order" and isinstance(info, dict):
            info["client_id"] = self.client_id
            info["instrument_id"] = self._pick(self.instrument_ids, info.get("instrument_id"))
            self._live_order(info)
            self._fresh_external_id(new_body)
        elif op == "modify_order" and isinstance(info, dict):
            info["client_id"] = self.client_id
            target = self._live_target(new_body)
            if target is not None:  # a modify that keeps quantity and price: valid whatever the book
                new_body["id"], (qty, price) = target
                info.update(new_qty=qty, new_price=price)
                info.pop("new_type", None)
            if isinstance(new_body.get("external_id"), str) and "id" in new_body:
                self.external_ids.setdefault(new_body["external_id"], None)  # a modify may rename to it
        elif op == "create_transfer" and isinstance(request, dict):
            request["client_id"] = self.client_id
            request["asset_id"] = self._pick(self.asset_ids, request.get("asset_id"))
        elif op in ("compute_market_quote", "get_vwap_quote_deprecated"):
            new_body["instrument_id"] = self._pick(self.instrument_ids, new_body.get("instrument_id"))
        if new_body != body:
            case.body = new_body

    def observe(self, case: Any, response: Any) -> None:
        """Learn the caller's open orders from the answers to creates, modifies and cancels (any version)."""
        op = canonical_operation_id(case.operation)
        if (
            op not in ("create_order", "modify_order", "cancel_order")
            or not 200 <= response.status_code < 300
        ):
            return
        try:
            order = response.json()
        except ValueError:
            return
        if isinstance(order, dict) and isinstance(order.get("data"), dict):
            order = order["data"]  # v2026_01_23 envelope
        if not isinstance(order, dict) or not isinstance(order.get("id"), str):
            return
        info = order.get("modify_info") or order.get("order_info") or {}
        qty, price = info.get("new_qty", info.get("qty")), info.get("new_price", info.get("price"))
        open_now = order.get("status") == "ACTIVE" and order.get("order_info", {}).get("type") == "LIMIT"
        self.live_orders.pop(order["id"], None)
        if op == "create_order" and order["id"] not in self.known_orders:
            self.known_orders.append(order["id"])
        if open_now and isinstance(qty, str) and isinstance(price, str):
            self.live_orders[order["id"]] = (qty, price)


# ------------------------------------------------------------------------------ documented refusals
@dataclass(frozen=True)
class Refusal:
    """A schema-valid request the exchange rightly refuses: what the spec's schemas cannot express."""

    status: int
    detail: str  # a regex, searched in the problem's ``detail``
    reason: str


_UNKNOWN_ORDER = Refusal(404, r"no order with (id|external id)", "an order id the exchange never issued")
_OTHERS_ORDER = Refusal(
    403, r"belongs to a client not bound to this API key", "an order of another API key's client (HOUSE)"
)
_NOT_NUMERIC_REF = Refusal(
    400,
    r"^ref_id: must be a numeric id string",
    "ref_id in the client-order-id form while id_type=exchange (the default): the path pattern admits both "
    "forms, only id_type says which one it is",
)

#: canonical operationId -> the refusals of schema-valid (positive) requests that are the exchange's rules.
#: Every other non-2xx answer to a positive case is a finding. Mirrored, as statuses, by the
#: ``[[operations]]`` blocks of ``schemathesis.toml`` (``positive_data_acceptance``).
REFUSALS: Final[Mapping[str, tuple[Refusal, ...]]] = {
    "create_order": (
        Refusal(
            409,
            r"^external_id: .* already used .* with a different request body",
            "DECISIONS §14: an external_id reused within 24 h with another body",
        ),
        Refusal(400, r"^info\.price: is required", "a LIMIT order without a price (required for LIMIT only)"),
        Refusal(
            400, r"^info\.hold_fee_rate: must be >= 0", "a negative rate (the shared Decimal allows a sign)"
        ),
    ),
    "modify_order": (
        _UNKNOWN_ORDER,
        _OTHERS_ORDER,
        Refusal(
            409, r"only ACTIVE orders can be modified", "the order is closed (filled, canceled, rejected)"
        ),
        Refusal(409, r"^external_id: .* is already used by order", "the new external_id names another order"),
        Refusal(
            400,
            r"^body: must contain at least one of id, external_id",
            "x-required-one-of [id, external_id]: a JSON Schema keyword schemathesis does not know",
        ),
        Refusal(
            400,
            r"^info\.(new_qty|new_price|new_type|client_id): ",
            "the modify rules (increments, band, leaves > 0, balance, ALO, the order's own client)",
        ),
    ),
    "cancel_order": (
        _UNKNOWN_ORDER,
        _OTHERS_ORDER,
        _NOT_NUMERIC_REF,
        Refusal(409, r"^ref_id: order .* is already", "the order is closed already"),
    ),
    "get_order_status": (_UNKNOWN_ORDER, _OTHERS_ORDER, _NOT_NUMERIC_REF),
    "list_active_orders": (_UNKNOWN_ORDER, _OTHERS_ORDER),
    "list_active_transfers": (
        Refusal(404, r"^transfer_id: no transfer with id", "a transfer id the exchange never issued"),
        Refusal(403, r"^transfer_id: transfer .* belongs to a client", "another API key's transfer"),
    ),
    "list_orders": (
        Refusal(400, r"^query: ", "the `query` filter is a JSON document in a string (its grammar is prose)"),
    ),
    "compute_market_quote": (
        Refusal(400, r"^qty: must be greater than 0", "a zero or negative quantity (Decimal allows both)"),
        Refusal(404, r"^instrument_id: no liquidity", "that side of the book is empty"),
    ),
    "get_vwap_quote_deprecated": (
        Refusal(400, r"^qty: must be greater than 0", "a zero or negative amount (Decimal allows both)"),
        Refusal(404, r"^instrument_id: no liquidity", "that side of the book is empty"),
    ),
    "create_transfer": (
        Refusal(
            400,
            r"^request\.amount: must be greater than 0",
            "a zero or negative amount (Decimal allows both)",
        ),
    ),
}


def _problem_detail(response: Any) -> str:
    try:
        body = response.json()
    except Exception:  # not JSON: content_type_conformance reports it
        return ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else ""


def refusals_are_documented(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request answered non-2xx must match one of :data:`REFUSALS` (status *and* reason).

    ``positive_data_acceptance`` only sees statuses, and a 400 in an operation's expected list would also
    let a sandbox validator that rejects valid data pass. This check names the rule: anything not listed
    (a wrong length limit, a crash, an auth failure) is a failure.
    """
    if not is_positive(case) or 200 <= response.status_code < 300:
        return None
    detail = _problem_detail(response)
    for refusal in REFUSALS.get(canonical_operation_id(case.operation), ()):
        if refusal.status == response.status_code and re.search(refusal.detail, detail):
            return None
    raise AssertionError(
        f"schema-valid request refused for an undocumented reason: {response.status_code} {detail!r}"
    )


# ------------------------------------------------------------------------------ a known deviation
#: Static paths that share their URL with a templated DELETE path (/orders/{ref_id}, /order/{ref_id}).
SHADOWING_PATHS: Final = frozenset(
    {
        "/orders/active",
        "/orders/list",
        "/orders/trades",
        "/order/active",
        "/order/trade",
    }
)


def is_legacy_only_method(failure: Any, case: Any) -> bool:
    """An ``Allow`` under /v1/cefi that rightly leaves out a method only the legacy base serves.

    POST /market/quote is a deprecated twin, served only under /api/v1 (its operation-level ``servers``,
    which schemathesis does not read), so under /v1/cefi the path allows GET alone.
    """
    return (
        getattr(failure, "code", None) == "ST205"
        and case.path == "/market/quote"
        and list(getattr(failure, "missing_methods", ())) == ["POST"]
        and not getattr(failure, "undocumented_methods", ())
    )


def is_shadowed_delete(failure: Any, case: Any) -> bool:
    """The one accepted ``allow_header_conformance`` failure: ``Allow`` adds DELETE on a shadowing path.

    The sandbox routes as Starlette does - a DELETE on /orders/active is cancel_order with ref_id "active"
    (pinned by tests/test_sandbox_app.py) - so its 405 ``Allow`` lists DELETE there, where OpenAPI's
    "concrete paths first" reading expects GET alone. Nothing else about the header is excused.
    """
    return (
        getattr(failure, "code", None) == "ST205"
        and case.path in SHADOWING_PATHS
        and list(getattr(failure, "undocumented_methods", ())) == ["DELETE"]
        and not getattr(failure, "missing_methods", ())
    )
