"""The public surface stays in one place and says what it is (issue 13).

* ``truex_ext``: one name table (``_EXPORTS``) behind ``__all__`` and the lazy ``__getattr__``; the
  TYPE_CHECKING imports say the same;
* ``truex_ext.types``: every generated model and enum, so users import from ``truex_ext`` only (the README
  and the demo too);
* ``truex_ext.errors``: the docstring tree is the class tree, ``__all__`` is complete;
* a missing credential fails one way, naming the variable to set; the skew hint names the real option.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import truex_client.models
import truex_ext
from truex_ext import errors

ROOT = Path(__file__).resolve().parent.parent


def _type_checking_imports() -> dict[str, str]:
    """name -> submodule, from the ``if TYPE_CHECKING:`` block of truex_ext/__init__.py."""
    tree = ast.parse((ROOT / "truex_ext" / "__init__.py").read_text())
    block = next(
        n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"
    )
    found: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name}: re-exported as itself"
            found[alias.name] = node.module or alias.name
    return found


def test_one_name_table_drives_all_getattr_and_the_type_checking_imports() -> None:
    table = {name: module for module, names in truex_ext._EXPORTS.items() for name in names}
    submodules = set(truex_ext._SUBMODULES)
    assert table == truex_ext._LAZY
    assert sorted(truex_ext.__all__) == sorted([*table, *submodules])
    assert len(truex_ext.__all__) == len(set(truex_ext.__all__))
    assert _type_checking_imports() == {**table, **{m: m for m in submodules}}
    for name in truex_ext.__all__:
        assert getattr(truex_ext, name) is not None


def test_types_re_exports_every_generated_model_and_enum() -> None:
    from truex_ext import types
    from truex_ext.types import NewOrderInfo, Order, OrderType, Side

    generated = {name for name, obj in vars(truex_client.models).items() if inspect.isclass(obj)}
    assert generated <= set(types.__all__)
    assert (NewOrderInfo, Order, OrderType, Side) == (
        truex_client.models.NewOrderInfo,
        truex_client.models.Order,
        truex_client.models.OrderType,
        truex_client.models.Side,
    )
    assert truex_ext.types is types


def test_the_readme_and_the_demo_import_from_truex_ext_only() -> None:
    readme = "\n".join(re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S))
    demo = (ROOT / "scripts" / "demo.py").read_text()
    for text in (readme, demo):
        # An import of the generated package; the plugin's fixture is named truex_client too (issue 15).
        assert not re.search(r"^\s*(from|import)\s+truex_client\b", text, re.M)


def _documented_tree() -> dict[str, str | None]:
    """class -> parent, from the tree drawn in the errors module's docstring."""
    block = (errors.__doc__ or "").split("::\n\n", 1)[1].split("\n\n", 1)[0]
    tree: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        match = re.search(r"[A-Za-z]\w*", line)
        assert match is not None, line
        depth, name = match.start(), match.group()
        while stack and stack[-1][0] >= depth:
            stack.pop()
        tree[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return tree


def test_the_errors_docstring_tree_is_the_class_tree() -> None:
    classes = {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls) and issubclass(cls, errors.TruexError) and cls.__name__ == name
    }
    actual = {
        name: next((b.__name__ for b in cls.__bases__ if issubclass(b, errors.TruexError)), None)
        for name, cls in classes.items()
    }
    assert _documented_tree() == actual


def test_errors_all_is_complete() -> None:
    public = {
        name
        for name, obj in vars(errors).items()
        if not name.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == errors.__name__
    }
    assert public <= set(errors.__all__)
    assert "MissingCredentialsError" in errors.__all__


def test_a_missing_credential_fails_one_way_naming_the_variable() -> None:
    assert errors.MissingCredentialsError is errors.CredentialsRequiredError
    from truex_ext import Credentials, Truex

    with pytest.raises(errors.CredentialsRequiredError, match="TRUEX_API_SECRET"):
        Credentials.from_env({"TRUEX_API_KEY": "k"})
    with pytest.raises(errors.CredentialsRequiredError, match="TRUEX_API_SECRET"):
        Truex(environ={"TRUEX_API_KEY": "k"})
    with (
        Truex(environ={}) as anonymous,
        pytest.raises(errors.CredentialsRequiredError, match="TRUEX_API_KEY") as info,
    ):
        anonymous.balances.list()
    assert info.value.variable == "TRUEX_API_KEY"


def test_the_skew_hint_names_the_client_option() -> None:
    err = errors.make_status_error(
        401, {}, b'{"title": "Unauthorized", "detail": "stale timestamp"}', "GET", "/p", skew_offset=20.0
    )
    assert "Truex(..., correct_clock_skew=True)" in str(err)


def test_a_tag_module_is_imported_on_first_use_of_its_resource() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from truex_ext import Truex\n"
        "client = Truex(environ={})\n"
        "assert 'truex_ext.resources.orders' not in sys.modules, 'imported up front'\n"
        "assert client.orders is client.orders\n"
        "assert 'truex_ext.resources.orders' in sys.modules\n"
        "assert 'truex_ext.resources.transfers' not in sys.modules\n"
        "from truex_ext.resources import OPERATIONS\n"
        "assert len(OPERATIONS) == 36 and 'create_order' in OPERATIONS\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
