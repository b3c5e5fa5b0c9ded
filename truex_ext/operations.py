"""What the machinery needs to know about one operation of the spec (the table is generated)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen(slots=True)
class Rejection:
    """The spec's ``x-rejection`` of an operation: a 200 whose ``data.<field>`` is one of ``values`` is a
    refusal, explained by ``data.<reason>``. The call loop raises :class:`~truex_ext.OrderRejectedError`
    for it unless the caller passed ``allow_rejected=True``.
    """

    field: str
    values: frozenset[str]
    reason: str | None = None


def _rejection(value: Rejection | Mapping[str, Any] | None) -> Rejection | None:
    if value is None or isinstance(value, Rejection):
        return value
    return Rejection(value["field"], frozenset(value["values"]), value.get("reason"))


@attrs.frozen(slots=True)
class Operation:
    """One operation of ``openapi/truex.yaml``; instances live in ``truex_ext.resources.OPERATIONS``."""

    id: str
    method: str
    path: str  # relative to the API base, e.g. /orders/{ref_id}
    bases: tuple[str, ...]  # the base paths it is served under (the spec's servers): /v1/cefi, /api/v1
    tag: str
    sdk_method: str
    deprecated: bool
    replacement: str | None  # the operation id that replaces a deprecated one
    successor: (
        str | None
    )  # how a deprecation warning names the replacement: "GET /v1/cefi/orders (orders.list)"
    public: bool
    paginated: bool  # takes a `cursor` (v2026_01_23 pagination)
    offset: bool  # takes `skip` (v2024_01_01 offset pagination)
    idempotency_key: str | None  # body field that makes a retry safe (create_order: external_id)
    ok_statuses: frozenset[int]  # statuses documented with a non-problem body (health's 503)
    single: bool  # the response is {"data": {...}} rather than a list
    params: Mapping[str, Any] = attrs.field(repr=False)
    body: Mapping[str, Any] | None = attrs.field(repr=False)
    #: ``x-rejection``: a 200 that is a refusal (create_order: ``status`` REJECTED, reason in ``text``).
    rejection: Rejection | None = attrs.field(default=None, converter=_rejection)
