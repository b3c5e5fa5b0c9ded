"""``executed_qty`` whichever spelling the server sent (DECISIONS §8).

The docs (and prod) spell it ``exeuted_qty``; True Markets' own market maker reads ``executed_qty``. The
spec carries both, ``executed_qty`` with ``x-wire-alias: exeuted_qty``, which a generator patch turns into a
fallback in ``from_dict``; the sandbox sends both keys with the same value.
"""

from __future__ import annotations

import importlib
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sandbox_support import V2024, V2026, Signer, asgi_client, assert_valid, creds_of

from truex_client.models import Order
from truex_client.types import UNSET
from truex_sandbox.app import create_app
from truex_sandbox.handlers import wire_order

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
NOW = 1_780_000_000.0
ORDER: dict[str, Any] = {"id": "799477895858487977", "status": "ACTIVE", "leaves_qty": "0.01"}


@pytest.mark.parametrize("key", ["exeuted_qty", "executed_qty"])
def test_either_spelling_parses_into_executed_qty(key: str) -> None:
    order = Order.from_dict({**ORDER, key: "0.005"})
    assert order.executed_qty == Decimal("0.005") and isinstance(order.executed_qty, Decimal)
    # The docs' key stays what the server sent.
    assert order.exeuted_qty == (Decimal("0.005") if key == "exeuted_qty" else UNSET)
    assert "exeuted_qty" not in order.additional_properties
    assert "executed_qty" not in order.additional_properties


def test_both_spellings_each_keep_their_own_value() -> None:
    order = Order.from_dict({**ORDER, "exeuted_qty": "1", "executed_qty": "2"})
    assert (order.exeuted_qty, order.executed_qty) == (Decimal("1"), Decimal("2"))
    assert order.to_dict()["executed_qty"] == "2"


def test_neither_spelling_leaves_both_unset() -> None:
    order = Order.from_dict(ORDER)
    assert order.executed_qty is UNSET and order.exeuted_qty is UNSET
    assert order.to_dict() == ORDER


def test_the_spec_marks_the_alias_and_neither_is_required() -> None:
    from truex_sandbox.spec import load_spec

    schema = load_spec()["components"]["schemas"]["Order"]
    assert schema["properties"]["executed_qty"]["x-wire-alias"] == "exeuted_qty"
    assert "DECISIONS §8" in schema["properties"]["executed_qty"]["x-assumption"]
    assert not {"exeuted_qty", "executed_qty"} & set(schema["required"])


def test_the_sandbox_view_carries_both_keys_in_wire_order() -> None:
    view = {"id": "1", "leaves_qty": "0", "exeuted_qty": "0.5", "executed_vwap": "7", "timestamp": "1"}
    wire = wire_order(view)
    assert list(wire) == ["id", "leaves_qty", "exeuted_qty", "executed_qty", "executed_vwap", "timestamp"]
    assert wire["executed_qty"] == wire["exeuted_qty"] == "0.5"
    assert "executed_qty" not in view  # the engine's answer is left as it was


@pytest.mark.parametrize("version", [V2026, V2024])
async def test_the_sandbox_sends_both_spellings_on_every_order(version: str) -> None:
    app = create_app(clock=lambda: NOW)
    alice = creds_of(app.state.exchange, "ALICE")
    body = {
        "external_id": "alias-1",
        "info": {
            "client_id": alice.client_id,
            "instrument_id": "200000000000000001",
            "qty": "0.01",
            "price": "74000",
            "side": "BUY",
            "type": "LIMIT",
            "tif": "GTC",
        },
    }

    def data(response: Any) -> Any:
        assert response.status_code == 200, response.text
        payload = response.json()
        return payload if version == V2024 else payload["data"]

    async with asgi_client(app, Signer(alice, lambda: NOW), version) as c:
        created = data(
            await c.post(
                "/v1/cefi/orders", content=json.dumps(body), headers={"content-type": "application/json"}
            )
        )
        orders = [created]
        orders += data(await c.get("/v1/cefi/orders/active"))
        orders += data(await c.get("/v1/cefi/orders/list"))
        orders += data(await c.get(f"/v1/cefi/orders/status/{created['id']}"))
        orders += data(await c.get("/api/v1/order/active"))  # a deprecated singular twin
        orders.append(data(await c.delete(f"/v1/cefi/orders/{created['id']}")))
    assert len(orders) >= 6
    for order in orders:
        assert order["executed_qty"] == order["exeuted_qty"], order
        assert_valid("#/components/schemas/Order", order)
        parsed = Order.from_dict(order)
        assert parsed.executed_qty == parsed.exeuted_qty == Decimal(order["exeuted_qty"])


def test_the_alias_patch_fails_loudly_when_the_template_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(SCRIPTS))
    try:
        patches = importlib.import_module("codegen_patches")
    finally:
        sys.path.remove(str(SCRIPTS))
    assert "x-wire-alias" in patches.patched_model_template()
    monkeypatch.setattr(patches, "MODEL_SOURCE_ORIGINAL", "{% set property_source = d[property.name] %}\n")
    with pytest.raises(patches.GeneratorInternalsChanged, match="property_source"):
        patches.patched_model_template()


def test_the_repr_patch_fails_loudly_when_the_template_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(SCRIPTS))
    try:
        patches = importlib.import_module("codegen_patches")
    finally:
        sys.path.remove(str(SCRIPTS))
    assert "__repr__ = _model_repr" in patches.patched_model_template()
    monkeypatch.setattr(patches, "MODEL_DOCSTRING_ANCHOR", "    {{ docstring_moved }}\n")
    with pytest.raises(patches.GeneratorInternalsChanged, match="class docstring"):
        patches.patched_model_template()
