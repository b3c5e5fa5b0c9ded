"""The pytest plugin of the sandbox (entry point ``pytest11: truex_sandbox``, installed with the ``sandbox`` extra).

Fixtures:

``truex_sandbox``
    A fresh :class:`TestSandbox` (exchange + app + clock + fault plan), served by uvicorn on a free loopback
    port: ``base_url``, ``credentials("ALICE")``, ``clients``, ``fund``, ``withdraw``, ``balance``, ``orders``,
    ``faults``, ``clock``, ``rate_limiter``, ``exchange``; and ``client(...)`` / ``async_client(...)``
    building SDK clients signed in as a seeded client.
``truex_sandbox_inprocess``
    The same without a socket: clients talk to the ASGI app in process (a dropped connection is still an
    ``httpx.RemoteProtocolError``).
``truex_client`` / ``async_truex_client``
    ``Truex`` / ``AsyncTruex`` signed in as ALICE (funded by the default seed) of ``truex_sandbox``. They share
    the sandbox's clock: signatures use its time, and their back-off *advances* it instead of sleeping.

The marker ``@pytest.mark.truex_sandbox(...)`` configures the sandbox of a test (or, as ``pytestmark``, of a
module): ``scope="module"`` (one sandbox for the whole module; default: one per test, also settable with
``--truex-sandbox-scope`` or the ``truex_sandbox_scope`` ini option), ``inprocess=True`` (what
``truex_sandbox`` and the clients use), ``frozen_at=UNIX_SECONDS``, ``faults=[...]`` or a file,
``rate_limits="default"|"strict"|FILE``, ``settle_delay=SECONDS``, ``market_maker=False``, ``seed=Seed``.

The entry point comes with the package whatever its extras; without the ``sandbox`` extra the plugin loads
(it imports only pytest) and a test that asks for a fixture fails saying what to install.

Why a module of ``truex_sandbox``: the plugin ships with the sandbox's extra, and is the one module of the
package that may import the SDK (``truex_ext``), which it does lazily inside the fixtures that build clients;
the sandbox itself (:mod:`truex_sandbox.testing` and everything under it) never does. Importing this module
loads no SDK and no sandbox, so registering the plugin costs a pytest run that does not use it nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

try:  # strict-mode pytest-asyncio only runs async fixtures it declared; auto mode takes either
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - without pytest-asyncio, async tests do not run anyway
    _async_fixture = pytest.fixture  # type: ignore[assignment]

if TYPE_CHECKING:
    import httpx

    from truex_ext import AsyncTruex, Truex

    from .testing import Sandbox

__all__ = ["TestSandbox", "in_process_async_transport", "in_process_transport"]

_MARKER = "truex_sandbox"
_OPTIONS = frozenset(
    {
        "scope",
        "inprocess",
        "frozen_at",
        "faults",
        "rate_limits",
        "settle_delay",
        "market_maker",
        "seed",
        "strict",
        "ws_coalesce",
    }
)
_SCOPES = ("function", "module")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("truex_sandbox", "TrueX sandbox")
    group.addoption(
        "--truex-sandbox-scope",
        choices=_SCOPES,
        default=None,
        help="one sandbox per test (function, the default) or per module",
    )
    group.addoption(
        "--truex-sandbox-faults",
        metavar="FILE",
        default=None,
        help="a fault file (JSON/YAML) loaded into every sandbox the fixtures make",
    )
    group.addoption(
        "--truex-sandbox-rate-limits",
        metavar="PROFILE|FILE",
        default=None,
        help="rate limits of every sandbox the fixtures make: default, strict or a file (default: off)",
    )
    parser.addini("truex_sandbox_scope", "default scope of the truex_sandbox fixture (function|module)")


def pytest_configure(config: pytest.Config) -> None:
    # A fault or rate-limit file given on the command line is checked now: one error, before any test runs.
    faults = config.getoption("truex_sandbox_faults", None)
    limits = config.getoption("truex_sandbox_rate_limits", None)
    if faults or limits:
        from .faults import FaultError, load_faults
        from .ratelimit import RateLimitError, rate_classes

        try:
            if faults:
                load_faults(faults)
            if limits:
                rate_classes(limits)
        except (FaultError, RateLimitError) as exc:
            raise pytest.UsageError(f"truex_sandbox: {exc}") from None
    config.addinivalue_line(
        "markers",
        "truex_sandbox(scope='function'|'module', inprocess=False, frozen_at=None, faults=None, "
        "rate_limits=None, settle_delay=2.0, market_maker=True, seed=None): configure the sandbox "
        "of the truex_sandbox fixtures",
    )


# ------------------------------------------------------------------------------- in-process transports
def in_process_async_transport(app: Any) -> httpx.AsyncBaseTransport:
    """An ``httpx`` async transport into ``app`` (no socket); a dropped connection raises as over TCP."""
    import httpx

    from .connections import DROPPED_HEADER

    class InProcessAsyncTransport(httpx.ASGITransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await super().handle_async_request(request)
            if response.headers.get(DROPPED_HEADER):
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response (truex-sandbox fault)", request=request
                )
            return response

    return InProcessAsyncTransport(app=app)


def in_process_transport(app: Any) -> httpx.BaseTransport:
    """A sync ``httpx`` transport into ``app``: runs it on an event loop in a helper thread (started lazily)."""
    import httpx
    from anyio.from_thread import start_blocking_portal

    inner = in_process_async_transport(app)

    class InProcessTransport(httpx.BaseTransport):
        def __init__(self) -> None:
            self._stack = contextlib.ExitStack()
            self._portal: Any = None

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if self._portal is None:
                self._portal = self._stack.enter_context(start_blocking_portal())
            request.read()

            async def run() -> tuple[int, httpx.Headers, bytes]:
                response = await inner.handle_async_request(request)
                return response.status_code, response.headers, await response.aread()

            status, headers, content = self._portal.call(run)
            return httpx.Response(status, headers=headers, content=content, request=request)

        def close(self) -> None:
            self._portal = None
            self._stack.close()

    return InProcessTransport()


# ----------------------------------------------------------------------------------- the handle
def _sandbox_class() -> type[Sandbox]:
    from .entry import INSTALL, missing_modules

    missing = missing_modules()
    if missing:  # the entry point is installed with the package; what it serves with the extra only
        pytest.fail(f"the truex_sandbox fixtures need the sandbox extra ({', '.join(missing)}): {INSTALL}")
    from .testing import Sandbox

    return Sandbox


class TestSandbox:
    """A :class:`~truex_sandbox.testing.Sandbox` with what a test needs on top: SDK clients of it.

    Every attribute of the sandbox is reachable here (``fund``, ``faults``, ``clock``, ``exchange`` ...).
    """

    __test__ = False  # not a test class, whatever its name

    def __init__(self, sandbox: Sandbox, *, served: bool) -> None:
        self.sandbox = sandbox
        self.served = served
        self._closers: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sandbox, name)

    @property
    def base_url(self) -> str:
        return self.sandbox.base_url or "http://truex-sandbox.invalid"

    def client_kwargs(self, client: str = "ALICE", **overrides: Any) -> dict[str, Any]:
        """What ``Truex(...)`` needs to sign in as ``client`` here (credentials, base URL, the shared clock)."""
        kwargs: dict[str, Any] = {
            **self.sandbox.credentials(client).as_kwargs(),
            "base_url": self.base_url,
            "environ": {},
            "clock": self.sandbox.clock.time,
        }
        kwargs.update(overrides)
        return kwargs

    def client(self, client: str = "ALICE", **overrides: Any) -> Truex:
        """A ``truex_ext.Truex`` signed in as ``client``, closed at the end of the test (or module)."""
        from truex_ext import Truex

        kwargs = self.client_kwargs(client, sleep=self.sandbox.clock.sleep, **overrides)
        if not self.served and "transport" not in overrides:
            kwargs["transport"] = transport = in_process_transport(self.sandbox.app)
            self._closers.append(transport.close)
        made = Truex(**kwargs)
        self._closers.append(made.close)
        return made

    def async_client(self, client: str = "ALICE", **overrides: Any) -> AsyncTruex:
        """A ``truex_ext.AsyncTruex`` signed in as ``client`` (close it with ``await client.close()``)."""
        from truex_ext import AsyncTruex

        kwargs = self.client_kwargs(client, sleep=self.sandbox.clock.async_sleep, **overrides)
        if not self.served and "transport" not in overrides:
            kwargs["transport"] = in_process_async_transport(self.sandbox.app)
        return AsyncTruex(**kwargs)

    def close_clients(self) -> None:
        """Close the clients made here (before the server stops: it waits for open connections)."""
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):
                close()
        self._closers.clear()

    def close(self) -> None:
        self.close_clients()
        self.sandbox.close()


# --------------------------------------------------------------------------------------- building
def _options(node: pytest.Item | pytest.Collector) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers(_MARKER))):  # the closest marker wins
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{_MARKER} takes keyword arguments only")
        unknown = set(marker.kwargs) - _OPTIONS
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.{_MARKER}: unknown option(s) {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(_OPTIONS))})"
            )
        options.update(marker.kwargs)
    return options


def _scope(config: pytest.Config, options: dict[str, Any]) -> str:
    scope = (
        options.get("scope")
        or config.getoption("truex_sandbox_scope")
        or config.getini("truex_sandbox_scope")
    )
    scope = scope or "function"
    if scope not in _SCOPES:
        raise pytest.UsageError(f"truex_sandbox scope {scope!r}: must be one of {', '.join(_SCOPES)}")
    return str(scope)


@contextlib.contextmanager
def _make(config: pytest.Config, options: dict[str, Any], *, served: bool) -> Iterator[TestSandbox]:
    kwargs = {k: v for k, v in options.items() if k not in ("scope", "inprocess")}
    if kwargs.get("faults") is None and config.getoption("truex_sandbox_faults"):
        kwargs["faults"] = config.getoption("truex_sandbox_faults")
    if kwargs.get("rate_limits") is None and config.getoption("truex_sandbox_rate_limits"):
        kwargs["rate_limits"] = config.getoption("truex_sandbox_rate_limits")
    sandbox = _sandbox_class()(**kwargs)
    handle = TestSandbox(sandbox, served=served)
    try:
        if served:
            with sandbox.serve():
                try:
                    yield handle
                finally:
                    handle.close_clients()
        else:
            yield handle
    finally:
        handle.close()


@pytest.fixture(scope="module")
def _truex_sandbox_module(request: pytest.FixtureRequest) -> Iterator[TestSandbox]:
    options = _options(request.node)
    with _make(request.config, options, served=not options.get("inprocess", False)) as handle:
        yield handle


@pytest.fixture
def truex_sandbox(request: pytest.FixtureRequest) -> Iterator[TestSandbox]:
    """A fresh sandbox (served on a free loopback port unless ``inprocess=True``); see the module docstring."""
    options = _options(request.node)
    if _scope(request.config, options) == "module":
        module = request.node.getparent(pytest.Module)
        shared = _options(module) if module is not None else {}
        own = sorted(k for k, v in options.items() if k != "scope" and (k not in shared or shared[k] != v))
        if own:
            raise pytest.UsageError(
                f"{request.node.nodeid}: a module-scoped sandbox is configured on the module "
                f"(pytestmark = pytest.mark.{_MARKER}(...)), not on one test: {', '.join(own)}"
            )
        yield request.getfixturevalue("_truex_sandbox_module")
        return
    with _make(request.config, options, served=not options.get("inprocess", False)) as handle:
        yield handle


@pytest.fixture
def truex_sandbox_inprocess(request: pytest.FixtureRequest) -> Iterator[TestSandbox]:
    """A fresh sandbox without a socket: its clients call the ASGI app in process."""
    with _make(request.config, _options(request.node), served=False) as handle:
        yield handle


@pytest.fixture
def truex_client(truex_sandbox: TestSandbox) -> Truex:
    """``truex_ext.Truex`` signed in as ALICE of ``truex_sandbox``."""
    return truex_sandbox.client("ALICE")


@_async_fixture
async def async_truex_client(truex_sandbox: TestSandbox) -> AsyncIterator[AsyncTruex]:
    """``truex_ext.AsyncTruex`` signed in as ALICE of ``truex_sandbox``."""
    client = truex_sandbox.async_client("ALICE")
    try:
        yield client
    finally:
        await client.close()
