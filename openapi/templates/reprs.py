"""``repr`` of the generated models: the fields that were set, nothing for the ones left ``UNSET``.

Copied into the generated package by ``scripts/generate.py``; each model's template sets
``__repr__ = model_repr``. Without it a sparse order printed a dozen ``<truex_client.types.Unset object at
0x…>``.
"""

from __future__ import annotations

from typing import Any

import attrs

from truex_client.types import UNSET


def model_repr(self: Any) -> str:
    """``Order(id='1', status=<OrderStatus.ACTIVE: 'ACTIVE'>, leaves_qty=Decimal('0.01'))``.

    Fields at ``UNSET`` are left out, and so is an empty ``additional_properties``.
    """
    shown = []
    for field in attrs.fields(type(self)):
        value = getattr(self, field.name)
        if value is UNSET or (field.name == "additional_properties" and not value):
            continue
        shown.append(f"{field.name}={value!r}")
    return f"{type(self).__name__}({', '.join(shown)})"
