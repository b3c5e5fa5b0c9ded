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

T = TypeVar("T", bound="TransferInfo")


@_attrs_define
class TransferInfo:
    """The transfer as requested (all fields optional in responses; the docs example is empty)."""

    __repr__ = _model_repr  # UNSET fields left out

    asset_id: str | Unset = UNSET
    """ An exchange id, a non-zero numeric string. """
    client_id: str | Unset = UNSET
    """ An exchange id, a non-zero numeric string. """
    platform: TransferPlatform | Unset = UNSET
    """ Must match the instructions. FIAT on a stablecoin asset converts automatically. """
    type_: TransferType | Unset = UNSET
    """ DEPOSIT places funds on the exchange; WITHDRAW removes them. """
    amount: Decimal | Unset = UNSET
    instructions: TransferInfoInstructions | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        asset_id = self.asset_id

        client_id = self.client_id

        platform: str | Unset = UNSET
        if not isinstance(self.platform, Unset):
            platform = self.platform.value

        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_.value

        amount: str | Unset = UNSET
        if not isinstance(self.amount, Unset):
            amount = format_decimal(self.amount, "amount")

        instructions: dict[str, Any] | Unset = UNSET
        if not isinstance(self.instructions, Unset):
            instructions = self.instructions.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if asset_id is not UNSET:
            field_dict["asset_id"] = asset_id
        if client_id is not UNSET:
            field_dict["client_id"] = client_id
        if platform is not UNSET:
            field_dict["platform"] = platform
        if type_ is not UNSET:
            field_dict["type"] = type_
        if amount is not UNSET:
            field_dict["amount"] = amount
        if instructions is not UNSET:
            field_dict["instructions"] = instructions

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        asset_id = d.pop("asset_id", UNSET)

        client_id = d.pop("client_id", UNSET)

        _platform = d.pop("platform", UNSET)
        platform: TransferPlatform | Unset
        if _platform is UNSET:
            platform = UNSET
        else:
            platform = TransferPlatform.from_value(_platform)

        _type_ = d.pop("type", UNSET)
        type_: TransferType | Unset
        if _type_ is UNSET:
            type_ = UNSET
        else:
            type_ = TransferType.from_value(_type_)

        _amount = d.pop("amount", UNSET)
        amount: Decimal | Unset
        if _amount is UNSET:
            amount = UNSET
        else:
            amount = parse_decimal(_amount, "amount")

        _instructions = d.pop("instructions", UNSET)
        instructions: TransferInfoInstructions | Unset
        if _instructions is UNSET:
            instructions = UNSET
        else:
            instructions = TransferInfoInstructions.from_dict(_instructions)

        transfer_info = cls(
            asset_id=asset_id,
            client_id=client_id,
            platform=platform,
            type_=type_,
            amount=amount,
            instructions=instructions,
        )

        transfer_info.additional_properties = d
        return transfer_info

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
from ..models.transfer_info_instructions import TransferInfoInstructions
