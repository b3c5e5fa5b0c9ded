"""Shared fixtures: the spec and where the shared API facts live."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

# tests/test_pytest_plugin.py runs the sandbox's pytest plugin on example test files.
pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi" / "truex.yaml"


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    with SPEC_PATH.open() as f:
        return yaml.safe_load(f)


# Deterministic property tests in CI (same examples every run); no example database left behind there.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
