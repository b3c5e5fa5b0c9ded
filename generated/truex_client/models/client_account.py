from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.client_status import ClientStatus
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="ClientAccount")


@_attrs_define
class ClientAccount:
    __repr__ = _model_repr  # UNSET fields left out

    id: str
    """ An exchange id, a non-zero numeric string. """
    status: ClientStatus | Unset = UNSET
    """ Client status; `INITIIALIZED` is the documented spelling. """
    info: ClientInfo | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        info: dict[str, Any] | Unset = UNSET
        if not isinstance(self.info, Unset):
            info = self.info.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
            }
        )
        if status is not UNSET:
            field_dict["status"] = status
        if info is not UNSET:
            field_dict["info"] = info

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        _status = d.pop("status", UNSET)
        status: ClientStatus | Unset
        if _status is UNSET:
            status = UNSET
        else:
            status = ClientStatus.from_value(_status)

        _info = d.pop("info", UNSET)
        info: ClientInfo | Unset
        if _info is UNSET:
            info = UNSET
        else:
            info = ClientInfo.from_dict(_info)

        client_account = cls(
            id=id,
            status=status,
            info=info,
        )

        client_account.additional_properties = d
        return client_account

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
from ..models.client_info import ClientInfo
