from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="BookTop")


@_attrs_define
class BookTop:
    """Best level of one side. An empty side is sent as price "0" or as a decimal128 extreme
    (-170141183460469231731.687303715884105728 for bids).

    """

    __repr__ = _model_repr  # UNSET fields left out

    price: Decimal
    qty: Decimal
    order_count: str | Unset = UNSET
    last_update: str | Unset = UNSET
    """ Unix time in nanoseconds as a numeric string. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        price = format_decimal(self.price, "price")

        qty = format_decimal(self.qty, "qty")

        order_count = self.order_count

        last_update = self.last_update

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "price": price,
                "qty": qty,
            }
        )
        if order_count is not UNSET:
            field_dict["order_count"] = order_count
        if last_update is not UNSET:
            field_dict["last_update"] = last_update

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        price = parse_decimal(d.pop("price"), "price")

        qty = parse_decimal(d.pop("qty"), "qty")

        order_count = d.pop("order_count", UNSET)

        last_update = d.pop("last_update", UNSET)

        book_top = cls(
            price=price,
            qty=qty,
            order_count=order_count,
            last_update=last_update,
        )

        book_top.additional_properties = d
        return book_top

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
