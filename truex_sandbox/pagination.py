"""Pages of list results: offset pagination (``skip``/``size``) and opaque cursors (``cursor``/``size``).

Handlers return the whole filtered list (the engine keeps 24 h of history, so lists are small); this module
cuts the page. A cursor is ``urlsafe-base64(mac ‖ json([offset, last_key]))``:

* ``last_key`` is the key of the last item served. The next page starts right after that item wherever it
  now is, so items added at the head of a newest-first list meanwhile do not repeat on the next page; when
  that item is gone (an order filled), ``offset`` takes over.
* ``mac`` is an HMAC (per-app key) over the payload *and* the listing it was issued for — the operation and
  its filter parameters. A forged, truncated or edited cursor, or one replayed with other filters or on
  another operation, is a 400 naming ``query.cursor`` instead of a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .problems import ApiError

__all__ = ["NOT_FILTERS", "CursorCodec", "Page", "item_key", "listing_id", "paginate"]

#: Query parameters that move through a listing rather than choose it.
NOT_FILTERS: Final = frozenset({"cursor", "size", "skip"})
_MAC_BYTES: Final = 12
_INVALID: Final = "query.cursor: is not a cursor this server issued for this listing (forged, corrupted, or reused with other filters)"


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]
    #: The page size that was applied (``pagination.size``).
    size: int
    #: Cursor of the next page, None on the last one.
    next_cursor: str | None


def item_key(item: Any) -> str:
    """A stable identity for a list item (orders and transfers have ``id``; trades ``match_id`` + order)."""
    if not isinstance(item, dict):
        return json.dumps(item, sort_keys=True)
    for name in ("id", "version"):
        value = item.get(name)
        if isinstance(value, str):
            return value
    return f"{item.get('match_id', '')}/{item.get('order_id', '')}/{item.get('liq_flag', '')}"


class CursorCodec:
    """Issues and checks cursors; ``key`` defaults to a random per-process key."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def _mac(self, listing: str, payload: bytes) -> bytes:
        message = listing.encode("utf-8") + b"\0" + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, listing: str, offset: int, last_key: str) -> str:
        payload = json.dumps([offset, last_key], separators=(",", ":")).encode("utf-8")
        token = base64.urlsafe_b64encode(self._mac(listing, payload) + payload)
        return token.decode("ascii").rstrip("=")

    def decode(self, listing: str, cursor: str) -> tuple[int, str]:
        """(offset, last_key) of ``cursor``; 400 naming ``query.cursor`` unless this codec issued it for ``listing``."""
        try:
            raw = base64.urlsafe_b64decode(cursor.rstrip("=") + "=" * (-len(cursor.rstrip("=")) % 4))
        except (binascii.Error, ValueError):
            raise ApiError(400, _INVALID) from None
        mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
        if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, self._mac(listing, payload)):
            raise ApiError(400, _INVALID)
        try:
            offset, last_key = json.loads(payload)
        except (ValueError, TypeError):  # pragma: no cover - only a payload this codec signed gets here
            raise ApiError(400, _INVALID) from None
        if not isinstance(offset, int) or not isinstance(last_key, str) or offset < 0:  # pragma: no cover
            raise ApiError(400, _INVALID)
        return offset, last_key


def listing_id(group: str, query: Mapping[str, Any]) -> str:
    """What a cursor is bound to: the operation group and its filter parameters."""
    filters = sorted((k, str(v)) for k, v in query.items() if k not in NOT_FILTERS)
    return group + "?" + json.dumps(filters, separators=(",", ":"))


def paginate(
    items: Sequence[Any],
    *,
    size: int,
    skip: int = 0,
    cursor: str | None = None,
    codec: CursorCodec | None = None,
    listing: str | Callable[[], str] = "",
    with_cursor: bool = True,
) -> Page:
    """The page of ``items`` that starts at ``skip`` or right after ``cursor``'s last item.

    ``listing`` may be a callable, so the common single-page answer never computes it.
    """
    start = skip
    if cursor is not None:
        if codec is None:  # pragma: no cover - programming error
            raise ValueError("a cursor needs a codec")
        offset, last_key = codec.decode(listing if isinstance(listing, str) else listing(), cursor)
        start = offset
        # Resume after the last item served wherever it is now; fall back to the offset when it is gone.
        for index, item in enumerate(items):
            if item_key(item) == last_key:
                start = index + 1
                break
    start = min(start, len(items))
    end = min(start + size, len(items))
    chunk = list(items[start:end])
    next_cursor: str | None = None
    if with_cursor and end < len(items) and chunk and codec is not None:
        bound_to = listing if isinstance(listing, str) else listing()
        next_cursor = codec.encode(bound_to, end, item_key(chunk[-1]))
    return Page(items=chunk, size=size, next_cursor=next_cursor)
