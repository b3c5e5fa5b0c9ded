"""RFC 7807 problems: the one exception type the HTTP layer raises, and the body it becomes.

Every failure the sandbox reports — a bad request, an auth failure, an engine refusal, a crash — ends up
as an :class:`ApiError`, so that one place (the version layer) decides how it looks on the wire.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

__all__ = ["ApiError", "problem_body", "status_title"]


def status_title(status: int) -> str:
    """The standard reason phrase of ``status`` ("Bad Request"), or "Error" for an unknown code."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ApiError(Exception):
    """A request that ends with an error status and a problem body.

    ``detail`` is a sentence for a human (which field, which rule); ``extensions`` lands under the problem's
    nested ``extensions`` object (FACTS §2.3: this API nests custom members there).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type: str = "about:blank",
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or status_title(status)
        self.type = type
        self.headers = headers or {}
        self.extensions = extensions

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.detail!r})"


def problem_body(error: ApiError, instance: str | None) -> dict[str, Any]:
    """The RFC 7807 object for ``error`` (``instance`` = the request path, without the query string)."""
    body: dict[str, Any] = {
        "type": error.type,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
    }
    if instance:
        body["instance"] = instance
    if error.extensions:
        body["extensions"] = error.extensions
    return body
