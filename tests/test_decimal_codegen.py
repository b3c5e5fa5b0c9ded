"""Money in the generated client: decimal.Decimal in Python, the exact wire string on the wire."""

from __future__ import annotations

import importlib
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from truex_client.decimals import DecimalFieldError, format_decimal, parse_decimal
from truex_client.models import NewOrderInfo, Order, OrderCreateRequest, Side
from truex_client.models import OrderType as GenOrderType

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"

# Strings the spec's Decimal pattern admits: ^-?(0|[1-9][0-9]*)(\.[0-9]+)?$
decimal_strings = st.from_regex(r"\A-?(0|[1-9][0-9]{0,29})(\.[0-9]{1,30})?\Z")


@given(decimal_strings)
def test_wire_string_round_trips_unchanged(wire: str) -> None:
    value = parse_decimal(wire, "qty")
    assert isinstance(value, Decimal)
    assert format_decimal(value, "qty") == wire


@given(decimal_strings, decimal_strings)
def test_order_body_round_trips_through_the_generated_model(qty: str, price: str) -> None:
    body = {
        "id": "799477895858487977",
        "status": "ACTIVE",
        "order_info": {"instrument_id": "1", "qty": qty, "price": price, "side": "BUY", "type": "LIMIT"},
        "leaves_qty": qty,
        "exeuted_qty": "0",
    }
    order = Order.from_dict(body)
    assert isinstance(order.leaves_qty, Decimal) and isinstance(order.order_info.price, Decimal)  # type: ignore[union-attr]
    # executed_qty is read from exeuted_qty when absent (DECISIONS §8), so the dict carries both spellings.
    assert order.to_dict() == {**body, "executed_qty": "0"}


def test_small_values_are_never_sent_in_exponent_form() -> None:
    assert str(Decimal("0.00000001")) == "1E-8"  # the trap
    assert format_decimal(Decimal("0.00000001"), "qty") == "0.00000001"
    assert format_decimal(Decimal("1E+3"), "qty") == "1000"
    assert format_decimal(Decimal("75000.50"), "price") == "75000.50"


def test_a_float_is_refused_with_the_field_named_before_anything_is_sent() -> None:
    info = NewOrderInfo(
        client_id="1",
        instrument_id="2",
        qty=0.1,  # type: ignore[arg-type]
        side=Side.BUY,
        type_=GenOrderType.LIMIT,
    )
    with pytest.raises(DecimalFieldError) as err:
        OrderCreateRequest(external_id="abc-1", info=info).to_dict()
    assert err.value.field == "qty"
    assert "float" in err.value.rule
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), "0.1", True, None])
def test_non_decimal_values_are_refused(bad: object) -> None:
    with pytest.raises(DecimalFieldError, match=r"^price: "):
        format_decimal(bad, "price")


def test_int_is_exact_and_accepted() -> None:
    assert format_decimal(5, "qty") == "5"


@pytest.mark.parametrize("bad", [1.5, "abc", "NaN", None])
def test_a_response_that_is_not_a_decimal_string_is_an_error_naming_the_field(bad: object) -> None:
    with pytest.raises(DecimalFieldError, match=r"^leaves_qty: "):
        Order.from_dict({"id": "1", "status": "ACTIVE", "leaves_qty": bad})


@given(st.lists(decimal_strings, min_size=1, max_size=20))
def test_parsed_strings_are_remembered_without_changing_any_answer(wires: list[str]) -> None:
    # parse_decimal keeps the strings it has parsed; a second parse must be the same value with the same
    # exponent ("0.0010" stays 0.0010, not 0.001), so the string still round-trips.
    for _ in range(2):
        for wire in wires:
            value = parse_decimal(wire, "qty")
            assert value == Decimal(wire) and str(value) == str(Decimal(wire))
            assert format_decimal(value, "qty") == wire


def test_remembered_strings_do_not_let_junk_through_and_stay_bounded() -> None:
    import truex_client.decimals as decimals

    parse_decimal("0.0010", "qty")
    assert parse_decimal("0.0010", "qty").as_tuple().exponent == -4
    for bad in ("NaN", "abc", "Infinity"):
        for _ in range(2):  # the second time would hit the memory if junk had been kept
            with pytest.raises(DecimalFieldError):
                parse_decimal(bad, "qty")
    with pytest.raises(DecimalFieldError):
        parse_decimal(7, "qty")  # not a string, remembered or not
    for i in range(decimals._PARSED_MAX + 10):
        parse_decimal(str(i), "qty")
    assert len(decimals._PARSED) <= decimals._PARSED_MAX


def test_empty_book_sentinels_parse() -> None:
    low = "-170141183460469231731.687303715884105728"
    assert format_decimal(parse_decimal(low, "price"), "price") == low


@pytest.fixture()
def codegen():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(SCRIPTS))
    try:
        module = importlib.import_module("codegen_patches")
        yield module
    finally:
        sys.path.remove(str(SCRIPTS))


def test_patch_fails_loudly_when_generator_internals_move(codegen, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from openapi_python_client.parser import properties as props

    def moved(name, required, schema, config):  # type: ignore[no-untyped-def]  # renamed parameter
        raise AssertionError("never called")

    monkeypatch.setattr(props, "_string_based_property", moved)
    with pytest.raises(codegen.GeneratorInternalsChanged, match="_string_based_property"):
        codegen.install()
    monkeypatch.delattr(props, "_string_based_property")
    with pytest.raises(codegen.GeneratorInternalsChanged, match="is gone"):
        codegen.install()


def test_endpoint_template_patch_fails_loudly_when_the_template_moves(codegen, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert codegen.PATH_PARAM_PATCHED in codegen.patched_endpoint_template()
    monkeypatch.setattr(codegen, "PATH_PARAM_ORIGINAL", "quote(str(x))")
    with pytest.raises(codegen.GeneratorInternalsChanged, match="path parameter"):
        codegen.patched_endpoint_template()


def test_every_decimal_field_of_the_spec_is_decimal_typed(spec) -> None:  # type: ignore[no-untyped-def]
    # Derived from the spec, not a hand list: each property that is (or refs) the Decimal schema.
    import typing

    import truex_client.models as models

    ref = "#/components/schemas/Decimal"
    checked = 0
    for name, schema in spec["components"]["schemas"].items():
        for prop, sub in schema.get("properties", {}).items():
            if sub.get("$ref") == ref or sub.get("allOf") == [{"$ref": ref}]:
                cls_name = "ClientAccount" if name == "Client" else name
                hints = typing.get_type_hints(getattr(models, cls_name), localns=vars(models))
                assert Decimal in typing.get_args(hints[prop]) or hints[prop] is Decimal, (name, prop)
                checked += 1
    assert checked >= 40


def test_model_reprs_leave_unset_fields_out() -> None:
    from truex_client.models import Order

    order = Order.from_dict({"id": "1", "status": "ACTIVE", "leaves_qty": "0.01"})
    assert repr(order) == "Order(id='1', status=<OrderStatus.ACTIVE: 'ACTIVE'>, leaves_qty=Decimal('0.01'))"
    assert "Unset" not in repr(Order.from_dict({"id": "2", "status": "FILLED"}))
