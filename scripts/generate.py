"""Generate ``generated/truex_client`` from ``openapi/truex.yaml`` with openapi-python-client.

Deterministic: the generator and ruff are pinned (pyproject ``dev`` extra), ruff runs with ``--no-cache``
and the output is written to a temporary directory first and then swapped in whole.

It also emits ``truex_ext/resources/``, the typed facade methods per tag, and ``truex_ext/types.py``, the models
re-exported under the one import root (see scripts/resources_codegen.py).

    python scripts/generate.py            # (re)write generated/truex_client, truex_ext/resources/, types.py
    python scripts/generate.py --check    # exit 1 with a diff when either is stale
"""

from __future__ import annotations

import argparse
import difflib
import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/ is not a package
import codegen_patches
import resources_codegen

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi" / "truex.yaml"
CONFIG = ROOT / "openapi" / "generator.yaml"
TEMPLATES = ROOT / "openapi" / "templates"
RESOURCES = ROOT / "truex_ext" / "resources"
TYPES = ROOT / "truex_ext" / "types.py"
TARGET = ROOT / "generated" / "truex_client"
PACKAGE = "truex_client"
IGNORED = {"__pycache__", ".ruff_cache"}


def _custom_templates(into: Path) -> Path:
    """Our templates over the generator's: decimals (property, path parameters), open enums, parse speed."""
    shutil.copytree(TEMPLATES / "property_templates", into / "property_templates")
    (into / "endpoint_module.py.jinja").write_text(codegen_patches.patched_endpoint_template())
    (into / "str_enum.py.jinja").write_text(codegen_patches.patched_str_enum_template())
    (into / "model.py.jinja").write_text(codegen_patches.patched_model_template())
    props = into / "property_templates"
    (props / "property_macros.py.jinja").write_text(codegen_patches.patched_property_macros())
    (props / "enum_property.py.jinja").write_text(codegen_patches.patched_enum_property())
    return into


def run_generator(output: Path) -> None:
    """Run openapi-python-client in-process into ``output`` (a package directory), then add py.typed."""
    from openapi_python_client.cli import app

    codegen_patches.install()
    templates = _custom_templates(output.parent / "templates")
    # The post hooks call `ruff`: use the one pinned beside this interpreter, not whatever is on PATH.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    argv = [
        "generate",
        "--path", str(SPEC),
        "--config", str(CONFIG),
        "--meta", "none",
        "--fail-on-warning",
        "--overwrite",
        "--output-path", str(output),
        "--custom-template-path", str(templates),
    ]  # fmt: skip
    try:
        app(argv, prog_name="openapi-python-client")
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise SystemExit(f"generate: openapi-python-client failed (exit {exc.code})") from None
    # --meta none writes no py.typed; the package is typed, so say so (PEP 561).
    (output / "py.typed").write_text("# Marker file for PEP 561.\n")
    # The runtime the decimal template calls (format_decimal / parse_decimal).
    shutil.copyfile(TEMPLATES / "decimals.py", output / f"{codegen_patches.RUNTIME_MODULE}.py")
    # The base class of every string enum (open enums).
    shutil.copyfile(TEMPLATES / "open_enums.py", output / f"{codegen_patches.OPEN_ENUM_MODULE}.py")
    # The repr of every model (fields left UNSET are not shown).
    shutil.copyfile(TEMPLATES / "reprs.py", output / f"{codegen_patches.REPR_MODULE}.py")


def render_resources(package: Path) -> dict[Path, str]:
    """truex_ext/resources/*.py for the freshly generated package, formatted by the repo's ruff config."""
    import yaml

    spec = yaml.safe_load(SPEC.read_text())
    config = yaml.safe_load(CONFIG.read_text())
    overrides = {k: v["class_name"] for k, v in (config.get("class_overrides") or {}).items()}
    files = resources_codegen.render(spec, package, overrides)
    return {RESOURCES / name: _formatted(text, RESOURCES / name) for name, text in files.items()}


def render_types(package: Path) -> str:
    """truex_ext/types.py: the generated models and enums re-exported under ``truex_ext``."""
    return _formatted(resources_codegen.render_types(package), TYPES)


def _formatted(text: str, path: Path) -> str:
    import subprocess

    ruff = str(Path(sys.executable).parent / "ruff")
    name = ["--stdin-filename", str(path)]
    for cmd in (["check", "--fix-only", "--select", "I,F401,UP,RUF022", "--quiet"], ["format"]):
        done = subprocess.run(
            [ruff, *cmd, "--no-cache", *name, "-"], input=text, capture_output=True, text=True, cwd=ROOT
        )
        if done.returncode != 0:
            raise SystemExit(f"generate: ruff failed on {path.name}: {done.stderr.strip()}")
        text = done.stdout
    return text


def _files(root: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(root)): p
        for p in sorted(root.rglob("*"))
        if p.is_file() and not IGNORED.intersection(p.relative_to(root).parts)
    }


def tree_diff(expected: Path, actual: Path) -> list[str]:
    """Unified diff lines between two package trees (empty when identical)."""
    want, have = _files(expected), _files(actual)
    lines: list[str] = []
    for name in sorted(want.keys() | have.keys()):
        a, b = have.get(name), want.get(name)
        if a is not None and b is not None and filecmp.cmp(a, b, shallow=False):
            continue
        old = a.read_text().splitlines(keepends=True) if a else []
        new = b.read_text().splitlines(keepends=True) if b else []
        lines += difflib.unified_diff(old, new, f"generated/{PACKAGE}/{name}", f"spec/{PACKAGE}/{name}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail with a diff when generated/ is stale")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="truex-gen-") as tmp:
        fresh = Path(tmp) / PACKAGE
        run_generator(fresh)
        emitted = {**render_resources(fresh), TYPES: render_types(fresh)}
        # A file the generator used to write and no longer does (a tag gone) is stale too.
        stale = [p for p in sorted(RESOURCES.glob("*.py")) if p not in emitted]
        if args.check:
            diff = tree_diff(fresh, TARGET)
            for path, text in emitted.items():
                current = path.read_text() if path.exists() else ""
                name = str(path.relative_to(ROOT))
                diff += difflib.unified_diff(
                    current.splitlines(keepends=True), text.splitlines(keepends=True), name, f"spec/{name}"
                )
            diff += [f"stale: {p.relative_to(ROOT)}\n" for p in stale]
            if diff:
                sys.stdout.writelines(diff)
                print(
                    f"\ncheck-generated: generated/{PACKAGE}, truex_ext/resources/ or truex_ext/types.py "
                    "differs from what "
                    "openapi/ produces; "
                    "run `make generate` (never hand-edit generated/).",
                    file=sys.stderr,
                )
                return 1
            print(f"check-generated: generated/{PACKAGE} is up to date")
            return 0
        staging = TARGET.with_name(f".{PACKAGE}.new")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(fresh, staging)
        shutil.rmtree(TARGET, ignore_errors=True)
        staging.rename(TARGET)
        RESOURCES.mkdir(exist_ok=True)
        for path in stale:
            path.unlink()
        for path, text in emitted.items():
            path.write_text(text)
    print(f"generate: wrote generated/{PACKAGE} ({len(_files(TARGET))} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
