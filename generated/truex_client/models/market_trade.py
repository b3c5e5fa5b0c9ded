from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="MarketTrade")


@_attrs_define
class MarketTrade:
    __repr__ = _model_repr  # UNSET fields left out

    trade_price: Decimal
    trade_qty: Decimal
    timestamp: str
    """ Unix time in nanoseconds as a numeric string. """
    instrument_id: str | Unset = UNSET
    """ An exchange id, a non-zero numeric string. """
    match_id: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        trade_price = format_decimal(self.trade_price, "trade_price")

        trade_qty = format_decimal(self.trade_qty, "trade_qty")

        timestamp = self.timestamp

        instrument_id = self.instrument_id

        match_id = self.match_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "trade_price": trade_price,
                "trade_qty": trade_qty,
                "timestamp": timestamp,
            }
        )
        if instrument_id is not UNSET:
            field_dict["instrument_id"] = instrument_id
        if match_id is not UNSET:
            field_dict["match_id"] = match_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        trade_price = parse_decimal(d.pop("trade_price"), "trade_price")

        trade_qty = parse_decimal(d.pop("trade_qty"), "trade_qty")

        timestamp = d.pop("timestamp")

        instrument_id = d.pop("instrument_id", UNSET)

        match_id = d.pop("match_id", UNSET)

        market_trade = cls(
            trade_price=trade_price,
            trade_qty=trade_qty,
            timestamp=timestamp,
            instrument_id=instrument_id,
            match_id=match_id,
        )

        market_trade.additional_properties = d
        return market_trade

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
