"""Report the differences between two OpenAPI 3.x descriptions, each marked BREAKING or not.

    python scripts/spec_diff.py OLD NEW [--json]

OLD and NEW are YAML or JSON files. The report covers servers, security (schemes, the global
requirement and per-operation overrides), operations (added, removed, deprecated, moved),
parameters, request bodies and response bodies. Schemas are compared after following local
``$ref``s and merging ``allOf``, property by property, with a path such as
``create_order.body.info.qty``. Exit status: 1 when a change is breaking, 0 otherwise,
2 on bad usage or an unreadable file (one line on stderr).

Operations are matched by operationId, then by method + effective path. An operation's
*effective* paths are each server's URL path (server variables expanded to their default and
their enum values; operation- and path-level ``servers`` override the global ones) followed by
the path template, so moving ``/api/v1/orders`` under a server ``https://api.truex.co{base}``
with ``base: {default: /v1/cefi}`` is reported as a move. Example::

    $ python scripts/spec_diff.py tests/fixtures/spec_diff/base.yaml tests/fixtures/spec_diff/v1.0.5.yaml
    spec_diff: .../base.yaml (1.0.4) -> .../v1.0.5.yaml (1.0.5): 8 changes, 4 breaking

    Servers
      BREAKING  servers: removed https://prod.truex.co
                servers: added https://api.truex.co/v1/cefi
                servers: added https://api.truex.co/api/v1

    Security
                securitySchemes: added scheme bearer
                global: new alternative: bearer

    Operations
      BREAKING  get_health: moved GET /api/v1/health -> /v1/cefi/health (old path still allowed by ...)
      ...

Rules: removing an operation, a parameter, a field or an enum value is breaking; so are a new
required request parameter or field, an enum appearing on a request value, a type or format
change, a removed server or a changed server base path, a moved operation, and a security
alternative that is no longer accepted. Additions of optional things, a new enum value and a
newly deprecated operation are reported as not breaking. ``oneOf``/``anyOf`` are not compared.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import yaml

PROG = "spec_diff"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SECTIONS = ("servers", "security", "operations", "parameters", "request", "responses")
TITLES = {
    "servers": "Servers",
    "security": "Security",
    "operations": "Operations",
    "parameters": "Parameters",
    "request": "Request bodies",
    "responses": "Responses",
}
JSON_MEDIA = "application/json"

Spec = dict[str, Any]
Schema = dict[str, Any]


class SpecError(Exception):
    """A file that cannot be read or is not an OpenAPI 3.x description (exit 2)."""


@dataclass(frozen=True)
class Change:
    section: str  # one of SECTIONS
    where: str  # operationId / schema path / "servers" ...
    message: str
    breaking: bool


@dataclass(frozen=True)
class Operation:
    key: str  # operationId, else "METHOD /template"
    method: str
    template: str
    node: dict[str, Any]
    path_item: dict[str, Any]
    paths: tuple[str, ...]  # effective paths with server variables at their defaults
    all_paths: frozenset[str]  # ... and at every enum value, placeholders normalised


# ------------------------------------------------------------------ loading


def load_spec(path: str) -> Spec:
    """Parse a YAML/JSON file and check it looks like OpenAPI 3.x; raise SpecError otherwise."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise SpecError(f"cannot read {path}: {reason}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SpecError(f"{path} does not parse as YAML/JSON{where}") from None
    version = doc.get("openapi") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or not isinstance(version, str) or not version.startswith("3."):
        raise SpecError(f"{path} is not an OpenAPI 3.x description (no 'openapi: 3.x')")
    return doc


def resolve(spec: Spec, node: Any) -> Any:
    """Follow local ``$ref``s (``#/components/...``) until a node without one; unknown refs give {}."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen or not ref.startswith("#/"):
            return {}
        seen.add(ref)
        node = spec
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
    return node if node is not None else {}


# ------------------------------------------------------------------ servers and effective paths


def expand_server(server: dict[str, Any]) -> tuple[str, list[str]]:
    """(URL with variables at their defaults, every URL the default and enum values allow)."""
    url = str(server.get("url", "/"))
    variables = server.get("variables") or {}
    names = [n for n in variables if "{" + n + "}" in url]
    default = url
    for name in names:
        default = default.replace("{" + name + "}", str(variables[name].get("default", "")))
    choices = [
        list(dict.fromkeys([str(variables[n].get("default", "")), *map(str, variables[n].get("enum") or [])]))
        for n in names
    ]
    every = []
    for combo in itertools.product(*choices):
        expanded = url
        for name, value in zip(names, combo, strict=True):
            expanded = expanded.replace("{" + name + "}", value)
        every.append(expanded)
    return default, every


def base_path(url: str) -> str:
    """The path part of a server URL without its trailing slash ('' for the root)."""
    return urlsplit(url).path.rstrip("/")


def normalise(path: str) -> str:
    """A path with its placeholders anonymised, so /o/{id} and /o/{ref_id} compare equal."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def effective_servers(spec: Spec, path_item: dict[str, Any], op: dict[str, Any]) -> list[dict[str, Any]]:
    """Operation-level servers, else path-level, else global, else the implied ``/``."""
    for servers in (op.get("servers"), path_item.get("servers"), spec.get("servers")):
        if servers:
            return list(servers)
    return [{"url": "/"}]


def operations(spec: Spec) -> list[Operation]:
    """Every operation of the description with its effective paths."""
    found = []
    for template, raw_item in (spec.get("paths") or {}).items():
        item = resolve(spec, raw_item)
        for method in METHODS:
            if not isinstance(item, dict) or not isinstance(item.get(method), dict):
                continue
            node = item[method]
            defaults: list[str] = []
            every: set[str] = set()
            for server in effective_servers(spec, item, node):
                default, urls = expand_server(server)
                defaults.append(base_path(default) + template)
                every.update(normalise(base_path(u) + template) for u in urls)
            key = node.get("operationId") or f"{method.upper()} {template}"
            found.append(
                Operation(key, method, template, node, item, tuple(dict.fromkeys(defaults)), frozenset(every))
            )
    return found


def match_operations(
    old: list[Operation], new: list[Operation]
) -> tuple[list[tuple[Operation, Operation]], list[Operation], list[Operation]]:
    """(matched pairs, removed, added): by operationId first, then method + a shared effective path."""
    unmatched_old, unmatched_new = list(old), list(new)
    pairs: list[tuple[Operation, Operation]] = []

    def pair(same: Callable[[Operation, Operation], bool]) -> None:
        for op in list(unmatched_old):
            twin = next((n for n in unmatched_new if same(op, n)), None)
            if twin is not None:
                unmatched_old.remove(op)
                unmatched_new.remove(twin)
                pairs.append((op, twin))

    pair(
        lambda o, n: (
            bool(o.node.get("operationId")) and o.node.get("operationId") == n.node.get("operationId")
        )
    )
    pair(lambda o, n: o.method == n.method and bool(o.all_paths & n.all_paths))
    return pairs, unmatched_old, unmatched_new


def diff_servers(old: Spec, new: Spec) -> Iterator[Change]:
    """Global servers: removed or base path changed is breaking, added is not."""
    old_urls = [u for s in old.get("servers") or [] for u in expand_server(s)[1]]
    new_urls = [u for s in new.get("servers") or [] for u in expand_server(s)[1]]
    gone = [u for u in dict.fromkeys(old_urls) if u not in new_urls]
    fresh = [u for u in dict.fromkeys(new_urls) if u not in old_urls]
    for url in gone:
        origin = urlsplit(url)._replace(path="", query="", fragment="").geturl()
        same_host = next((u for u in fresh if u.startswith(origin) and base_path(u) != base_path(url)), None)
        if same_host is not None:
            fresh.remove(same_host)
            yield Change(
                "servers",
                "servers",
                f"base path of {origin} changed: {base_path(url) or '/'} -> {base_path(same_host) or '/'}",
                True,
            )
        else:
            yield Change("servers", "servers", f"removed {url}", True)
    for url in fresh:
        yield Change("servers", "servers", f"added {url}", False)


# ------------------------------------------------------------------ security


def alternatives(requirements: list[dict[str, Any]] | None) -> set[frozenset[str]]:
    """A security requirement list as a set of alternatives (each a set of scheme names)."""
    if not requirements:
        return {frozenset()}
    return {frozenset(req or {}) for req in requirements}


def show(alternative: frozenset[str]) -> str:
    return " + ".join(sorted(alternative)) or "anonymous"


def diff_requirements(where: str, old: set[frozenset[str]], new: set[frozenset[str]]) -> Iterator[Change]:
    """An alternative no longer accepted is breaking; a new one is not."""
    for alt in sorted(old - new, key=show):
        yield Change("security", where, f"no longer accepted: {show(alt)}", True)
    for alt in sorted(new - old, key=show):
        yield Change("security", where, f"new alternative: {show(alt)}", False)


def diff_security(old: Spec, new: Spec, pairs: list[tuple[Operation, Operation]]) -> Iterator[Change]:
    """Security schemes, the global requirement, and operations that declare their own."""
    old_schemes = (old.get("components") or {}).get("securitySchemes") or {}
    new_schemes = (new.get("components") or {}).get("securitySchemes") or {}
    for name in sorted(old_schemes.keys() - new_schemes.keys()):
        yield Change("security", "securitySchemes", f"removed scheme {name}", True)
    for name in sorted(new_schemes.keys() - old_schemes.keys()):
        yield Change("security", "securitySchemes", f"added scheme {name}", False)
    for name in sorted(old_schemes.keys() & new_schemes.keys()):
        before, after = resolve(old, old_schemes[name]), resolve(new, new_schemes[name])
        for key in ("type", "in", "name", "scheme"):
            if before.get(key) != after.get(key):
                yield Change(
                    "security",
                    f"securitySchemes.{name}",
                    f"{key}: {before.get(key)} -> {after.get(key)}",
                    True,
                )
    yield from diff_requirements(
        "global", alternatives(old.get("security")), alternatives(new.get("security"))
    )
    for o, n in pairs:
        if "security" in o.node or "security" in n.node:
            before = alternatives(o.node.get("security", old.get("security")))
            after = alternatives(n.node.get("security", new.get("security")))
            yield from diff_requirements(n.key, before, after)


# ------------------------------------------------------------------ operations


def diff_operation_meta(o: Operation, n: Operation) -> Iterator[Change]:
    """Method, effective path and deprecation of a matched operation."""
    if o.method != n.method:
        yield Change("operations", n.key, f"method changed: {o.method.upper()} -> {n.method.upper()}", True)
    if not {normalise(p) for p in o.paths} & {normalise(p) for p in n.paths}:
        # Paths under the first server (a server that goes away is reported under Servers).
        allowed = {normalise(p) for p in o.paths} & n.all_paths
        still = " (old path still allowed by a server variable)" if allowed else ""
        yield Change(
            "operations", n.key, f"moved {n.method.upper()} {o.paths[0]} -> {n.paths[0]}{still}", True
        )
    if bool(o.node.get("deprecated")) != bool(n.node.get("deprecated")):
        what = "deprecated" if n.node.get("deprecated") else "no longer deprecated"
        yield Change("operations", n.key, what, False)


def describe(op: Operation) -> str:
    return f"{op.method.upper()} {op.paths[0]}"


# ------------------------------------------------------------------ schemas


def flatten(spec: Spec, schema: Any, seen: frozenset[str] = frozenset()) -> Schema:
    """Resolve ``$ref`` and merge ``allOf`` parts into one schema (properties and required united)."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        if schema["$ref"] in seen:
            return {}
        seen = seen | {schema["$ref"]}
    node = resolve(spec, schema)
    if not isinstance(node, dict):
        return {}
    if "allOf" not in node:
        return node
    merged: Schema = {k: v for k, v in node.items() if k != "allOf"}
    props: dict[str, Any] = dict(merged.get("properties") or {})
    required: list[str] = list(merged.get("required") or [])
    for part in node["allOf"]:
        flat = flatten(spec, part, seen)
        for key, value in flat.items():
            merged.setdefault(key, value)
        props.update({k: v for k, v in (flat.get("properties") or {}).items() if k not in props})
        required += [r for r in flat.get("required") or [] if r not in required]
    if props:
        merged["properties"] = props
    if required:
        merged["required"] = required
    return merged


def types_of(schema: Schema) -> frozenset[str]:
    """The JSON types a schema allows (3.1 lists and 3.0 ``nullable`` both count)."""
    raw = schema.get("type")
    found = {raw} if isinstance(raw, str) else set(raw or [])
    if schema.get("nullable") is True:
        found.add("null")
    return frozenset(found)


@dataclass(frozen=True)
class Side:
    """Which spec each schema comes from and which way data flows (request or response)."""

    old: Spec
    new: Spec
    section: str  # "parameters", "request" or "responses"

    @property
    def request(self) -> bool:
        return self.section != "responses"


def diff_schema(
    side: Side, old: Any, new: Any, where: str, seen: frozenset[str] = frozenset()
) -> Iterator[Change]:
    """Type, format, enum, then properties and items, recursively."""
    pair = "|".join(str(x.get("$ref", "")) if isinstance(x, dict) else "" for x in (old, new))
    if pair != "|":
        if pair in seen:
            return  # a recursive schema, already being compared higher up this path
        seen = seen | {pair}
    o, n = flatten(side.old, old), flatten(side.new, new)
    yield from diff_scalar(side, o, n, where)
    yield from diff_properties(side, o, n, where, seen)
    if "items" in o and "items" in n:
        yield from diff_schema(side, o["items"], n["items"], where + "[]", seen)


def diff_scalar(side: Side, o: Schema, n: Schema, where: str) -> Iterator[Change]:
    """Type, format and enum of one schema."""
    section = side.section
    if types_of(o) != types_of(n) and types_of(o) and types_of(n):
        old_t, new_t = "|".join(sorted(types_of(o))), "|".join(sorted(types_of(n)))
        yield Change(section, where, f"type changed: {old_t} -> {new_t}", True)
    elif o.get("format") != n.get("format"):  # after a type change the format says nothing new
        before, after = o.get("format") or "(none)", n.get("format") or "(none)"
        yield Change(section, where, f"format changed: {before} -> {after}", True)
    old_enum, new_enum = o.get("enum"), n.get("enum")
    if old_enum is None and new_enum is not None:
        yield Change(section, where, f"enum introduced: {new_enum}", side.request)
    elif old_enum is not None and new_enum is None:
        yield Change(section, where, "enum dropped (any value allowed)", False)
    elif old_enum is not None and new_enum is not None:
        removed = [v for v in old_enum if v not in new_enum]
        added = [v for v in new_enum if v not in old_enum]
        if removed:
            yield Change(section, where, f"enum values removed: {', '.join(map(str, removed))}", True)
        if added:
            yield Change(section, where, f"enum values added: {', '.join(map(str, added))}", False)


def diff_properties(side: Side, o: Schema, n: Schema, where: str, seen: frozenset[str]) -> Iterator[Change]:
    """Fields added, removed, made required or optional; common fields recursively."""
    old_props, new_props = o.get("properties") or {}, n.get("properties") or {}
    old_req, new_req = set(o.get("required") or []), set(n.get("required") or [])
    section = side.section
    for name in old_props.keys() - new_props.keys():
        yield Change(section, f"{where}.{name}", "field removed", True)
    for name in new_props.keys() - old_props.keys():
        required = name in new_req
        label = "required field added" if required else "optional field added"
        yield Change(section, f"{where}.{name}", label, required and side.request)
    for name in old_props.keys() & new_props.keys():
        path = f"{where}.{name}"
        if name in new_req and name not in old_req:
            yield Change(section, path, "now required", side.request)
        elif name in old_req and name not in new_req:
            yield Change(section, path, "now optional", not side.request)
        yield from diff_schema(side, old_props[name], new_props[name], path, seen)


# ------------------------------------------------------------------ parameters and bodies


def parameters(spec: Spec, op: Operation) -> dict[tuple[str, str], dict[str, Any]]:
    """Path-level parameters overridden by operation-level ones, keyed by (in, name)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*(op.path_item.get("parameters") or []), *(op.node.get("parameters") or [])]:
        param = resolve(spec, raw)
        if isinstance(param, dict) and "name" in param:
            found[(str(param.get("in")), str(param["name"]))] = param
    return found


def diff_parameters(old: Spec, new: Spec, o: Operation, n: Operation) -> Iterator[Change]:
    """Removed is breaking; added or made required is breaking when required; schemas compared."""
    side = Side(old, new, "parameters")
    before, after = parameters(old, o), parameters(new, n)
    for loc, name in sorted(before.keys() - after.keys()):
        yield Change("parameters", f"{n.key}.{loc}.{name}", "parameter removed", True)
    for loc, name in sorted(after.keys() - before.keys()):
        required = bool(after[(loc, name)].get("required"))
        label = "required parameter added" if required else "optional parameter added"
        yield Change("parameters", f"{n.key}.{loc}.{name}", label, required)
    for key in sorted(before.keys() & after.keys()):
        where = f"{n.key}.{key[0]}.{key[1]}"
        was, now = bool(before[key].get("required")), bool(after[key].get("required"))
        if was != now:
            yield Change("parameters", where, "now required" if now else "now optional", now)
        yield from diff_schema(side, before[key].get("schema") or {}, after[key].get("schema") or {}, where)


def media_where(where: str, media: str) -> str:
    return where if media == JSON_MEDIA else f"{where}[{media}]"


def diff_content(side: Side, old: dict[str, Any], new: dict[str, Any], where: str) -> Iterator[Change]:
    """Compare the schemas of each media type; a media type removed is breaking."""
    before, after = old.get("content") or {}, new.get("content") or {}
    for media in sorted(before.keys() - after.keys()):
        yield Change(side.section, media_where(where, media), "media type removed", True)
    for media in sorted(after.keys() - before.keys()):
        yield Change(side.section, media_where(where, media), "media type added", False)
    for media in sorted(before.keys() & after.keys()):
        yield from diff_schema(
            side,
            before[media].get("schema") or {},
            after[media].get("schema") or {},
            media_where(where, media),
        )


def diff_request_body(old: Spec, new: Spec, o: Operation, n: Operation) -> Iterator[Change]:
    """Body added (breaking when required), removed, made required, or its fields changed."""
    side = Side(old, new, "request")
    before, after = resolve(old, o.node.get("requestBody")), resolve(new, n.node.get("requestBody"))
    where = f"{n.key}.body"
    if before and not after:
        yield Change("request", where, "request body removed", True)
    elif after and not before:
        required = bool(after.get("required"))
        yield Change(
            "request", where, f"{'required' if required else 'optional'} request body added", required
        )
    elif before and after:
        if bool(after.get("required")) and not bool(before.get("required")):
            yield Change("request", where, "request body now required", True)
        yield from diff_content(side, before, after, where)


def diff_responses(old: Spec, new: Spec, o: Operation, n: Operation) -> Iterator[Change]:
    """A removed 2xx response is breaking, another removed status is not; bodies compared."""
    side = Side(old, new, "responses")
    before = {str(k): v for k, v in (o.node.get("responses") or {}).items()}  # 200 and '200' alike
    after = {str(k): v for k, v in (n.node.get("responses") or {}).items()}
    for status in sorted(before.keys() - after.keys()):
        yield Change("responses", f"{n.key}.{status}", "response removed", status.startswith("2"))
    for status in sorted(after.keys() - before.keys()):
        yield Change("responses", f"{n.key}.{status}", "response added", False)
    for status in sorted(before.keys() & after.keys()):
        yield from diff_content(
            side, resolve(old, before[status]), resolve(new, after[status]), f"{n.key}.{status}"
        )


# ------------------------------------------------------------------ the whole diff


def diff_specs(old: Spec, new: Spec) -> list[Change]:
    """Every change from OLD to NEW, in report order (section, then as found)."""
    pairs, removed, added = match_operations(operations(old), operations(new))
    changes: list[Change] = [*diff_servers(old, new), *diff_security(old, new, pairs)]
    changes += [Change("operations", op.key, f"removed {describe(op)}", True) for op in removed]
    changes += [Change("operations", op.key, f"added {describe(op)}", False) for op in added]
    for o, n in pairs:
        changes += diff_operation_meta(o, n)
        changes += diff_parameters(old, new, o, n)
        changes += diff_request_body(old, new, o, n)
        changes += diff_responses(old, new, o, n)
    return sorted(changes, key=lambda c: SECTIONS.index(c.section))


def render(changes: list[Change], old_label: str, new_label: str) -> str:
    """The human report: a summary line, then one block per section with changes."""
    breaking = sum(c.breaking for c in changes)
    lines = [f"{PROG}: {old_label} -> {new_label}: {len(changes)} changes, {breaking} breaking"]
    if not changes:
        lines[0] = f"{PROG}: {old_label} -> {new_label}: no differences"
    for section in SECTIONS:
        block = [c for c in changes if c.section == section]
        if block:
            lines += ["", TITLES[section]]
            lines += [f"  {'BREAKING' if c.breaking else '':8}  {c.where}: {c.message}" for c in block]
    return "\n".join(lines) + "\n"


def as_json(changes: list[Change], old_label: str, new_label: str) -> str:
    body = {
        "old": old_label,
        "new": new_label,
        "breaking": any(c.breaking for c in changes),
        "changes": [asdict(c) for c in changes],
    }
    return json.dumps(body, indent=2) + "\n"


def label(path: str, spec: Spec) -> str:
    version = (spec.get("info") or {}).get("version")
    return f"{path} ({version})" if version else path


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see --help)\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog=PROG, description=(__doc__ or "").splitlines()[0])
    parser.add_argument("old", help="the description to compare from (YAML or JSON)")
    parser.add_argument("new", help="the description to compare to (YAML or JSON)")
    parser.add_argument("--json", action="store_true", help="print the changes as JSON")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        old, new = load_spec(args.old), load_spec(args.new)
        changes = diff_specs(old, new)
    except SpecError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except (AttributeError, TypeError, ValueError) as exc:  # a node of the wrong shape somewhere
        print(f"{PROG}: error: malformed description ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    labels = label(args.old, old), label(args.new, new)
    sys.stdout.write(as_json(changes, *labels) if args.json else render(changes, *labels))
    return 1 if any(c.breaking for c in changes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
