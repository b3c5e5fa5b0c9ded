"""`make demo` runs the whole session against the embedded sandbox and exits 0."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "scripts" / "demo.py"


def test_demo_runs_the_whole_session(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("truex_demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["truex_demo"] = module
    spec.loader.exec_module(module)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        assert module.main() == 0
    out = capsys.readouterr().out
    # Every part the issue asks the demo to show.
    for expected in (
        "healthy",
        "v2026_01_23",
        "best bid / ask",
        "BOB sells into it",
        "FILLED",
        "ALICE trade",
        "DEPTH book (synced)",
        "DEPTH update                 bid 75000 -> 0.0",
        "DROPCOPY update              800000000000000021 ACTIVE leaves 0.006 executed 0.004",
        "DEPTH book now               bid 75000 x 0.006",
        "order_hold",
        "CANCEL_PENDING",
        "CANCELED",
        "page 2",
        "is deprecated; use GET /v1/cefi/orders/active",
        "client_id: must match pattern",
        "qty: must be a decimal.Decimal",
        "violations                   none",
    ):
        assert expected in out, expected
