"""Client-side checks of a request against the spec, before anything is sent.

The rules (patterns, enums, lengths, ranges, required fields) come from the operation table that
``scripts/generate.py`` derives from the spec; this module only knows how to apply JSON-schema keywords.
"""

from __future__ import annotations

import builtins
import re
import sys
from collections.abc import Mapping
from enum import Enum
from functools import lru_cache
from typing import Any

import attrs

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


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@lru_cache(maxsize=256)
def _field_kinds(cls: type, annotation: str) -> tuple[tuple[type[Enum], ...], bool]:
    """The enum classes an attrs field annotation names, and whether it is a Decimal field."""
    namespace = vars(sys.modules[cls.__module__])
    enums = tuple(
        t
        for t in (namespace.get(n) for n in _NAME.findall(annotation))
        if isinstance(t, type) and issubclass(t, Enum)
    )
    return enums, "Decimal" in _NAME.findall(annotation)


@lru_cache(maxsize=256)
def _model_plan(cls: type) -> tuple[tuple[str, tuple[type[Enum], ...], bool, bool], ...]:
    """Per generated model class, once: (field, enums it takes, whether Decimal, whether it may nest a model)."""
    namespace = vars(sys.modules[cls.__module__])
    plan = []
    for field in attrs.fields(cls):
        if not field.init:
            continue  # additional_properties
        annotation = field.type if isinstance(field.type, str) else str(field.type)
        enums, decimal = _field_kinds(cls, annotation)
        nested = any(_may_be_model(namespace, name) for name in _NAME.findall(annotation))
        plan.append((field.name, enums, decimal, nested))
    return tuple(plan)


def _may_be_model(namespace: Mapping[str, Any], name: str) -> bool:
    """Whether a name in a field annotation may stand for a model to check inside (unknown names may)."""
    if name == "None":
        return False
    found = namespace.get(name, getattr(builtins, name, _UNKNOWN))
    return found is _UNKNOWN or found is Any or (isinstance(found, type) and attrs.has(found))


_UNKNOWN = object()


def check_model(obj: Any, path: str) -> None:
    """Check the Python types of a generated request model (recursively) before it is serialised.

    The generated ``to_dict`` would fail on a plain string where an enum is expected (an
    ``AttributeError`` naming no field) and name only the leaf of a ``float`` money field; this names
    the whole path (``info.side``, ``info.qty``) and the rule.
    """
    cls = type(obj)
    if not attrs.has(cls):
        return
    for field_name, enums, decimal, nested in _model_plan(cls):
        value = getattr(obj, field_name)
        if value is None or isinstance(value, Unset):
            continue
        name = field_name if path in ("", "body") else f"{path}.{field_name}"
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for i, item in items:
            if enums and not isinstance(item, enums):
                where = name if i is None else f"{name}[{i}]"
                allowed = ", ".join(str(m.value) for e in enums for m in e)
                raise InvalidParameterError(
                    where, f"must be a {enums[0].__name__} (one of {allowed}), not {type(item).__name__}"
                )
            if decimal and (isinstance(item, bool) or not _is_decimal_or_int(item)):
                where = name if i is None else f"{name}[{i}]"
                raise InvalidParameterError(
                    where,
                    f"must be a decimal.Decimal (or int), not {type(item).__name__}; e.g. Decimal('0.01')",
                )
            if nested:
                check_model(item, name if i is None else f"{name}[{i}]")


def _is_decimal_or_int(value: object) -> bool:
    # Imported here: `decimal` costs 2 ms at import and only bodies with money need it.
    from decimal import Decimal

    return isinstance(value, Decimal | int)


# Scalar query/path/header arguments already found valid, by operation and name (bounded; the type is part
# of the key because True == 1 but a bool is not an integer).
_MEMO_TYPES = (str, int)
_MEMO_SIZE = 4096
_valid_scalars: set[tuple[str, str, type, object]] = set()


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
        plain = value.value if isinstance(value, Enum) else value
        # A bot repeats the same few scalar arguments (version, size, ids): check each once.
        key = (op.id, name, type(plain), plain) if type(plain) in _MEMO_TYPES else None
        if key is not None and key in _valid_scalars:
            continue
        check(name, plain, param["schema"])
        if key is not None and len(_valid_scalars) < _MEMO_SIZE:
            _valid_scalars.add(key)
    body = kwargs.get("body")
    if op.body is not None and body is not None:
        check_model(body, "body")
        try:
            data = body.to_dict()
        except DecimalFieldError as exc:
            raise InvalidParameterError(exc.field, exc.rule) from exc
        check("body", data, op.body)
