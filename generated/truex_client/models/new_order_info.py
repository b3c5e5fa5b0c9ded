from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..models.exec_inst_flag import ExecInstFlag
from ..models.order_flag import OrderFlag
from ..models.order_stp import OrderStp
from ..models.order_type import OrderType
from ..models.side import Side
from ..models.time_in_force import TimeInForce
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="NewOrderInfo")


@_attrs_define
class NewOrderInfo:
    __repr__ = _model_repr  # UNSET fields left out

    client_id: str
    """ An exchange id, a non-zero numeric string. """
    instrument_id: str
    """ An exchange id, a non-zero numeric string. """
    qty: Decimal
    side: Side
    type_: OrderType
    price: Decimal | Unset = UNSET
    tif: TimeInForce | Unset = UNSET
    exec_inst_flags: list[ExecInstFlag] | Unset = UNSET
    stp: OrderStp | Unset = UNSET
    """ Order-level self-trade prevention; overrides the client setting. """
    flags: list[OrderFlag] | Unset = UNSET
    hold_fee_rate: Decimal | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        client_id = self.client_id

        instrument_id = self.instrument_id

        qty = format_decimal(self.qty, "qty")

        side = self.side.value

        type_ = self.type_.value

        price: str | Unset = UNSET
        if not isinstance(self.price, Unset):
            price = format_decimal(self.price, "price")

        tif: str | Unset = UNSET
        if not isinstance(self.tif, Unset):
            tif = self.tif.value

        exec_inst_flags: list[str] | Unset = UNSET
        if not isinstance(self.exec_inst_flags, Unset):
            exec_inst_flags = []
            for exec_inst_flags_item_data in self.exec_inst_flags:
                exec_inst_flags_item = exec_inst_flags_item_data.value
                exec_inst_flags.append(exec_inst_flags_item)

        stp: str | Unset = UNSET
        if not isinstance(self.stp, Unset):
            stp = self.stp.value

        flags: list[str] | Unset = UNSET
        if not isinstance(self.flags, Unset):
            flags = []
            for flags_item_data in self.flags:
                flags_item = flags_item_data.value
                flags.append(flags_item)

        hold_fee_rate: str | Unset = UNSET
        if not isinstance(self.hold_fee_rate, Unset):
            hold_fee_rate = format_decimal(self.hold_fee_rate, "hold_fee_rate")

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "client_id": client_id,
                "instrument_id": instrument_id,
                "qty": qty,
                "side": side,
                "type": type_,
            }
        )
        if price is not UNSET:
            field_dict["price"] = price
        if tif is not UNSET:
            field_dict["tif"] = tif
        if exec_inst_flags is not UNSET:
            field_dict["exec_inst_flags"] = exec_inst_flags
        if stp is not UNSET:
            field_dict["stp"] = stp
        if flags is not UNSET:
            field_dict["flags"] = flags
        if hold_fee_rate is not UNSET:
            field_dict["hold_fee_rate"] = hold_fee_rate

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        client_id = d.pop("client_id")

        instrument_id = d.pop("instrument_id")

        qty = parse_decimal(d.pop("qty"), "qty")

        side = Side.from_value(d.pop("side"))

        type_ = OrderType.from_value(d.pop("type"))

        _price = d.pop("price", UNSET)
        price: Decimal | Unset
        if _price is UNSET:
            price = UNSET
        else:
            price = parse_decimal(_price, "price")

        _tif = d.pop("tif", UNSET)
        tif: TimeInForce | Unset
        if _tif is UNSET:
            tif = UNSET
        else:
            tif = TimeInForce.from_value(_tif)

        _exec_inst_flags = d.pop("exec_inst_flags", UNSET)
        exec_inst_flags: list[ExecInstFlag] | Unset = UNSET
        if _exec_inst_flags is not UNSET:
            exec_inst_flags = []
            for exec_inst_flags_item_data in _exec_inst_flags:
                exec_inst_flags_item = ExecInstFlag.from_value(
                    exec_inst_flags_item_data
                )

                exec_inst_flags.append(exec_inst_flags_item)

        _stp = d.pop("stp", UNSET)
        stp: OrderStp | Unset
        if _stp is UNSET:
            stp = UNSET
        else:
            stp = OrderStp.from_value(_stp)

        _flags = d.pop("flags", UNSET)
        flags: list[OrderFlag] | Unset = UNSET
        if _flags is not UNSET:
            flags = []
            for flags_item_data in _flags:
                flags_item = OrderFlag.from_value(flags_item_data)

                flags.append(flags_item)

        _hold_fee_rate = d.pop("hold_fee_rate", UNSET)
        hold_fee_rate: Decimal | Unset
        if _hold_fee_rate is UNSET:
            hold_fee_rate = UNSET
        else:
            hold_fee_rate = parse_decimal(_hold_fee_rate, "hold_fee_rate")

        new_order_info = cls(
            client_id=client_id,
            instrument_id=instrument_id,
            qty=qty,
            side=side,
            type_=type_,
            price=price,
            tif=tif,
            exec_inst_flags=exec_inst_flags,
            stp=stp,
            flags=flags,
            hold_fee_rate=hold_fee_rate,
        )

        new_order_info.additional_properties = d
        return new_order_info

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
