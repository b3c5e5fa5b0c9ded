"""The streaming errors: every one reaches the caller through the iterator or the awaited call.

``StreamError`` derives from :class:`truex_ext.errors.TruexError`. None of them carries a request, a signature
or a secret: a refusal keeps only the server's ``status`` and ``message``.
"""

from __future__ import annotations

from truex_ext.errors import TruexError

__all__ = [
    "StreamClosedError",
    "StreamError",
    "StreamErrorStatus",
    "StreamInvalidRequestError",
    "StreamOverflowError",
    "StreamRefusedError",
    "StreamUnauthenticatedError",
    "StreamUnauthorizedError",
]


class StreamError(TruexError):
    """Base class of every streaming error."""


class StreamClosedError(StreamError):
    """The stream was used after it was closed (or before it was started)."""


class StreamOverflowError(StreamError):
    """Private data (DROPCOPY, state events) could not be queued: the consumer fell too far behind.

    Private data is never dropped, so the stream fails instead; raise ``max_pending`` or consume faster.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the stream's private queue is full ({limit} undelivered order updates/events); order updates are "
            "never dropped, so the stream stopped. Consume faster or raise max_pending."
        )
        self.limit = limit


class StreamRefusedError(StreamError):
    """The server refused a request (the confirmation's ``status``); the stream stops, it does not retry."""

    status: str = ""

    def __init__(self, status: str, message: str | None = None, *, request_type: str = "") -> None:
        detail = f": {message}" if message else ""
        what = f" {request_type}" if request_type else ""
        super().__init__(f"the server refused the{what} request with status {status}{detail}")
        self.status = status
        self.server_message = message


class StreamUnauthorizedError(StreamRefusedError):
    """``UNAUTHORIZED``: a bad or stale signature (check the key, the secret, the clock and ``sign_path``)."""


class StreamUnauthenticatedError(StreamRefusedError):
    """``UNAUTHENTICATED`` in answer to a signed request: the server did not take the signature."""


class StreamInvalidRequestError(StreamRefusedError):
    """``INVALID``: the server found the request malformed."""


class StreamErrorStatus(StreamRefusedError):
    """``ERROR``: e.g. DROPCOPY for a client id the key may not see."""


_BY_STATUS: dict[str, type[StreamRefusedError]] = {
    "UNAUTHORIZED": StreamUnauthorizedError,
    "UNAUTHENTICATED": StreamUnauthenticatedError,
    "INVALID": StreamInvalidRequestError,
    "ERROR": StreamErrorStatus,
}


def refusal(status: str, message: str | None, request_type: str) -> StreamRefusedError:
    """The typed error for a refusing ``status`` (an unknown refusing status is the base class)."""
    return _BY_STATUS.get(status, StreamRefusedError)(status, message, request_type=request_type)
