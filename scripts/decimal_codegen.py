"""Teach openapi-python-client that `type: string, format: decimal` is :class:`decimal.Decimal`.

The generator special-cases only date, date-time, binary and uuid strings; every other format stays
``str``. This module adds ``DecimalProperty`` (a ``StringProperty`` subclass with its own template,
``openapi/templates/property_templates/decimal_property.py.jinja``) and routes `format: decimal` to it.
It leans on generator internals, so :func:`install` checks each one and fails loudly when they move.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from attr import define

DECIMAL_FORMAT = "decimal"
RUNTIME_MODULE = "decimals"  # truex_client/decimals.py, copied from openapi/templates/decimals.py


class GeneratorInternalsChanged(RuntimeError):
    """The pinned generator no longer looks the way this patch expects."""


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise GeneratorInternalsChanged(
            f"openapi-python-client internals moved ({what}); review scripts/decimal_codegen.py "
            "before upgrading the generator"
        )


def install() -> type[Any]:
    """Patch the generator in this process; returns the DecimalProperty class."""
    from openapi_python_client import utils
    from openapi_python_client.parser import properties as props
    from openapi_python_client.parser.properties.string import StringProperty

    original = getattr(props, "_string_based_property", None)
    _require(callable(original), "parser.properties._string_based_property is gone")
    if getattr(original, "_truex_decimal", False):
        return original._truex_decimal_cls  # type: ignore[no-any-return, union-attr]
    params = list(inspect.signature(original).parameters)  # type: ignore[arg-type]
    _require(params == ["name", "required", "data", "config"], f"_string_based_property{params}")
    build_params = list(inspect.signature(StringProperty.build).parameters)
    _require(
        build_params == ["name", "required", "default", "python_name", "description", "example"],
        f"StringProperty.build{build_params}",
    )
    _require(hasattr(StringProperty, "_type_string"), "StringProperty._type_string")
    _require(hasattr(StringProperty, "get_imports"), "StringProperty.get_imports")

    @define
    class DecimalProperty(StringProperty):
        """A `format: decimal` string: decimal.Decimal in Python."""

        _type_string: ClassVar[str] = "Decimal"
        _json_type_string: ClassVar[str] = "str"
        template: ClassVar[str] = "decimal_property.py.jinja"

        def get_imports(self, *, prefix: str) -> set[str]:
            imports: set[str] = super().get_imports(prefix=prefix)
            imports.add("from decimal import Decimal")
            imports.add(f"from {prefix}{RUNTIME_MODULE} import format_decimal, parse_decimal")
            return imports

    def string_based_property(name: str, required: bool, data: Any, config: Any) -> Any:
        if data.schema_format == DECIMAL_FORMAT:
            python_name = utils.PythonIdentifier(value=name, prefix=config.field_prefix)
            if data.default is not None:
                # A Decimal default would need its own Value; the spec has none, so refuse loudly.
                raise GeneratorInternalsChanged(f"decimal default on {name!r} is not supported")
            return DecimalProperty.build(
                name=name,
                required=required,
                default=None,
                python_name=python_name,
                description=data.description,
                example=data.example,
            )
        return original(name=name, required=required, data=data, config=config)  # type: ignore[misc]

    string_based_property._truex_decimal = True  # type: ignore[attr-defined]
    string_based_property._truex_decimal_cls = DecimalProperty  # type: ignore[attr-defined]
    _require(hasattr(utils, "PythonIdentifier"), "utils.PythonIdentifier")
    props._string_based_property = string_based_property
    return DecimalProperty


# The generated path builder formats path parameters with `str(x)`; `str(Decimal("1E-8"))` is "1E-8".
PATH_PARAM_ORIGINAL = 'quote(str({{parameter.python_name}}), safe="")'
PATH_PARAM_PATCHED = (
    'quote({% if parameter.template == "decimal_property.py.jinja" %}'
    'format_decimal({{parameter.python_name}}, "{{parameter.name}}")'
    "{% else %}str({{parameter.python_name}}){% endif %}, "
    'safe="")'
)


def patched_endpoint_template() -> str:
    """The generator's endpoint template with decimal-aware path parameters."""
    from importlib.resources import files

    source = (files("openapi_python_client") / "templates" / "endpoint_module.py.jinja").read_text()
    _require(source.count(PATH_PARAM_ORIGINAL) == 1, "endpoint_module.py.jinja path parameter formatting")
    return source.replace(PATH_PARAM_ORIGINAL, PATH_PARAM_PATCHED)
