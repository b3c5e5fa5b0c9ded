"""The sandbox's pytest plugin (issue 15), run through ``pytester`` as a user's suite would run it.

The plugin is installed by the package's ``pytest11`` entry point, so the inner runs load it like any user's:
``examples/test_bot.py`` is copied in and must pass whole (place and cancel with ``truex_client``, a retry loop
under 429/503 ending with one order, a create whose answer is dropped leaving one order, a transfer settled by
moving the clock, a degraded health, an in-process sandbox), then the scope, options and bad input.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "test_bot.py"

_INI = "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"


@pytest.fixture(scope="module", autouse=True)
def _warm_imports() -> None:
    """Import what the inner runs use here first: pytester's in-process run drops the modules a run imported
    when it ends, and a second import of ``cryptography``'s bindings breaks the first one's objects."""
    from truex_sandbox.pytest_plugin import TestSandbox
    from truex_sandbox.testing import Sandbox

    handle = TestSandbox(Sandbox(), served=True)
    try:
        with handle.sandbox.serve():  # uvicorn's protocol, loop and lifespan modules too
            handle.client().service.health()
            handle.client(api_version="v2024_01_01").orders.active()
    finally:
        handle.close()


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makeini(_INI)
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", *args)


def test_the_example_suite_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bot=EXAMPLE.read_text())
    result = _run(pytester)
    result.assert_outcomes(passed=7)


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    import re

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    (example,) = [b for b in blocks if "def test_my_bot" in b]
    pytester.makepyfile(test_readme_bot=example)
    _run(pytester).assert_outcomes(passed=1)


def test_one_sandbox_per_test_by_default_per_module_on_request(pytester: pytest.Pytester) -> None:
    body = """
        import pytest
        SEEN = []

        def test_one(truex_sandbox):
            SEEN.append(truex_sandbox.sandbox)
            truex_sandbox.fund("ALICE", "PYUSD", "5")

        def test_two(truex_sandbox):
            SEEN.append(truex_sandbox.sandbox)
            assert (SEEN[0] is SEEN[1]) == EXPECT_SAME
            expected = "1000005" if EXPECT_SAME else "1000000"
            assert truex_sandbox.balance("ALICE", "PYUSD")["balance"] == expected
    """
    pytester.makepyfile(
        test_per_test="EXPECT_SAME = False\n" + _dedent(body),
        test_per_module="EXPECT_SAME = True\npytestmark = __import__('pytest').mark.truex_sandbox("
        "scope='module', inprocess=True)\n" + _dedent(body),
    )
    result = _run(pytester)
    result.assert_outcomes(passed=4)
    # The command-line option makes module scope the default.
    pytester.makepyfile(test_per_test="EXPECT_SAME = True\n" + _dedent(body))
    result = _run(pytester, "--truex-sandbox-scope=module")
    result.assert_outcomes(passed=4)


def test_a_module_scoped_sandbox_is_not_configured_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mixed="""
        import pytest
        pytestmark = pytest.mark.truex_sandbox(scope="module", inprocess=True)

        def test_plain(truex_sandbox):
            pass

        @pytest.mark.truex_sandbox(frozen_at=0)
        def test_own(truex_sandbox):
            pass
        """
    )
    result = _run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*a module-scoped sandbox is configured on the module*frozen_at*"])


def test_faults_and_rate_limits_from_the_command_line(pytester: pytest.Pytester) -> None:
    faults = pytester.path / "faults.json"
    faults.write_text(json.dumps({"faults": [{"fault": 503, "operation": "get_health", "times": 1}]}))
    pytester.makepyfile(
        test_opts="""
        import pytest
        from truex_ext import InternalServerError

        def test_health_fails_once_then_limits(truex_sandbox):
            client = truex_sandbox.client(max_retries=0)
            with pytest.raises(InternalServerError):
                client.service.health()
            assert [f.fault for f in truex_sandbox.faults.seen] == ["503"]
            truex_sandbox.clock.freeze()
            client.service.health(); client.service.health()  # the strict profile's public burst
            with pytest.raises(Exception) as caught:
                client.service.health()
            assert caught.value.status_code == 429 and caught.value.headers["retry-after"] == "1"
            truex_sandbox.clock.advance(1)
            client.service.health()
        """
    )
    result = _run(
        pytester, f"--truex-sandbox-faults={faults}", "--truex-sandbox-rate-limits=strict", "-p", "pytester"
    )
    result.assert_outcomes(passed=1)


def test_a_bad_fault_spec_is_one_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.truex_sandbox(faults=[{"fault": 429, "operation": "create_orders"}])
        def test_it(truex_sandbox):
            pass
        """
    )
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*FaultError*operation 'create_orders': not an operationId*"])


def test_a_bad_fault_file_option_stops_the_run_before_any_test(pytester: pytest.Pytester) -> None:
    bad = pytester.path / "faults.yaml"
    bad.write_text("- {fault: 503, operation: get_healthz}\n")
    pytester.makepyfile(test_x="def test_x(truex_sandbox):\n    pass\n")
    result = _run(pytester, f"--truex-sandbox-faults={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*truex_sandbox: *faults.yaml[[]0[]]: operation 'get_healthz'*"])


def test_without_the_sandbox_extra_a_fixture_says_what_to_install(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import truex_sandbox.entry

    monkeypatch.setattr(truex_sandbox.entry, "missing_modules", lambda: ["starlette"])
    pytester.makepyfile(test_x="def test_x(truex_sandbox):\n    pass\n")
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*need the sandbox extra (starlette): pip install 'truex-cefi[[]sandbox[]]'*"]
    )


def test_the_command_refuses_a_bad_fault_file_before_serving(tmp_path: Path) -> None:
    bad = tmp_path / "faults.yaml"
    bad.write_text("faults:\n  - {fault: 418}\n")
    done = subprocess.run(
        [sys.executable, "-m", "truex_sandbox", "--port", "0", "--faults", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""  # no banner: nothing served
    (line,) = done.stderr.splitlines()
    assert line.startswith("truex-sandbox: ") and "fault '418': not one of" in line


def test_the_sandbox_never_imports_the_sdk() -> None:
    """Only the plugin module may import truex_ext / truex_client, and only inside functions (lazily)."""
    for path in sorted((ROOT / "truex_sandbox").glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        top_level = set(tree.body)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            sdk = [n for n in names if n.split(".")[0] in ("truex_ext", "truex_client")]
            if not sdk:
                continue
            assert path.name == "pytest_plugin.py", f"{path.name} imports {sdk}"
            assert node not in top_level, f"{path.name}: a top-level import of {sdk}"


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text)
