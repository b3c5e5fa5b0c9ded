"""Client-side checks of a request against the spec, before anything is sent.

The rules (patterns, enums, lengths, ranges, required fields) come from the operation table that
``scripts/generate.py`` derives from the spec; this module only knows how to apply JSON-schema keywords.
"""

from __future__ import annotations

import builtins
import re
import sys
from collections.abc import Callable, Mapping
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


Checker = Callable[[str, Any], None]


def check(field: str, value: Any, schema: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidParameterError` naming ``field`` and the rule ``value`` breaks.

    >>> check("size", 1000, {"type": "integer", "maximum": 100})
    Traceback (most recent call last):
    truex_ext.errors.InvalidParameterError: size: must be <= 100
    """
    compiled(schema)(field, value)


# Compiled checkers by schema identity; the schema is kept alongside so that its id cannot be reused.
_compiled: dict[int, tuple[Mapping[str, Any], Checker]] = {}


def compiled(schema: Mapping[str, Any]) -> Checker:
    """The checker of ``schema``, built once: the keywords are read when it is built, not on every call."""
    hit = _compiled.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    checker = _compile(schema)
    if len(_compiled) < 1024:
        _compiled[id(schema)] = (schema, checker)
    return checker


def _compile(schema: Mapping[str, Any]) -> Checker:
    expected = schema.get("type")
    types = _TYPES.get(expected, (object,)) if isinstance(expected, str) else None
    integer = expected == "integer"
    enum = schema.get("enum")
    min_len, max_len = schema.get("minLength"), schema.get("maxLength")
    pattern = _regex(schema["pattern"]) if "pattern" in schema else None
    strings = min_len is not None or max_len is not None or pattern is not None
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    numbers = minimum is not None or maximum is not None
    max_items, unique = schema.get("maxItems"), bool(schema.get("uniqueItems"))
    items = compiled(schema.get("items", {})) if "items" in schema else None
    required = tuple(schema.get("required", ()))
    one_of = tuple(schema.get("x-required-one-of") or ())
    properties = tuple((name, compiled(sub)) for name, sub in schema.get("properties", {}).items())

    def run(field: str, value: Any) -> None:
        if types is not None and (not isinstance(value, types) or (integer and isinstance(value, bool))):
            raise InvalidParameterError(field, f"must be of type {expected}, not {type(value).__name__}")
        if enum is not None and value not in enum:
            raise InvalidParameterError(field, f"must be one of {', '.join(map(str, enum))}")
        if strings and isinstance(value, str):
            if min_len is not None and len(value) < min_len:
                raise InvalidParameterError(field, f"must be at least {min_len} characters")
            if max_len is not None and len(value) > max_len:
                raise InvalidParameterError(field, f"must be at most {max_len} characters")
            if pattern is not None and not pattern.search(value):
                raise InvalidParameterError(field, f"must match pattern {pattern.pattern}")
        if numbers and isinstance(value, int | float) and not isinstance(value, bool):
            if minimum is not None and value < minimum:
                raise InvalidParameterError(field, f"must be >= {minimum}")
            if maximum is not None and value > maximum:
                raise InvalidParameterError(field, f"must be <= {maximum}")
        if isinstance(value, list):
            if max_items is not None and len(value) > max_items:
                raise InvalidParameterError(field, f"must have at most {max_items} items")
            if unique and len({repr(v) for v in value}) != len(value):
                raise InvalidParameterError(field, "must not repeat items")
            if items is not None:
                for i, item in enumerate(value):
                    items(f"{field}[{i}]", item)
        if isinstance(value, dict):
            for name in required:
                if name not in value:
                    raise InvalidParameterError(_join(field, name), "is required")
            if one_of and not any(name in value for name in one_of):
                raise InvalidParameterError(field, f"needs one of {', '.join(one_of)}")
            for name, sub in properties:
                if name in value:
                    sub(_join(field, name), value[name])

    return run


def _join(field: str, name: str) -> str:
    return name if field in ("", "body") else f"{field}.{name}"


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@lru_cache(maxsize=256)
def _model_plan(cls: type) -> tuple[tuple[str, tuple[type[Enum], ...], bool, bool], ...]:
    """Per generated model class, once: (field, enums it takes, whether Decimal, whether it may nest a model)."""
    namespace = vars(sys.modules[cls.__module__])
    plan = []
    for field in attrs.fields(cls):
        if not field.init:
            continue  # additional_properties
        names = _NAME.findall(field.type if isinstance(field.type, str) else str(field.type))
        enums = tuple(
            t for t in (namespace.get(n) for n in names) if isinstance(t, type) and issubclass(t, Enum)
        )
        nested = any(_may_be_model(namespace, name) for name in names)
        plan.append((field.name, enums, "Decimal" in names, nested))
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
        if isinstance(value, list):
            for i, item in enumerate(value):
                _check_value(item, path, field_name, i, enums, decimal, nested)
        else:
            _check_value(value, path, field_name, None, enums, decimal, nested)


def _check_value(
    item: Any,
    path: str,
    field_name: str,
    index: int | None,
    enums: tuple[type[Enum], ...],
    decimal: bool,
    nested: bool,
) -> None:
    if enums and not isinstance(item, enums):
        allowed = ", ".join(str(m.value) for e in enums for m in e)
        raise InvalidParameterError(
            _where(path, field_name, index),
            f"must be a {enums[0].__name__} (one of {allowed}), not {type(item).__name__}",
        )
    if decimal and not _is_decimal_or_int(item):
        raise InvalidParameterError(
            _where(path, field_name, index),
            f"must be a decimal.Decimal (or int), not {type(item).__name__}; e.g. Decimal('0.01')",
        )
    if nested:
        check_model(item, _where(path, field_name, index))


def _where(path: str, field_name: str, index: int | None) -> str:
    name = field_name if path in ("", "body") else f"{path}.{field_name}"
    return name if index is None else f"{name}[{index}]"


def _is_decimal_or_int(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    # No import of `decimal` (2 ms at import time): if nothing has loaded it, value is no Decimal.
    decimal = sys.modules.get("decimal")
    return decimal is not None and isinstance(value, decimal.Decimal)


# Scalar query/path/header arguments already found valid, by operation and name (bounded; the type is part
# of the key because True == 1 but a bool is not an integer).
_MEMO_TYPES = (str, int)
_MEMO_SIZE = 4096
_valid_scalars: set[tuple[str, str, type, object]] = set()


def validate_request(op: Operation, kwargs: Mapping[str, Any]) -> None:
    """Check the keyword arguments of a generated ``*_detailed`` call for ``op``.

    >>> from truex_ext.resources import OPERATIONS
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
        check_model(body, "body")  # the Python types; the JSON it becomes is checked by build_request


def build_request(
    op: Operation, build: Callable[..., dict[str, Any]], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """The generated request builder's ``httpx`` arguments for ``kwargs``, the JSON body checked against the spec.

    The body is serialised once, here (its ``to_dict``), and the checked JSON is what is sent.
    """
    try:
        request = build(**kwargs)
    except DecimalFieldError as exc:
        raise InvalidParameterError(exc.field, exc.rule) from exc
    if op.body is not None and "json" in request:
        check("body", request["json"], op.body)
    return request
