from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="ComputeQuote")


@_attrs_define
class ComputeQuote:
    __repr__ = _model_repr  # UNSET fields left out

    qty: Decimal
    price: Decimal
    notional: Decimal | Unset = UNSET
    notional_residual: Decimal | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        qty = format_decimal(self.qty, "qty")

        price = format_decimal(self.price, "price")

        notional: str | Unset = UNSET
        if not isinstance(self.notional, Unset):
            notional = format_decimal(self.notional, "notional")

        notional_residual: str | Unset = UNSET
        if not isinstance(self.notional_residual, Unset):
            notional_residual = format_decimal(
                self.notional_residual, "notional_residual"
            )

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "qty": qty,
                "price": price,
            }
        )
        if notional is not UNSET:
            field_dict["notional"] = notional
        if notional_residual is not UNSET:
            field_dict["notional_residual"] = notional_residual

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        qty = parse_decimal(d.pop("qty"), "qty")

        price = parse_decimal(d.pop("price"), "price")

        _notional = d.pop("notional", UNSET)
        notional: Decimal | Unset
        if _notional is UNSET:
            notional = UNSET
        else:
            notional = parse_decimal(_notional, "notional")

        _notional_residual = d.pop("notional_residual", UNSET)
        notional_residual: Decimal | Unset
        if _notional_residual is UNSET:
            notional_residual = UNSET
        else:
            notional_residual = parse_decimal(_notional_residual, "notional_residual")

        compute_quote = cls(
            qty=qty,
            price=price,
            notional=notional,
            notional_residual=notional_residual,
        )

        compute_quote.additional_properties = d
        return compute_quote

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
