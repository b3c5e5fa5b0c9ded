"""Emit ``truex_ext/resources/``: the typed facade methods, one per operation of the spec, one module per tag.

Every method comes from the spec (its tag, ``x-sdk-method``, ``x-idempotency-key``, parameters and
response) and from the signature openapi-python-client generated for the operation, so a method can
never drift from the spec: there is no hand-written wrapper per operation. Each module also carries its
operations' table (``OPERATIONS``) that the call loop uses for deprecation warnings,
pagination, retries and client-side validation.
"""

from __future__ import annotations

import ast
import keyword
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Tag -> attribute on the client (`client.market.quotes()`), and the resource class name.
TAG_ATTRS = {
    "Service": "service",
    "Assets": "assets",
    "Instruments": "instruments",
    "Market Data": "market",
    "Clients": "clients",
    "Orders": "orders",
    "Balances": "balances",
    "Transfers": "transfers",
}
# Hand-written methods a tag's resource classes inherit (truex_ext/helpers.py): lookups by symbol and name.
MIXINS = {"Instruments": "InstrumentsMixin", "Assets": "AssetsMixin"}
# JSON-schema keywords the client-side validator understands; everything else is documentation.
VALIDATION_KEYS = (
    "type",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "maxItems",
    "uniqueItems",
    "required",
    "properties",
    "items",
    "anyOf",
    "format",
    "x-required-one-of",
)
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


class CodegenError(RuntimeError):
    """The spec or the generated package is not what this emitter expects."""


def _module_name(tag: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", tag.lower()).strip("_")


def _class_name(tag: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", tag) if part)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


class Spec:
    def __init__(self, data: dict[str, Any], class_overrides: dict[str, str]) -> None:
        self.data = data
        self.schemas: dict[str, Any] = data["components"]["schemas"]
        self.class_overrides = class_overrides

    def model(self, schema_name: str) -> str:
        return self.class_overrides.get(schema_name, schema_name)

    def resolve(self, node: Any) -> Any:
        """A schema with `$ref`s and single-`allOf`s inlined, keeping only validation keywords."""
        if isinstance(node, dict):
            if "$ref" in node:
                path = node["$ref"].removeprefix("#/").split("/")
                target: Any = self.data
                for part in path:
                    target = target[part]
                return self.resolve(target)
            if "allOf" in node:
                if len(node["allOf"]) != 1:
                    raise CodegenError(f"allOf of {len(node['allOf'])} schemas is not supported")
                rest = {k: v for k, v in node.items() if k != "allOf"}
                return {**self.resolve(node["allOf"][0]), **self.resolve(rest)}
            out: dict[str, Any] = {}
            for key in VALIDATION_KEYS:
                if key not in node:
                    continue
                value = node[key]
                if key == "properties":
                    out[key] = {name: self.resolve(sub) for name, sub in value.items()}
                elif key in ("items",):
                    out[key] = self.resolve(value)
                elif key == "anyOf":
                    out[key] = [self.resolve(sub) for sub in value]
                else:
                    out[key] = value
            return out
        return node


class Signature:
    """The keyword parameters of a generated ``sync_detailed`` (without ``client``)."""

    def __init__(self, params: list[tuple[str, str, str | None]], positional: list[str]) -> None:
        self.params = params  # (name, annotation, default source or None)
        self.positional = positional


def _signature(module_file: Path) -> Signature:
    tree = ast.parse(module_file.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "sync_detailed":
            args = node.args
            params: list[tuple[str, str, str | None]] = []
            positional = [a.arg for a in args.args]
            for a in args.args:
                params.append((a.arg, ast.unparse(a.annotation) if a.annotation else "Any", None))
            for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
                if a.arg == "client":
                    continue
                params.append(
                    (
                        a.arg,
                        ast.unparse(a.annotation) if a.annotation else "Any",
                        ast.unparse(d) if d else None,
                    )
                )
            return Signature(params, positional)
    raise CodegenError(f"{module_file}: no sync_detailed()")


def _model_fields(models_dir: Path, model: str) -> list[tuple[str, str, bool]]:
    """(python name, annotation, has default) of an attrs model's init fields, from its source."""
    for path in models_dir.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == model:
                fields = []
                for stmt in node.body:
                    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                        name = stmt.target.id
                        if name == "additional_properties":
                            continue
                        fields.append((name, ast.unparse(stmt.annotation), stmt.value is not None))
                return fields
    raise CodegenError(f"model {model} not found in {models_dir}")


def _operations(spec: Spec) -> list[tuple[str, str, dict[str, Any], tuple[str, ...]]]:
    """(METHOD, path relative to the base, operation, the base paths it is served under)."""
    out = []
    for path, item in spec.data["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                op = item[method]
                servers = op.get("servers") or item.get("servers") or spec.data["servers"]
                out.append((method.upper(), path, op, _base_paths(servers)))
    return out


def _base_paths(servers: list[dict[str, Any]]) -> tuple[str, ...]:
    """The distinct URL paths of ``servers``, each variable expanded to its default, then its enum values.

    ``https://api.truex.co{base}`` with ``base`` in (/v1/cefi, /api/v1) gives ("/v1/cefi", "/api/v1").
    """
    found: list[str] = []
    for server in servers:
        urls = [server["url"]]
        for name, var in server.get("variables", {}).items():
            values = [var["default"], *(v for v in var.get("enum", ()) if v != var["default"])]
            urls = [u.replace("{" + name + "}", v) for u in urls for v in values]
        for url in urls:
            base = urlsplit(url).path.rstrip("/")
            if base not in found:
                found.append(base)
    if not found:
        raise CodegenError("the spec names no server, so no base path")
    return tuple(found)


def _response(spec: Spec, op: dict[str, Any]) -> tuple[str, str | None, str]:
    """(envelope model, item model for lists or None, data model for singles)."""
    schema_ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    envelope = _ref_name(schema_ref)
    data = spec.schemas[envelope]["properties"]["data"]
    if data.get("type") == "array":
        item = _ref_name(data["items"]["$ref"])
        return spec.model(envelope), spec.model(item), spec.model(item)
    return spec.model(envelope), None, spec.model(_ref_name(data["$ref"]))


def _ok_statuses(op: dict[str, Any]) -> list[int]:
    """Statuses whose documented body is not a problem (e.g. health's 503 with the health body)."""
    ok = []
    for status, resp in op["responses"].items():
        content = resp.get("content", {})
        if "$ref" not in resp and "application/json" in content:
            ok.append(int(status))
    return sorted(ok)


def _params_table(spec: Spec, op: dict[str, Any]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for param in op.get("parameters", []):
        resolved = param
        if "$ref" in param:
            resolved = spec.data["components"]["parameters"][_ref_name(param["$ref"])]
        python = resolved["name"].lower().replace("-", "_")
        table[python] = {
            "in": resolved["in"],
            "name": resolved["name"],
            "required": bool(resolved.get("required", False)),
            "schema": spec.resolve(resolved.get("schema", {})),
        }
        if resolved.get("x-json"):  # a JSON string the caller may give as a dict (sent compact)
            table[python]["json"] = True
    return table


def _py(value: Any) -> str:
    """Deterministic Python literal."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    return repr(value)


def render(spec_data: dict[str, Any], package_dir: Path, class_overrides: dict[str, str]) -> dict[str, str]:
    """``truex_ext/resources/``: file name -> source (``__init__.py`` and one module per tag)."""
    spec = Spec(spec_data, class_overrides)
    tag_docs = {t["name"]: t.get("description", "") for t in spec.data.get("tags", [])}
    by_tag: dict[str, list[dict[str, Any]]] = {tag: [] for tag in TAG_ATTRS}
    tag_models: dict[str, set[str]] = {tag: set() for tag in TAG_ATTRS}
    tables: dict[str, list[str]] = {tag: [] for tag in TAG_ATTRS}
    # Model class -> its module in truex_client.models (imported by the method that needs it, not up front).
    model_modules = {
        name: module
        for module, name in re.findall(
            r"^from \.(\w+) import (\w+)$", (package_dir / "models" / "__init__.py").read_text(), re.M
        )
    }
    model_names = set(model_modules)

    operations = _operations(spec)
    # What a deprecation warning names as the replacement, under the current base (where it has a future).
    successors = {
        op["operationId"]: f"{method} {bases[0]}{path} ({TAG_ATTRS[op['tags'][0]]}.{op['x-sdk-method']})"
        for method, path, op, bases in operations
        if op["tags"][0] in TAG_ATTRS
    }
    for method, path, op, bases in operations:
        oid = op["operationId"]
        tag = op["tags"][0]
        if tag not in TAG_ATTRS:
            raise CodegenError(f"{oid}: tag {tag!r} has no client attribute")
        sig = _signature(package_dir / "api" / _module_name(tag) / f"{oid}.py")
        envelope, item, data_model = _response(spec, op)
        names = {p[0] for p in sig.params}
        paginated = "cursor" in names
        body_model = next((ann for name, ann, _ in sig.params if name == "body"), None)
        idem = op.get("x-idempotency-key")
        request_schema = None
        if "requestBody" in op:
            request_schema = spec.resolve(op["requestBody"]["content"]["application/json"]["schema"])
        models = tag_models[tag]
        tables[tag].append(
            f"    {oid!r}: Operation(id={oid!r}, method={method!r}, path={path!r}, bases={bases!r}, tag={tag!r}, "
            f"sdk_method={op['x-sdk-method']!r}, deprecated={bool(op.get('deprecated'))!r}, "
            f"replacement={op.get('x-replacement')!r}, "
            f"successor={successors.get(op.get('x-replacement') or '')!r}, public={op.get('security') == []!r}, "
            f"paginated={paginated!r}, offset={'skip' in names!r}, idempotency_key={idem!r}, "
            f"ok_statuses=frozenset({_py(_ok_statuses(op))}), single={item is None!r}, "
            f"params={_py(_params_table(spec, op))}, body={_py(request_schema)}"
            + (f", rejection={_py(op['x-rejection'])}" if "x-rejection" in op else "")
            + "),"
        )
        runtime_models = sorted({m for m in (body_model, envelope, item) if m is not None})
        # Method parameters: path params first, then the body's fields flattened, then the rest.
        params: list[tuple[str, str, str | None]] = []
        body_fields: list[tuple[str, str, bool]] = []
        if body_model:
            body_fields = _model_fields(package_dir / "models", body_model)
            models.add(body_model)
        for name, ann, default in sig.params:
            if name == "body":
                for fname, fann, has_default in body_fields:
                    if fname in names:
                        raise CodegenError(f"{oid}: body field {fname} collides with a parameter")
                    if fname == idem:
                        params.append((fname, "str | None", "None"))
                    else:
                        params.append((fname, fann, "UNSET" if has_default else None))
            elif _params_table(spec, op).get(name, {}).get("json"):
                params.append((name, ann.replace("str", "str | dict[str, Any]", 1), default))
            else:
                params.append((name, ann, default))
        for _, ann, _ in params:
            models.update(w for w in re.findall(r"\b[A-Z]\w*\b", ann) if w in model_names)
        models.update({envelope, data_model})
        # Required parameters first (Python syntax), keeping the generator's order otherwise.
        params.sort(key=lambda p: p[2] is not None)
        if item is not None and paginated:
            params.append(("max_items", "int | None", "None"))
        if "x-rejection" in op:  # a 200 that is a refusal raises, unless the caller asks for it
            params.append(("allow_rejected", "bool", "False"))
        by_tag[tag].append(
            {
                "oid": oid,
                "name": op["x-sdk-method"],
                "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "params": params,
                "call_names": [n for n, _, _ in sig.params],
                "body_model": body_model,
                "body_fields": [f for f, _, _ in body_fields],
                "idem": idem,
                "envelope": envelope,
                "item": item,
                "data": data_model,
                "paginated": paginated,
                "deprecated": bool(op.get("deprecated")),
                "replacement": op.get("x-replacement"),
                "rejection": op.get("x-rejection"),
                # Imported inside the method: `import truex_ext` must not import 36 endpoint modules.
                # Models come from the package (loaded with the endpoint module anyway): on every call
                # that is ~0.8 us, against ~2 us for `from truex_client.models.<module> import <Model>`.
                "imports": [f"from truex_client.api.{_module_name(tag)} import {oid}"]
                + (
                    [f"from truex_client.models import {', '.join(sorted(runtime_models))}"]
                    if runtime_models
                    else []
                ),
            }
        )

    def header(tag: str) -> list[str]:
        methods = by_tag[tag]
        uses_decimal = any(re.search(r"\bDecimal\b", ann) for m in methods for _, ann, _ in m["params"])
        uses_any = any(re.search(r"\bAny\b", ann) for m in methods for _, ann, _ in m["params"])
        return [
            f'"""{tag}: the typed methods of its operations in openapi/truex.yaml, sync and async.',
            "",
            "GENERATED by scripts/generate.py from the spec and the generated client - do not edit; change the",
            "spec and run `make generate`.",
            '"""',
            "",
            "from __future__ import annotations",
            "",
            "import builtins",
            "import functools",
            "from typing import TYPE_CHECKING, Any, Final"
            if uses_any
            else "from typing import TYPE_CHECKING, Final",
            "",
            "from truex_client.types import UNSET, Unset",
            "",
            "from .._response import to_async_raw, to_async_raw_pages, to_raw",
            *([f"from ..helpers import Async{MIXINS[tag]}, {MIXINS[tag]}"] if tag in MIXINS else []),
            "from ..operations import Operation",
            "",
            "if TYPE_CHECKING:",
            *(["    from decimal import Decimal", ""] if uses_decimal else []),
            "    from truex_client.models import (",
            *[f"        {m}," for m in sorted(tag_models[tag])],
            "    )",
            "",
            "    from .._base_client import AsyncAPI, SyncAPI",
            "    from ..pagination import AsyncPaginator, SyncPaginator",
            "",
            "#: The operations of this tag: what the call loop needs to know of each (validation rules included).",
            "OPERATIONS: Final[dict[str, Operation]] = {",
            *tables[tag],
            "}",
            "",
        ]

    def signature(params: list[tuple[str, str, str | None]]) -> str:
        parts = ["self", "*"] if params else ["self"]
        for name, ann, default in params:
            if keyword.iskeyword(name):
                raise CodegenError(f"parameter {name} is a keyword")
            parts.append(f"{name}: {ann}" + (f" = {default}" if default is not None else ""))
        return ", ".join(parts)

    def docstring(m: dict[str, Any]) -> list[str]:
        lines = [f'        """{m["summary"]}.', ""]
        if m["deprecated"]:
            lines.append(f"        Deprecated: use ``{m['replacement']}`` instead; calling it warns.")
            lines.append("")
        desc = m["description"].replace("\\", "\\\\").replace('"""', "'''")
        for para in desc.split("\n"):
            lines.append(f"        {para}".rstrip())
        if m["rejection"]:
            rej = m["rejection"]
            values = "/".join(rej["values"])
            lines.append(
                f"        Raises :class:`~truex_ext.OrderRejectedError` (the order and its ``{rej['reason']}``) when"
            )
            lines.append(
                f"        the answer's ``{rej['field']}`` is {values}; ``allow_rejected=True`` returns it instead."
            )
        lines.append(f"        Operation ``{m['oid']}``.")
        lines.append('        """')
        return lines

    def kwargs(m: dict[str, Any]) -> str:
        items = []
        for name in m["call_names"]:
            if name == "body":
                fields = ", ".join(
                    f"{f}=self._api.idempotency_key({f})" if f == m["idem"] else f"{f}={f}"
                    for f in m["body_fields"]
                )
                items.append(f'"body": {m["body_model"]}({fields})')
            else:
                items.append(f'"{name}": {name}')
        return "{" + ", ".join(items) + "}"

    def resource(tag: str, is_async: bool) -> list[str]:
        methods = by_tag[tag]
        prefix = "Async" if is_async else ""
        api_type = "AsyncAPI" if is_async else "SyncAPI"
        cls = f"{prefix}{_class_name(tag)}"
        out = [
            "",
            f"class {cls}({prefix}{MIXINS[tag]}):" if tag in MIXINS else f"class {cls}:",
            f'    """{tag_docs.get(tag, tag).strip()}"""',
            "",
            f"    def __init__(self, api: {api_type}) -> None:",
            "        self._api = api",
            "",
            "    @functools.cached_property",
            f"    def with_raw_response(self) -> {cls}WithRawResponse:",
            '        """The same methods, returning an :class:`~truex_ext.APIResponse` (status, headers, ...)."""',
            f"        return {cls}WithRawResponse(self)",
        ]
        for m in methods:
            args = kwargs(m)
            op_ref = f'OPERATIONS["{m["oid"]}"]'
            if m["item"] is not None and m["paginated"]:
                pager = "AsyncPaginator" if is_async else "SyncPaginator"
                out += ["", f"    def {m['name']}({signature(m['params'])}) -> {pager}[{m['item']}]:"]
                out += docstring(m)
                out += [f"        {line}" for line in m["imports"]]
                out.append(
                    f"        return self._api.paginate({op_ref}, {m['oid']}.build_request_kwargs, {args}, "
                    f"{m['envelope']}, {m['item']}, max_items=max_items)"
                )
                continue
            # builtins.list: a method named `list` shadows the builtin inside the class.
            ret = f"builtins.list[{m['item']}]" if m["item"] is not None else m["data"]
            asy = "async " if is_async else ""
            awt = "await " if is_async else ""
            out += ["", f"    {asy}def {m['name']}({signature(m['params'])}) -> {ret}:"]
            out += docstring(m)
            out += [f"        {line}" for line in m["imports"]]
            extra = ", allow_rejected=allow_rejected" if m["rejection"] else ""
            out.append(
                f"        return {awt}self._api.call({op_ref}, {m['oid']}.build_request_kwargs, {args}, "
                f"{m['envelope']}{extra})"
            )
        # The raw twin: same parameters, answers the APIResponse.
        out += [
            "",
            "",
            f"class {cls}WithRawResponse:",
            f'    """Methods of :class:`{cls}` that return the :class:`~truex_ext.APIResponse` of the call."""',
            "",
            f"    def __init__(self, resource: {cls}) -> None:",
            f"        raw = {cls}(resource._api.raw)  # the same call loop, answering with the APIResponse",
        ]
        for m in methods:
            pages = m["item"] is not None and m["paginated"]
            wrap = ("to_async_raw_pages" if pages else "to_async_raw") if is_async else "to_raw"
            out.append(f"        self.{m['name']} = {wrap}(raw.{m['name']})")
        return out

    files: dict[str, str] = {}
    for tag in TAG_ATTRS:
        cls = _class_name(tag)
        body = [*header(tag), f'__all__ = ["OPERATIONS", "Async{cls}", "{cls}"]', ""]
        body += [*resource(tag, False), "", "", *resource(tag, True), ""]
        files[f"{_module_name(tag)}.py"] = "\n".join(body)
    files["__init__.py"] = _render_package(tag_docs)
    return files


def _render_package(tag_docs: dict[str, str]) -> str:
    """``resources/__init__.py``: the clients' resource attributes (each tag imported on first use), OPERATIONS."""
    modules = {tag: _module_name(tag) for tag in TAG_ATTRS}
    out = [
        '"""The resources of the TrueX API, one module per tag of openapi/truex.yaml (``resources/orders.py``, ...).',
        "",
        "A client's ``client.orders`` imports ``resources/orders.py`` on first use: ``from truex_ext import Truex``",
        "does not pay for the tags a program never calls. ``OPERATIONS`` (every operation, by id) loads them all.",
        "",
        "GENERATED by scripts/generate.py from the spec and the generated client - do not edit; change the",
        "spec and run `make generate`.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import functools",
        "import importlib",
        "from typing import TYPE_CHECKING, Any",
        "",
        "if TYPE_CHECKING:",
        "    from .._base_client import AsyncAPI, SyncAPI",
        "    from ..operations import Operation",
        *[
            f"    from .{mod} import Async{_class_name(tag)}, {_class_name(tag)}"
            for tag, mod in modules.items()
        ],
        "",
        "    OPERATIONS: dict[str, Operation]",
        "",
        '__all__ = ["OPERATIONS", "TAG_MODULES", "AsyncResources", "SyncResources"]',
        "",
        "#: The module of each tag, in the spec's order.",
        f"TAG_MODULES = {tuple(modules.values())!r}",
        "",
        "",
        "def __getattr__(name: str) -> Any:",
        '    if name != "OPERATIONS":',
        '        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
        "    table: dict[str, Operation] = {}",
        "    for module in TAG_MODULES:",
        '        table.update(importlib.import_module(f".{module}", __name__).OPERATIONS)',
        "    globals()[name] = table",
        "    return table",
    ]
    for is_async in (False, True):
        prefix = "Async" if is_async else ""
        api_type = "AsyncAPI" if is_async else "SyncAPI"
        out += [
            "",
            "",
            f"class {prefix or 'Sync'}Resources:",
            f'    """The resources of the {"async " if is_async else ""}client, one attribute per tag of the spec."""',
            "",
            f"    def __init__(self, api: {api_type}) -> None:",
            "        self._api = api",
        ]
        for tag, attr in TAG_ATTRS.items():
            cls = f"{prefix}{_class_name(tag)}"
            doc = tag_docs.get(tag, tag).strip().split(". ")[0].rstrip(".")
            out += [
                "",
                "    @functools.cached_property",
                f"    def {attr}(self) -> {cls}:",
                f'        """{doc}."""',
                f"        from .{modules[tag]} import {cls}",
                "",
                f"        return {cls}(self._api)",
            ]
    out.append("")
    return "\n".join(out)


def render_types(package_dir: Path) -> str:
    """``truex_ext/types.py``: every generated model and enum under the one import root, ``truex_ext``."""
    names = sorted(
        name
        for _, name in re.findall(
            r"^from \.(\w+) import (\w+)$", (package_dir / "models" / "__init__.py").read_text(), re.M
        )
    )
    if not names:
        raise CodegenError("truex_client/models/__init__.py exports no model")
    out = [
        '"""The API\'s models and enums, under the one import root::',
        "",
        "    from truex_ext.types import NewOrderInfo, Order, OrderType, Side",
        "",
        "GENERATED by scripts/generate.py from the generated client's models - do not edit; change the spec and",
        "run `make generate`. ``UNSET``/``Unset`` mark an argument left out.",
        '"""',
        "",
        "from truex_client.models import (",
        *[f"    {name}," for name in names],
        ")",
        "from truex_client.types import UNSET, Unset",
        "",
        "__all__ = [",
        *[f'    "{name}",' for name in sorted([*names, "UNSET", "Unset"])],
        "]",
        "",
    ]
    return "\n".join(out)
