"""truex-cefi: the typed, signed, versioned TrueX CeFi client (sync and async).

from truex_ext import Truex
with Truex() as client:
    print(client.service.health())

The names below are imported on first use (PEP 562): ``import truex_ext`` alone, and the ``truex`` command
line's ``--help``, do not pay for the client, httpx and the generated models until something needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._base_client import DEFAULT_MAX_RESPONSE_BYTES
    from ._response import APIResponse, RawResponse
    from .auth import Credentials, sign
    from .client import PROD_URL, SANDBOX_URL, UAT_URL, AsyncTruex, Truex, __version__
    from .deprecation import DeprecationInfo, TruexDeprecationWarning
    from .errors import (
        APIConnectionError,
        APIError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        CredentialsRequiredError,
        InternalServerError,
        InvalidParameterError,
        JwtKeyError,
        NotFoundError,
        PaginationError,
        PermissionDeniedError,
        Problem,
        RateLimitError,
        RequestTimeoutError,
        ResponseTooLargeError,
        TimestampSkewError,
        TokenError,
        TruexError,
        UnsupportedMediaTypeError,
    )
    from .jwt_auth import JwtAuth
    from .jwt_key import JwtKey
    from .pagination import AsyncPaginator, Page, SyncPaginator
    from .retries import RetryPolicy
    from .transport import aiohttp_transport
    from .versions import DEFAULT_VERSION, SUPPORTED_VERSIONS

# Public name -> the submodule that defines it.
_LAZY = {
    **dict.fromkeys(("Credentials", "sign"), "auth"),
    **dict.fromkeys(("PROD_URL", "SANDBOX_URL", "UAT_URL", "AsyncTruex", "Truex", "__version__"), "client"),
    **dict.fromkeys(("DeprecationInfo", "TruexDeprecationWarning"), "deprecation"),
    **dict.fromkeys(
        (
            "APIConnectionError",
            "APIError",
            "APIResponseValidationError",
            "APIStatusError",
            "APITimeoutError",
            "AuthenticationError",
            "BadRequestError",
            "ConflictError",
            "CredentialsRequiredError",
            "InternalServerError",
            "InvalidParameterError",
            "JwtKeyError",
            "NotFoundError",
            "PaginationError",
            "PermissionDeniedError",
            "Problem",
            "RateLimitError",
            "RequestTimeoutError",
            "ResponseTooLargeError",
            "TimestampSkewError",
            "TokenError",
            "TruexError",
            "UnsupportedMediaTypeError",
        ),
        "errors",
    ),
    **dict.fromkeys(("AsyncPaginator", "Page", "SyncPaginator"), "pagination"),
    "JwtAuth": "jwt_auth",
    "JwtKey": "jwt_key",
    **dict.fromkeys(("APIResponse", "RawResponse"), "_response"),
    "DEFAULT_MAX_RESPONSE_BYTES": "_base_client",
    "RetryPolicy": "retries",
    "aiohttp_transport": "transport",
    **dict.fromkeys(("DEFAULT_VERSION", "SUPPORTED_VERSIONS"), "versions"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once imported, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_VERSION",
    "PROD_URL",
    "SANDBOX_URL",
    "SUPPORTED_VERSIONS",
    "UAT_URL",
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPaginator",
    "AsyncTruex",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "Credentials",
    "CredentialsRequiredError",
    "DeprecationInfo",
    "InternalServerError",
    "InvalidParameterError",
    "JwtAuth",
    "JwtKey",
    "JwtKeyError",
    "NotFoundError",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "Problem",
    "RateLimitError",
    "RawResponse",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "SyncPaginator",
    "TimestampSkewError",
    "TokenError",
    "Truex",
    "TruexDeprecationWarning",
    "TruexError",
    "UnsupportedMediaTypeError",
    "__version__",
    "aiohttp_transport",
    "sign",
]
