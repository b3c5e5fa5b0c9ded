"""The spec is right: it validates, keeps every operation, and agrees with its examples and the samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "truex-api"

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}

# (method, path, operationId, tag, deprecated): a lost, renamed or moved operation fails here.
OPERATIONS = [
    ("GET", "/health", "get_health", "Service", False),
    ("GET", "/versions", "list_versions", "Service", False),
    ("GET", "/assets", "list_assets", "Assets", False),
    ("GET", "/asset", "list_assets_deprecated", "Assets", True),
    ("GET", "/instruments", "list_instruments", "Instruments", False),
    ("GET", "/instrument", "list_instruments_deprecated", "Instruments", True),
    ("GET", "/market/quote", "list_market_quotes", "Market Data", False),
    ("POST", "/market/quote", "get_vwap_quote_deprecated", "Market Data", True),
    ("POST", "/markets/quote", "compute_market_quote", "Market Data", False),
    ("GET", "/market/trade", "list_market_trades", "Market Data", False),
    ("GET", "/clients", "list_clients", "Clients", False),
    ("GET", "/client", "list_clients_deprecated", "Clients", True),
    ("PATCH", "/clients", "update_client", "Clients", False),
    ("PATCH", "/client", "update_client_deprecated", "Clients", True),
    ("POST", "/orders", "create_order", "Orders", False),
    ("POST", "/order", "create_order_deprecated", "Orders", True),
    ("PATCH", "/orders", "modify_order", "Orders", False),
    ("PATCH", "/order", "modify_order_deprecated", "Orders", True),
    ("DELETE", "/orders/{ref_id}", "cancel_order", "Orders", False),
    ("DELETE", "/order/{ref_id}", "cancel_order_deprecated", "Orders", True),
    ("GET", "/orders/active", "list_active_orders", "Orders", False),
    ("GET", "/order/active", "list_active_orders_deprecated", "Orders", True),
    ("GET", "/orders/list", "list_orders", "Orders", False),
    ("GET", "/order", "list_orders_deprecated", "Orders", True),
    ("GET", "/orders/status/{ref_id}", "get_order_status", "Orders", False),
    ("GET", "/order/status/{ref_id}", "get_order_status_deprecated", "Orders", True),
    ("GET", "/orders/trades", "list_order_trades", "Orders", False),
    ("GET", "/order/trade", "list_order_trades_deprecated", "Orders", True),
    ("GET", "/balances", "list_balances", "Balances", False),
    ("GET", "/balance", "list_balances_deprecated", "Balances", True),
    ("POST", "/transfers", "create_transfer", "Transfers", False),
    ("POST", "/transfer", "create_transfer_deprecated", "Transfers", True),
    ("GET", "/transfers", "list_transfers", "Transfers", False),
    ("GET", "/transfer", "list_transfers_deprecated", "Transfers", True),
    ("GET", "/transfers/active", "list_active_transfers", "Transfers", False),
    ("GET", "/transfer/active", "list_active_transfers_deprecated", "Transfers", True),
]
PUBLIC = {
    "get_health",
    "list_versions",
    "list_assets",
    "list_assets_deprecated",
    "list_instruments",
    "list_instruments_deprecated",
    "list_market_quotes",
    "get_vwap_quote_deprecated",
    "compute_market_quote",
    "list_market_trades",
}
AUTH_ERROR_STATUSES = {"400", "401", "403", "404", "408", "415", "429", "500", "503"}
PUBLIC_ERROR_STATUSES = {"400", "404", "429", "500", "503"}


def operations(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    }


def pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def validator_for(spec: dict[str, Any], ref: str) -> Draft202012Validator:
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; the spec document is the root that refs resolve in.
    return Draft202012Validator({**spec, "$ref": ref})


def test_spec_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["version"] == "1.0.5"


def test_every_operation_is_present_with_its_id_tag_and_deprecation(spec: dict[str, Any]) -> None:
    actual = {
        (m, p, oid, op["tags"][0], bool(op.get("deprecated", False)))
        for oid, (m, p, op) in operations(spec).items()
    }
    assert actual == set(OPERATIONS)
    assert len(actual) == 36


def test_servers_name_both_bases_and_the_twins_only_the_legacy_one(spec: dict[str, Any]) -> None:
    hosts = {server["url"] for server in spec["servers"]}
    assert hosts == {
        "https://api.truex.co{base}",
        "https://api.uat.truex.co{base}",
        "http://127.0.0.1:8765{base}",
    }
    for server in spec["servers"]:
        assert server["variables"]["base"]["default"] == "/v1/cefi"
        assert server["variables"]["base"]["enum"] == ["/v1/cefi", "/api/v1"]
    for item in spec["paths"].values():
        assert "servers" not in item  # per operation, so a path can mix current and deprecated operations
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            if op.get("deprecated"):
                assert {s["url"].rsplit("/api/v1", 1)[1] for s in op["servers"]} == {""}, op["operationId"]
            else:
                assert "servers" not in op, op["operationId"]


def test_operation_ids_are_snake_case_and_unique(spec: dict[str, Any]) -> None:
    ids = [
        op["operationId"] for item in spec["paths"].values() for m, op in item.items() if m in HTTP_METHODS
    ]
    assert len(ids) == len(set(ids))
    assert all(i == i.lower() and i.replace("_", "").isalnum() for i in ids)


def test_deprecated_twins_name_their_replacement_and_share_its_contract(spec: dict[str, Any]) -> None:
    ops = operations(spec)
    for oid, (_method, _path, op) in ops.items():
        if not op.get("deprecated"):
            assert "x-replacement" not in op, oid
            continue
        replacement = op["x-replacement"]
        assert replacement in ops and not ops[replacement][2].get("deprecated"), oid
        assert op["description"].startswith("DEPRECATED: Use /api/v1/"), oid
        twin = ops[replacement][2]
        if oid != "get_vwap_quote_deprecated":  # the v1.0.3 VWAP quote has its own, older contract
            assert op.get("parameters") == twin.get("parameters"), oid
            assert op.get("requestBody") == twin.get("requestBody"), oid
            assert op["responses"] == twin["responses"], oid


def test_security_is_global_hmac_and_public_operations_opt_out(spec: dict[str, Any]) -> None:
    headers = {s["name"] for s in spec["components"]["securitySchemes"].values()}
    assert headers == {
        "x-truex-auth-token",
        "x-truex-auth-userid",
        "x-truex-auth-timestamp",
        "x-truex-auth-signature",
    }
    assert spec["security"] == [{name: [] for name in spec["components"]["securitySchemes"]}]
    for oid, (_m, _p, op) in operations(spec).items():
        if oid in PUBLIC:
            assert op.get("security") == [], oid
        else:
            # Operation-level security would make the generated functions demand AuthenticatedClient.
            assert "security" not in op, oid


def test_error_statuses_are_listed_and_there_is_no_default(spec: dict[str, Any]) -> None:
    for oid, (_m, _p, op) in operations(spec).items():
        statuses = set(op["responses"])
        assert "default" not in statuses, oid
        assert "200" in statuses, oid
        expected = PUBLIC_ERROR_STATUSES if oid in PUBLIC else AUTH_ERROR_STATUSES
        assert expected <= statuses, (oid, expected - statuses)


def test_every_operation_takes_the_shared_version_header(spec: dict[str, Any]) -> None:
    ref = {"$ref": "#/components/parameters/TruexVersion"}
    for oid, (_m, _p, op) in operations(spec).items():
        assert ref in op["parameters"], oid
    assert spec["components"]["schemas"]["ApiVersion"]["enum"] == ["v2024_01_01", "v2026_01_23"]


def _walk(node: Any, path: tuple[str, ...]) -> Any:
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _walk(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, str(i)))


def test_money_is_never_a_json_number(spec: dict[str, Any]) -> None:
    numbers = [p for p, node in _walk(spec, ()) if node.get("type") == "number"]
    assert numbers == []
    decimal = spec["components"]["schemas"]["Decimal"]
    assert decimal["type"] == "string" and decimal["format"] == "decimal"


def test_every_example_validates_against_its_own_schema(spec: dict[str, Any]) -> None:
    checked = 0
    for path, node in _walk(spec, ()):
        # Schema objects only: under components/schemas, or a parameter's `schema`.
        if "example" not in node or not ({"schemas", "schema"} & set(path)):
            continue
        validator_for(spec, pointer(*path)).validate(node["example"])
        checked += 1
    assert checked > 100


def test_a_broken_example_is_caught(spec: dict[str, Any]) -> None:
    # The check above can fail: a decimal example written as a JSON number is rejected.
    with pytest.raises(jsonschema.ValidationError):
        validator_for(spec, pointer("components", "schemas", "Decimal")).validate(75000.5)
    with pytest.raises(jsonschema.ValidationError):
        validator_for(spec, pointer("components", "schemas", "Decimal")).validate("1E-8")


def _response_schema_ref(spec: dict[str, Any], operation_id: str) -> str:
    _m, _p, op = operations(spec)[operation_id]
    return op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]


# Each sample of ../shared/truex-api/samples that is a response body, with the operation it belongs to.
SAMPLES = {
    "balances.GET.200.docs-example.json": "list_balances",
    "clients.GET.200.tools-readme-example.json": "list_clients",
    "market.quote.GET.200.live-shape-fixture.json": "list_market_quotes",
    "market.trades.GET.200.test-fixture.json": "list_market_trades",
    "order.object.test-fixture.json": "create_order",
    "orders.active.GET.200.docs-truex-co-example.json": "list_active_orders",
    "transfers.active.GET.200.docs-example.json": "list_active_transfers",
}


def wrap(body: Any) -> dict[str, Any]:
    """The v2024_01_01 raw body as v2026_01_23 sends it (DECISIONS §3)."""
    if isinstance(body, list):
        return {"data": body, "pagination": {"size": 10, "next_cursor": None}}
    return {"data": body}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_validates_against_its_operation(spec: dict[str, Any], name: str) -> None:
    body = json.loads((SHARED / "samples" / name).read_text())
    validator_for(spec, _response_schema_ref(spec, SAMPLES[name])).validate(wrap(body))


def test_every_response_sample_is_mapped() -> None:
    names = {p.name for p in (SHARED / "samples").glob("*.json")}
    # The WebSocket subscribe request is not a REST body.
    assert names - set(SAMPLES) == {"ws.subscribe.request.tools-example.json"}


def test_fact_examples_validate(spec: dict[str, Any]) -> None:
    # Whole-object examples assembled in FACTS §7 from the docs' per-field examples.
    health = {"status": "healthy", "timestamp": "2025-01-15 14:30:00", "service": "rag"}
    validator_for(spec, _response_schema_ref(spec, "get_health")).validate(wrap(health))
    problem = {
        "type": "about:blank",
        "title": "An Error Occured",
        "status": 400,
        "detail": "A more detailed sentence about the error",
        "instance": "/api/v1/endpoint",
    }
    validator_for(spec, pointer("components", "schemas", "ErrorEnvelope")).validate({"error": problem})
    quote_req = {"qty": "1.5", "instrument_id": "1", "side": "BUY", "qty_unit": "BASE"}
    validator_for(spec, pointer("components", "schemas", "ComputeQuoteRequest")).validate(quote_req)
    quote = {"qty": "1.5", "price": "50025.50", "notional": "75038.25"}
    validator_for(spec, _response_schema_ref(spec, "compute_market_quote")).validate(wrap(quote))
    vwap_req = {"qty": "50000", "instrument_id": "1"}
    validator_for(spec, pointer("components", "schemas", "VwapQuoteRequest")).validate(vwap_req)
    vwap = {"quote": "50025.50", "buy_amount": "0.999"}
    validator_for(spec, _response_schema_ref(spec, "get_vwap_quote_deprecated")).validate(wrap(vwap))


def test_request_schemas_are_strict(spec: dict[str, Any]) -> None:
    create = validator_for(spec, pointer("components", "schemas", "OrderCreateRequest"))
    good = spec["components"]["schemas"]["OrderCreateRequest"]["example"]
    create.validate(good)
    for bad in (
        {**good, "external_id": "x" * 19},  # > 18 ASCII and not a UUIDv4
        {**good, "info": {**good["info"], "qty": 0.01}},  # money as a JSON number
        {**good, "info": {**good["info"], "client_id": "0123"}},  # ids are non-zero numeric strings
        {**good, "info": {**good["info"], "side": "buy"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            create.validate(bad)
    create.validate({**good, "external_id": "0b7e6f3c-2d4e-4a8b-9c1d-2e3f4a5b6c7d"})
    modify = spec["components"]["schemas"]["OrderModifyRequest"]
    assert modify["x-required-one-of"] == ["id", "external_id"]
    assert set(modify["x-required-one-of"]) <= set(modify["properties"])


def test_assumptions_are_marked(spec: dict[str, Any]) -> None:
    assumptions = [node["x-assumption"] for _p, node in _walk(spec, ()) if "x-assumption" in node]
    assert len(assumptions) >= 25
    assert all(isinstance(a, str) and len(a) > 20 for a in assumptions)
