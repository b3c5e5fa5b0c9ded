"""Tests for scripts/spec_diff.py and the spec-drift plumbing. Offline: fixture specs only.

Each fixture under tests/fixtures/spec_diff/ is base.yaml (a v1.0.4-like miniature) with one change.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "spec_diff.py"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "spec_diff"
BASE = FIXTURES / "base.yaml"
SPEC = ROOT / "openapi" / "truex.yaml"
WORKFLOW = ROOT / ".github" / "workflows" / "spec-drift.yml"


def _load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("spec_diff", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["spec_diff"] = module  # dataclasses look the module up while building the classes
    spec.loader.exec_module(module)
    return module


spec_diff = _load_module()


def changes(new: str, old: Path = BASE) -> list[tuple[str, str, str, bool]]:
    """(section, where, message, breaking) of every change from OLD to the fixture NEW."""
    found = spec_diff.diff_specs(spec_diff.load_spec(str(old)), spec_diff.load_spec(str(FIXTURES / new)))
    return [(c.section, c.where, c.message, c.breaking) for c in found]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False
    )


# ------------------------------------------------------------------ the rules, one fixture each


def test_identical_specs_have_no_changes() -> None:
    assert changes("base.yaml") == []


def test_added_optional_response_field_is_not_breaking_in_every_operation_that_returns_it() -> None:
    assert changes("added_optional_response_field.yaml") == [
        ("responses", "create_order.200.data.updated_at", "optional field added", False),
        ("responses", "create_order_deprecated.200.data.updated_at", "optional field added", False),
        # reached through an inline array's items -> $ref
        ("responses", "list_active_orders.200.data[].updated_at", "optional field added", False),
    ]


def test_removed_response_field_is_breaking() -> None:
    found = changes("removed_response_field.yaml")
    assert ("responses", "create_order.200.data.order_info", "field removed", True) in found
    assert ("responses", "list_active_orders.200.data[].order_info", "field removed", True) in found
    assert all(c[3] for c in found)


def test_new_required_request_field_through_allof_is_breaking() -> None:
    found = changes("new_required_request_field.yaml")
    assert ("request", "create_order.body.time_in_force", "required field added", True) in found
    assert {c[1] for c in found} == {
        "create_order.body.time_in_force",
        "create_order_deprecated.body.time_in_force",
    }


def test_removed_response_enum_value_is_breaking() -> None:
    found = changes("removed_enum_value.yaml")
    assert ("responses", "create_order.200.data.status", "enum values removed: CANCELED", True) in found


def test_type_change_is_breaking_on_both_sides_with_a_nested_path() -> None:
    found = changes("type_changed.yaml")
    assert ("request", "create_order.body.info.qty", "type changed: string -> number", True) in found
    assert (
        "responses",
        "create_order.200.data.order_info.qty",
        "type changed: string -> number",
        True,
    ) in found
    assert not any("format" in c[2] for c in found)  # implied by the type change, not repeated


def test_removed_operation_is_breaking() -> None:
    assert changes("operation_removed.yaml") == [
        ("operations", "list_active_orders", "removed GET /api/v1/orders/active", True)
    ]


def test_removed_operation_in_reverse_is_an_addition() -> None:
    assert changes("base.yaml", old=FIXTURES / "operation_removed.yaml") == [
        ("operations", "list_active_orders", "added GET /api/v1/orders/active", False)
    ]


def test_newly_deprecated_operation_is_reported_but_not_breaking() -> None:
    assert changes("operation_deprecated.yaml") == [("operations", "list_active_orders", "deprecated", False)]


def test_changed_server_host_is_breaking_and_moves_no_path() -> None:
    assert changes("server_changed.yaml") == [
        ("servers", "servers", "removed https://prod.truex.co", True),
        ("servers", "servers", "added https://api.truex.co", False),
    ]


def test_v104_to_v105_relative_paths_under_a_server_base_are_moves() -> None:
    found = changes("v1.0.5.yaml")
    moved = {c[1]: c[2] for c in found if c[0] == "operations"}
    still = " (old path still allowed by a server variable)"
    assert moved == {
        "get_health": "moved GET /api/v1/health -> /v1/cefi/health" + still,
        "create_order": "moved POST /api/v1/orders -> /v1/cefi/orders" + still,
        "list_active_orders": "moved GET /api/v1/orders/active -> /v1/cefi/orders/active" + still,
    }  # create_order_deprecated keeps /api/v1/order through its path-level servers: not moved
    assert all(c[3] for c in found if c[0] == "operations")
    assert ("servers", "servers", "removed https://prod.truex.co", True) in found
    assert ("servers", "servers", "added https://api.truex.co/v1/cefi", False) in found
    assert ("security", "securitySchemes", "added scheme bearer", False) in found
    assert ("security", "global", "new alternative: bearer", False) in found
    assert not [c for c in found if c[0] in ("parameters", "request", "responses")]


def test_v105_back_to_v104_drops_bearer_and_the_old_default_path_is_not_allowed() -> None:
    found = changes("base.yaml", old=FIXTURES / "v1.0.5.yaml")
    assert ("security", "global", "no longer accepted: bearer", True) in found
    assert ("security", "securitySchemes", "removed scheme bearer", True) in found
    assert ("operations", "create_order", "moved POST /v1/cefi/orders -> /api/v1/orders", True) in found


def test_operations_without_operation_id_match_by_method_and_effective_path() -> None:
    old, new = spec_diff.load_spec(str(BASE)), spec_diff.load_spec(str(FIXTURES / "v1.0.5.yaml"))
    for doc in (old, new):
        for item in doc["paths"].values():
            for op in item.values():
                if isinstance(op, dict):
                    op.pop("operationId", None)
    found = spec_diff.diff_specs(old, new)
    assert not [c for c in found if c.message.startswith(("added", "removed")) and c.section == "operations"]
    assert [c.where for c in found if c.message.startswith("moved")] == [
        "GET /health",
        "POST /orders",
        "GET /orders/active",
    ]


# ------------------------------------------------------------------ smaller rules, in memory


def _tiny(param: dict[str, object] | None = None, security: list[object] | None = None) -> dict[str, object]:
    op: dict[str, object] = {"operationId": "op", "responses": {"200": {"description": "ok"}}}
    if param is not None:
        op["parameters"] = [param]
    if security is not None:
        op["security"] = security
    return {"openapi": "3.1.0", "info": {"version": "1"}, "paths": {"/x": {"get": op}}}


def test_parameter_rules() -> None:
    optional = {"name": "side", "in": "query", "schema": {"type": "string", "enum": ["BUY", "SELL"]}}
    required = {**optional, "required": True}
    narrowed = {**optional, "schema": {"type": "string", "enum": ["BUY"]}}

    def diff(a: dict[str, object], b: dict[str, object]) -> list[tuple[str, str, bool]]:
        return [(c.where, c.message, c.breaking) for c in spec_diff.diff_specs(a, b)]

    assert diff(_tiny(), _tiny(optional)) == [("op.query.side", "optional parameter added", False)]
    assert diff(_tiny(), _tiny(required)) == [("op.query.side", "required parameter added", True)]
    assert diff(_tiny(optional), _tiny()) == [("op.query.side", "parameter removed", True)]
    assert diff(_tiny(optional), _tiny(required)) == [("op.query.side", "now required", True)]
    assert diff(_tiny(required), _tiny(optional)) == [("op.query.side", "now optional", False)]
    assert diff(_tiny(optional), _tiny(narrowed)) == [("op.query.side", "enum values removed: SELL", True)]
    assert diff(_tiny(narrowed), _tiny(optional)) == [("op.query.side", "enum values added: SELL", False)]


def test_operation_security_rules() -> None:
    hmac, bearer = {"HMAC": []}, {"bearer": []}
    diff = spec_diff.diff_specs
    assert [(c.message, c.breaking) for c in diff(_tiny(security=[]), _tiny(security=[hmac]))] == [
        ("no longer accepted: anonymous", True),
        ("new alternative: HMAC", False),
    ]
    assert [
        (c.message, c.breaking) for c in diff(_tiny(security=[hmac, bearer]), _tiny(security=[hmac]))
    ] == [("no longer accepted: bearer", True)]


def test_server_base_path_change_is_breaking_and_moves_operations() -> None:
    old, new = _tiny(), _tiny()
    old["servers"] = [{"url": "https://h.test/api/v1"}]
    new["servers"] = [{"url": "https://h.test/v2"}]
    assert [(c.section, c.message, c.breaking) for c in spec_diff.diff_specs(old, new)] == [
        ("servers", "base path of https://h.test changed: /api/v1 -> /v2", True),
        ("operations", "moved GET /api/v1/x -> /v2/x", True),
    ]


def test_status_codes_compare_as_strings_and_a_removed_2xx_is_breaking() -> None:
    old, new = _tiny(), _tiny()
    old["paths"]["/x"]["get"]["responses"] = {200: {"description": "ok"}, 404: {"description": "no"}}  # type: ignore[index]
    new["paths"]["/x"]["get"]["responses"] = {"201": {"description": "ok"}, "404": {"description": "no"}}  # type: ignore[index]
    assert [(c.where, c.message, c.breaking) for c in spec_diff.diff_specs(old, new)] == [
        ("op.200", "response removed", True),
        ("op.201", "response added", False),
    ]


def test_recursive_schema_terminates() -> None:
    doc = _tiny()
    node = {
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/N"}}},
    }
    doc["components"] = {"schemas": {"N": node}}
    doc["paths"]["/x"]["get"]["responses"]["200"]["content"] = {  # type: ignore[index]
        "application/json": {"schema": {"$ref": "#/components/schemas/N"}}
    }
    assert spec_diff.diff_specs(doc, doc) == []


def test_the_real_spec_against_itself_has_no_changes() -> None:
    spec = spec_diff.load_spec(str(SPEC))
    assert len(spec_diff.operations(spec)) == 36
    assert spec_diff.diff_specs(spec, spec) == []


# ------------------------------------------------------------------ the command line


def test_cli_no_changes_exits_0() -> None:
    result = run_cli(str(SPEC), str(SPEC))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("no differences")


def test_cli_non_breaking_change_exits_0_with_the_report() -> None:
    result = run_cli(str(BASE), str(FIXTURES / "operation_deprecated.yaml"))
    assert result.returncode == 0, result.stderr
    assert "1 changes, 0 breaking" in result.stdout
    assert re.search(r"^Operations\n +list_active_orders: deprecated$", result.stdout, re.M)


def test_cli_breaking_change_exits_1_grouped_by_section() -> None:
    result = run_cli(str(BASE), str(FIXTURES / "v1.0.5.yaml"))
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert out.index("\nServers\n") < out.index("\nSecurity\n") < out.index("\nOperations\n")
    assert "  BREAKING  create_order: moved POST /api/v1/orders -> /v1/cefi/orders" in out


def test_cli_json() -> None:
    result = run_cli("--json", str(BASE), str(FIXTURES / "removed_enum_value.yaml"))
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["breaking"] is True
    assert {
        "section": "responses",
        "where": "create_order.200.data.status",
        "message": "enum values removed: CANCELED",
        "breaking": True,
    } in body["changes"]
    assert json.loads(run_cli("--json", str(BASE), str(BASE)).stdout)["changes"] == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read"),
        ("openapi: [unclosed", "does not parse as YAML/JSON"),
        ("swagger: '2.0'\n", "is not an OpenAPI 3.x description"),
        ("openapi: 3.1.0\nservers: 5\n", "malformed description"),
    ],
)
def test_cli_unreadable_file_exits_2_with_one_line(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "spec.yaml"
    if content is not None:
        path.write_text(content)
    result = run_cli(str(BASE), str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and expected in result.stderr
    assert result.stderr.startswith("spec_diff: error: ") and "Traceback" not in result.stderr


def test_cli_usage_error_exits_2() -> None:
    result = run_cli(str(BASE))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "spec_diff: error:" in result.stderr


# ------------------------------------------------------------------ make spec-drift and the workflow


def test_make_spec_drift_is_a_documented_phony_target_outside_make_test() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^## spec-drift: ", makefile, re.M)
    assert re.search(r"^\.PHONY:.*\bspec-drift\b", makefile, re.M)
    recipe = makefile.split("\nspec-drift:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/fetch_spec.py" in recipe and "scripts/spec_diff.py" in recipe
    test_line = next(line for line in makefile.splitlines() if line.startswith("test:"))
    assert "spec-drift" not in test_line


def test_make_spec_drift_offline_fails_in_one_line(tmp_path: Path) -> None:
    """An unreachable URL stands in for being offline: one line from fetch_spec, no diff, non-zero."""
    env = {"PATH": "/usr/bin:/bin", "TRUEX_SPEC_URL": "http://127.0.0.1:9/spec.yaml"}
    result = subprocess.run(
        # -o: never (re)build the venv from here, even when pyproject.toml is newer than its stamp.
        [
            "make",
            "--no-print-directory",
            "-s",
            "-o",
            ".venv/.installed-dev",
            "spec-drift",
            f"UPSTREAM={tmp_path / 'up.yaml'}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert len(ours) == 1 and ours[0].startswith("fetch_spec: error: cannot connect"), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "up.yaml").exists()


def test_workflow_is_valid_yaml_with_schedule_and_steps() -> None:
    doc = yaml.safe_load(WORKFLOW.read_text())
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert triggers["schedule"][0]["cron"]
    assert "workflow_dispatch" in triggers
    steps = next(iter(doc["jobs"].values()))["steps"]
    uses = [s.get("uses", "") for s in steps]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert any(u.startswith("actions/checkout@") for u in uses)
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert str(setup["with"]["python-version"]) == "3.11"
    assert "make spec-drift" in runs and "make generate" in runs
    assert any(u.startswith("peter-evans/create-pull-request@v7") for u in uses)
