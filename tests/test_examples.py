"""``examples/`` run as written against a served sandbox (issue 14), and pass ``mypy --strict``."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from truex_sandbox.app import create_app
from truex_sandbox.engine import Exchange
from truex_sandbox.server import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    exchange = Exchange()
    key = next(k for k in exchange.seed.api_keys if k.label == "ALICE")
    with serve_in_thread(create_app(exchange)) as server:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("TRUEX_")}
        # No TRUEX_CLIENT_ID: the examples find it from the key.
        environ |= {
            "TRUEX_BASE_URL": server.base_url,
            "TRUEX_API_KEY": key.key_id,
            "TRUEX_API_SECRET": key.secret,
        }
        yield environ


def run(env: dict[str, str], script: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *argv], env=env, capture_output=True, text=True, timeout=120
    )


def test_market_maker_quotes_n_times_and_cleans_up(env: dict[str, str]) -> None:
    done = run(env, "market_maker.py", "--iterations", "3", "--interval", "0.05")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["1", "2", "3"] and lines[-1] == "done"
    assert all("quoting 2 orders: BUY " in line for line in lines[:3])


def test_csv_export(env: dict[str, str]) -> None:
    run(env, "market_maker.py", "--iterations", "1", "--interval", "0")
    done = run(env, "export_orders_csv.py", "-", "--status", "CANCELED")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert rows and {r["status"] for r in rows} == {"CANCELED"}
    assert all(r["qty"] == "0.0010" and r["price"] for r in rows)
    assert done.stderr == f"{len(rows)} orders written to -\n"


def test_transfer_deposit_completes_and_an_overdraft_is_rejected(env: dict[str, str]) -> None:
    done = run(env, "transfer.py", "DEPOSIT", "ETH", "5", "--wait", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2].endswith(": COMPLETED")
    assert done.stdout.splitlines()[-1] == "ETH balance: 105"
    done = run(env, "transfer.py", "WITHDRAW", "ETH", "100000", "--wait", "1")
    assert done.returncode == 1 and ": REJECTED" in done.stdout


def test_examples_pass_mypy_strict(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path),
            *map(str, EXAMPLES.glob("*.py")),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
