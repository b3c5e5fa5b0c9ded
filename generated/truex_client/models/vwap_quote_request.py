from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..reprs import model_repr as _model_repr

T = TypeVar("T", bound="VwapQuoteRequest")


@_attrs_define
class VwapQuoteRequest:
    __repr__ = _model_repr  # UNSET fields left out

    qty: Decimal
    instrument_id: str
    """ An exchange id, a non-zero numeric string. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        qty = format_decimal(self.qty, "qty")

        instrument_id = self.instrument_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "qty": qty,
                "instrument_id": instrument_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        qty = parse_decimal(d.pop("qty"), "qty")

        instrument_id = d.pop("instrument_id")

        vwap_quote_request = cls(
            qty=qty,
            instrument_id=instrument_id,
        )

        vwap_quote_request.additional_properties = d
        return vwap_quote_request

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
