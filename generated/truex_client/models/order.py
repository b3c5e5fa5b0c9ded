from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..models.order_status import OrderStatus
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="Order")


@_attrs_define
class Order:
    __repr__ = _model_repr  # UNSET fields left out

    id: str
    """ Exchange order id (a numeric string in production). """
    status: OrderStatus
    """ INITIALIZED created, not sent yet; NEW_PENDING sent, not confirmed; REJECTED an order setting or market
    condition prevents processing; ACTIVE accepted and open to trading; FILLED entirely traded; CANCEL_PENDING
    cancel being processed; CANCELED canceled by request or conditions; MODIFY_PENDING modify being processed. """
    order_info: OrderInfo | Unset = UNSET
    """ The order as entered (echo of the create request's `info`). """
    modify_info: ModifyInfo | Unset = UNSET
    """ The last modify of the order. """
    external_id: str | Unset = UNSET
    """ Client order id of the order (or of its last modify). """
    ref_external_id: str | Unset = UNSET
    """ The original external id. """
    pending_qty: Decimal | Unset = UNSET
    leaves_qty: Decimal | Unset = UNSET
    exeuted_qty: Decimal | Unset = UNSET
    executed_qty: Decimal | Unset = UNSET
    executed_vwap: Decimal | Unset = UNSET
    timestamp: str | Unset = UNSET
    """ Unix time in nanoseconds as a numeric string. """
    update_timestamp: str | Unset = UNSET
    """ Unix time in nanoseconds as a numeric string. """
    text: str | Unset = UNSET
    """ Why the order was rejected or canceled, when there is a reason to say. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status.value

        order_info: dict[str, Any] | Unset = UNSET
        if not isinstance(self.order_info, Unset):
            order_info = self.order_info.to_dict()

        modify_info: dict[str, Any] | Unset = UNSET
        if not isinstance(self.modify_info, Unset):
            modify_info = self.modify_info.to_dict()

        external_id = self.external_id

        ref_external_id = self.ref_external_id

        pending_qty: str | Unset = UNSET
        if not isinstance(self.pending_qty, Unset):
            pending_qty = format_decimal(self.pending_qty, "pending_qty")

        leaves_qty: str | Unset = UNSET
        if not isinstance(self.leaves_qty, Unset):
            leaves_qty = format_decimal(self.leaves_qty, "leaves_qty")

        exeuted_qty: str | Unset = UNSET
        if not isinstance(self.exeuted_qty, Unset):
            exeuted_qty = format_decimal(self.exeuted_qty, "exeuted_qty")

        executed_qty: str | Unset = UNSET
        if not isinstance(self.executed_qty, Unset):
            executed_qty = format_decimal(self.executed_qty, "executed_qty")

        executed_vwap: str | Unset = UNSET
        if not isinstance(self.executed_vwap, Unset):
            executed_vwap = format_decimal(self.executed_vwap, "executed_vwap")

        timestamp = self.timestamp

        update_timestamp = self.update_timestamp

        text = self.text

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
            }
        )
        if order_info is not UNSET:
            field_dict["order_info"] = order_info
        if modify_info is not UNSET:
            field_dict["modify_info"] = modify_info
        if external_id is not UNSET:
            field_dict["external_id"] = external_id
        if ref_external_id is not UNSET:
            field_dict["ref_external_id"] = ref_external_id
        if pending_qty is not UNSET:
            field_dict["pending_qty"] = pending_qty
        if leaves_qty is not UNSET:
            field_dict["leaves_qty"] = leaves_qty
        if exeuted_qty is not UNSET:
            field_dict["exeuted_qty"] = exeuted_qty
        if executed_qty is not UNSET:
            field_dict["executed_qty"] = executed_qty
        if executed_vwap is not UNSET:
            field_dict["executed_vwap"] = executed_vwap
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp
        if update_timestamp is not UNSET:
            field_dict["update_timestamp"] = update_timestamp
        if text is not UNSET:
            field_dict["text"] = text

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        status = OrderStatus.from_value(d.pop("status"))

        _order_info = d.pop("order_info", UNSET)
        order_info: OrderInfo | Unset
        if _order_info is UNSET:
            order_info = UNSET
        else:
            order_info = OrderInfo.from_dict(_order_info)

        _modify_info = d.pop("modify_info", UNSET)
        modify_info: ModifyInfo | Unset
        if _modify_info is UNSET:
            modify_info = UNSET
        else:
            modify_info = ModifyInfo.from_dict(_modify_info)

        external_id = d.pop("external_id", UNSET)

        ref_external_id = d.pop("ref_external_id", UNSET)

        _pending_qty = d.pop("pending_qty", UNSET)
        pending_qty: Decimal | Unset
        if _pending_qty is UNSET:
            pending_qty = UNSET
        else:
            pending_qty = parse_decimal(_pending_qty, "pending_qty")

        _leaves_qty = d.pop("leaves_qty", UNSET)
        leaves_qty: Decimal | Unset
        if _leaves_qty is UNSET:
            leaves_qty = UNSET
        else:
            leaves_qty = parse_decimal(_leaves_qty, "leaves_qty")

        _exeuted_qty = d.pop("exeuted_qty", UNSET)
        exeuted_qty: Decimal | Unset
        if _exeuted_qty is UNSET:
            exeuted_qty = UNSET
        else:
            exeuted_qty = parse_decimal(_exeuted_qty, "exeuted_qty")

        _executed_qty = d.pop("executed_qty", src_dict.get("exeuted_qty", UNSET))
        executed_qty: Decimal | Unset
        if _executed_qty is UNSET:
            executed_qty = UNSET
        else:
            executed_qty = parse_decimal(_executed_qty, "executed_qty")

        _executed_vwap = d.pop("executed_vwap", UNSET)
        executed_vwap: Decimal | Unset
        if _executed_vwap is UNSET:
            executed_vwap = UNSET
        else:
            executed_vwap = parse_decimal(_executed_vwap, "executed_vwap")

        timestamp = d.pop("timestamp", UNSET)

        update_timestamp = d.pop("update_timestamp", UNSET)

        text = d.pop("text", UNSET)

        order = cls(
            id=id,
            status=status,
            order_info=order_info,
            modify_info=modify_info,
            external_id=external_id,
            ref_external_id=ref_external_id,
            pending_qty=pending_qty,
            leaves_qty=leaves_qty,
            exeuted_qty=exeuted_qty,
            executed_qty=executed_qty,
            executed_vwap=executed_vwap,
            timestamp=timestamp,
            update_timestamp=update_timestamp,
            text=text,
        )

        order.additional_properties = d
        return order

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
from ..models.modify_info import ModifyInfo
from ..models.order_info import OrderInfo
