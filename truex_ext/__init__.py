"""truex-cefi: the typed, signed, versioned TrueX CeFi client (sync and async).

from truex_ext import Truex
from truex_ext.types import NewOrderInfo, OrderType, Side
with Truex() as client:
    print(client.service.health())

The names below are imported on first use (PEP 562): ``import truex_ext`` alone, and the ``truex`` command
line's ``--help``, do not pay for the client, httpx and the generated models until something needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The public names, by the submodule that defines them: the one table behind ``__all__`` and the lazy
# ``__getattr__``. The TYPE_CHECKING imports below say the same for type checkers; a test keeps them equal.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "_base_client": ("DEFAULT_MAX_RESPONSE_BYTES",),
    "_response": ("APIResponse", "RawResponse"),
    "auth": ("Credentials", "sign"),
    "_version": ("__version__",),
    "client": ("DEFAULT_TIMEOUT", "PROD_URL", "SANDBOX_URL", "UAT_URL", "AsyncTruex", "Truex"),
    "deprecation": ("DeprecationInfo", "TruexDeprecationWarning"),
    "errors": (
        "APIConnectionError",
        "APIError",
        "APIResponseValidationError",
        "APIStatusError",
        "APITimeoutError",
        "AuthenticationError",
        "BadRequestError",
        "ClientIdError",
        "ConflictError",
        "CredentialsRequiredError",
        "InternalServerError",
        "InvalidParameterError",
        "JwtKeyError",
        "MissingCredentialsError",
        "NotFoundError",
        "OrderRejectedError",
        "PaginationError",
        "PermissionDeniedError",
        "Problem",
        "RateLimitError",
        "RequestTimeoutError",
        "ResponseTooLargeError",
        "TimestampSkewError",
        "TokenError",
        "TruexError",
        "UnknownSymbolError",
        "UnsupportedMediaTypeError",
    ),
    "jwt_auth": ("JwtAuth",),
    "jwt_key": ("JwtKey",),
    "pagination": ("AsyncPaginator", "Page", "SyncPaginator"),
    "retries": ("DEFAULT_MAX_RETRIES", "RetryPolicy"),
    "transport": ("aiohttp_transport",),
    "versions": ("DEFAULT_VERSION", "SUPPORTED_VERSIONS"),
}
#: Submodules reachable as attributes (``truex_ext.types.Order``).
_SUBMODULES = ("helpers", "queries", "stream", "types")

_LAZY = {name: module for module, names in _EXPORTS.items() for name in names}

if TYPE_CHECKING:
    from . import helpers as helpers
    from . import queries as queries
    from . import stream as stream
    from . import types as types
    from ._base_client import DEFAULT_MAX_RESPONSE_BYTES as DEFAULT_MAX_RESPONSE_BYTES
    from ._response import APIResponse as APIResponse
    from ._response import RawResponse as RawResponse
    from ._version import __version__ as __version__
    from .auth import Credentials as Credentials
    from .auth import sign as sign
    from .client import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
    from .client import PROD_URL as PROD_URL
    from .client import SANDBOX_URL as SANDBOX_URL
    from .client import UAT_URL as UAT_URL
    from .client import AsyncTruex as AsyncTruex
    from .client import Truex as Truex
    from .deprecation import DeprecationInfo as DeprecationInfo
    from .deprecation import TruexDeprecationWarning as TruexDeprecationWarning
    from .errors import APIConnectionError as APIConnectionError
    from .errors import APIError as APIError
    from .errors import APIResponseValidationError as APIResponseValidationError
    from .errors import APIStatusError as APIStatusError
    from .errors import APITimeoutError as APITimeoutError
    from .errors import AuthenticationError as AuthenticationError
    from .errors import BadRequestError as BadRequestError
    from .errors import ClientIdError as ClientIdError
    from .errors import ConflictError as ConflictError
    from .errors import CredentialsRequiredError as CredentialsRequiredError
    from .errors import InternalServerError as InternalServerError
    from .errors import InvalidParameterError as InvalidParameterError
    from .errors import JwtKeyError as JwtKeyError
    from .errors import MissingCredentialsError as MissingCredentialsError
    from .errors import NotFoundError as NotFoundError
    from .errors import OrderRejectedError as OrderRejectedError
    from .errors import PaginationError as PaginationError
    from .errors import PermissionDeniedError as PermissionDeniedError
    from .errors import Problem as Problem
    from .errors import RateLimitError as RateLimitError
    from .errors import RequestTimeoutError as RequestTimeoutError
    from .errors import ResponseTooLargeError as ResponseTooLargeError
    from .errors import TimestampSkewError as TimestampSkewError
    from .errors import TokenError as TokenError
    from .errors import TruexError as TruexError
    from .errors import UnknownSymbolError as UnknownSymbolError
    from .errors import UnsupportedMediaTypeError as UnsupportedMediaTypeError
    from .jwt_auth import JwtAuth as JwtAuth
    from .jwt_key import JwtKey as JwtKey
    from .pagination import AsyncPaginator as AsyncPaginator
    from .pagination import Page as Page
    from .pagination import SyncPaginator as SyncPaginator
    from .retries import DEFAULT_MAX_RETRIES as DEFAULT_MAX_RETRIES
    from .retries import RetryPolicy as RetryPolicy
    from .transport import aiohttp_transport as aiohttp_transport
    from .versions import DEFAULT_VERSION as DEFAULT_VERSION
    from .versions import SUPPORTED_VERSIONS as SUPPORTED_VERSIONS


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        if name in _SUBMODULES:
            return importlib.import_module(f".{name}", __name__)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once imported, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


__all__ = sorted([*_LAZY, *_SUBMODULES])  # built from the one table above
