"""openapi/truex-ws.asyncapi.yaml: valid AsyncAPI 3.0, every example valid against its message's schema, and
the client accepts what the examples describe (and builds requests the schemas accept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from truex_ext.auth import Credentials
from truex_ext.stream import (
    Confirmation,
    Feed,
    MarketData,
    OrderUpdate,
    SnapshotComplete,
    Welcome,
    build_request,
)

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi" / "truex-ws.asyncapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
MESSAGES: dict[str, Any] = SPEC["components"]["messages"]


def _schema(message: dict[str, Any]) -> dict[str, Any]:
    # A standalone schema whose $refs resolve inside the whole document.
    return {**message["payload"], "components": SPEC["components"]}


def _examples() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, ex["name"], ex["payload"]) for name, msg in MESSAGES.items() for ex in msg.get("examples", [])
    ]


def test_asyncapi_3_structure() -> None:
    pydantic_asyncapi = pytest.importorskip("pydantic_asyncapi.v3")
    pydantic_asyncapi.AsyncAPI.model_validate(SPEC)
    assert SPEC["asyncapi"].startswith("3.0")
    assert SPEC["channels"]["api"]["address"] == "/api/v1"
    for op in SPEC["operations"].values():
        assert op["action"] in ("send", "receive")
        assert op["channel"]["$ref"] == "#/channels/api"
    names = {m["name"] for m in MESSAGES.values()}
    assert {"SUBSCRIBE", "SUBSCRIBE_NO_AUTH", "UNSUBSCRIBE", "UNSUBSCRIBE_NO_AUTH", "WELCOME", "CONFIRMATION",
            "INSTRUMENT", "EBBO", "TRADE", "DEPTH", "DROPCOPY", "SNAPSHOT_COMPLETE"} <= names  # fmt: skip


def test_every_ref_resolves() -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target: Any = SPEC
                for part in ref.removeprefix("#/").split("/"):
                    target = target[part]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SPEC)


def test_money_is_never_a_number() -> None:
    decimal = SPEC["components"]["schemas"]["Decimal"]
    assert decimal["type"] == "string" and decimal["format"] == "decimal"
    assert "number" not in SPEC_PATH.read_text().replace("sequence number", "").split("type:")[1:]


def test_gaps_are_marked_as_assumptions() -> None:
    text = SPEC_PATH.read_text()
    for topic in ("seqnum", "DECISIONS §21", "DECISIONS §22", "SNAPSHOT_COMPLETE", "pathless"):
        assert topic in text
    assert text.count("x-assumption") >= 10


@pytest.mark.parametrize(
    ("message", "name", "payload"), _examples(), ids=[f"{m}-{n}" for m, n, _ in _examples()]
)
def test_examples_validate_against_their_schema(message: str, name: str, payload: dict[str, Any]) -> None:
    jsonschema.validate(payload, _schema(MESSAGES[message]))


@pytest.mark.parametrize(
    ("message", "name", "payload"), _examples(), ids=[f"{m}-{n}" for m, n, _ in _examples()]
)
def test_client_accepts_server_examples(message: str, name: str, payload: dict[str, Any]) -> None:
    if MESSAGES[message]["name"] in ("SUBSCRIBE", "SUBSCRIBE_NO_AUTH", "UNSUBSCRIBE", "UNSUBSCRIBE_NO_AUTH"):
        pytest.skip("a client request")
    msg, gaps, _ = Feed().process(payload)
    assert not gaps
    expected = {
        "WELCOME": Welcome, "CONFIRMATION": Confirmation, "SNAPSHOT_COMPLETE": SnapshotComplete,
        "DROPCOPY": OrderUpdate,
    }.get(MESSAGES[message]["name"], MarketData)  # fmt: skip
    assert isinstance(msg, expected)
    if isinstance(msg, MarketData):
        assert type(msg.data).__name__.upper().startswith(msg.channel[:4])


def test_bad_example_is_rejected() -> None:
    bad = {"seqnum": "1", "channel": "DEPTH", "update": "UPDATE", "status": "AUTHENTICATED",
           "data": {"symbol": "X", "bids": [{"price": 1.5, "qty": "1"}], "asks": []}}  # fmt: skip
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _schema(MESSAGES["Depth"]))


@pytest.mark.parametrize("kind", ["SUBSCRIBE", "UNSUBSCRIBE", "SUBSCRIBE_NO_AUTH", "UNSUBSCRIBE_NO_AUTH"])
def test_client_requests_validate(kind: str) -> None:
    creds = Credentials("6398805c-f369-40f6-ac07-94ce683056e4", "my-secret")
    frame = build_request(kind, ["DEPTH"], ["BTC-PYUSD"], 1700000000, credentials=creds,
                          organization_id="30d17c5b-5d7b-4f06-bdc5-d4b3b12bdd40")  # fmt: skip
    message = next(m for m in MESSAGES.values() if m["name"] == kind)
    jsonschema.validate(frame, _schema(message))
    if kind == "SUBSCRIBE":
        assert frame["signature"] == "oa17ukI0ogcwKi4mv7Eh8nJy4gwL5U/GNQYZyAHVWOM="
