from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.transfer_status import TransferStatus
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="Transfer")


@_attrs_define
class Transfer:
    __repr__ = _model_repr  # UNSET fields left out

    id: str
    """ An exchange id, a non-zero numeric string. """
    status: TransferStatus
    request: TransferInfo
    """ The transfer as requested (all fields optional in responses; the docs example is empty). """
    timestamp: str | Unset = UNSET
    """ Unix time in nanoseconds as a numeric string. """
    update_timestamp: str | Unset = UNSET
    """ Unix time in nanoseconds as a numeric string. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status.value

        request = self.request.to_dict()

        timestamp = self.timestamp

        update_timestamp = self.update_timestamp

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "request": request,
            }
        )
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp
        if update_timestamp is not UNSET:
            field_dict["update_timestamp"] = update_timestamp

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        status = TransferStatus.from_value(d.pop("status"))

        request = TransferInfo.from_dict(d.pop("request"))

        timestamp = d.pop("timestamp", UNSET)

        update_timestamp = d.pop("update_timestamp", UNSET)

        transfer = cls(
            id=id,
            status=status,
            request=request,
            timestamp=timestamp,
            update_timestamp=update_timestamp,
        )

        transfer.additional_properties = d
        return transfer

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
from ..models.transfer_info import TransferInfo
