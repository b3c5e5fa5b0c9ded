"""The OpenAPI description the sandbox serves, and the operation table built from it.

The sandbox has no route, parameter or schema of its own: everything comes from ``openapi/truex.yaml``
(the project's single source of truth), read once per process. Schemas are referred to by JSON pointer
into the whole document (``#/paths/~1api~1v1~1orders/post/...``) so that the validator resolves every
``$ref`` against the same document the client was generated from.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

__all__ = [
    "HTTP_METHODS",
    "Operation",
    "Parameter",
    "base_paths",
    "build_operations",
    "deref",
    "load_spec",
    "operations",
    "pointer",
    "spec_json",
    "spec_path",
]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# In a checkout the spec lives at the repo root; an installed wheel may ship a copy as package data.
_REPO_SPEC = Path(__file__).resolve().parent.parent / "openapi" / "truex.yaml"
_PACKAGED_SPEC = Path(__file__).resolve().parent / "truex.yaml"


@dataclass(frozen=True, slots=True)
class Parameter:
    """One request parameter, with its schema as a pointer into the spec."""

    name: str
    location: str  # "query", "path" or "header"
    required: bool
    schema_pointer: str
    #: JSON type of the resolved schema ("integer", "string", ...): query and path values arrive as
    #: strings and are coerced to it before validation.
    type: str
    default: Any


@dataclass(frozen=True, slots=True)
class Operation:
    """What the HTTP layer needs to know about one operation, computed once at start-up."""

    operation_id: str
    method: str  # upper case
    path: str  # template relative to the API base, e.g. /orders/{ref_id}
    bases: tuple[str, ...]  # the base paths it is served under, from the spec's servers: /v1/cefi, /api/v1
    parameters: tuple[Parameter, ...]
    body_pointer: str | None
    body_required: bool
    deprecated: bool
    replacement: str | None
    public: bool
    #: Pointer to the schema of the 200 response (the v2026_01_23 shape), for contract tests.
    response_pointer: str | None

    def params_in(self, location: str) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == location)

    def has_param(self, name: str) -> bool:
        return any(p.name == name for p in self.parameters)


def spec_path() -> Path:
    """Where the spec is read from: the repository copy, else the packaged copy."""
    if _REPO_SPEC.is_file():
        return _REPO_SPEC
    if _PACKAGED_SPEC.is_file():
        return _PACKAGED_SPEC
    raise FileNotFoundError(f"OpenAPI description not found at {_REPO_SPEC} nor {_PACKAGED_SPEC}")


@functools.cache
def load_spec() -> dict[str, Any]:
    """The parsed spec (cached: callers must not mutate it)."""
    with spec_path().open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or "paths" not in data:
        raise ValueError(f"{spec_path()} is not an OpenAPI description")
    return data


@functools.cache
def spec_json() -> bytes:
    """The spec as compact JSON bytes, served at ``GET /api/v1/openapi.json``."""
    return json.dumps(load_spec(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def pointer(*parts: str | int) -> str:
    """A JSON pointer fragment (``#/a/b~1c``) from raw path segments."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "#/" + "/".join(escaped)


def deref(spec: Mapping[str, Any], node: Any) -> Any:
    """Follow local ``$ref``s (``#/...``) until a node that is not a reference."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ValueError(f"only local references are supported, got {ref!r}")
        node = _resolve_pointer(spec, ref)
        seen += 1
        if seen > 64:
            raise ValueError(f"reference cycle at {ref}")
    return node


def _resolve_pointer(spec: Mapping[str, Any], ref: str) -> Any:
    node: Any = spec
    for raw in ref[2:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _schema_type(spec: dict[str, Any], schema: Any) -> str:
    """The JSON type a parameter schema describes, looking through ``$ref`` and ``allOf``."""
    schema = deref(spec, schema)
    if not isinstance(schema, dict):
        return "string"
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind
    if isinstance(kind, list):
        named = [k for k in kind if k != "null"]
        return str(named[0]) if named else "string"
    for part in schema.get("allOf", ()):
        found = _schema_type(spec, part)
        if found != "string":
            return found
    return "string"


def _schema_default(spec: dict[str, Any], schema: Any) -> Any:
    schema = deref(spec, schema)
    return schema.get("default") if isinstance(schema, dict) else None


def _parameter(spec: dict[str, Any], raw: Any, where: str) -> Parameter:
    # A referenced parameter is pointed at where it is defined, an inline one where it sits.
    if isinstance(raw, dict) and "$ref" in raw:
        where = raw["$ref"]
    param = deref(spec, raw)
    schema = param.get("schema", {})
    schema_pointer = f"{where}/schema"
    if isinstance(schema, dict) and "$ref" in schema:
        schema_pointer = schema["$ref"]
    location = param["in"]
    return Parameter(
        name=param["name"],
        location=location,
        required=bool(param.get("required", location == "path")),
        schema_pointer=schema_pointer,
        type=_schema_type(spec, schema),
        default=_schema_default(spec, schema),
    )


def build_operations(spec: dict[str, Any]) -> dict[str, Operation]:
    """operationId → :class:`Operation` for every operation of ``spec``."""
    table: dict[str, Operation] = {}
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = _operation(spec, path, item, method)
            if operation.operation_id in table:
                raise ValueError(f"operationId {operation.operation_id} is used twice")
            table[operation.operation_id] = operation
    for op in table.values():
        if op.replacement is not None and op.replacement not in table:
            raise ValueError(f"{op.operation_id}: x-replacement {op.replacement} is not an operation")
    return table


def _operation(spec: dict[str, Any], path: str, item: dict[str, Any], method: str) -> Operation:
    op = item[method]
    op_id = op.get("operationId")
    if not op_id:
        raise ValueError(f"{method.upper()} {path} has no operationId")
    base = ("paths", path, method)
    params: dict[tuple[str, str], Parameter] = {}
    for i, raw in enumerate(item.get("parameters", [])):
        p = _parameter(spec, raw, pointer("paths", path, "parameters", i))
        params[p.location, p.name] = p
    for i, raw in enumerate(op.get("parameters", [])):
        p = _parameter(spec, raw, pointer(*base, "parameters", i))
        params[p.location, p.name] = p  # operation level overrides path level
    body_pointer, body_required = _request_body(spec, op, op_id, base)
    security = op.get("security", spec.get("security", []))
    return Operation(
        operation_id=op_id,
        method=method.upper(),
        path=path,
        bases=base_paths(op.get("servers") or item.get("servers") or spec.get("servers", [])),
        parameters=tuple(params.values()),
        body_pointer=body_pointer,
        body_required=body_required,
        deprecated=bool(op.get("deprecated", False)),
        replacement=op.get("x-replacement"),
        public=security == [] or security == [{}],
        response_pointer=_response_pointer(spec, op, base),
    )


def _request_body(
    spec: dict[str, Any], op: dict[str, Any], op_id: str, base: tuple[str, ...]
) -> tuple[str | None, bool]:
    """(JSON pointer of the request body's schema, whether the body is required); (None, False) without one."""
    if "requestBody" not in op:
        return None, False
    body = deref(spec, op["requestBody"])
    where = op["requestBody"].get("$ref") or pointer(*base, "requestBody")
    if "application/json" not in body.get("content", {}):
        raise ValueError(f"{op_id}: only application/json request bodies are supported")
    return f"{where}/content/application~1json/schema", bool(body.get("required", False))


def base_paths(servers: Any) -> tuple[str, ...]:
    """The distinct URL paths of ``servers``, each variable expanded to its default, then its enum values.

    >>> base_paths([{"url": "http://h{base}", "variables": {"base": {"default": "/v1/cefi", "enum": ["/api/v1"]}}}])
    ('/v1/cefi', '/api/v1')
    """
    found: list[str] = []
    for server in servers:
        urls = [str(server["url"])]
        for name, var in server.get("variables", {}).items():
            values = [var["default"], *(v for v in var.get("enum", ()) if v != var["default"])]
            urls = [u.replace("{" + name + "}", str(v)) for u in urls for v in values]
        for url in urls:
            base = urlsplit(url).path.rstrip("/")
            if base not in found:
                found.append(base)
    if not found:
        raise ValueError("the spec names no server, so no base path to serve the API under")
    return tuple(found)


def _response_pointer(spec: dict[str, Any], op: dict[str, Any], base: tuple[str, ...]) -> str | None:
    raw = op.get("responses", {}).get("200")
    if raw is None:
        return None
    where = raw.get("$ref") or pointer(*base, "responses", "200")
    response = deref(spec, raw)
    if "application/json" not in response.get("content", {}):
        return None
    return f"{where}/content/application~1json/schema"


@functools.cache
def operations() -> dict[str, Operation]:
    """The operation table of :func:`load_spec` (cached)."""
    return build_operations(load_spec())
