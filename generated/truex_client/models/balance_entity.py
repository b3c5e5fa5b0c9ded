from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..models.balance_entity_status import BalanceEntityStatus
from ..reprs import model_repr as _model_repr

T = TypeVar("T", bound="BalanceEntity")


@_attrs_define
class BalanceEntity:
    __repr__ = _model_repr  # UNSET fields left out

    id: str
    """ An exchange id, a non-zero numeric string. """
    status: BalanceEntityStatus
    """ Exchange only status value, will always be INVALID. """
    unsettled_fees: Decimal
    fees_hold: Decimal
    balances: list[Balance]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status.value

        unsettled_fees = format_decimal(self.unsettled_fees, "unsettled_fees")

        fees_hold = format_decimal(self.fees_hold, "fees_hold")

        balances = []
        for balances_item_data in self.balances:
            balances_item = balances_item_data.to_dict()
            balances.append(balances_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "unsettled_fees": unsettled_fees,
                "fees_hold": fees_hold,
                "balances": balances,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        status = BalanceEntityStatus.from_value(d.pop("status"))

        unsettled_fees = parse_decimal(d.pop("unsettled_fees"), "unsettled_fees")

        fees_hold = parse_decimal(d.pop("fees_hold"), "fees_hold")

        balances = []
        _balances = d.pop("balances")
        for balances_item_data in _balances:
            balances_item = Balance.from_dict(balances_item_data)

            balances.append(balances_item)

        balance_entity = cls(
            id=id,
            status=status,
            unsettled_fees=unsettled_fees,
            fees_hold=fees_hold,
            balances=balances,
        )

        balance_entity.additional_properties = d
        return balance_entity

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
from ..models.balance import Balance
