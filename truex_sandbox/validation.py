"""Request validation against the spec: query and path parameters, media type and JSON body.

One :class:`OperationValidator` per operation is compiled at start-up. Each part (query, path, body) has
two forms of the same schema: a jsonschema Draft 2020-12 validator whose every ``$ref`` resolves against the
whole spec through a ``referencing`` registry — the authority, which words the errors — and a predicate from
:mod:`truex_sandbox.fastcheck` that decides the common, valid case in microseconds. A request only meets
jsonschema when the predicate says no.

A query parameter the operation does not have is a 400 too, unless the caller collects it instead (the app's
default, DECISIONS §20: it ignores it with a warning; ``strict`` keeps the 400).

A violation is a 400 problem whose ``detail`` names the field and the rule, e.g.
``info.qty: must match pattern ^-?[0-9]+(\\.[0-9]+)?$`` or ``query.size: must be <= 100``; all violations
(at most :data:`MAX_REPORTED`) are listed under ``extensions.errors``.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

# No stubs for jsonschema in the dev environment; "unused-ignore" keeps this quiet once they exist.
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from .fastcheck import REQUIRED_ONE_OF, Check, Validator, compile_schema, inline_refs, jsonschema_check
from .problems import ApiError
from .spec import Operation, Parameter

__all__ = [
    "MAX_REPORTED",
    "SPEC_URI",
    "OperationValidator",
    "RequestValidator",
    "describe",
    "parse_json",
    "spec_registry",
]

#: The base URI the spec document is registered under; every schema is ``{"$ref": SPEC_URI + pointer}``.
SPEC_URI: Final = "urn:truex-sandbox:openapi"
MAX_REPORTED: Final = 10

_INTEGER = re.compile(r"^-?[0-9]{1,18}$")
#: A JSON escape of a UTF-16 surrogate: only a body with one needs the full lone-surrogate check.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_STRICT_ENCODER: Final = json.JSONEncoder(ensure_ascii=False)
#: The version header is checked (with a better message listing the versions) by the version layer.
_HANDLED_ELSEWHERE = frozenset({"x-truex-version"})


def spec_registry(spec: Mapping[str, Any]) -> Registry[Any]:
    """A registry holding the whole spec, so pointers like ``#/components/schemas/Id`` resolve."""
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(dict(spec)))
    return registry


def _field(prefix: str, path: Iterable[Any]) -> str:
    text = prefix
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else str(part)
    return text or "body"


#: The rule in words of the keywords whose wording needs only the keyword's value.
_RULE_WORDS: dict[str, Callable[[Any], str]] = {
    "pattern": lambda value: f"must match pattern {value}",
    "maximum": lambda value: f"must be <= {value}",
    "minimum": lambda value: f"must be >= {value}",
    "exclusiveMaximum": lambda value: f"must be < {value}",
    "exclusiveMinimum": lambda value: f"must be > {value}",
    "maxLength": lambda value: f"must be at most {value} characters long",
    "minLength": lambda value: (
        "must not be empty" if value == 1 else f"must be at least {value} characters long"
    ),
    "type": lambda value: (
        "must be of type " + " or ".join(str(k) for k in (value if isinstance(value, list) else [value]))
    ),
    "enum": lambda value: "must be one of " + ", ".join(str(v) for v in value),
    "const": lambda value: f"must be {value!r}",
    "maxItems": lambda value: f"must have at most {value} items",
    "minItems": lambda value: f"must have at least {value} items",
    "uniqueItems": lambda value: "must not contain duplicate items",
    "additionalProperties": lambda value: "has an unknown property",
    REQUIRED_ONE_OF: lambda value: "must contain at least one of " + ", ".join(str(v) for v in value),
    "anyOf": lambda value: _one_of_forms(value),
    "oneOf": lambda value: _one_of_forms(value),
}


def _one_of_forms(forms: Any) -> str:
    # The spec's "one of these properties" idiom: anyOf: [{required: [id]}, {required: [external_id]}].
    if all(isinstance(s, dict) and set(s) == {"required"} for s in forms):
        names = ", ".join("+".join(s["required"]) for s in forms)
        return f"must contain at least one of {names}"
    return "must match one of the allowed forms"


def _rule(error: ValidationError) -> tuple[list[Any], str]:
    """(extra path below the error's location, the rule in words) for one jsonschema error."""
    keyword = error.validator
    value: Any = error.validator_value
    if keyword == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        missing = next((name for name in value if name not in present), value[0] if value else "?")
        return [missing], "is a required property"
    words = _RULE_WORDS.get(str(keyword))
    return [], error.message if words is None else words(value)


def describe(error: ValidationError, prefix: str) -> tuple[str, str]:
    """(field, rule) for a jsonschema error; ``prefix`` is ``query``, ``path`` or ``""`` for the body."""
    below, rule = _rule(error)
    return _field(prefix, [*error.absolute_path, *below]), rule


def _raise_from(validator: Any, instance: Any, prefix: str) -> None:
    """Raise the 400 for ``instance``; returns when jsonschema finds nothing wrong after all."""
    errors = list(validator.iter_errors(instance))
    if not errors:  # pragma: no cover - the fast predicate and jsonschema agree (tests check it)
        return
    best = best_match(errors)
    assert best is not None
    field, rule = describe(best, prefix)
    listed = sorted({describe(e, prefix) for e in errors})[:MAX_REPORTED]
    raise ApiError(
        400,
        f"{field}: {rule}",
        extensions={"errors": [{"field": f, "rule": r} for f, r in listed]},
    )


def _coerce(param: Parameter, raw: str, prefix: str) -> Any:
    """A wire string as the JSON type its schema names (query and path values are always strings)."""
    if param.type == "integer":
        if not _INTEGER.match(raw):
            raise ApiError(400, f"{prefix}.{param.name}: must be an integer")
        return int(raw)
    if param.type == "boolean":
        if raw not in ("true", "false"):
            raise ApiError(400, f"{prefix}.{param.name}: must be true or false")
        return raw == "true"
    if param.type == "number":
        try:
            return float(raw) if "." in raw or "e" in raw.lower() else int(raw)
        except ValueError:
            raise ApiError(400, f"{prefix}.{param.name}: must be a number") from None
    return raw


def _fast(spec: Mapping[str, Any], schema: Any, fallback: Any) -> Check:
    """The compiled predicate for ``schema`` (local refs), or jsonschema itself when it cannot be compiled."""
    try:
        return compile_schema(inline_refs(spec, schema))
    except ValueError:  # a reference cycle, say: correctness first
        return jsonschema_check(fallback)


class _ParamSet:
    """The parameters of one location (query or path) of one operation, compiled."""

    __slots__ = ("by_name", "check", "prefix", "required", "validator")

    def __init__(
        self, params: Iterable[Parameter], prefix: str, spec: Mapping[str, Any], registry: Registry[Any]
    ) -> None:
        params = list(params)
        self.prefix = prefix
        self.by_name = {p.name: p for p in params}
        self.required = tuple(p.name for p in params if p.required)

        def schema(base: str) -> dict[str, Any]:
            return {
                "type": "object",
                "properties": {p.name: {"$ref": base + p.schema_pointer} for p in params},
                "required": list(self.required),
            }

        self.validator = Validator(schema(SPEC_URI), registry=registry)
        self.check = _fast(spec, schema(""), self.validator)

    def parse(self, pairs: Iterable[tuple[str, str]], ignored: list[str] | None = None) -> dict[str, Any]:
        """The coerced, validated values; an unknown name is a 400, or appended to ``ignored`` when given."""
        values: dict[str, Any] = {}
        by_name = self.by_name
        prefix = self.prefix
        for name, raw in pairs:
            param = by_name.get(name)
            if param is None:
                if ignored is not None:
                    ignored.append(name)
                    continue
                known = ", ".join(by_name) or "none"
                raise ApiError(400, f"{prefix}.{name}: is not a parameter of this operation (known: {known})")
            if name in values:
                raise ApiError(400, f"{prefix}.{name}: must be given at most once")
            values[name] = _coerce(param, raw, prefix)
        if (values or self.required) and not self.check(values):
            _raise_from(self.validator, values, prefix)
        # Schema defaults are not filled in: handlers and the pagination step tell "absent" from "default"
        # (a v2024 list without ``size`` comes whole; ``skip`` and ``cursor`` must not meet).
        return values


class OperationValidator:
    """Validates the query, path parameters and body of requests to one operation."""

    __slots__ = ("_body", "_body_check", "_path", "_query", "has_body", "operation")

    def __init__(self, operation: Operation, spec: Mapping[str, Any], registry: Registry[Any]) -> None:
        self.operation = operation
        for p in operation.parameters:
            if p.location not in ("query", "path") and p.name.lower() not in _HANDLED_ELSEWHERE:
                raise ValueError(
                    f"{operation.operation_id}: {p.location} parameter {p.name} is not supported"
                )
        params = operation.parameters
        self._query = _ParamSet((p for p in params if p.location == "query"), "query", spec, registry)
        self._path = _ParamSet((p for p in params if p.location == "path"), "path", spec, registry)
        self._body: Any | None = None
        self._body_check: Check = lambda _: True
        if operation.body_pointer is not None:
            self._body = Validator({"$ref": SPEC_URI + operation.body_pointer}, registry=registry)
            self._body_check = _fast(spec, {"$ref": operation.body_pointer}, self._body)
        self.has_body = self._body is not None

    def query(self, pairs: Iterable[tuple[str, str]], ignored: list[str] | None = None) -> dict[str, Any]:
        """Coerced, validated query parameters (only those the request has).

        A parameter the operation does not have is a 400 (strict), or, when ``ignored`` is a list, left out
        of the result and its name appended there (DECISIONS §20). A repeated or invalid known parameter is
        a 400 either way.
        """
        return self._query.parse(pairs, ignored)

    def path(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Validated path parameters (already percent-decoded by the router)."""
        return self._path.parse(params.items())

    def body(self, content_type: str | None, raw: bytes) -> Any:
        """The decoded JSON body, or None for an operation without one.

        415 when the media type is not ``application/json`` (parameters such as ``charset`` ignored),
        400 when the body is missing, not JSON, or breaks the schema.
        """
        validator = self._body
        if validator is None:
            return None
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            got = f"got {content_type!r}" if content_type else "none was given"
            raise ApiError(415, f"Content-Type must be application/json; {got}")
        if not raw.strip():
            if self.operation.body_required:
                raise ApiError(400, "body: is required (a JSON document)")
            return None
        document = parse_json(raw)
        if not self._body_check(document):
            _raise_from(validator, document, "")
        return document


def parse_json(raw: bytes) -> Any:
    """A JSON body as RFC 8259 §8 has it between systems: UTF-8 without a BOM, strings of Unicode text.

    400 naming the rule otherwise. ``json.loads(bytes)`` would guess UTF-16/32 and skip a BOM, and the
    parser turns a ``\\ud800`` escape into a lone surrogate that no answer can encode later (a stored one
    made every later listing of it fail), so the bytes are decoded here, strictly, and such escapes refused.
    """
    if raw.startswith(codecs.BOM_UTF8):
        raise ApiError(
            400, "body: must not start with a byte order mark (RFC 8259 §8.1: UTF-8 without a BOM)"
        )
    if b"\x00" in raw[:4] or raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise ApiError(400, "body: must be encoded as UTF-8 (RFC 8259 §8.1), not UTF-16 or UTF-32")
    try:
        text = raw.decode("utf-8")  # strict: a surrogate encoded as bytes (ED A0 80) is not UTF-8 either
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, f"body: is not valid UTF-8 (RFC 8259 §8.1; bad byte at offset {exc.start})"
        ) from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = (
            f" ({exc.msg} at line {exc.lineno} column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise ApiError(400, f"body: is not valid JSON{where}") from None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None and _has_lone_surrogate(document):
        raise ApiError(
            400,
            "body: a string holds a lone surrogate (a \\ud800-\\udfff escape without its pair), which is not "
            "Unicode text (RFC 8259 §8.2)",
        )
    return document


def _has_lone_surrogate(document: Any) -> bool:
    """Whether any string (key or value) holds a lone surrogate; the parser joins valid pairs into one."""
    try:
        _STRICT_ENCODER.encode(document).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class RequestValidator:
    """One compiled :class:`OperationValidator` per operation of the spec."""

    def __init__(self, spec: Mapping[str, Any], operations: Mapping[str, Operation]) -> None:
        registry = spec_registry(spec)
        self._by_id = {op_id: OperationValidator(op, spec, registry) for op_id, op in operations.items()}

    def __getitem__(self, operation_id: str) -> OperationValidator:
        return self._by_id[operation_id]

    def __contains__(self, operation_id: object) -> bool:
        return operation_id in self._by_id
