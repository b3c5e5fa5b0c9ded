from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_version import ApiVersion
from ...models.client_list import ClientList
from ...models.error_envelope import ErrorEnvelope
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    id: str | Unset = UNSET,
    mnemonic: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    size: int | Unset = 10,
    x_truex_version: ApiVersion | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_truex_version, Unset):
        headers["X-Truex-Version"] = str(x_truex_version)

    params: dict[str, Any] = {}

    params["id"] = id

    params["mnemonic"] = mnemonic

    params["cursor"] = cursor

    params["size"] = size

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/clients",
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ClientList | ErrorEnvelope | None:
    if response.status_code == 200:
        response_200 = ClientList.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorEnvelope.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorEnvelope.from_dict(response.json())

        return response_404

    if response.status_code == 408:
        response_408 = ErrorEnvelope.from_dict(response.json())

        return response_408

    if response.status_code == 415:
        response_415 = ErrorEnvelope.from_dict(response.json())

        return response_415

    if response.status_code == 429:
        response_429 = ErrorEnvelope.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorEnvelope.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ErrorEnvelope.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ClientList | ErrorEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    id: str | Unset = UNSET,
    mnemonic: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    size: int | Unset = 10,
    x_truex_version: ApiVersion | Unset = UNSET,
) -> Response[ClientList | ErrorEnvelope]:
    """Get clients

     Query for a user's information: the clients tied to the API key. Called with no parameters it
    discovers the client ids the key may act for.

    Args:
        id (str | Unset): An exchange id, a non-zero numeric string. Example: 78901949723181070.
        mnemonic (str | Unset):  Example: CLIENT1.
        cursor (str | Unset):  Example: b2Zmc2V0OjEw.
        size (int | Unset):  Default: 10. Example: 10.
        x_truex_version (ApiVersion | Unset): An API version for the X-Truex-Version header.
            Example: v2026_01_23.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClientList | ErrorEnvelope]
    """

    kwargs = _get_kwargs(
        id=id,
        mnemonic=mnemonic,
        cursor=cursor,
        size=size,
        x_truex_version=x_truex_version,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    id: str | Unset = UNSET,
    mnemonic: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    size: int | Unset = 10,
    x_truex_version: ApiVersion | Unset = UNSET,
) -> ClientList | ErrorEnvelope | None:
    """Get clients

     Query for a user's information: the clients tied to the API key. Called with no parameters it
    discovers the client ids the key may act for.

    Args:
        id (str | Unset): An exchange id, a non-zero numeric string. Example: 78901949723181070.
        mnemonic (str | Unset):  Example: CLIENT1.
        cursor (str | Unset):  Example: b2Zmc2V0OjEw.
        size (int | Unset):  Default: 10. Example: 10.
        x_truex_version (ApiVersion | Unset): An API version for the X-Truex-Version header.
            Example: v2026_01_23.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClientList | ErrorEnvelope
    """

    return sync_detailed(
        client=client,
        id=id,
        mnemonic=mnemonic,
        cursor=cursor,
        size=size,
        x_truex_version=x_truex_version,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    id: str | Unset = UNSET,
    mnemonic: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    size: int | Unset = 10,
    x_truex_version: ApiVersion | Unset = UNSET,
) -> Response[ClientList | ErrorEnvelope]:
    """Get clients

     Query for a user's information: the clients tied to the API key. Called with no parameters it
    discovers the client ids the key may act for.

    Args:
        id (str | Unset): An exchange id, a non-zero numeric string. Example: 78901949723181070.
        mnemonic (str | Unset):  Example: CLIENT1.
        cursor (str | Unset):  Example: b2Zmc2V0OjEw.
        size (int | Unset):  Default: 10. Example: 10.
        x_truex_version (ApiVersion | Unset): An API version for the X-Truex-Version header.
            Example: v2026_01_23.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClientList | ErrorEnvelope]
    """

    kwargs = _get_kwargs(
        id=id,
        mnemonic=mnemonic,
        cursor=cursor,
        size=size,
        x_truex_version=x_truex_version,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    id: str | Unset = UNSET,
    mnemonic: str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    size: int | Unset = 10,
    x_truex_version: ApiVersion | Unset = UNSET,
) -> ClientList | ErrorEnvelope | None:
    """Get clients

     Query for a user's information: the clients tied to the API key. Called with no parameters it
    discovers the client ids the key may act for.

    Args:
        id (str | Unset): An exchange id, a non-zero numeric string. Example: 78901949723181070.
        mnemonic (str | Unset):  Example: CLIENT1.
        cursor (str | Unset):  Example: b2Zmc2V0OjEw.
        size (int | Unset):  Default: 10. Example: 10.
        x_truex_version (ApiVersion | Unset): An API version for the X-Truex-Version header.
            Example: v2026_01_23.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClientList | ErrorEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            id=id,
            mnemonic=mnemonic,
            cursor=cursor,
            size=size,
            x_truex_version=x_truex_version,
        )
    ).parsed


# Public: truex_ext's call loop builds the request with it, then signs, sends and parses it itself.
build_request_kwargs = _get_kwargs
