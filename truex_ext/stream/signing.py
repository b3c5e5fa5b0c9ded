"""WebSocket request signing: ``Base64(HMAC-SHA256(secret, timestamp + "TRUEXWS" + key [+ path]))``.

The documented form signs the path of the URL connected to (``/api/v1``); True Markets' own tools sign without
it. Both are offered (``path=None`` is the pathless form); the SDK sends the documented one by default
(FACTS-v105-WS B.5, DECISIONS §21).

>>> ws_signature("my-secret", "1700000000", "6398805c-f369-40f6-ac07-94ce683056e4", "/api/v1")
'oa17ukI0ogcwKi4mv7Eh8nJy4gwL5U/GNQYZyAHVWOM='
>>> ws_signature("my-secret", "1700000000", "6398805c-f369-40f6-ac07-94ce683056e4", None)
'pwOey18yj/Se6RLINMTKPWELxSAJN1RvIGO7MKDQ7ZM='
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Sequence
from typing import Any

from truex_ext.auth import Credentials

__all__ = ["build_request", "ws_signature"]

AUTH_TYPES = frozenset({"SUBSCRIBE", "UNSUBSCRIBE"})


def ws_signature(secret: str, timestamp: str | int, key: str, path: str | None) -> str:
    """The Base64 HMAC-SHA256 of ``timestamp + "TRUEXWS" + key + path`` (``path=None``: without it)."""
    payload = f"{timestamp}TRUEXWS{key}{path or ''}".encode()
    return base64.b64encode(hmac.digest(secret.encode("utf-8"), payload, "sha256")).decode("ascii")


def build_request(
    request_type: str,
    channels: Sequence[str],
    items: Sequence[str],
    timestamp: int,
    *,
    credentials: Credentials | None = None,
    organization_id: str | None = None,
    path: str | None = "/api/v1",
) -> dict[str, Any]:
    """One request frame. ``SUBSCRIBE``/``UNSUBSCRIBE`` are signed (credentials required); the ``_NO_AUTH``
    types carry no credentials at all, as the docs require."""
    frame: dict[str, Any] = {
        "type": request_type,
        "item_names": list(items),
        "channels": list(channels),
        "timestamp": str(timestamp),
    }
    if request_type in AUTH_TYPES:
        if credentials is None:
            raise ValueError(f"{request_type} needs credentials; use {request_type}_NO_AUTH without them")
        if organization_id:
            frame["organization_id"] = organization_id
        frame["key"] = credentials.api_key
        frame["signature"] = ws_signature(credentials.secret, frame["timestamp"], credentials.api_key, path)
    return frame
