from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Balance")


@_attrs_define
class Balance:
    asset_id: str
    """ An exchange id, a non-zero numeric string. """
    balance: str
    """ A decimal number as a string; never a JSON number. """
    order_hold: str
    """ A decimal number as a string; never a JSON number. """
    transfer_hold: str
    """ A decimal number as a string; never a JSON number. """
    unsettled: str | Unset = UNSET
    """ A decimal number as a string; never a JSON number. """
    state: str | Unset = UNSET
    """ Balance state (values not documented). """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        asset_id = self.asset_id

        balance = self.balance

        order_hold = self.order_hold

        transfer_hold = self.transfer_hold

        unsettled = self.unsettled

        state = self.state

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "asset_id": asset_id,
                "balance": balance,
                "order_hold": order_hold,
                "transfer_hold": transfer_hold,
            }
        )
        if unsettled is not UNSET:
            field_dict["unsettled"] = unsettled
        if state is not UNSET:
            field_dict["state"] = state

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        asset_id = d.pop("asset_id")

        balance = d.pop("balance")

        order_hold = d.pop("order_hold")

        transfer_hold = d.pop("transfer_hold")

        unsettled = d.pop("unsettled", UNSET)

        state = d.pop("state", UNSET)

        balance = cls(
            asset_id=asset_id,
            balance=balance,
            order_hold=order_hold,
            transfer_hold=transfer_hold,
            unsettled=unsettled,
            state=state,
        )

        balance.additional_properties = d
        return balance

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
