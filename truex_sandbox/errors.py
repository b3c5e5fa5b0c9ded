"""The engine's refusals: each becomes an RFC 7807 problem at the HTTP layer (``status``/``title``/``detail``).

``detail`` names the field and the rule that failed. Raised by :mod:`truex_sandbox.commands` (a request that
is not a well-formed command) and by :mod:`truex_sandbox.engine` (a command the exchange's state refuses).
"""

from __future__ import annotations

from typing import Any

__all__ = ["BadRequest", "Conflict", "EngineError", "Forbidden", "NotFound", "Unavailable"]


class EngineError(Exception):
    """A request problem; the HTTP layer renders it as an RFC 7807 problem."""

    status: int = 500
    title: str = "Internal Server Error"
    #: Seconds after which a retry may succeed (``Retry-After``); None: retrying the same request will not help.
    retry_after: int | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def problem(self) -> dict[str, Any]:
        return {"type": "about:blank", "title": self.title, "status": self.status, "detail": self.detail}


class BadRequest(EngineError):
    status = 400
    title = "Bad Request"


class Forbidden(EngineError):
    status = 403
    title = "Forbidden"


class NotFound(EngineError):
    status = 404
    title = "Not Found"


class Conflict(EngineError):
    status = 409
    title = "Conflict"


class Unavailable(EngineError):
    """The journal could not be written: the command did not happen (nothing changed); retry it later."""

    status = 503
    title = "Service Unavailable"
    #: Seconds to wait before a retry (the HTTP layer sends it as ``Retry-After``).
    retry_after = 1
