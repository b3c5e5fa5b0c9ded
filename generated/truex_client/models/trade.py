from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..models.liquidity_flag import LiquidityFlag
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="Trade")


@_attrs_define
class Trade:
    """One execution of one of the client's orders."""

    __repr__ = _model_repr  # UNSET fields left out

    client_id: str
    """ An exchange id, a non-zero numeric string. """
    instrument_id: str
    """ An exchange id, a non-zero numeric string. """
    order_id: str
    """ An exchange id, a non-zero numeric string. """
    trade_price: Decimal
    trade_qty: Decimal
    liq_flag: LiquidityFlag
    match_id: str
    timestamp: str
    """ Unix time in nanoseconds as a numeric string. """
    trade_fee_rate: Decimal | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        instrument_id = self.instrument_id

        order_id = self.order_id

        trade_price = format_decimal(self.trade_price, "trade_price")

        trade_qty = format_decimal(self.trade_qty, "trade_qty")

        liq_flag = self.liq_flag.value

        match_id = self.match_id

        timestamp = self.timestamp

        trade_fee_rate: str | Unset = UNSET
        if not isinstance(self.trade_fee_rate, Unset):
            trade_fee_rate = format_decimal(self.trade_fee_rate, "trade_fee_rate")

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "client_id": client_id,
                "instrument_id": instrument_id,
                "order_id": order_id,
                "trade_price": trade_price,
                "trade_qty": trade_qty,
                "liq_flag": liq_flag,
                "match_id": match_id,
                "timestamp": timestamp,
            }
        )
        if trade_fee_rate is not UNSET:
            field_dict["trade_fee_rate"] = trade_fee_rate

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        client_id = d.pop("client_id")

        instrument_id = d.pop("instrument_id")

        order_id = d.pop("order_id")

        trade_price = parse_decimal(d.pop("trade_price"), "trade_price")

        trade_qty = parse_decimal(d.pop("trade_qty"), "trade_qty")

        liq_flag = LiquidityFlag.from_value(d.pop("liq_flag"))

        match_id = d.pop("match_id")

        timestamp = d.pop("timestamp")

        _trade_fee_rate = d.pop("trade_fee_rate", UNSET)
        trade_fee_rate: Decimal | Unset
        if _trade_fee_rate is UNSET:
            trade_fee_rate = UNSET
        else:
            trade_fee_rate = parse_decimal(_trade_fee_rate, "trade_fee_rate")

        trade = cls(
            client_id=client_id,
            instrument_id=instrument_id,
            order_id=order_id,
            trade_price=trade_price,
            trade_qty=trade_qty,
            liq_flag=liq_flag,
            match_id=match_id,
            timestamp=timestamp,
            trade_fee_rate=trade_fee_rate,
        )

        trade.additional_properties = d
        return trade

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
