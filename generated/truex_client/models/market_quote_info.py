from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="MarketQuoteInfo")


@_attrs_define
class MarketQuoteInfo:
    __repr__ = _model_repr  # UNSET fields left out

    last_trade: LastTrade | Unset = UNSET
    best_bid: BookTop | Unset = UNSET
    """ Best level of one side. An empty side is sent as price "0" or as a decimal128 extreme
    (-170141183460469231731.687303715884105728 for bids). """
    best_ask: BookTop | Unset = UNSET
    """ Best level of one side. An empty side is sent as price "0" or as a decimal128 extreme
    (-170141183460469231731.687303715884105728 for bids). """
    last_update: str | Unset = UNSET
    """ Unix time in nanoseconds as a numeric string. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        last_trade: dict[str, Any] | Unset = UNSET
        if not isinstance(self.last_trade, Unset):
            last_trade = self.last_trade.to_dict()

        best_bid: dict[str, Any] | Unset = UNSET
        if not isinstance(self.best_bid, Unset):
            best_bid = self.best_bid.to_dict()

        best_ask: dict[str, Any] | Unset = UNSET
        if not isinstance(self.best_ask, Unset):
            best_ask = self.best_ask.to_dict()

        last_update = self.last_update

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if last_trade is not UNSET:
            field_dict["last_trade"] = last_trade
        if best_bid is not UNSET:
            field_dict["best_bid"] = best_bid
        if best_ask is not UNSET:
            field_dict["best_ask"] = best_ask
        if last_update is not UNSET:
            field_dict["last_update"] = last_update

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        _last_trade = d.pop("last_trade", UNSET)
        last_trade: LastTrade | Unset
        if _last_trade is UNSET:
            last_trade = UNSET
        else:
            last_trade = LastTrade.from_dict(_last_trade)

        _best_bid = d.pop("best_bid", UNSET)
        best_bid: BookTop | Unset
        if _best_bid is UNSET:
            best_bid = UNSET
        else:
            best_bid = BookTop.from_dict(_best_bid)

        _best_ask = d.pop("best_ask", UNSET)
        best_ask: BookTop | Unset
        if _best_ask is UNSET:
            best_ask = UNSET
        else:
            best_ask = BookTop.from_dict(_best_ask)

        last_update = d.pop("last_update", UNSET)

        market_quote_info = cls(
            last_trade=last_trade,
            best_bid=best_bid,
            best_ask=best_ask,
            last_update=last_update,
        )

        market_quote_info.additional_properties = d
        return market_quote_info

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
from ..models.book_top import BookTop
from ..models.last_trade import LastTrade
