from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="InstrumentInfo")


@_attrs_define
class InstrumentInfo:
    __repr__ = _model_repr  # UNSET fields left out

    symbol: str
    """ Human readable symbol. """
    reference_price: Decimal
    base_asset_id: str
    """ An exchange id, a non-zero numeric string. """
    quote_asset_id: str
    """ An exchange id, a non-zero numeric string. """
    price_limit_window_secs: str | Unset = UNSET
    """ Seconds in the sliding window of the price limit. """
    price_limit_percent: Decimal | Unset = UNSET
    price_bands_percent: Decimal | Unset = UNSET
    price_increment: Decimal | Unset = UNSET
    qty_increment: Decimal | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        symbol = self.symbol

        reference_price = format_decimal(self.reference_price, "reference_price")

        base_asset_id = self.base_asset_id

        quote_asset_id = self.quote_asset_id

        price_limit_window_secs = self.price_limit_window_secs

        price_limit_percent: str | Unset = UNSET
        if not isinstance(self.price_limit_percent, Unset):
            price_limit_percent = format_decimal(
                self.price_limit_percent, "price_limit_percent"
            )

        price_bands_percent: str | Unset = UNSET
        if not isinstance(self.price_bands_percent, Unset):
            price_bands_percent = format_decimal(
                self.price_bands_percent, "price_bands_percent"
            )

        price_increment: str | Unset = UNSET
        if not isinstance(self.price_increment, Unset):
            price_increment = format_decimal(self.price_increment, "price_increment")

        qty_increment: str | Unset = UNSET
        if not isinstance(self.qty_increment, Unset):
            qty_increment = format_decimal(self.qty_increment, "qty_increment")

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "symbol": symbol,
                "reference_price": reference_price,
                "base_asset_id": base_asset_id,
                "quote_asset_id": quote_asset_id,
            }
        )
        if price_limit_window_secs is not UNSET:
            field_dict["price_limit_window_secs"] = price_limit_window_secs
        if price_limit_percent is not UNSET:
            field_dict["price_limit_percent"] = price_limit_percent
        if price_bands_percent is not UNSET:
            field_dict["price_bands_percent"] = price_bands_percent
        if price_increment is not UNSET:
            field_dict["price_increment"] = price_increment
        if qty_increment is not UNSET:
            field_dict["qty_increment"] = qty_increment

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        symbol = d.pop("symbol")

        reference_price = parse_decimal(d.pop("reference_price"), "reference_price")

        base_asset_id = d.pop("base_asset_id")

        quote_asset_id = d.pop("quote_asset_id")

        price_limit_window_secs = d.pop("price_limit_window_secs", UNSET)

        _price_limit_percent = d.pop("price_limit_percent", UNSET)
        price_limit_percent: Decimal | Unset
        if _price_limit_percent is UNSET:
            price_limit_percent = UNSET
        else:
            price_limit_percent = parse_decimal(
                _price_limit_percent, "price_limit_percent"
            )

        _price_bands_percent = d.pop("price_bands_percent", UNSET)
        price_bands_percent: Decimal | Unset
        if _price_bands_percent is UNSET:
            price_bands_percent = UNSET
        else:
            price_bands_percent = parse_decimal(
                _price_bands_percent, "price_bands_percent"
            )

        _price_increment = d.pop("price_increment", UNSET)
        price_increment: Decimal | Unset
        if _price_increment is UNSET:
            price_increment = UNSET
        else:
            price_increment = parse_decimal(_price_increment, "price_increment")

        _qty_increment = d.pop("qty_increment", UNSET)
        qty_increment: Decimal | Unset
        if _qty_increment is UNSET:
            qty_increment = UNSET
        else:
            qty_increment = parse_decimal(_qty_increment, "qty_increment")

        instrument_info = cls(
            symbol=symbol,
            reference_price=reference_price,
            base_asset_id=base_asset_id,
            quote_asset_id=quote_asset_id,
            price_limit_window_secs=price_limit_window_secs,
            price_limit_percent=price_limit_percent,
            price_bands_percent=price_bands_percent,
            price_increment=price_increment,
            qty_increment=qty_increment,
        )

        instrument_info.additional_properties = d
        return instrument_info

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
