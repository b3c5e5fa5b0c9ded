"""Compile a JSON Schema into a plain Python predicate, for the hot path of request validation.

Why: jsonschema walks the schema on every call (a ``descend``/``evolve`` per keyword and a registry lookup
per ``$ref``) — about 200 µs for an order create, several times the cost of a whole Starlette request. The
predicate compiled here answers the same yes/no question in a few microseconds. It only *decides*; when it
says no, :mod:`truex_sandbox.validation` asks jsonschema for the errors, so jsonschema stays the authority for
what the client is told (and tests check the two agree).

The compiler covers the keywords the spec uses, with Draft 2020-12 semantics as jsonschema implements them
(``pattern`` is ``re.search``, ``integer`` accepts ``1.0``, a keyword only applies to its own instance type).
A subschema with any other assertion keyword is handed to a jsonschema validator of its own, so the
predicate is never more lenient than jsonschema. Annotations (``description``, ``example``, ``format`` —
which 2020-12 does not assert by default — ``x-*`` …) are ignored, as jsonschema ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

# No stubs for jsonschema in the dev environment; "unused-ignore" keeps this quiet once they exist.
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

__all__ = ["REQUIRED_ONE_OF", "Check", "Validator", "compile_schema", "inline_refs", "jsonschema_check"]

Check = Callable[[Any], bool]

#: The spec's own keyword: an object must carry at least one of the listed properties. The spec uses it
#: instead of ``anyOf: [{required: [a]}, {required: [b]}]``, which the client generator cannot type.
REQUIRED_ONE_OF = "x-required-one-of"


def _required_one_of(validator: Any, names: list[str], instance: Any, schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "object") and not any(name in instance for name in names):
        yield ValidationError(f"must contain at least one of {', '.join(names)}")


#: Draft 2020-12 plus :data:`REQUIRED_ONE_OF`: the validator class of the whole sandbox.
Validator: Any = validators.extend(  # type: ignore[no-untyped-call]  # untyped in types-jsonschema
    Draft202012Validator, {REQUIRED_ONE_OF: _required_one_of}
)

# Keywords jsonschema asserts. ``format`` is one only when a format checker is passed, which the sandbox
# does not do (as 2020-12 says by default), so it counts as an annotation here as it does there.
_KNOWN = frozenset(Validator.VALIDATORS) - {"format"}
_COMPILED = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "uniqueItems",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        REQUIRED_ONE_OF,
    }
)


def _is_integer(x: Any) -> bool:
    return (type(x) is int) or (type(x) is float and x.is_integer())


def _is_number(x: Any) -> bool:
    return type(x) in (int, float)


_TYPES: dict[str, Check] = {
    "string": lambda x: type(x) is str,
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
    "integer": _is_integer,
    "number": _is_number,
}


def jsonschema_check(validator_or_schema: Any) -> Check:
    """jsonschema's own ``is_valid`` as a typed :data:`Check` (takes a validator or a ``$ref``-free schema)."""
    validator: Any = validator_or_schema
    if not hasattr(validator, "is_valid"):
        validator = Validator(validator_or_schema)
    is_valid = validator.is_valid

    def check(x: Any) -> bool:
        return bool(is_valid(x))

    return check


def inline_refs(spec: Mapping[str, Any], node: Any, _stack: tuple[str, ...] = ()) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points to in ``spec`` (a copy).

    A ``$ref`` with sibling keywords becomes ``allOf: [target]`` plus the siblings (their 2020-12 meaning).
    Raises ValueError on a reference cycle (the caller then validates with jsonschema alone).
    """
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise ValueError(f"unsupported reference {ref!r}")
            if ref in _stack:
                raise ValueError(f"reference cycle through {ref}")
            target: Any = spec
            for raw in ref[2:].split("/"):
                key = raw.replace("~1", "/").replace("~0", "~")
                target = target[int(key)] if isinstance(target, list) else target[key]
            resolved = inline_refs(spec, target, (*_stack, ref))
            rest = {k: inline_refs(spec, v, _stack) for k, v in node.items() if k != "$ref"}
            return {"allOf": [resolved], **rest} if rest else resolved
        return {k: inline_refs(spec, v, _stack) for k, v in node.items()}
    if isinstance(node, list):
        return [inline_refs(spec, item, _stack) for item in node]
    return node


def compile_schema(schema: Any) -> Check:
    """A predicate equivalent to ``Validator(schema).is_valid`` for a ``$ref``-free schema."""
    if schema is True or schema == {}:
        return lambda x: True
    if schema is False:
        return lambda x: False
    if not isinstance(schema, dict):
        raise ValueError(f"not a schema: {schema!r}")
    assertions = {k for k in schema if k in _KNOWN}
    if assertions - _COMPILED:
        # A keyword this compiler does not know: let jsonschema judge this subschema.
        return jsonschema_check(schema)
    if schema.get("type") == "string" and assertions <= _STRING_KEYWORDS:
        return _compile_string(schema)
    checks = [c for c in (_compile_keyword(schema, k) for k in sorted(assertions)) if c is not None]
    return _all_of(checks)


_STRING_KEYWORDS = frozenset({"type", "pattern", "minLength", "maxLength", "enum", "const"})


def _compile_string(schema: dict[str, Any]) -> Check:
    """The common leaf (a string with a length range and a pattern) as one function: the hot spot."""
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")
    pattern = schema.get("pattern")
    search = re.compile(pattern).search if pattern is not None else None
    options: list[Any] | None = None
    if "enum" in schema:
        options = list(schema["enum"])
    if "const" in schema:
        options = [schema["const"]] if options is None else [o for o in options if o == schema["const"]]
    allowed = frozenset(o for o in options if type(o) is str) if options is not None else None

    def check_string(x: Any) -> bool:
        if type(x) is not str:
            return False
        size = len(x)
        if size < low or (high is not None and size > high):
            return False
        if allowed is not None and x not in allowed:
            return False
        return search is None or search(x) is not None

    return check_string


def _all_of(checks: list[Check]) -> Check:
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda x: first(x) and second(x)
    checks_t = tuple(checks)

    def check_all(x: Any) -> bool:
        for check in checks_t:  # noqa: SIM110 - a loop, not all(<generator>): no generator per call
            if not check(x):
                return False
        return True

    return check_all


def _compile_keyword(schema: dict[str, Any], keyword: str) -> Check | None:
    compiler = _KEYWORD_COMPILERS.get(keyword)
    if compiler is None:  # pragma: no cover - guarded by _COMPILED
        raise ValueError(f"keyword {keyword} is not compiled")
    return compiler(schema, schema[keyword])


def _type(schema: dict[str, Any], value: Any) -> Check:
    tests = tuple(_TYPES[k] for k in ([value] if isinstance(value, str) else value))
    if len(tests) == 1:
        return tests[0]
    return lambda x: any(t(x) for t in tests)


def _properties(schema: dict[str, Any], value: Any) -> Check:
    props = {name: compile_schema(sub) for name, sub in value.items()}

    def check_properties(x: Any) -> bool:
        if type(x) is not dict:
            return True
        for name, item in x.items():
            check = props.get(name)
            if check is not None and not check(item):
                return False
        return True

    return check_properties


def _required(schema: dict[str, Any], value: Any) -> Check | None:
    required = frozenset(value)
    if not required:
        return None
    return lambda x: type(x) is not dict or required.issubset(x)  # every name a key of x, checked in C


def _additional_properties(schema: dict[str, Any], value: Any) -> Check:
    if "patternProperties" in schema:  # pragma: no cover - routed to jsonschema by the caller
        raise ValueError("patternProperties is not compiled")
    known = frozenset(schema.get("properties", {}))
    extra = compile_schema(value)
    return lambda x: (
        type(x) is not dict
        or known.issuperset(x)  # no additional property at all (the common case), checked in C
        or all(extra(v) for k, v in x.items() if k not in known)
    )


def _items(schema: dict[str, Any], value: Any) -> Check:
    if "prefixItems" in schema:  # pragma: no cover - routed to jsonschema by the caller
        raise ValueError("prefixItems is not compiled")
    item_check = compile_schema(value)
    return lambda x: type(x) is not list or all(item_check(i) for i in x)


def _options(keyword: str, options: list[Any]) -> Check:
    if all(type(o) is str for o in options):
        allowed = frozenset(options)
        return lambda x: type(x) is str and x in allowed
    return jsonschema_check({keyword: options if keyword == "enum" else options[0]})


def _pattern(schema: dict[str, Any], value: Any) -> Check:
    search = re.compile(value).search
    return lambda x: type(x) is not str or search(x) is not None


def _unique_items(schema: dict[str, Any], value: Any) -> Check | None:
    if not value:
        return None
    general = jsonschema_check({"uniqueItems": True})

    def check_unique(x: Any) -> bool:
        if type(x) is not list:
            return True
        if all(type(i) is str for i in x):
            return len(set(x)) == len(x)
        return general(x)  # JSON equality of mixed values (1 vs true vs 1.0) is jsonschema's

    return check_unique


def _any_of(schema: dict[str, Any], value: Any) -> Check:
    parts = tuple(compile_schema(s) for s in value)
    return lambda x: any(p(x) for p in parts)


def _one_of(schema: dict[str, Any], value: Any) -> Check:
    parts = tuple(compile_schema(s) for s in value)
    return lambda x: sum(1 for p in parts if p(x)) == 1


def _not(schema: dict[str, Any], value: Any) -> Check:
    inner = compile_schema(value)
    return lambda x: not inner(x)


def _required_one_of_check(schema: dict[str, Any], value: Any) -> Check:
    names = tuple(value)
    return lambda x: type(x) is not dict or any(n in x for n in names)


#: How each keyword of _COMPILED becomes a check. The number bounds are written as "not failing", exactly
#: like jsonschema, so that NaN compares the same way.
_KEYWORD_COMPILERS: dict[str, Callable[[dict[str, Any], Any], Check | None]] = {
    "type": _type,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional_properties,
    "items": _items,
    "enum": lambda schema, value: _options("enum", list(value)),
    "const": lambda schema, value: _options("const", [value]),
    "pattern": _pattern,
    "minLength": lambda schema, value: lambda x: type(x) is not str or len(x) >= value,
    "maxLength": lambda schema, value: lambda x: type(x) is not str or len(x) <= value,
    "minimum": lambda schema, value: lambda x: not _is_number(x) or not x < value,
    "maximum": lambda schema, value: lambda x: not _is_number(x) or not x > value,
    "exclusiveMinimum": lambda schema, value: lambda x: not _is_number(x) or not x <= value,
    "exclusiveMaximum": lambda schema, value: lambda x: not _is_number(x) or not x >= value,
    "minItems": lambda schema, value: lambda x: type(x) is not list or len(x) >= value,
    "maxItems": lambda schema, value: lambda x: type(x) is not list or len(x) <= value,
    "uniqueItems": _unique_items,
    "allOf": lambda schema, value: _all_of([compile_schema(s) for s in value]),
    "anyOf": _any_of,
    "oneOf": _one_of,
    "not": _not,
    REQUIRED_ONE_OF: _required_one_of_check,
}
