from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ComputeQuote")


@_attrs_define
class ComputeQuote:
    qty: str
    """ A decimal number as a string; never a JSON number. """
    price: str
    """ A decimal number as a string; never a JSON number. """
    notional: str | Unset = UNSET
    """ A decimal number as a string; never a JSON number. """
    notional_residual: str | Unset = UNSET
    """ A decimal number as a string; never a JSON number. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        qty = self.qty

        price = self.price

        notional = self.notional

        notional_residual = self.notional_residual

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
        qty = d.pop("qty")

        price = d.pop("price")

        notional = d.pop("notional", UNSET)

        notional_residual = d.pop("notional_residual", UNSET)

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
