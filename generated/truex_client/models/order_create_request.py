from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..reprs import model_repr as _model_repr

T = TypeVar("T", bound="OrderCreateRequest")


@_attrs_define
class OrderCreateRequest:
    """
    Example:
        {'external_id': 'abc-1', 'info': {'client_id': '78901985048264710', 'instrument_id': '78901949723181070', 'qty':
            '0.01', 'price': '75000.50', 'side': 'BUY', 'type': 'LIMIT', 'tif': 'GTC'}}

    """

    __repr__ = _model_repr  # UNSET fields left out

    external_id: str
    """ Client order id: a lowercase hyphenated UUIDv4, or an ASCII string of at most 18 RFC 3986 unreserved
    characters (`A-Z a-z 0-9 - _ . ~`). """
    info: NewOrderInfo
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        external_id = self.external_id

        info = self.info.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "external_id": external_id,
                "info": info,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        external_id = d.pop("external_id")

        info = NewOrderInfo.from_dict(d.pop("info"))

        order_create_request = cls(
            external_id=external_id,
            info=info,
        )

        order_create_request.additional_properties = d
        return order_create_request

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
from ..models.new_order_info import NewOrderInfo
