from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="OrderModifyRequest")


@_attrs_define
class OrderModifyRequest:
    """Order modify request. At least one of `id` and `external_id` identifies the order."""

    __repr__ = _model_repr  # UNSET fields left out

    info: ModifyOrderInfo
    id: str | Unset = UNSET
    """ An exchange id, a non-zero numeric string. """
    external_id: str | Unset = UNSET
    """ Client order id: a lowercase hyphenated UUIDv4, or an ASCII string of at most 18 RFC 3986 unreserved
    characters (`A-Z a-z 0-9 - _ . ~`). """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        info = self.info.to_dict()

        id = self.id

        external_id = self.external_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "info": info,
            }
        )
        if id is not UNSET:
            field_dict["id"] = id
        if external_id is not UNSET:
            field_dict["external_id"] = external_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        info = ModifyOrderInfo.from_dict(d.pop("info"))

        id = d.pop("id", UNSET)

        external_id = d.pop("external_id", UNSET)

        order_modify_request = cls(
            info=info,
            id=id,
            external_id=external_id,
        )

        order_modify_request.additional_properties = d
        return order_modify_request

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


# At the end, not inside each method: a model that refers back to this one finds the class defined.
from ..models.modify_order_info import ModifyOrderInfo
