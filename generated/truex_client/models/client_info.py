from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.client_self_trade_prevention import ClientSelfTradePrevention
from ..models.client_type import ClientType
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="ClientInfo")


@_attrs_define
class ClientInfo:
    __repr__ = _model_repr  # UNSET fields left out

    organization_id: UUID | Unset = UNSET
    mnemonic: str | Unset = UNSET
    """ Client-supplied human readable name. """
    type_: ClientType | Unset = UNSET
    maker_fee_tier: int | Unset = UNSET
    taker_fee_tier: int | Unset = UNSET
    self_trade_prevention: ClientSelfTradePrevention | Unset = UNSET
    """ Self-trade prevention as reported; INVALID is an invalid state that may cause rejections. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        organization_id: str | Unset = UNSET
        if not isinstance(self.organization_id, Unset):
            organization_id = str(self.organization_id)

        mnemonic = self.mnemonic

        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_.value

        maker_fee_tier = self.maker_fee_tier

        taker_fee_tier = self.taker_fee_tier

        self_trade_prevention: str | Unset = UNSET
        if not isinstance(self.self_trade_prevention, Unset):
            self_trade_prevention = self.self_trade_prevention.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if organization_id is not UNSET:
            field_dict["organization_id"] = organization_id
        if mnemonic is not UNSET:
            field_dict["mnemonic"] = mnemonic
        if type_ is not UNSET:
            field_dict["type"] = type_
        if maker_fee_tier is not UNSET:
            field_dict["maker_fee_tier"] = maker_fee_tier
        if taker_fee_tier is not UNSET:
            field_dict["taker_fee_tier"] = taker_fee_tier
        if self_trade_prevention is not UNSET:
            field_dict["self_trade_prevention"] = self_trade_prevention

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        _organization_id = d.pop("organization_id", UNSET)
        organization_id: UUID | Unset
        if _organization_id is UNSET:
            organization_id = UNSET
        else:
            organization_id = UUID(_organization_id)

        mnemonic = d.pop("mnemonic", UNSET)

        _type_ = d.pop("type", UNSET)
        type_: ClientType | Unset
        if _type_ is UNSET:
            type_ = UNSET
        else:
            type_ = ClientType.from_value(_type_)

        maker_fee_tier = d.pop("maker_fee_tier", UNSET)

        taker_fee_tier = d.pop("taker_fee_tier", UNSET)

        _self_trade_prevention = d.pop("self_trade_prevention", UNSET)
        self_trade_prevention: ClientSelfTradePrevention | Unset
        if _self_trade_prevention is UNSET:
            self_trade_prevention = UNSET
        else:
            self_trade_prevention = ClientSelfTradePrevention.from_value(
                _self_trade_prevention
            )

        client_info = cls(
            organization_id=organization_id,
            mnemonic=mnemonic,
            type_=type_,
            maker_fee_tier=maker_fee_tier,
            taker_fee_tier=taker_fee_tier,
            self_trade_prevention=self_trade_prevention,
        )

        client_info.additional_properties = d
        return client_info

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
