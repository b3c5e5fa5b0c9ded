"""truex-cefi: the typed, signed, versioned TrueX CeFi client (sync and async).

from truex_ext import Truex
with Truex() as client:
    print(client.service.health())
"""

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
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    Problem,
    RateLimitError,
    RequestTimeoutError,
    TimestampSkewError,
    TruexError,
    UnsupportedMediaTypeError,
)
from .pagination import AsyncPaginator, Page, SyncPaginator
from .raw import RawResponse
from .retries import RetryPolicy
from .versions import DEFAULT_VERSION, SUPPORTED_VERSIONS

__all__ = [
    "DEFAULT_VERSION",
    "PROD_URL",
    "SANDBOX_URL",
    "SUPPORTED_VERSIONS",
    "UAT_URL",
    "APIConnectionError",
    "APIError",
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
    "NotFoundError",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "Problem",
    "RateLimitError",
    "RawResponse",
    "RequestTimeoutError",
    "RetryPolicy",
    "SyncPaginator",
    "TimestampSkewError",
    "Truex",
    "TruexDeprecationWarning",
    "TruexError",
    "UnsupportedMediaTypeError",
    "__version__",
    "sign",
]
