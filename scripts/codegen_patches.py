"""What openapi-python-client does not do on its own, patched in at generation time.

* ``type: string, format: decimal`` is :class:`decimal.Decimal`: the generator special-cases only date,
  date-time, binary and uuid strings. :func:`install` adds ``DecimalProperty`` (a ``StringProperty``
  subclass with its own template, ``openapi/templates/property_templates/decimal_property.py.jinja``),
  and :func:`patched_endpoint_template` formats decimal path parameters without an exponent.
* Enums stay open (DECISIONS §9): :func:`patched_str_enum_template` derives every string enum from
  ``OpenStrEnum`` (``openapi/templates/open_enums.py``), so a value the server adds later parses as a
  pseudo-member keeping its raw string instead of failing the whole response. Requests are still
  checked against the spec's enum.
* Wire aliases (DECISIONS §8): a property whose schema says ``x-wire-alias: other_key`` is read from
  ``other_key`` when its own key is absent (:func:`patched_model_template`), so ``Order.executed_qty`` is
  set whether the server spells it ``executed_qty`` or ``exeuted_qty``.
* The SDK owns the send (issue 13): :func:`patched_endpoint_template` makes each endpoint module's request
  builder public as ``build_request_kwargs``; truex_ext's call loop builds with it, then signs, sends,
  checks and parses (with the model's ``from_dict``) itself.

Each patch leans on generator internals, so it checks them and fails loudly when they move.
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
            f"openapi-python-client internals moved ({what}); review scripts/codegen_patches.py "
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


# The SDK's call loop (truex_ext/_base_client.py) owns the send and the parse: it needs only the generated
# request builder, made public here. The response side is the generated model's ``from_dict``.
REQUEST_BUILDER_ORIGINAL = "def _get_kwargs("
REQUEST_BUILDER_PUBLIC = """

# Public: truex_ext's call loop builds the request with it, then signs, sends and parses it itself.
build_request_kwargs = _get_kwargs
"""


def patched_endpoint_template() -> str:
    """The generator's endpoint template: decimal-aware path parameters, a public ``build_request_kwargs``."""
    from importlib.resources import files

    source = (files("openapi_python_client") / "templates" / "endpoint_module.py.jinja").read_text()
    _require(source.count(PATH_PARAM_ORIGINAL) == 1, "endpoint_module.py.jinja path parameter formatting")
    _require(source.count(REQUEST_BUILDER_ORIGINAL) == 1, "endpoint_module.py.jinja _get_kwargs")
    return (
        source.replace(PATH_PARAM_ORIGINAL, PATH_PARAM_PATCHED).rstrip("\n") + "\n" + REQUEST_BUILDER_PUBLIC
    )


OPEN_ENUM_MODULE = "open_enums"  # truex_client/open_enums.py, copied from openapi/templates/open_enums.py
STR_ENUM_IMPORT = "from enum import Enum\n"
STR_ENUM_BASE = "class {{ enum.class_info.name }}(str, Enum):"


def patched_str_enum_template() -> str:
    """The generator's string-enum template deriving from ``OpenStrEnum`` (open enums, fast look-up)."""
    from importlib.resources import files

    source = (files("openapi_python_client") / "templates" / "str_enum.py.jinja").read_text()
    _require(source.startswith(STR_ENUM_IMPORT), "str_enum.py.jinja imports")
    _require(source.count(STR_ENUM_BASE) == 1, "str_enum.py.jinja class line")
    source = source.replace(
        STR_ENUM_IMPORT,
        f"from __future__ import annotations\n\nfrom ..{OPEN_ENUM_MODULE} import OpenStrEnum\n",
        1,
    )
    return source.replace(STR_ENUM_BASE, "class {{ enum.class_info.name }}(OpenStrEnum):")


# Parsing speed (issue 7): the generated from_dict re-runs `from ..models.x import Y` on every call (about
# 2 µs each, twice per order), calls `Enum(value)` (about 1 µs; a dict lookup is a third of that) and tests
# `isinstance(x, Unset)` where `x is UNSET` says the same (UNSET is the only Unset). The imports move to the
# end of the module: by then the class is defined, so models that refer to each other still import.
MODEL_TOP_LAZY = """{% for lazy_import in model.lazy_imports | sort %}
{% if loop.first %}
if TYPE_CHECKING:
{% endif %}
  {{ lazy_import }}
{% endfor %}
"""
MODEL_METHOD_LAZY = """    {% for lazy_import in model.lazy_imports | sort %}
        {{ lazy_import }}
    {% endfor %}
"""
MODEL_BOTTOM_IMPORTS = """

{% for lazy_import in model.lazy_imports | sort %}
{% if loop.first %}
# At the end, not inside each method: a model that refers back to this one finds the class defined.
{% endif %}
{{ lazy_import }}
{% endfor %}
"""


def patched_model_template() -> str:
    """The generator's model template: module-level imports of the models it refers to, wire aliases."""
    from importlib.resources import files

    source = (files("openapi_python_client") / "templates" / "model.py.jinja").read_text()
    _require(source.count(MODEL_TOP_LAZY) == 1, "model.py.jinja TYPE_CHECKING imports")
    # to_dict, to_multipart and from_dict each re-import.
    _require(source.count(MODEL_METHOD_LAZY) == 3, "model.py.jinja per-method lazy imports")
    source = source.replace(MODEL_TOP_LAZY, "").replace(MODEL_METHOD_LAZY, "")
    _require("lazy_imports" in source, "model.py.jinja additional_properties lazy imports")
    return _with_reprs(_with_wire_aliases(source)).rstrip("\n") + "\n" + MODEL_BOTTOM_IMPORTS


# Reprs (truex_client/reprs.py, copied from openapi/templates/reprs.py): fields left UNSET are not shown.
REPR_MODULE = "reprs"
MODEL_IMPORTS_ANCHOR = "from ..types import UNSET, Unset\n"
MODEL_DOCSTRING_ANCHOR = (
    "    {{ safe_docstring(class_docstring_content(model), omit_if_empty=config.docstrings_on_attributes)"
    " | indent(4) }}\n"
)


def _with_reprs(source: str) -> str:
    """model.py.jinja whose classes use :func:`reprs.model_repr` (attrs keeps a ``__repr__`` the class defines)."""
    _require(source.count(MODEL_IMPORTS_ANCHOR) == 1, "model.py.jinja types import")
    _require(source.count(MODEL_DOCSTRING_ANCHOR) == 1, "model.py.jinja class docstring")
    source = source.replace(
        MODEL_IMPORTS_ANCHOR,
        MODEL_IMPORTS_ANCHOR + f"from ..{REPR_MODULE} import model_repr as _model_repr\n",
    )
    return source.replace(
        MODEL_DOCSTRING_ANCHOR,
        MODEL_DOCSTRING_ANCHOR + "\n    __repr__ = _model_repr  # UNSET fields left out\n",
    )


# Wire aliases (DECISIONS §8): a property with ``x-wire-alias: other_key`` in the spec is read from
# ``other_key`` when the server sent no ``<property>`` key (the original key wins when both are there). Generic:
# the template reads the extension off the property's schema (``model.data``), whatever the model.
MODEL_SOURCE_ORIGINAL = """    {% if property.required %}
        {% set property_source = 'd.pop("' + property.name + '")' %}
    {% else %}
        {% set property_source = 'd.pop("' + property.name + '", UNSET)' %}
    {% endif %}
"""
MODEL_SOURCE_ALIAS = """    {% set property_schema = (model.data.properties or {}).get(property.name) %}
    {% set wire_alias = (property_schema.model_extra or {}).get("x-wire-alias") if property_schema else none %}
    {% if wire_alias and property.required %}
        {% set property_source = '(d.pop("' + property.name + '") if "' + property.name + '" in d else src_dict["' + wire_alias + '"])' %}
    {% elif wire_alias %}
        {% set property_source = 'd.pop("' + property.name + '", src_dict.get("' + wire_alias + '", UNSET))' %}
    {% endif %}
"""


def _with_wire_aliases(source: str) -> str:
    """model.py.jinja whose ``from_dict`` honours ``x-wire-alias`` (see :data:`MODEL_SOURCE_ALIAS`)."""
    import attrs
    from openapi_python_client.parser.properties import ModelProperty
    from openapi_python_client.schema import Schema

    _require(source.count(MODEL_SOURCE_ORIGINAL) == 1, "model.py.jinja from_dict property_source")
    _require("data" in attrs.fields_dict(ModelProperty), "ModelProperty.data (the model's schema)")
    _require(Schema.model_config.get("extra") == "allow", "oai.Schema keeps x- extensions in model_extra")
    return source.replace(MODEL_SOURCE_ORIGINAL, MODEL_SOURCE_ORIGINAL + MODEL_SOURCE_ALIAS)


UNSET_CHECK_ORIGINAL = "if isinstance(_{{ property.python_name }},  Unset):"
UNSET_CHECK_PATCHED = "if _{{ property.python_name }} is UNSET:"


def patched_property_macros() -> str:
    """property_macros.py.jinja testing ``is UNSET`` (one compare) instead of ``isinstance(x, Unset)``."""
    return _replace_once(
        "property_templates/property_macros.py.jinja", UNSET_CHECK_ORIGINAL, UNSET_CHECK_PATCHED
    )


ENUM_CONSTRUCT_ORIGINAL = "{{ property.class_info.name }}({{ source }})"
ENUM_CONSTRUCT_PATCHED = "{{ property.class_info.name }}.from_value({{ source }})"


def patched_enum_property() -> str:
    """enum_property.py.jinja parsing through ``OpenStrEnum.from_value`` (a dict lookup)."""
    return _replace_once(
        "property_templates/enum_property.py.jinja", ENUM_CONSTRUCT_ORIGINAL, ENUM_CONSTRUCT_PATCHED
    )


def _replace_once(template: str, original: str, patched: str) -> str:
    """The generator's ``template`` with its one occurrence of ``original`` replaced (fails loudly otherwise)."""
    from importlib.resources import files

    source = (files("openapi_python_client") / "templates").joinpath(*template.split("/")).read_text()
    _require(source.count(original) == 1, f"{template}: {original!r}")
    return source.replace(original, patched)
