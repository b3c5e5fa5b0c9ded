"""``Truex`` and ``AsyncTruex``: the clients integration teams import.

from decimal import Decimal
from truex_ext import Truex
from truex_ext.types import NewOrderInfo, OrderType, Side

with Truex() as client:                      # TRUEX_API_KEY, TRUEX_API_SECRET, TRUEX_CLIENT_ID, ...
    for instrument in client.instruments.list():
        print(instrument.info.symbol)
    order = client.orders.create(info=NewOrderInfo(
        client_id=client.client_id, instrument_id="...", qty=Decimal("0.01"),
        price=Decimal("75000.50"), side=Side.BUY, type_=OrderType.LIMIT))
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

import attrs
import httpx

from . import logs
from ._base_client import DEFAULT_MAX_RESPONSE_BYTES, AsyncAPI, ClientConfig, SyncAPI
from ._version import __version__
from .auth import ClockSkew, Credentials, HmacAuth
from .endpoints import Endpoint, environment_url, parse_base_url
from .errors import ClientIdError, CredentialsRequiredError
from .jwt_config import choose_auth
from .resources import AsyncResources, SyncResources
from .retries import RetryPolicy
from .transport import SharedTransport
from .versions import HEADER, resolve_version

if TYPE_CHECKING:
    from truex_client.models import ApiVersion

    from .jwt_auth import JwtAuth
    from .jwt_key import JwtKey
    from .stream import AsyncStream, Stream


#: Where the client goes unless told otherwise: the local sandbox, so that a bot never reaches prod by
#: accident. Prod is ``environment="prod"`` (``TRUEX_ENVIRONMENT=prod``) or ``base_url=PROD_URL``.
SANDBOX_URL = environment_url("sandbox")
PROD_URL = environment_url("prod")
UAT_URL = environment_url("uat")
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_UNSET: Any = object()


def _config(
    *,
    api_key: str | None,
    api_secret: str | None,
    client_id: str | None,
    base_url: str | None,
    environment: str | None,
    api_version: str | ApiVersion | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int | None,
    retry_policy: RetryPolicy | None,
    correct_clock_skew: bool,
    environ: Mapping[str, str],
    jwt_key: JwtKey | str | os.PathLike[str] | None = None,
    auth_url: str | None = None,
    auth: str | None = None,
    max_response_bytes: int | None = None,
) -> ClientConfig:
    key = api_key or _env(environ, "TRUEX_API_KEY")
    secret = api_secret or _env(environ, "TRUEX_API_SECRET")
    cid = client_id or _env(environ, "TRUEX_CLIENT_ID")
    credentials = None
    if key and secret:
        credentials = Credentials(api_key=key, secret=secret, client_id=cid)
    elif key or secret:  # half a key pair: give both or neither
        raise CredentialsRequiredError("TRUEX_API_SECRET" if key else "TRUEX_API_KEY")
    endpoint = _endpoint(base_url, environment, environ)
    credentials, jwt = choose_auth(
        credentials,
        jwt_key=jwt_key,
        auth_url=auth_url,
        auth=auth,
        client_id=cid,
        base_url=endpoint.url,
        environ=environ,
    )
    policy = retry_policy or RetryPolicy()
    if max_retries is not None:
        policy = attrs.evolve(policy, max_retries=max_retries)
    return ClientConfig(
        endpoint=endpoint,
        credentials=credentials,
        api_version=resolve_version(api_version or _env(environ, "TRUEX_API_VERSION")),
        timeout=timeout
        if isinstance(timeout, httpx.Timeout)
        else httpx.Timeout(timeout)
        if timeout
        else DEFAULT_TIMEOUT,
        retry=policy,
        correct_clock_skew=correct_clock_skew,
        jwt=jwt,
        max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes,
    )


def _endpoint(base_url: str | None, environment: str | None, environ: Mapping[str, str]) -> Endpoint:
    """Arguments before the environment's variables; a base URL before an environment name; else the sandbox."""
    if base_url:
        return parse_base_url(base_url)
    if environment:
        return parse_base_url(environment_url(environment))
    if url := _env(environ, "TRUEX_BASE_URL"):
        return parse_base_url(url)
    return parse_base_url(environment_url(_env(environ, "TRUEX_ENVIRONMENT") or "sandbox"))


def _env(environ: Mapping[str, str], name: str) -> str | None:
    # Stripped, as Credentials.from_env does: a trailing newline from a secrets file would otherwise
    # break every signature (and a header value) without saying why.
    return environ.get(name, "").strip() or None


class _Shared:
    """What a client and its ``with_options`` copies share: the connections, the clock skew, the token pair."""

    def __init__(self, transport: SharedTransport) -> None:
        self.transport = transport
        self.skew = ClockSkew()  # fed by every response's Date header (the call loop reads it)
        self.jwt: JwtAuth | None = None
        #: The client id found from the key (``resolve_client_id``) when none was configured.
        self.client_id: str | None = None


HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)


class _HttpClients(Generic[HttpT]):
    """One httpx client per API base, built on first use, all on the shared transport and auth.

    The client's own base serves every operation it can; the other one serves the deprecated singular
    operations, which exist only under the legacy base. Unused, it costs nothing.
    """

    def __init__(self, cls: type[HttpT], config: ClientConfig, shared: _Shared, clock: Callable[[], float]):
        self._cls: type[HttpT] = cls
        self._config = config
        self._shared = shared
        self._auth = _auth(config, shared, clock)
        self._built: dict[str, HttpT] = {}

    def __call__(self, base: str) -> HttpT:
        client = self._built.get(base)
        if client is None:
            config = self._config
            client = self._built.setdefault(
                base,
                self._cls(
                    base_url=config.endpoint.url_for((base,)),
                    headers={
                        HEADER: config.api_version,
                        "User-Agent": f"truex-cefi/{__version__} python-httpx",
                    },
                    timeout=config.timeout,
                    follow_redirects=False,
                    transport=self._shared.transport,
                    auth=self._auth,
                ),
            )
        return client

    def built(self) -> list[HttpT]:
        return list(self._built.values())


def _auth(config: ClientConfig, shared: _Shared, clock: Callable[[], float]) -> httpx.Auth | None:
    """The request signer: HMAC with the credentials, or the shared JWT bearer auth (never both)."""
    if shared.jwt is not None:
        return shared.jwt
    if config.credentials is not None:
        return HmacAuth(
            config.credentials,
            clock=clock,
            skew=shared.skew,
            correct_skew=config.correct_clock_skew,
            observe_date=False,  # the call loop observes every response's Date into the same skew
            found_client_id=lambda: shared.client_id,
        )
    return None


class _ClientBase:
    _config: ClientConfig
    _shared: _Shared
    _owner: bool
    _clock: Callable[[], float]
    _monotonic: Callable[[], float]

    @property
    def client_id(self) -> str | None:
        """The exchange client id this client acts for, if known: ``client_id=`` / ``TRUEX_CLIENT_ID``, the
        JWT's claim, or the one found from the key by :meth:`resolve_client_id`. Never a network call.
        """
        if self._config.jwt is not None:  # configured, else the token's claim (known after the first call)
            claim = self._config.jwt.client_id or (self._shared.jwt.client_id if self._shared.jwt else None)
            return claim or self._shared.client_id
        configured = self._config.credentials.client_id if self._config.credentials else None
        return configured or self._shared.client_id

    def _discovered(self, accounts: list[Any]) -> str:
        """The one client id of ``accounts`` (``GET /clients`` with the key alone), remembered."""
        ids = tuple(sorted(str(a.id) for a in accounts))
        if not ids:
            raise ClientIdError(
                f"no client is bound to this API key at {self.base_url}: check the key, or pass client_id="
            )
        if len(ids) > 1:
            names = ", ".join(_client_label(a) for a in sorted(accounts, key=lambda a: str(a.id)))
            raise ClientIdError(
                f"this API key is bound to {len(ids)} clients ({names}): choose one with TRUEX_CLIENT_ID "
                "or client_id=",
                ids,
            )
        self._shared.client_id = ids[0]
        return ids[0]

    @property
    def base_url(self) -> str:
        """The URL the API's paths are appended to, base path included (``http://127.0.0.1:8765/v1/cefi``)."""
        return self._config.endpoint.url

    @property
    def api_version(self) -> str:
        return self._config.api_version

    @property
    def clock_offset(self) -> float | None:
        """Server clock minus local clock, in seconds, as measured from responses' ``Date`` header."""
        return self._shared.skew.offset

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, api_version={self._config.api_version!r}, "
            f"credentials={self._config.credentials!r})"
        )

    def _setup(
        self,
        args: Mapping[str, Any],
        environ: Mapping[str, str] | None,
        config: ClientConfig | None,
        shared: _Shared | None,
        new_transport: Callable[[], SharedTransport],
    ) -> None:
        """What both clients do first: configuration, logging, the shared transport, the generated client."""
        env = os.environ if environ is None else environ
        logs.setup_from_env(env)
        self._config = config or _config_from(args, env)
        if self._config.credentials is not None:
            logs.register_secret(self._config.credentials.secret)
        self._owner = shared is None
        self._shared = shared or _Shared(new_transport())
        if self._config.jwt is not None and self._shared.jwt is None:
            self._shared.jwt = self._config.jwt.new_auth(args["clock"], args.get("auth_transport"))
        self._clock, self._monotonic = args["clock"], args["monotonic"]

    def _evolve(
        self,
        timeout: float | httpx.Timeout | None,
        max_retries: int | None,
        api_version: str | ApiVersion | None,
    ) -> ClientConfig:
        config = self._config
        if timeout is not None:
            config = attrs.evolve(
                config, timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
            )
        if max_retries is not None:
            config = attrs.evolve(config, retry=attrs.evolve(config.retry, max_retries=max_retries))
        if api_version is not None:
            config = attrs.evolve(config, api_version=resolve_version(api_version))
        return config


class Truex(SyncResources, _ClientBase):
    """The synchronous TrueX client; every operation of the spec, grouped by tag.

    Arguments default to the environment: ``TRUEX_API_KEY``, ``TRUEX_API_SECRET``, ``TRUEX_CLIENT_ID``,
    ``TRUEX_BASE_URL`` or ``TRUEX_ENVIRONMENT`` (``sandbox``, the default, ``uat`` or ``prod``),
    ``TRUEX_API_VERSION`` (default ``v2026_01_23``). A base URL with no API base path (``/v1/cefi`` or the
    legacy ``/api/v1``) means ``/v1/cefi``.
    Without credentials only the public operations (service, assets, instruments, market data) work.
    ``timeout`` bounds each attempt's whole response, body included (and each network read), within the
    retry policy's ``total_deadline`` across retries; ``max_response_bytes`` (default
    :data:`~truex_ext.DEFAULT_MAX_RESPONSE_BYTES`, 64 MiB) caps a body (:class:`~truex_ext.ResponseTooLargeError`).
    JWT bearer auth instead of HMAC: ``jwt_key=`` (a :class:`~truex_ext.JwtKey` or a key file path) or
    ``TRUEX_JWT_KEY_FILE``, ``auth_url=`` / ``TRUEX_AUTH_URL`` (default: see ``jwt_config.default_auth_url``),
    ``auth="hmac"|"jwt"`` / ``TRUEX_AUTH`` when both are configured; ``auth_transport=`` for the Auth API.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        client_id: str | None = None,
        base_url: str | None = None,
        environment: str | None = None,
        api_version: str | ApiVersion | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        correct_clock_skew: bool = False,
        jwt_key: JwtKey | str | os.PathLike[str] | None = None,
        auth_url: str | None = None,
        auth: str | None = None,
        auth_transport: httpx.BaseTransport | None = None,
        transport: httpx.BaseTransport | None = None,
        max_response_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] | None = None,
        _config: ClientConfig | None = None,
        _shared: _Shared | None = None,
    ) -> None:
        self._setup(locals(), environ, _config, _shared, lambda: SharedTransport(sync=transport))
        self._sleep = sleep
        self._http = _HttpClients(httpx.Client, self._config, self._shared, clock)
        self._api = SyncAPI(
            self._config,
            self._http,
            skew=self._shared.skew,
            sleep=sleep,
            wall_clock=clock,
            monotonic=monotonic,
            renewal=self._shared.jwt,
        )
        self._api.discover_client_id = self.resolve_client_id
        super().__init__(self._api)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        api_version: str | ApiVersion | None = None,
    ) -> Truex:
        """A copy with other options, sharing this client's connections.

        >>> client.with_options(max_retries=0).orders.cancel("799477895858487977")  # doctest: +SKIP
        """
        return Truex(
            _config=self._evolve(timeout, max_retries, api_version),
            _shared=self._shared,
            clock=self._clock,
            sleep=self._sleep,
            monotonic=self._monotonic,
        )

    def resolve_client_id(self) -> str:
        """The client id to act for: the configured one, else discovered from the key (``GET /clients``).

        Without ``client_id=`` / ``TRUEX_CLIENT_ID`` the exchange is asked which clients the API key is
        bound to (no client id is needed for that); exactly one is used and remembered (``client.client_id``
        then gives it). None, or several, raise :class:`~truex_ext.ClientIdError` listing them.
        """
        return self.client_id or self._discovered(list(self.clients.list(size=100)))

    def stream(self, **options: Any) -> Stream:
        """A blocking WebSocket :class:`~truex_ext.stream.Stream` on this client's host, with its credentials.

        Order state is reconciled through this client's REST calls after a reconnect. ``options`` are
        :class:`~truex_ext.stream.AsyncStream`'s (``url=`` overrides the derived one). Needs the ``stream``
        extra.

        >>> with client.stream() as s:  # doctest: +SKIP
        ...     s.subscribe("DEPTH", ["BTC-PYUSD"])
        """
        from .stream import Stream, for_client

        stream = for_client(self, **options)
        assert isinstance(stream, Stream)
        return stream

    def close(self) -> None:
        """Close the connections (a ``with_options`` copy leaves them to the client it came from)."""
        if self._owner:
            for http in self._http.built():
                http.close()
            self._shared.transport.close()  # idempotent: also when no httpx client was built
            if self._shared.jwt is not None:
                self._shared.jwt.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncTruex(AsyncResources, _ClientBase):
    """The asynchronous TrueX client: the same methods as :class:`Truex`, awaited."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        client_id: str | None = None,
        base_url: str | None = None,
        environment: str | None = None,
        api_version: str | ApiVersion | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        correct_clock_skew: bool = False,
        jwt_key: JwtKey | str | os.PathLike[str] | None = None,
        auth_url: str | None = None,
        auth: str | None = None,
        auth_transport: httpx.AsyncBaseTransport | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_response_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] | None = None,
        _config: ClientConfig | None = None,
        _shared: _Shared | None = None,
    ) -> None:
        self._setup(locals(), environ, _config, _shared, lambda: SharedTransport(async_=transport))
        self._sleep = sleep
        self._http = _HttpClients(httpx.AsyncClient, self._config, self._shared, clock)
        extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        extra["renewal"] = self._shared.jwt
        self._api = AsyncAPI(
            self._config, self._http, skew=self._shared.skew, wall_clock=clock, monotonic=monotonic, **extra
        )
        self._api.discover_client_id = self.resolve_client_id
        super().__init__(self._api)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        api_version: str | ApiVersion | None = None,
    ) -> AsyncTruex:
        """A copy with other options, sharing this client's connections."""
        return AsyncTruex(
            _config=self._evolve(timeout, max_retries, api_version),
            _shared=self._shared,
            clock=self._clock,
            sleep=self._sleep,
            monotonic=self._monotonic,
        )

    async def resolve_client_id(self) -> str:
        """The client id to act for: the configured one, else discovered from the key (``GET /clients``).

        See :meth:`Truex.resolve_client_id`.
        """
        if self.client_id:
            return self.client_id
        return self._discovered([a async for a in self.clients.list(size=100)])

    def stream(self, **options: Any) -> AsyncStream:
        """An :class:`~truex_ext.stream.AsyncStream` on this client's host, with its credentials.

        ``async with client.stream() as s:`` connects it. See :meth:`Truex.stream`.
        """
        from .stream import AsyncStream, for_client

        stream = for_client(self, **options)
        assert isinstance(stream, AsyncStream)
        return stream

    async def close(self) -> None:
        if self._owner:
            for http in self._http.built():
                await http.aclose()
            await self._shared.transport.aclose()  # idempotent: also when no httpx client was built
            if self._shared.jwt is not None:
                await self._shared.jwt.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _config_from(args: Mapping[str, Any], environ: Mapping[str, str]) -> ClientConfig:
    return _config(
        api_key=args["api_key"],
        api_secret=args["api_secret"],
        client_id=args["client_id"],
        base_url=args["base_url"],
        environment=args["environment"],
        api_version=args["api_version"],
        timeout=args["timeout"],
        max_retries=args["max_retries"],
        retry_policy=args["retry_policy"],
        correct_clock_skew=args["correct_clock_skew"],
        environ=environ,
        jwt_key=args["jwt_key"],
        auth_url=args["auth_url"],
        auth=args["auth"],
        max_response_bytes=args["max_response_bytes"],
    )


def _client_label(account: Any) -> str:
    """``300000000000000001 (ALICE)``: a client's id and, when it has one, its mnemonic."""
    info = getattr(account, "info", None)
    mnemonic = getattr(info, "mnemonic", None)
    return f"{account.id} ({mnemonic})" if isinstance(mnemonic, str) else str(account.id)
