from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.instrument_status import InstrumentStatus
from ..reprs import model_repr as _model_repr
from ..types import UNSET, Unset

T = TypeVar("T", bound="Instrument")


@_attrs_define
class Instrument:
    __repr__ = _model_repr  # UNSET fields left out

    id: str
    """ An exchange id, a non-zero numeric string. """
    status: InstrumentStatus
    info: InstrumentInfo
    stats: InstrumentStats | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        status = self.status.value

        info = self.info.to_dict()

        stats: dict[str, Any] | Unset = UNSET
        if not isinstance(self.stats, Unset):
            stats = self.stats.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "info": info,
            }
        )
        if stats is not UNSET:
            field_dict["stats"] = stats

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        status = InstrumentStatus.from_value(d.pop("status"))

        info = InstrumentInfo.from_dict(d.pop("info"))

        _stats = d.pop("stats", UNSET)
        stats: InstrumentStats | Unset
        if _stats is UNSET:
            stats = UNSET
        else:
            stats = InstrumentStats.from_dict(_stats)

        instrument = cls(
            id=id,
            status=status,
            info=info,
            stats=stats,
        )

        instrument.additional_properties = d
        return instrument

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
from ..models.instrument_info import InstrumentInfo
from ..models.instrument_stats import InstrumentStats
