from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field
from dateutil.parser import isoparse

from ..models.api_version import ApiVersion
from ..models.api_version_status import ApiVersionStatus
from ..reprs import model_repr as _model_repr

T = TypeVar("T", bound="ApiVersionInfo")


@_attrs_define
class ApiVersionInfo:
    __repr__ = _model_repr  # UNSET fields left out

    version: ApiVersion
    """ An API version for the X-Truex-Version header. """
    status: ApiVersionStatus
    default: bool
    """ Whether the server uses this version when the header is absent. """
    description: str
    deprecation: datetime.date | None
    """ Date the version was deprecated. """
    sunset: datetime.date | None
    """ Date the version will be removed. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        version = self.version.value

        status = self.status.value

        default = self.default

        description = self.description

        deprecation: None | str
        if isinstance(self.deprecation, datetime.date):
            deprecation = self.deprecation.isoformat()
        else:
            deprecation = self.deprecation

        sunset: None | str
        if isinstance(self.sunset, datetime.date):
            sunset = self.sunset.isoformat()
        else:
            sunset = self.sunset

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "version": version,
                "status": status,
                "default": default,
                "description": description,
                "deprecation": deprecation,
                "sunset": sunset,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        version = ApiVersion.from_value(d.pop("version"))

        status = ApiVersionStatus.from_value(d.pop("status"))

        default = d.pop("default")

        description = d.pop("description")

        def _parse_deprecation(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                deprecation_type_0 = isoparse(data).date()

                return deprecation_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        deprecation = _parse_deprecation(d.pop("deprecation"))

        def _parse_sunset(data: object) -> datetime.date | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                sunset_type_0 = isoparse(data).date()

                return sunset_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.date | None, data)

        sunset = _parse_sunset(d.pop("sunset"))

        api_version_info = cls(
            version=version,
            status=status,
            default=default,
            description=description,
            deprecation=deprecation,
            sunset=sunset,
        )

        api_version_info.additional_properties = d
        return api_version_info

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
