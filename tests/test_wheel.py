"""The built wheel, installed as a user would, in a clean virtual environment outside the checkout.

Without ``[sandbox]``: the SDK and the ``truex`` command work, ``truex-sandbox`` names its extra. With it: the
sandbox serves, and an example (copied out of the checkout) trades against it. Needs the package index
(CI reaches PyPI); it is the slowest test of the suite (about a minute), so it builds and installs once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload,no-any-return]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)])
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("truex_cefi-*.whl")
    return found


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("user")  # outside the checkout: nothing imports from the source tree
    venv.EnvBuilder(with_pip=True).create(home / "venv")
    bin_dir = home / "venv" / "bin"
    done = _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)], cwd=home)
    assert done.returncode == 0, done.stderr
    yield bin_dir


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("TRUEX_", "PYTHON"))}


def test_without_the_extra_the_sdk_and_cli_work_and_the_sandbox_names_its_extra(
    user_venv: Path, wheel: Path
) -> None:
    version = _run([str(user_venv / "truex"), "--version"], env=_env(), cwd=user_venv)
    assert version.returncode == 0 and version.stdout.startswith("truex-cefi "), version.stderr
    imported = _run(
        [str(user_venv / "python"), "-c", "import truex_ext, truex_ext.types; print(truex_ext.__file__)"],
        env=_env(),
        cwd=user_venv,
    )
    assert imported.returncode == 0 and "site-packages" in imported.stdout, imported.stderr
    extras = _run(
        [
            str(user_venv / "python"),
            "-c",
            "import importlib.metadata as m; print(m.metadata('truex-cefi').get_all('Provides-Extra'))",
        ],
        env=_env(),
        cwd=user_venv,
    )
    # The project's tooling pins are dependency groups, never published as extras.
    assert extras.stdout.strip() == "['sandbox', 'jwt', 'stream', 'aiohttp']", extras.stdout + extras.stderr
    sandbox = _run([str(user_venv / "truex-sandbox"), "--help"], env=_env(), cwd=user_venv)
    assert sandbox.returncode == 2
    assert "pip install 'truex-cefi[sandbox]'" in sandbox.stderr and "Traceback" not in sandbox.stderr


def test_with_the_extra_an_example_trades_against_the_installed_sandbox(user_venv: Path, wheel: Path) -> None:
    done = _run(
        [str(user_venv / "python"), "-m", "pip", "install", "--quiet", f"{wheel}[sandbox]"], cwd=user_venv
    )
    assert done.returncode == 0, done.stderr
    example = user_venv.parent.parent / "transfer.py"
    shutil.copyfile(ROOT / "examples" / "transfer.py", example)
    server = subprocess.Popen(
        [str(user_venv / "truex-sandbox"), "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
        cwd=user_venv,
    )
    try:
        assert server.stdout is not None
        banner = [server.stdout.readline() for _ in range(12)]
        url = re.search(r"listening on (\S+)", banner[0])
        assert url is not None, banner
        text = "".join(banner)
        key = re.search(r"key id:\s+(\S+)\n\s+secret:\s+(\S+)", text)
        assert key is not None, text
        env = _env() | {
            "TRUEX_BASE_URL": url.group(1),
            "TRUEX_API_KEY": key.group(1),
            "TRUEX_API_SECRET": key.group(2),
        }
        # The web page ships in the wheel (package data truex_sandbox/web/) and is served at /.
        assert f"web page:  {url.group(1)}/" in text
        served = _run(
            [
                str(user_venv / "python"),
                "-c",
                "import sys, urllib.request as u; base = sys.argv[1]; "
                "print(u.urlopen(base + '/').read().decode()); print(len(u.urlopen(base + '/sandbox/ui/app.js').read()))",
                url.group(1),
            ],
            env=_env(),
        )
        assert served.returncode == 0 and "Local sandbox" in served.stdout, served.stdout + served.stderr
        run = _run([str(user_venv / "python"), str(example), "DEPOSIT", "BTC", "0.5", "--wait", "5"], env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        assert ": COMPLETED" in run.stdout
    finally:
        server.terminate()
        server.wait(timeout=15)
