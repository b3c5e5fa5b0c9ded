"""Request validation: 400 naming field and rule, 415 for a non-JSON media type, nothing changed; and the
compiled fast check agreeing with jsonschema on every request schema of the spec."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_support import V2024, V2026, Creds, Signer, asgi_client, assert_problem, creds_of, state_of

from truex_sandbox.__main__ import build_parser
from truex_sandbox.app import WARNING_HEADER, create_app
from truex_sandbox.fastcheck import Validator, compile_schema, inline_refs
from truex_sandbox.spec import load_spec, operations
from truex_sandbox.validation import SPEC_URI, spec_registry

NOW = 1_780_000_000.0


@pytest.fixture
def app() -> Any:
    return create_app(clock=lambda: NOW)


@pytest.fixture
def alice(app: Any) -> Creds:
    return creds_of(app.state.exchange, "ALICE")


def good_order(creds: Creds) -> dict[str, Any]:
    return {
        "external_id": "val-1",
        "info": {
            "client_id": creds.client_id,
            "instrument_id": "200000000000000001",
            "qty": "0.01",
            "price": "74000",
            "side": "BUY",
            "type": "LIMIT",
            "tif": "GTC",
        },
    }


def without(doc: dict[str, Any], path: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node[part]
    del node[last]
    return out


def with_value(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node[part]
    node[last] = value
    return out


BODY_CASES = {
    "qty not a decimal": (lambda o: with_value(o, "info.qty", "1e-3"), "info.qty: must match pattern "),
    "qty a JSON number": (lambda o: with_value(o, "info.qty", 0.01), "info.qty: must be of type string"),
    "side missing": (lambda o: without(o, "info.side"), "info.side: is a required property"),
    "side unknown": (lambda o: with_value(o, "info.side", "HOLD"), "info.side: must be one of BUY, SELL"),
    "external id too long": (
        lambda o: with_value(o, "external_id", "x" * 40),
        "external_id: must be at most 36 characters long",
    ),
    "client id not numeric": (
        lambda o: with_value(o, "info.client_id", "ALICE"),
        "info.client_id: must match pattern",
    ),
    "two exec flags": (
        lambda o: with_value(o, "info.exec_inst_flags", ["ALO", "ALO"]),
        "info.exec_inst_flags: ",
    ),
    "info not an object": (lambda o: with_value(o, "info", []), "info: must be of type object"),
    "body an array": (lambda o: [o], "body: must be of type object"),
}


@pytest.mark.parametrize("version", [V2024, V2026])
@pytest.mark.parametrize("case", sorted(BODY_CASES))
async def test_a_malformed_body_is_a_400_naming_the_field(
    app: Any, alice: Creds, case: str, version: str
) -> None:
    change, expected = BODY_CASES[case]
    before = state_of(app.state.exchange)
    async with asgi_client(app, Signer(alice, lambda: NOW), version) as c:
        response = await c.post(
            "/api/v1/orders",
            content=json.dumps(change(good_order(alice))),
            headers={"content-type": "application/json"},
        )
    problem = assert_problem(response, 400, version)
    assert problem["detail"].startswith(expected), problem["detail"]
    assert {"field", "rule"} <= set(problem["extensions"]["errors"][0])
    assert state_of(app.state.exchange) == before


async def test_modify_needs_id_or_external_id(app: Any, alice: Creds) -> None:
    body = {"info": {"client_id": alice.client_id, "new_qty": "1", "new_price": "74000"}}
    async with asgi_client(app, Signer(alice, lambda: NOW), V2026) as c:
        response = await c.patch(
            "/api/v1/orders", content=json.dumps(body), headers={"content-type": "application/json"}
        )
    assert (
        assert_problem(response, 400, V2026)["detail"] == "body: must contain at least one of id, external_id"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{", "body: is not valid JSON"),
        (b"", "body: is required"),
        (b"\xff\xfe", "body: must be encoded as UTF-8"),
    ],
)
async def test_a_body_that_is_not_json_is_a_400(
    app: Any, alice: Creds, content: bytes, expected: str
) -> None:
    before = state_of(app.state.exchange)
    async with asgi_client(app, Signer(alice, lambda: NOW), V2026) as c:
        response = await c.post(
            "/api/v1/orders", content=content, headers={"content-type": "application/json"}
        )
    assert assert_problem(response, 400, V2026)["detail"].startswith(expected)
    assert state_of(app.state.exchange) == before


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", None, "application/jsonx"]
)
async def test_a_body_that_is_not_application_json_is_a_415(
    app: Any, alice: Creds, content_type: str | None
) -> None:
    before = state_of(app.state.exchange)
    headers = {} if content_type is None else {"content-type": content_type}
    async with asgi_client(app, Signer(alice, lambda: NOW), V2026) as c:
        response = await c.post("/api/v1/orders", content=json.dumps(good_order(alice)), headers=headers)
    problem = assert_problem(response, 415, V2026)
    assert "application/json" in problem["detail"]
    assert state_of(app.state.exchange) == before


async def test_charset_parameter_is_fine(app: Any, alice: Creds) -> None:
    async with asgi_client(app, Signer(alice, lambda: NOW), V2026) as c:
        response = await c.post(
            "/api/v1/orders",
            content=json.dumps(good_order(alice)),
            headers={"content-type": "Application/JSON; charset=utf-8"},
        )
    assert response.status_code == 200, response.text


QUERY_CASES = [
    ("/api/v1/orders/list", {"size": "101"}, "query.size: must be <= 100"),
    ("/api/v1/orders/list", {"size": "0"}, "query.size: must be >= 1"),
    ("/api/v1/orders/list", {"size": "ten"}, "query.size: must be an integer"),
    ("/api/v1/orders/list", {"skip": "-1"}, "query.skip: must be >= 0"),
    ("/api/v1/balances", {"asset_id": "0"}, "query.asset_id: must match pattern ^[1-9][0-9]*$"),
    ("/api/v1/balances", {"asset_id": ""}, "query.asset_id: "),
    ("/api/v1/orders/trades", {}, "query.timestamp: is a required property"),
    ("/api/v1/transfers", {"timestamp": "yesterday"}, "query.timestamp: must match pattern"),
    ("/api/v1/orders/active", {"cursor": "not a cursor!"}, "query.cursor: must match pattern"),
    ("/api/v1/orders/status/" + "9" * 40, {}, "path.ref_id: must be at most 36 characters long"),
    ("/api/v1/orders/status/a%20b", {}, "path.ref_id: must match pattern"),
    ("/api/v1/orders/status/1", {"id_type": "both"}, "query.id_type: must be one of client, exchange"),
]


@pytest.mark.parametrize(("path", "params", "expected"), QUERY_CASES)
async def test_bad_parameters_are_a_400_naming_them(
    app: Any, alice: Creds, path: str, params: dict[str, str], expected: str
) -> None:
    async with asgi_client(app, Signer(alice, lambda: NOW), V2026) as c:
        response = await c.get(path, params=params)
    assert assert_problem(response, 400, V2026)["detail"].startswith(expected)


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
async def test_a_repeated_parameter_is_a_400(strict: bool) -> None:
    app = create_app(clock=lambda: NOW, strict=strict)
    alice = creds_of(app.state.exchange, "ALICE")
    async with asgi_client(app, Signer(alice, lambda: NOW), V2024) as c:
        response = await c.get("/api/v1/orders/list", params=[("size", "1"), ("size", "2")])
    assert assert_problem(response, 400, V2024)["detail"] == "query.size: must be given at most once"


# ------------------------------------------------------------ unknown query parameters (DECISIONS §20)
@pytest.fixture
def strict_app() -> Any:
    return create_app(clock=lambda: NOW, strict=True)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/assets", {"page_size": "5"}),
        ("/v1/cefi/assets", {"page_size": "5"}),
        ("/api/v1/orders/list", {"limit": "5"}),
        ("/api/v1/balances", {"asset_id": "0", "page_size": "5"}),
    ],
)
async def test_strict_mode_refuses_an_unknown_parameter(
    strict_app: Any, path: str, params: dict[str, str]
) -> None:
    alice = creds_of(strict_app.state.exchange, "ALICE")
    before = state_of(strict_app.state.exchange)
    async with asgi_client(strict_app, Signer(alice, lambda: NOW), V2026) as c:
        response = await c.get(path, params=params)
    detail = assert_problem(response, 400, V2026)["detail"]
    unknown = next(name for name in params if name in ("page_size", "limit"))
    assert detail.startswith(f"query.{unknown}: is not a parameter of this operation (known: ")
    assert WARNING_HEADER not in response.headers
    assert state_of(strict_app.state.exchange) == before


async def test_an_unknown_parameter_is_ignored_with_a_warning(
    app: Any, alice: Creds, caplog: pytest.LogCaptureFixture
) -> None:
    async with asgi_client(app, version=V2026) as c:
        plain = await c.get("/v1/cefi/assets")
        with caplog.at_level(logging.WARNING, logger="truex_sandbox"):
            response = await c.get("/v1/cefi/assets", params={"page_size": "5"})
    assert response.status_code == 200, response.text
    assert response.json() == plain.json()  # the parameter changes nothing
    assert response.headers[WARNING_HEADER] == "ignored unknown query parameter(s): page_size"
    assert WARNING_HEADER not in plain.headers
    [record] = [r for r in caplog.records if r.name == "truex_sandbox"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert response.headers["x-request-id"] in message
    assert "GET /assets" in message and "ignored unknown query parameter(s): page_size" in message


async def test_ignored_parameters_change_no_filter_nor_page(app: Any) -> None:
    async with asgi_client(app, version=V2026) as c:
        plain = await c.get("/v1/cefi/assets", params={"size": "1"})
        noisy = await c.get(
            "/v1/cefi/assets", params=[("size", "1"), ("limit", "5"), ("page_size", "9"), ("limit", "3")]
        )
        assert noisy.status_code == 200, noisy.text
        assert noisy.json()["data"] == plain.json()["data"]
        # A repeated unknown name is named once.
        assert noisy.headers[WARNING_HEADER] == "ignored unknown query parameter(s): limit, page_size"
        # The cursor is bound to the known filters only: it resumes the plain listing.
        cursor = noisy.json()["pagination"]["next_cursor"]
        assert cursor is not None
        follow = await c.get("/v1/cefi/assets", params={"size": "1", "cursor": cursor})
        plain_follow = await c.get(
            "/v1/cefi/assets", params={"size": "1", "cursor": plain.json()["pagination"]["next_cursor"]}
        )
    assert follow.status_code == 200, follow.text
    assert follow.json()["data"] == plain_follow.json()["data"] != plain.json()["data"]


async def test_known_parameters_are_still_checked_when_unknown_ones_are_ignored(
    app: Any, alice: Creds
) -> None:
    async with asgi_client(app, Signer(alice, lambda: NOW), V2026) as c:
        bad = await c.get("/v1/cefi/orders/list", params={"size": "101", "page_size": "5"})
        twice = await c.get("/v1/cefi/orders/list", params=[("size", "1"), ("size", "2"), ("x", "1")])
    assert assert_problem(bad, 400, V2026)["detail"] == "query.size: must be <= 100"
    assert bad.headers[WARNING_HEADER] == "ignored unknown query parameter(s): page_size"
    assert assert_problem(twice, 400, V2026)["detail"] == "query.size: must be given at most once"


async def test_the_warning_header_cannot_be_broken_by_a_name(app: Any) -> None:
    names = ["a\r\nx-evil: 1", "é,b", *(f"p{i}" for i in range(12))]
    query = "&".join(f"{quote(n, safe='')}=1" for n in names)
    async with asgi_client(app, version=V2026) as c:
        response = await c.get(f"/v1/cefi/assets?{query}")
    assert response.status_code == 200, response.text
    assert "x-evil" not in response.headers
    assert response.headers[WARNING_HEADER] == (
        "ignored unknown query parameter(s): a%0D%0Ax-evil:%201, %C3%A9%2Cb, "
        + ", ".join(f"p{i}" for i in range(8))
        + " (and 4 more)"
    )


async def test_public_operations_validate_too(app: Any) -> None:
    async with asgi_client(app, version=V2026) as c:
        response = await c.post(
            "/api/v1/markets/quote",
            content=json.dumps({"qty": "1", "instrument_id": "200000000000000001", "side": "BUY"}),
            headers={"content-type": "application/json"},
        )
    assert assert_problem(response, 400, V2026)["detail"] == "qty_unit: is a required property"


# ------------------------------------------------------------------- fast check == jsonschema
def _body_pointers() -> list[str]:
    # One pointer per distinct schema (a singular twin shares its plural's body through a YAML anchor).
    by_schema: dict[str, str] = {}
    for op in operations().values():
        if op.body_pointer:
            schema = json.dumps(inline_refs(load_spec(), {"$ref": op.body_pointer}), sort_keys=True)
            by_schema.setdefault(schema, op.body_pointer)
    return sorted(by_schema.values())


def _param_pointers() -> list[str]:
    return sorted({p.schema_pointer for op in operations().values() for p in op.parameters})


BASES: list[dict[str, Any]] = [
    {
        "external_id": "abc-1",
        "info": {
            "client_id": "78901985048264710",
            "instrument_id": "78901949723181070",
            "qty": "0.01",
            "price": "75000.50",
            "side": "BUY",
            "type": "LIMIT",
            "tif": "GTC",
            "exec_inst_flags": ["ALO"],
            "stp": "NONE",
            "flags": ["USE_AGGRESSIVE_PRICING"],
            "hold_fee_rate": "0.002",
        },
    },
    {
        "id": "1",
        "external_id": "m-1",
        "info": {"client_id": "1", "new_qty": "1", "new_price": "2", "new_type": "MARKET"},
    },
    {"id": "1", "info": {"self_trade_prevention": "NONE"}},
    {
        "request": {
            "asset_id": "1",
            "client_id": "2",
            "platform": "FIAT",
            "type": "DEPOSIT",
            "amount": "3",
            "instructions": {},
        }
    },
    {"qty": "1.5", "instrument_id": "1", "side": "SELL", "qty_unit": "QUOTE"},
]

_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=False),
    st.sampled_from(
        [
            "",
            "0",
            "01",
            "1",
            "-1",
            "1.5",
            "1.",
            ".5",
            "1e5",
            "abc",
            "BUY",
            "ALO",
            "NONE",
            "x" * 19,
            "1\n",
            " 1",
            "0f1c2b3a-4d5e-4f60-8a7b-9c8d7e6f5a4b",
            "ACTIVE",
            "exchange",
            "QUOTE",
        ]
    ),
    st.text(max_size=4),
)
_JSON = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(0, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            doc = draw(_JSON)
            continue
        node = doc
        for part in path[:-1]:
            node = node[part]
        if draw(st.booleans()) and isinstance(node, dict):
            del node[path[-1]]
        else:
            node[path[-1]] = draw(_JSON)
    return doc


@pytest.mark.parametrize("pointer", _body_pointers())
@settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(doc=mutated())
def test_fast_check_agrees_with_jsonschema_on_bodies(pointer: str, doc: Any) -> None:
    spec = load_spec()
    fast = compile_schema(inline_refs(spec, {"$ref": pointer}))
    slow = Validator({"$ref": SPEC_URI + pointer}, registry=spec_registry(spec))
    assert fast(doc) == slow.is_valid(doc)


@pytest.mark.parametrize("pointer", _param_pointers())
@settings(max_examples=60, derandomize=True, database=None, deadline=None)
@given(value=_JSON)
def test_fast_check_agrees_with_jsonschema_on_parameters(pointer: str, value: Any) -> None:
    spec = load_spec()
    fast = compile_schema(inline_refs(spec, {"$ref": pointer}))
    slow = Validator({"$ref": SPEC_URI + pointer}, registry=spec_registry(spec))
    assert fast(value) == slow.is_valid(value)


def test_every_base_document_is_valid_for_some_body() -> None:
    spec = load_spec()
    checks = [compile_schema(inline_refs(spec, {"$ref": p})) for p in _body_pointers()]
    for base in BASES:
        assert any(check(base) for check in checks), base


@pytest.mark.parametrize(
    ("schema", "instances"),
    [
        ({"type": ["string", "null"], "minLength": 2}, ["ab", None, "a", 1]),
        ({"type": "integer", "minimum": 1}, [1, 1.0, 0, True, "1", float("nan")]),
        ({"type": "array", "uniqueItems": True}, [[1, True], [1, 1.0], ["a", "a"], ["a", "b"], [{}, {}]]),
        ({"patternProperties": {"^x": {"type": "string"}}}, [{"x": 1}, {"x": "s"}, {"y": 1}]),  # not compiled
        ({"enum": [1, "a", None]}, [1, True, "a", None, 1.0, "b"]),
        ({"x-required-one-of": ["a", "b"]}, [{"a": 1}, {"b": 1}, {}, [], "a"]),
        ({"not": {"const": "a"}, "oneOf": [{"type": "string"}, {"maxLength": 1}]}, ["a", "b", "bc", 5]),
    ],
)
def test_fast_check_keyword_semantics(schema: dict[str, Any], instances: list[Any]) -> None:
    fast = compile_schema(schema)
    slow = Validator(schema)
    for instance in instances:
        assert fast(instance) == slow.is_valid(instance), (schema, instance)


def test_inline_refs_refuses_a_cycle() -> None:
    spec = {
        "components": {"schemas": {"Node": {"properties": {"next": {"$ref": "#/components/schemas/Node"}}}}}
    }
    with pytest.raises(ValueError, match="cycle"):
        inline_refs(spec, {"$ref": "#/components/schemas/Node"})


def test_the_command_line_says_strict() -> None:
    assert build_parser().parse_args([]).strict is False
    assert build_parser().parse_args(["--strict"]).strict is True
