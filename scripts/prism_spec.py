"""Write ``openapi/truex.yaml`` with every path spelled out under its base, for Prism (scripts/prism.sh).

The spec's paths are relative to a server base (``/v1/cefi``, or the legacy ``/api/v1`` for the deprecated
twins' operation-level ``servers``). Prism's mock serves the paths as written and ignores a server's base
path, so it is given the same operations at the paths a client really sends: each operation under its
default base (the current one; the twins under the legacy one).

    python scripts/prism_spec.py OUT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/ is not a package
from resources_codegen import HTTP_METHODS, _base_paths

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "truex.yaml"


def expanded(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with absolute paths (base + path) and no servers."""
    paths: dict[str, dict[str, Any]] = {}
    for path, item in spec["paths"].items():
        shared = {k: v for k, v in item.items() if k not in HTTP_METHODS}
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            base = _base_paths(op.get("servers") or spec["servers"])[0]
            target = paths.setdefault(base + path, dict(shared))
            target[method] = {k: v for k, v in op.items() if k != "servers"}
    out = {k: v for k, v in spec.items() if k not in ("servers", "paths")}
    return {**out, "paths": paths}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: prism_spec.py OUT.json", file=sys.stderr)
        return 2
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    Path(argv[0]).write_text(json.dumps(expanded(spec)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
