"""The ``truex-sandbox`` command's entry point: say which extra to install when the sandbox's are missing.

``pip install truex-cefi`` installs the command too, but not what serves it (uvicorn, Starlette, ...): the
``[sandbox]`` extra does. Without this check the command died with ``ModuleNotFoundError`` even for ``--help``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

__all__ = ["INSTALL", "main", "missing_modules"]

#: What the sandbox imports beyond the SDK's own dependencies (the ``sandbox`` extra of pyproject.toml).
_NEEDS = ("starlette", "uvicorn", "jsonschema", "yaml", "cryptography")
INSTALL = "pip install 'truex-cefi[sandbox]'"


def missing_modules() -> list[str]:
    """The sandbox's modules that cannot be imported here."""
    return [name for name in _NEEDS if importlib.util.find_spec(name) is None]


def main(argv: Sequence[str] | None = None) -> int:
    missing = missing_modules()
    if missing:
        print(
            f"truex-sandbox: needs the sandbox extra ({', '.join(missing)} not installed): {INSTALL}",
            file=sys.stderr,
        )
        return 2
    from .__main__ import main as serve

    return serve(argv)
