from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..reprs import model_repr as _model_repr

T = TypeVar("T", bound="LastTrade")


@_attrs_define
class LastTrade:
    __repr__ = _model_repr  # UNSET fields left out

    price: Decimal
    qty: Decimal
    timestamp: str
    """ Unix time in nanoseconds as a numeric string. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        price = format_decimal(self.price, "price")

        qty = format_decimal(self.qty, "qty")

        timestamp = self.timestamp

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "price": price,
                "qty": qty,
                "timestamp": timestamp,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        price = parse_decimal(d.pop("price"), "price")

        qty = parse_decimal(d.pop("qty"), "qty")

        timestamp = d.pop("timestamp")

        last_trade = cls(
            price=price,
            qty=qty,
            timestamp=timestamp,
        )

        last_trade.additional_properties = d
        return last_trade

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
