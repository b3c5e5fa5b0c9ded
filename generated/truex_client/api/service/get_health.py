from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_version import ApiVersion
from ...models.error_envelope import ErrorEnvelope
from ...models.health_response import HealthResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    x_truex_version: ApiVersion | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_truex_version, Unset):
        headers["X-Truex-Version"] = str(x_truex_version)

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/health",
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | HealthResponse | None:
    if response.status_code == 200:
        response_200 = HealthResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 404:
        response_404 = ErrorEnvelope.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = ErrorEnvelope.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorEnvelope.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = HealthResponse.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorEnvelope | HealthResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    x_truex_version: ApiVersion | Unset = UNSET,
) -> Response[ErrorEnvelope | HealthResponse]:
    """Get service health

     Readiness of the REST API Gateway. A degraded service answers 503 with the same body as 200.

    Args:
        x_truex_version (ApiVersion | Unset): An API version for the X-Truex-Version header.
            Example: v2026_01_23.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | HealthResponse]
    """

    kwargs = _get_kwargs(
        x_truex_version=x_truex_version,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    x_truex_version: ApiVersion | Unset = UNSET,
) -> ErrorEnvelope | HealthResponse | None:
    """Get service health

     Readiness of the REST API Gateway. A degraded service answers 503 with the same body as 200.

    Args:
        x_truex_version (ApiVersion | Unset): An API version for the X-Truex-Version header.
            Example: v2026_01_23.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | HealthResponse
    """

    return sync_detailed(
        client=client,
        x_truex_version=x_truex_version,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    x_truex_version: ApiVersion | Unset = UNSET,
) -> Response[ErrorEnvelope | HealthResponse]:
    """Get service health

     Readiness of the REST API Gateway. A degraded service answers 503 with the same body as 200.

    Args:
        x_truex_version (ApiVersion | Unset): An API version for the X-Truex-Version header.
            Example: v2026_01_23.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | HealthResponse]
    """

    kwargs = _get_kwargs(
        x_truex_version=x_truex_version,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    x_truex_version: ApiVersion | Unset = UNSET,
) -> ErrorEnvelope | HealthResponse | None:
    """Get service health

     Readiness of the REST API Gateway. A degraded service answers 503 with the same body as 200.

    Args:
        x_truex_version (ApiVersion | Unset): An API version for the X-Truex-Version header.
            Example: v2026_01_23.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | HealthResponse
    """

    return (
        await asyncio_detailed(
            client=client,
            x_truex_version=x_truex_version,
        )
    ).parsed


# Public: truex_ext's call loop builds the request with it, then signs, sends and parses it itself.
build_request_kwargs = _get_kwargs
