from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="InstrumentStats")


@_attrs_define
class InstrumentStats:
    __repr__ = _model_repr  # UNSET fields left out

    last_24hr_notional: Decimal | Unset = UNSET
    last_24hr_quantity: Decimal | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        last_24hr_notional: str | Unset = UNSET
        if not isinstance(self.last_24hr_notional, Unset):
            last_24hr_notional = format_decimal(
                self.last_24hr_notional, "last_24hr_notional"
            )

        last_24hr_quantity: str | Unset = UNSET
        if not isinstance(self.last_24hr_quantity, Unset):
            last_24hr_quantity = format_decimal(
                self.last_24hr_quantity, "last_24hr_quantity"
            )

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if last_24hr_notional is not UNSET:
            field_dict["last_24hr_notional"] = last_24hr_notional
        if last_24hr_quantity is not UNSET:
            field_dict["last_24hr_quantity"] = last_24hr_quantity

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        _last_24hr_notional = d.pop("last_24hr_notional", UNSET)
        last_24hr_notional: Decimal | Unset
        if _last_24hr_notional is UNSET:
            last_24hr_notional = UNSET
        else:
            last_24hr_notional = parse_decimal(
                _last_24hr_notional, "last_24hr_notional"
            )

        _last_24hr_quantity = d.pop("last_24hr_quantity", UNSET)
        last_24hr_quantity: Decimal | Unset
        if _last_24hr_quantity is UNSET:
            last_24hr_quantity = UNSET
        else:
            last_24hr_quantity = parse_decimal(
                _last_24hr_quantity, "last_24hr_quantity"
            )

        instrument_stats = cls(
            last_24hr_notional=last_24hr_notional,
            last_24hr_quantity=last_24hr_quantity,
        )

        instrument_stats.additional_properties = d
        return instrument_stats

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
