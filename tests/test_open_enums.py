"""Enums stay open (DECISIONS §9): a value the server adds later parses; a request is still checked."""

from __future__ import annotations

import importlib
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from truex_client.models import NewOrderInfo, Order, OrderStatus, OrderType, Side
from truex_ext import InvalidParameterError, Truex

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def test_an_unknown_enum_value_in_a_response_parses_and_round_trips() -> None:
    body = {
        "id": "1",
        "status": "PARTIALLY_FILLED",
        "order_info": {"instrument_id": "1", "qty": "1", "side": "BUY", "type": "STOP"},
    }
    order = Order.from_dict(body)
    assert isinstance(order.status, OrderStatus)
    assert order.status.value == "PARTIALLY_FILLED"
    assert order.status not in list(OrderStatus)  # not mistaken for a documented member
    assert order.to_dict() == body


def test_known_values_are_still_the_members() -> None:
    assert OrderStatus("FILLED") is OrderStatus.FILLED
    with pytest.raises(ValueError):
        OrderStatus(7)  # type: ignore[arg-type]  # only strings are kept


def test_from_value_is_the_constructor_on_the_fast_path() -> None:
    # The generated parsers call from_value (a dict lookup) instead of the Enum constructor: same answers.
    assert OrderStatus.from_value("FILLED") is OrderStatus.FILLED
    unknown = OrderStatus.from_value("PARTIALLY_FILLED")
    assert isinstance(unknown, OrderStatus) and unknown.value == "PARTIALLY_FILLED"
    for junk in (7, None, ["FILLED"], {"a": 1}):
        with pytest.raises(ValueError):
            OrderStatus.from_value(junk)  # type: ignore[arg-type]


def test_a_request_with_an_undocumented_value_is_refused_before_sending() -> None:
    sent: list[httpx.Request] = []
    client = Truex(
        api_key="k" * 36,
        api_secret="open-enum-test-secret",
        client_id="1",
        transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(500)),
        environ={},
    )
    info = NewOrderInfo(
        client_id="1",
        instrument_id="2",
        qty=Decimal("1"),
        price=Decimal("1"),
        side=Side("HOLD"),
        type_=OrderType.LIMIT,
    )
    with pytest.raises(InvalidParameterError) as err:
        client.orders.create(info=info)
    assert err.value.field == "info.side" and "BUY" in err.value.rule
    assert sent == []


def test_the_enum_patch_fails_loudly_when_the_template_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(SCRIPTS))
    try:
        patches = importlib.import_module("codegen_patches")
    finally:
        sys.path.remove(str(SCRIPTS))
    assert "(OpenStrEnum):" in patches.patched_str_enum_template()
    monkeypatch.setattr(patches, "STR_ENUM_BASE", "class {{ enum.class_info.name }}(StrEnum):")
    with pytest.raises(patches.GeneratorInternalsChanged, match="str_enum"):
        patches.patched_str_enum_template()


def test_the_version_strings_are_the_spec_enum() -> None:
    from truex_client.models import ApiVersion
    from truex_ext.versions import DEFAULT_VERSION, SERVER_DEFAULT_VERSION, SUPPORTED_VERSIONS

    assert set(SUPPORTED_VERSIONS) == {v.value for v in ApiVersion}
    assert {DEFAULT_VERSION, SERVER_DEFAULT_VERSION} == set(SUPPORTED_VERSIONS)


def test_the_open_enum_docstring_example_holds() -> None:
    import doctest

    import truex_client.open_enums

    result = doctest.testmod(truex_client.open_enums)
    assert result.attempted >= 2 and result.failed == 0


def test_the_parse_speed_patches_fail_loudly_when_their_templates_move(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sys.path.insert(0, str(SCRIPTS))
    try:
        patches = importlib.import_module("codegen_patches")
    finally:
        sys.path.remove(str(SCRIPTS))
    assert ".from_value(" in patches.patched_enum_property()
    assert " is UNSET:" in patches.patched_property_macros()
    assert "if TYPE_CHECKING:" not in patches.patched_model_template()
    monkeypatch.setattr(
        patches, "ENUM_CONSTRUCT_ORIGINAL", "{{ property.class_info.name }}.parse({{ source }})"
    )
    monkeypatch.setattr(patches, "UNSET_CHECK_ORIGINAL", "if _x is Unset:")
    monkeypatch.setattr(patches, "MODEL_METHOD_LAZY", "        {{ lazy_import }}\n")
    for patch in (
        patches.patched_enum_property,
        patches.patched_property_macros,
        patches.patched_model_template,
    ):
        with pytest.raises(patches.GeneratorInternalsChanged):
            patch()
