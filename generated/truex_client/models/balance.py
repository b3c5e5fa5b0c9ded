from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="Balance")


@_attrs_define
class Balance:
    __repr__ = _model_repr  # UNSET fields left out

    asset_id: str
    """ An exchange id, a non-zero numeric string. """
    balance: Decimal
    order_hold: Decimal
    transfer_hold: Decimal
    unsettled: Decimal | Unset = UNSET
    state: str | Unset = UNSET
    """ Balance state (values not documented). """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        asset_id = self.asset_id

        balance = format_decimal(self.balance, "balance")

        order_hold = format_decimal(self.order_hold, "order_hold")

        transfer_hold = format_decimal(self.transfer_hold, "transfer_hold")

        unsettled: str | Unset = UNSET
        if not isinstance(self.unsettled, Unset):
            unsettled = format_decimal(self.unsettled, "unsettled")

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

        balance = parse_decimal(d.pop("balance"), "balance")

        order_hold = parse_decimal(d.pop("order_hold"), "order_hold")

        transfer_hold = parse_decimal(d.pop("transfer_hold"), "transfer_hold")

        _unsettled = d.pop("unsettled", UNSET)
        unsettled: Decimal | Unset
        if _unsettled is UNSET:
            unsettled = UNSET
        else:
            unsettled = parse_decimal(_unsettled, "unsettled")

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
