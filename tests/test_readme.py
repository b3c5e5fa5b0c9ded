"""The README's usage example runs as written, against a served sandbox, with credentials from the env."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from truex_sandbox.app import create_app
from truex_sandbox.engine import Exchange
from truex_sandbox.server import serve_in_thread

README = Path(__file__).resolve().parent.parent / "README.md"


def test_quick_start_example_runs_as_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    example = next(b for b in blocks if "Truex()" in b)
    exchange = Exchange()
    key = next(k for k in exchange.seed.api_keys if k.label == "ALICE")
    with serve_in_thread(create_app(exchange)) as server:
        monkeypatch.setenv("TRUEX_BASE_URL", server.base_url)
        monkeypatch.setenv("TRUEX_API_KEY", key.key_id)
        monkeypatch.setenv("TRUEX_API_SECRET", key.secret)
        monkeypatch.delenv("TRUEX_CLIENT_ID", raising=False)  # found from the key (issue 14)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the example must not trip a deprecation warning
            exec(compile(example, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    order_id, status, leaves = lines[0].split()
    assert status == "ACTIVE" and leaves == "0.01"
    assert lines[1] == f"{order_id} 74000"
    assert exchange.order_status({min(key.client_ids)}, order_id)["status"] == "CANCELED"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_every_python_block_passes_mypy_strict(tmp_path: Path) -> None:
    """A user who copies a snippet into a typed project gets no error: ``client_id`` may be None,
    ``order_info`` may be UNSET, and the README says how to deal with both (issue 14)."""
    import subprocess
    import sys

    root = README.parent
    files = []
    for n, block in enumerate(_python_blocks()):
        path = tmp_path / f"readme_block_{n}.py"
        path.write_text(block)
        files.append(str(path))
    assert len(files) >= 3
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".mypy_cache"), *files],
        cwd=root,  # pyproject.toml: mypy_path = generated
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_symbols_example_runs_as_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = next(b for b in _python_blocks() if "round_qty(" in b and "Truex()" in b)
    exchange = Exchange()
    key = next(k for k in exchange.seed.api_keys if k.label == "ALICE")
    with serve_in_thread(create_app(exchange)) as server:
        monkeypatch.setenv("TRUEX_BASE_URL", server.base_url)
        monkeypatch.setenv("TRUEX_API_KEY", key.key_id)
        monkeypatch.setenv("TRUEX_API_SECRET", key.secret)
        monkeypatch.delenv("TRUEX_CLIENT_ID", raising=False)
        exec(compile(example, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[1] == "PYUSD"
    assert lines[1] == "0.02 74000.5"
    assert any(line.split()[1:2] == ["BTC"] for line in lines[2:])
