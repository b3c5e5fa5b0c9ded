"""Per-call context shared by the call loop and the transport beneath it (same thread or task)."""

from __future__ import annotations

from contextvars import ContextVar

import httpx

from .operations import Operation

#: The operation being sent; the transport reads it to know how to normalise the response.
current_operation: ContextVar[Operation | None] = ContextVar("truex_current_operation", default=None)

#: Set by the transport to the response it hands to the generated parser (a 2xx or a documented status):
#: an exception after that is a body that does not parse; before it, a bug to surface unchanged.
response_received: ContextVar[httpx.Response | None] = ContextVar("truex_response_received", default=None)
