"""The `truex` command line against a served sandbox: tables, --json, errors as one line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from truex_ext import Truex
from truex_ext.cli import main
from truex_sandbox.app import create_app
from truex_sandbox.engine import Exchange
from truex_sandbox.server import serve_in_thread


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[str, Any]]:
    exchange = Exchange()
    with serve_in_thread(create_app(exchange)) as server:
        yield server.base_url, exchange


def run(sandbox: tuple[str, Any], *argv: str, user: str = "ALICE") -> tuple[int, str, str]:
    base_url, exchange = sandbox
    key = next(k for k in exchange.seed.api_keys if k.label == user)

    def factory(**kwargs: Any) -> Truex:
        return Truex(
            api_key=key.key_id,
            api_secret=key.secret,
            client_id=min(key.client_ids),
            environ={},
            **{**kwargs, "base_url": kwargs.get("base_url") or base_url},
        )

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, client_factory=factory)
    return code, out.getvalue(), err.getvalue()


def test_health_and_instruments_tables(sandbox: tuple[str, Any]) -> None:
    code, out, _ = run(sandbox, "health")
    assert code == 0 and "status: healthy" in out
    code, out, _ = run(sandbox, "instruments")
    assert code == 0
    assert out.splitlines()[0].split() == ["ID", "SYMBOL", "STATUS", "REF", "PRICE"]
    assert "BTC-PYUSD" in out and "ETH-PYUSD" in out


def test_book_and_quote(sandbox: tuple[str, Any]) -> None:
    code, out, _ = run(sandbox, "book", "BTC-PYUSD")
    assert code == 0 and "74998.5" in out and "75002.5" in out
    code, out, _ = run(
        sandbox, "--json", "quote", "BTC-PYUSD", "--side", "BUY", "--qty", "0.01", "--unit", "BASE"
    )
    assert code == 0
    assert json.loads(out) == {
        "qty": "0.01",
        "price": "75002.5",
        "notional": "750.025",
        "notional_residual": "0",
    }


def test_order_lifecycle_through_the_cli(sandbox: tuple[str, Any]) -> None:
    code, out, err = run(
        sandbox,
        "--json",
        "order",
        "create",
        "BTC-PYUSD",
        "--side",
        "BUY",
        "--qty",
        "0.01",
        "--price",
        "74000",
    )
    assert code == 0, err
    order = json.loads(out)
    assert order["status"] == "ACTIVE" and order["order_info"]["price"] == "74000"
    code, out, _ = run(
        sandbox, "--json", "order", "modify", order["id"], "--qty", "0.02", "--price", "74000.5"
    )
    assert code == 0 and json.loads(out)["leaves_qty"] == "0.02"
    code, out, _ = run(sandbox, "orders", "active")
    assert code == 0 and order["id"] in out
    code, out, _ = run(sandbox, "--json", "order", "cancel", order["id"])
    assert code == 0 and json.loads(out)["status"] == "CANCEL_PENDING"
    code, out, _ = run(sandbox, "--json", "orders", "status", order["external_id"], "--client-id")
    assert code == 0 and json.loads(out)[0]["status"] == "CANCELED"
    code, out, _ = run(sandbox, "--json", "orders", "list", "--max", "1")
    assert code == 0 and len(json.loads(out)) == 1


def test_balances_and_transfers(sandbox: tuple[str, Any]) -> None:
    code, out, _ = run(sandbox, "balances")
    assert code == 0 and "ORDER HOLD" in out.splitlines()[0] and "1000000" in out
    code, out, _ = run(sandbox, "--json", "transfers")
    assert code == 0 and json.loads(out) == []
    code, out, _ = run(sandbox, "--json", "trades")
    assert code == 0 and isinstance(json.loads(out), list)


def test_errors_are_one_line_and_a_non_zero_exit(sandbox: tuple[str, Any]) -> None:
    code, out, err = run(sandbox, "order", "cancel", "999999999999999999")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("truex: error: 404")
    code, _, err = run(sandbox, "book", "NOPE-PYUSD")
    assert code == 2 and err == "truex: error: no instrument 'NOPE-PYUSD'; known: BTC-PYUSD, ETH-PYUSD\n"
    code, _, err = run(
        sandbox,
        "order",
        "create",
        "BTC-PYUSD",
        "--side",
        "BUY",
        "--qty",
        "0.01",
        "--price",
        "1",
        "--external-id",
        "x" * 19,
    )
    assert code == 2 and "external_id: must" in err


def test_secrets_are_never_printed(sandbox: tuple[str, Any]) -> None:
    _, exchange = sandbox
    secret = next(k for k in exchange.seed.api_keys if k.label == "ALICE").secret
    for argv in (("health",), ("balances",), ("order", "cancel", "1"), ("--json", "orders", "list")):
        _, out, err = run(sandbox, *argv)
        assert secret not in out and secret not in err


def test_help_does_not_need_the_network() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "truex_ext.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "order" in done.stdout and "--base-url" in done.stdout


def test_env_picks_a_documented_environment_and_base_url_wins() -> None:
    seen: list[dict[str, Any]] = []

    def factory(**kwargs: Any) -> Truex:
        seen.append(kwargs)
        return Truex(environ={}, **kwargs)

    for argv in (["--env", "prod"], ["--env", "uat", "--base-url", "http://127.0.0.1:9/v1/cefi"]):
        main([*argv, "health"], out=io.StringIO(), err=io.StringIO(), client_factory=factory)
    assert (seen[0]["environment"], seen[0]["base_url"]) == ("prod", None)
    assert (seen[1]["environment"], seen[1]["base_url"]) == ("uat", "http://127.0.0.1:9/v1/cefi")
    err = io.StringIO()
    with pytest.raises(SystemExit) as info:
        main(["--env", "staging", "health"], out=io.StringIO(), err=err)
    assert info.value.code == 2


def test_a_base_url_without_scheme_is_a_usage_error_naming_the_fix() -> None:
    err = io.StringIO()
    code = main(["--base-url", "127.0.0.1:8765", "health"], out=io.StringIO(), err=err)
    assert code == 2
    assert "did you mean 'http://127.0.0.1:8765'" in err.getvalue()


def test_version() -> None:
    from truex_ext import __version__

    done = subprocess.run(
        [sys.executable, "-m", "truex_ext.cli", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.strip() == f"truex-cefi {__version__}"
