"""`truex-sandbox` without its extra: one line naming the install command, exit 2 (not a traceback)."""

from __future__ import annotations

import subprocess
import sys

from truex_sandbox.entry import INSTALL

# Run the entry point with uvicorn made unimportable, as in an install without the [sandbox] extra.
_WITHOUT_UVICORN = """
import importlib.util, sys
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name == "uvicorn" else real(name, *a)
sys.modules["uvicorn"] = None
from truex_sandbox.entry import main
raise SystemExit(main(["--help"]))
"""


def test_without_the_extra_it_names_the_install_command() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_UVICORN], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"truex-sandbox: needs the sandbox extra (uvicorn not installed): {INSTALL}"
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_with_the_extra_it_serves_as_before() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from truex_sandbox.entry import main; raise SystemExit(main(['--help']))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "--legacy" in done.stdout
