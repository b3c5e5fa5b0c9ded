from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..decimals import format_decimal, parse_decimal
from ..models.transfer_platform import TransferPlatform
from ..models.transfer_type import TransferType
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="TransferNew")


@_attrs_define
class TransferNew:
    __repr__ = _model_repr  # UNSET fields left out

    asset_id: str
    """ An exchange id, a non-zero numeric string. """
    client_id: str
    """ An exchange id, a non-zero numeric string. """
    platform: TransferPlatform
    """ Must match the instructions. FIAT on a stablecoin asset converts automatically. """
    type_: TransferType
    """ DEPOSIT places funds on the exchange; WITHDRAW removes them. """
    amount: Decimal
    instructions: TransferNewInstructions | Unset = UNSET
    """ Platform-specific instructions, e.g. `{"transfer_id": "..."}` for INTERNAL deposits. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        asset_id = self.asset_id

        client_id = self.client_id

        platform = self.platform.value

        type_ = self.type_.value

        amount = format_decimal(self.amount, "amount")

        instructions: dict[str, Any] | Unset = UNSET
        if not isinstance(self.instructions, Unset):
            instructions = self.instructions.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "asset_id": asset_id,
                "client_id": client_id,
                "platform": platform,
                "type": type_,
                "amount": amount,
            }
        )
        if instructions is not UNSET:
            field_dict["instructions"] = instructions

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        asset_id = d.pop("asset_id")

        client_id = d.pop("client_id")

        platform = TransferPlatform.from_value(d.pop("platform"))

        type_ = TransferType.from_value(d.pop("type"))

        amount = parse_decimal(d.pop("amount"), "amount")

        _instructions = d.pop("instructions", UNSET)
        instructions: TransferNewInstructions | Unset
        if _instructions is UNSET:
            instructions = UNSET
        else:
            instructions = TransferNewInstructions.from_dict(_instructions)

        transfer_new = cls(
            asset_id=asset_id,
            client_id=client_id,
            platform=platform,
            type_=type_,
            amount=amount,
            instructions=instructions,
        )

        transfer_new.additional_properties = d
        return transfer_new

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
from ..models.transfer_new_instructions import TransferNewInstructions
