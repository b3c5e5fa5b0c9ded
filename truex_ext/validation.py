"""Client-side checks of a request against the spec, before anything is sent.

The rules (patterns, enums, lengths, ranges, required fields) come from the operation table that
``scripts/generate.py`` derives from the spec; this module only knows how to apply JSON-schema keywords.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from functools import lru_cache
from typing import Any

from truex_client.decimals import DecimalFieldError
from truex_client.types import Unset

from .errors import InvalidParameterError
from .operations import Operation

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def check(field: str, value: Any, schema: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidParameterError` naming ``field`` and the rule ``value`` breaks."""
    expected = schema.get("type")
    if isinstance(expected, str):
        ok = isinstance(value, _TYPES.get(expected, (object,)))
        if expected == "integer" and isinstance(value, bool):
            ok = False
        if not ok:
            raise InvalidParameterError(field, f"must be of type {expected}, not {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise InvalidParameterError(field, f"must be one of {', '.join(map(str, schema['enum']))}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise InvalidParameterError(field, f"must be at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise InvalidParameterError(field, f"must be at most {schema['maxLength']} characters")
        if "pattern" in schema and not _regex(schema["pattern"]).search(value):
            raise InvalidParameterError(field, f"must match pattern {schema['pattern']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise InvalidParameterError(field, f"must be >= {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise InvalidParameterError(field, f"must be <= {schema['maximum']}")
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise InvalidParameterError(field, f"must have at most {schema['maxItems']} items")
        if schema.get("uniqueItems") and len({repr(v) for v in value}) != len(value):
            raise InvalidParameterError(field, "must not repeat items")
        for i, item in enumerate(value):
            check(f"{field}[{i}]", item, schema.get("items", {}))
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            if name not in value:
                raise InvalidParameterError(_join(field, name), "is required")
        one_of = schema.get("x-required-one-of")
        if one_of and not any(name in value for name in one_of):
            raise InvalidParameterError(field, f"needs one of {', '.join(one_of)}")
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                check(_join(field, name), value[name], sub)


def _join(field: str, name: str) -> str:
    return name if field in ("", "body") else f"{field}.{name}"


def validate_request(op: Operation, kwargs: Mapping[str, Any]) -> None:
    """Check the keyword arguments of a generated ``*_detailed`` call for ``op``.

    >>> from truex_ext._resources import OPERATIONS
    >>> validate_request(OPERATIONS["list_balances"], {"client_id": "0"})
    Traceback (most recent call last):
    truex_ext.errors.InvalidParameterError: client_id: must match pattern ^[1-9][0-9]*$
    """
    for name, param in op.params.items():
        value = kwargs.get(name)
        if value is None or isinstance(value, Unset):
            if param["required"]:
                raise InvalidParameterError(name, "is required")
            continue
        check(name, value.value if isinstance(value, Enum) else value, param["schema"])
    body = kwargs.get("body")
    if op.body is not None and body is not None:
        try:
            data = body.to_dict()
        except DecimalFieldError as exc:
            raise InvalidParameterError(exc.field, exc.rule) from exc
        check("body", data, op.body)
