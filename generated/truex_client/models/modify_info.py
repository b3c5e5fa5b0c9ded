from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..models.modify_order_type import ModifyOrderType
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="ModifyInfo")


@_attrs_define
class ModifyInfo:
    """The last modify of the order."""

    __repr__ = _model_repr  # UNSET fields left out

    client_id: str
    """ An exchange id, a non-zero numeric string. """
    new_qty: Decimal
    new_price: Decimal
    new_type: ModifyOrderType | Unset = UNSET
    prev_modify: str | Unset = UNSET
    msg_id: str | Unset = UNSET
    parent_id: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        new_qty = format_decimal(self.new_qty, "new_qty")

        new_price = format_decimal(self.new_price, "new_price")

        new_type: str | Unset = UNSET
        if not isinstance(self.new_type, Unset):
            new_type = self.new_type.value

        prev_modify = self.prev_modify

        msg_id = self.msg_id

        parent_id = self.parent_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "client_id": client_id,
                "new_qty": new_qty,
                "new_price": new_price,
            }
        )
        if new_type is not UNSET:
            field_dict["new_type"] = new_type
        if prev_modify is not UNSET:
            field_dict["prev_modify"] = prev_modify
        if msg_id is not UNSET:
            field_dict["msg_id"] = msg_id
        if parent_id is not UNSET:
            field_dict["parent_id"] = parent_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        client_id = d.pop("client_id")

        new_qty = parse_decimal(d.pop("new_qty"), "new_qty")

        new_price = parse_decimal(d.pop("new_price"), "new_price")

        _new_type = d.pop("new_type", UNSET)
        new_type: ModifyOrderType | Unset
        if _new_type is UNSET:
            new_type = UNSET
        else:
            new_type = ModifyOrderType.from_value(_new_type)

        prev_modify = d.pop("prev_modify", UNSET)

        msg_id = d.pop("msg_id", UNSET)

        parent_id = d.pop("parent_id", UNSET)

        modify_info = cls(
            client_id=client_id,
            new_qty=new_qty,
            new_price=new_price,
            new_type=new_type,
            prev_modify=prev_modify,
            msg_id=msg_id,
            parent_id=parent_id,
        )

        modify_info.additional_properties = d
        return modify_info

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
