from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..reprs import model_repr as _model_repr

T = TypeVar("T", bound="VwapQuote")


@_attrs_define
class VwapQuote:
    __repr__ = _model_repr  # UNSET fields left out

    quote: Decimal
    buy_amount: Decimal
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        quote = format_decimal(self.quote, "quote")

        buy_amount = format_decimal(self.buy_amount, "buy_amount")

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "quote": quote,
                "buy_amount": buy_amount,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        quote = parse_decimal(d.pop("quote"), "quote")

        buy_amount = parse_decimal(d.pop("buy_amount"), "buy_amount")

        vwap_quote = cls(
            quote=quote,
            buy_amount=buy_amount,
        )

        vwap_quote.additional_properties = d
        return vwap_quote

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
