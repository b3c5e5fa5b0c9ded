"""The sandbox's ASGI app: routes from the spec, a handler per operationId, one request pipeline.

Pipeline of every API request, in this order (each step's failure is a problem response and nothing else
runs, so a request that fails version, auth or validation changes nothing):

1. route: the spec's paths as Starlette routes (``{ref_id}`` syntax); unknown path → 404, method → 405;
2. ``X-Truex-Version`` → 400 listing the supported versions when unknown;
3. HMAC auth unless the operation is public (``security: []``) → 401 / 403;
4. query and path parameters, media type and body against the spec → 400 / 415 (a query parameter the
   operation does not have is ignored, with an ``x-truex-sandbox-warning`` header, unless ``strict``);
5. the handler calls the engine; an engine refusal keeps its status (400/403/404/409), a journal that
   cannot be written is a 503 with ``Retry-After`` (nothing changed). With a journal, handlers that use the
   engine run in a worker thread, so a slow or locked disk never stalls the event loop (``/health``);
6. the version layer renders the payload (and cuts the page of a list); any other exception → a logged
   500 problem, never a traceback.

Every response carries ``x-request-id`` and ``x-truex-version`` (the version it is rendered in), plus the
deprecation headers of that version and of a deprecated singular path.

Performance: the per-request path does no spec walking. Starlette's router tries routes one by one (about
2 µs each, 25 paths); here a subclass keeps Starlette's ``Route`` objects but finds static paths with a dict
lookup, and each route's endpoint is a raw ASGI callable (no ``Request``/``Response`` objects).
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor
from starlette.middleware import Middleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import HmacVerifier, KeyRecord, Principal, refuse_repeated_auth_headers
from .auth_api import AuthApi, BearerOrHmacVerifier, auth_api_routes
from .engine import EngineError, Exchange
from .handlers import ENGINE_FREE, HANDLERS, USER_ID_OPTIONAL, Call, Handler
from .jwt_tokens import TokenIssuer
from .pagination import CursorCodec, listing_id, paginate
from .problems import ApiError, problem_body
from .spec import Operation, build_operations, deref, load_spec, spec_json
from .validation import OperationValidator, RequestValidator
from .versions import (
    CURRENT_BASE,
    DEFAULT_VERSION,
    LEGACY_BASE,
    V2024,
    V2024_SUNSET,
    deprecation_headers,
    negotiate,
    render_error,
    render_list,
    render_object,
)

__all__ = ["LEGACY_MODES", "MAX_BODY_BYTES", "SPEC_ROUTE", "WARNING_HEADER", "StartupError", "create_app"]

logger = logging.getLogger("truex_sandbox")

#: Where the app serves its own spec (JSON), under each base. Not an API operation: no version, no auth.
SPEC_ROUTE: Final = f"{CURRENT_BASE}/openapi.json"
#: What ``legacy=`` may say of the legacy base ``/api/v1``: served (with its deprecation headers), or gone, as
#: the exchange answers once the announced removal has happened.
LEGACY_MODES: Final = ("accept", "gone")
#: Larger bodies are refused (413) before they are buffered further.
MAX_BODY_BYTES: Final = 1 << 20

_JSON: Final = b"application/json"
_PROBLEM: Final = b"application/problem+json"


class StartupError(RuntimeError):
    """The handler table and the spec disagree: the app refuses to start rather than serve a gap."""


# ----------------------------------------------------------------------------------- start-up
@dataclass(frozen=True, slots=True)
class _Bound:
    """An operation with everything its requests need, resolved once."""

    operation: Operation
    #: operationId of the handler (the x-replacement twin's for a deprecated singular operation).
    canonical: str
    handler: Handler
    validator: OperationValidator
    paginated: bool
    offset: bool
    size_default: int
    user_id_required: bool
    #: Path template of what replaces the path requested (the ``successor-version`` link): the plural under
    #: the current base for a singular twin, the same operation under ``/v1/cefi`` for a legacy path.
    successor: str | None
    #: Served under the legacy base ``/api/v1``.
    legacy: bool
    #: Run the handler on the event loop: it does no disk I/O (no engine call, or an engine without a journal).
    inline: bool


def _signature(spec: Mapping[str, Any], op: Operation) -> tuple[Any, ...]:
    """What two operations must share to share a handler: parameters, body and answer, resolved."""
    params = sorted(
        (p.name, p.location, p.required, json.dumps(deref(spec, {"$ref": p.schema_pointer}), sort_keys=True))
        for p in op.parameters
    )
    body = json.dumps(deref(spec, {"$ref": op.body_pointer}), sort_keys=True) if op.body_pointer else None
    answer = (
        json.dumps(deref(spec, {"$ref": op.response_pointer}), sort_keys=True)
        if op.response_pointer
        else None
    )
    return (tuple(params), body, answer, op.public)


def _bind_handlers(
    spec: Mapping[str, Any], operations: Mapping[str, Operation], handlers: Mapping[str, Handler]
) -> dict[str, tuple[str, Handler]]:
    """operationId → (handler's operationId, handler); raises :class:`StartupError` on any gap."""
    extra = sorted(set(handlers) - set(operations))
    if extra:
        raise StartupError(f"handlers without an operation in the spec: {', '.join(extra)}")
    bound: dict[str, tuple[str, Handler]] = {}
    missing: list[str] = []
    for op_id, op in operations.items():
        if op_id in handlers:
            bound[op_id] = (op_id, handlers[op_id])
            continue
        twin = op.replacement
        if twin is not None and twin in handlers:
            if _signature(spec, op) != _signature(spec, operations[twin]):
                raise StartupError(
                    f"{op_id} has no handler and differs from its x-replacement {twin} "
                    "(parameters, body, answer or security), so it cannot share that one"
                )
            bound[op_id] = (twin, handlers[twin])
            continue
        missing.append(op_id)
    if missing:
        raise StartupError(f"operations of the spec without a handler: {', '.join(missing)}")
    return bound


# ---------------------------------------------------------------------------------- responses
class _Marks(NamedTuple):
    """What a response's deprecation headers say (see :func:`~truex_sandbox.versions.deprecation_headers`)."""

    successor: str | None
    singular: bool
    legacy: bool


_NO_MARKS: Final = _Marks(None, False, False)


@functools.lru_cache(maxsize=256)
def _deprecation_bytes(
    version: str, successor: str | None, singular: bool, legacy: bool
) -> tuple[tuple[bytes, bytes], ...]:
    headers = deprecation_headers(version, successor, singular=singular, legacy=legacy)
    return tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers)


# One encoder for every response: json.dumps with options builds a new encoder per call.
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _dumps(payload: Any) -> bytes:
    return _ENCODER.encode(payload).encode("utf-8")


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :] or "/"
    return path


def _raw_path(scope: Scope) -> bytes:
    """The path exactly as sent (percent-encoding kept, no query string): what the client signed."""
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        return quote(scope["path"]).encode("ascii")
    return raw.split(b"?", 1)[0]


def _instance(scope: Scope) -> str | None:
    """A problem's ``instance``: the request path as a URI reference (RFC 3986), percent-encoded.

    ``scope["path"]`` is percent-decoded, so a path sent as ``/api/v1/orders/%C3%A9`` would come back with
    a raw non-ASCII character, which is not a ``uri-reference`` (found by the contract tests).
    """
    path: str | None = scope.get("path")
    if not path:
        return None
    return quote(path, safe="/!$&'()*+,;=:@~")


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "body: the client disconnected before sending it")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise ApiError(413, f"body: larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class _Core:
    """State shared by every route: the exchange, the verifier, the cursor codec, the clock."""

    def __init__(
        self,
        exchange: Exchange,
        verifier: HmacVerifier | BearerOrHmacVerifier,
        codec: CursorCodec,
        clock: Callable[[], float],
        legacy: str = "accept",
        strict: bool = False,
    ):
        self.exchange = exchange
        self.verifier = verifier
        self.codec = codec
        self.clock = clock
        self.legacy = legacy
        self.strict = strict
        self._prefix = secrets.token_hex(5)
        self._counter = itertools.count(1)

    def request_id(self) -> str:
        # Unique without a uuid per request: a random per-app prefix and a counter.
        return f"{self._prefix}{next(self._counter):08x}"

    @staticmethod
    def version_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
        """The requested version for rendering an error, the default when absent or unknown."""
        for name, value in headers:
            if name == b"x-truex-version":
                try:
                    return negotiate(value.decode("latin-1"))
                except ApiError:
                    return DEFAULT_VERSION
        return DEFAULT_VERSION

    async def send(
        self,
        send: Send,
        status: int,
        body: bytes,
        *,
        version: str,
        request_id: str,
        problem: bool = False,
        marks: _Marks = _NO_MARKS,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        headers = [
            (b"content-type", _PROBLEM if problem else _JSON),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"x-request-id", request_id.encode("ascii")),
            (b"x-truex-version", version.encode("ascii")),
        ]
        headers.extend(_deprecation_bytes(version, *marks))
        if extra:
            headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items())
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def send_problem(
        self,
        send: Send,
        error: ApiError,
        *,
        scope: Scope,
        version: str,
        request_id: str,
        marks: _Marks = _NO_MARKS,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        payload = render_error(version, problem_body(error, _instance(scope)))
        await self.send(
            send,
            error.status,
            _dumps(payload),
            version=version,
            request_id=request_id,
            problem=True,
            marks=marks,
            extra={**error.headers, **extra} if extra else error.headers,
        )

    async def serve(self, bound: _Bound, scope: Scope, receive: Receive, send: Send) -> None:
        """Run one API request through the pipeline (module docstring)."""
        request_id = self.request_id()
        op = bound.operation
        version = DEFAULT_VERSION
        successor = None
        if bound.successor is not None:
            successor = bound.successor
            for name, value in scope.get("path_params", {}).items():
                successor = successor.replace("{" + name + "}", quote(str(value), safe=""))
        marks = _Marks(successor, op.deprecated, bound.legacy)
        # The query parameters the operation does not have, when they are ignored (not strict).
        ignored: list[str] | None = None if self.strict else []
        try:
            headers: dict[bytes, bytes] = dict(scope["headers"])  # ASGI names are lower-case bytes
            raw_version = headers.get(b"x-truex-version")
            if raw_version is not None:
                version = negotiate(raw_version.decode("latin-1"))
            if bound.legacy and self.legacy == "gone":
                raise ApiError(
                    410,
                    f"the {LEGACY_BASE} prefix was removed on {V2024_SUNSET.isoformat()}; use {successor}",
                    title="Gone",
                )
            body = await _read_body(receive)
            principal: Principal | None = None
            if not op.public:
                refuse_repeated_auth_headers(scope["headers"])  # the dict above kept only the last copy
                principal = self.verifier.verify(
                    op.method, _raw_path(scope), headers, body, user_id_required=bound.user_id_required
                )
            validator = bound.validator
            query_string: bytes = scope.get("query_string", b"")
            query = validator.query(
                parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True)
                if query_string
                else (),
                ignored,
            )
            path = validator.path(scope.get("path_params", {}))
            document = None
            if validator.has_body:
                content_type = headers.get(b"content-type")
                document = validator.body(
                    None if content_type is None else content_type.decode("latin-1"), body
                )
            call = Call(self.exchange, version, query, path, document, principal, self.clock())
            result = bound.handler(call) if bound.inline else await run_in_threadpool(bound.handler, call)
            # Encoded here, inside the try: a payload that cannot be encoded is a 500 problem like any crash.
            encoded = _dumps(self._render(bound, version, result, query, principal))
        except ApiError as error:
            await self.send_problem(
                send,
                error,
                scope=scope,
                version=version,
                request_id=request_id,
                marks=marks,
                extra=_ignored_warning(request_id, op, ignored),
            )
            return
        except EngineError as error:
            retry = {"retry-after": str(error.retry_after)} if error.retry_after is not None else None
            await self.send_problem(
                send,
                ApiError(error.status, error.detail, title=error.title, headers=retry),
                scope=scope,
                version=version,
                request_id=request_id,
                marks=marks,
                extra=_ignored_warning(request_id, op, ignored),
            )
            return
        except Exception:
            logger.exception("request %s: %s %s failed", request_id, op.method, op.path)
            crash = ApiError(500, f"an unexpected error occurred; request id {request_id}")
            await self.send_problem(
                send,
                crash,
                scope=scope,
                version=version,
                request_id=request_id,
                marks=marks,
                extra=_ignored_warning(request_id, op, ignored),
            )
            return
        await self.send(
            send,
            200,
            encoded,
            version=version,
            request_id=request_id,
            marks=marks,
            extra=_ignored_warning(request_id, op, ignored),
        )

    def _render(
        self, bound: _Bound, version: str, result: Any, query: Mapping[str, Any], principal: Principal | None
    ) -> Any:
        if not isinstance(result, list):
            return render_object(version, bound.canonical, result)
        if not bound.paginated:
            return render_list(version, result, len(result), None)
        cursor = query.get("cursor")
        size: int = query.get("size", bound.size_default)
        if cursor is None:
            if version == V2024 and not bound.offset and "size" not in query:
                # v2024_01_01 never paginated these lists (no skip documented): they come whole unless
                # the client asks for a size.
                return render_list(version, result, len(result), None)
            if len(result) <= size and "skip" not in query:
                return render_list(version, result, size, None)  # the one and only page
        elif "skip" in query:
            raise ApiError(400, "query.skip: cannot be combined with query.cursor")
        key_id = principal.key_id if principal is not None else ""
        page = paginate(
            result,
            size=size,
            skip=query.get("skip", 0),
            cursor=cursor,
            codec=self.codec,
            listing=lambda: listing_id(f"{bound.canonical}|{key_id}", query),
            with_cursor=version != V2024,
        )
        return render_list(version, page.items, page.size, page.next_cursor)


#: The response header that says what the sandbox ignored (DECISIONS §20).
WARNING_HEADER: Final = "x-truex-sandbox-warning"
#: At most this many ignored names are listed (the rest counted), so a header stays short.
_MAX_IGNORED_LISTED: Final = 10
# Characters a name keeps in the header and the log; anything else (controls, non-ASCII, commas) is
# percent-encoded, so a name can neither break the header nor forge a log line.
_NAME_SAFE: Final = "!#$&'()*+-./:;<=>?@[]^_`{|}~"


def _ignored_warning(request_id: str, op: Operation, names: Sequence[str] | None) -> dict[str, str] | None:
    """The warning header for query parameters the operation does not have, logged as a warning too."""
    if not names:
        return None
    unique = [quote(n, safe=_NAME_SAFE) for n in dict.fromkeys(names)]
    listed = ", ".join(unique[:_MAX_IGNORED_LISTED])
    if len(unique) > _MAX_IGNORED_LISTED:
        listed += f" (and {len(unique) - _MAX_IGNORED_LISTED} more)"
    text = f"ignored unknown query parameter(s): {listed}"
    logger.warning("request %s: %s %s: %s", request_id, op.method, op.path, text)
    return {WARNING_HEADER: text}


class _PathEndpoint:
    """The ASGI endpoint of one spec path: picks the operation by method."""

    def __init__(self, core: _Core, path: str, by_method: Mapping[str, _Bound]) -> None:
        self.core = core
        self.path = path
        self.by_method = dict(by_method)
        self.allow = ", ".join(sorted(self.by_method))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        bound = self.by_method.get(scope["method"])
        if bound is None:
            await method_not_allowed(self.core, scope, send, self.allow)
            return
        await self.core.serve(bound, scope, receive, send)


async def method_not_allowed(core: _Core, scope: Scope, send: Send, allow: str) -> None:
    error = ApiError(
        405,
        f"{scope['method']} is not allowed on {scope['path']}; allowed: {allow}",
        headers={"allow": allow},
    )
    version = core.version_of(scope["headers"])
    await core.send_problem(send, error, scope=scope, version=version, request_id=core.request_id())


class _SpecEndpoint:
    """``GET /api/v1/openapi.json``: the spec the app was built from."""

    def __init__(self, core: _Core, body: bytes) -> None:
        self.core = core
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await method_not_allowed(self.core, scope, send, "GET")
            return
        headers = [
            (b"content-type", _JSON),
            (b"content-length", str(len(self.body)).encode("ascii")),
            (b"x-request-id", self.core.request_id().encode("ascii")),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else self.body})


class _SpecRouter(Router):
    """Starlette's router with the same routes, matched by a dict for static paths (see module docstring).

    Matching keeps Starlette's semantics: a route that takes the method wins over one that only matches
    the path (405 only when none takes it), templated paths (``{ref_id}``) after static ones.
    """

    def __init__(self, routes: Sequence[Route], core: _Core) -> None:
        super().__init__(routes=list(routes), redirect_slashes=False)
        self._core = core
        self._static: dict[str, Route] = {}
        self._templated: list[tuple[re.Pattern[str], dict[str, Convertor[Any]], Route]] = []
        for route in routes:
            if route.param_convertors:
                self._templated.append((route.path_regex, route.param_convertors, route))
            else:
                self._static[route.path] = route

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)  # lifespan (and websockets, which 404)
            return
        scope["router"] = self
        path = _route_path(scope)
        method = scope["method"]
        partial: list[Route] = []
        route = self._static.get(path)
        if route is not None:
            if _takes(route, method):
                scope["route"] = route
                scope["path_params"] = {}
                await route.app(scope, receive, send)
                return
            partial.append(route)
        for regex, convertors, candidate in self._templated:
            match = regex.match(path)
            if match is None:
                continue
            if not _takes(candidate, method):
                partial.append(candidate)
                continue
            scope["route"] = candidate
            scope["path_params"] = {k: convertors[k].convert(v) for k, v in match.groupdict().items()}
            await candidate.app(scope, receive, send)
            return
        if partial:
            allowed = sorted({m for r in partial for m in _methods(r)})
            await method_not_allowed(self._core, scope, send, ", ".join(allowed))
            return
        await self._not_found(scope, send)

    async def _not_found(self, scope: Scope, send: Send) -> None:
        core = self._core
        error = ApiError(404, f"no operation at {scope['method']} {scope['path']}")
        version = core.version_of(scope["headers"])
        await core.send_problem(send, error, scope=scope, version=version, request_id=core.request_id())


def _methods(route: Route) -> Iterable[str]:
    endpoint = route.endpoint
    if isinstance(endpoint, _PathEndpoint):
        return endpoint.by_method.keys()
    return ("GET",)


def _takes(route: Route, method: str) -> bool:
    endpoint = route.endpoint
    if isinstance(endpoint, _PathEndpoint):
        return method in endpoint.by_method
    return True  # the spec route answers 405 itself


class _SandboxApp(Starlette):
    """Starlette without its ``ExceptionMiddleware`` layer: the pipeline renders every error itself.

    That layer only maps ``HTTPException`` (which nothing here raises) and costs a wrapper per request.
    ``ServerErrorMiddleware`` (the last resort) and user middleware stay.
    """

    def build_middleware_stack(self) -> ASGIApp:
        handler = self.exception_handlers.get(Exception) or self.exception_handlers.get(500)
        middleware = [
            Middleware(ServerErrorMiddleware, handler=handler, debug=self.debug),
            *self.user_middleware,
        ]
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(middleware):
            app = cls(app, *args, **kwargs)
        return app


def _key_lookup(exchange: Exchange) -> Callable[[str], KeyRecord | None]:
    return exchange.authenticate_key


def create_app(
    exchange: Exchange | None = None,
    *,
    clock: Callable[[], float] | None = None,
    handlers: Mapping[str, Handler] | None = None,
    spec: Mapping[str, Any] | None = None,
    cursor_key: bytes | None = None,
    legacy: str = "accept",
    strict: bool = False,
) -> Starlette:
    """The sandbox app.

    ``exchange``: the engine to serve (default: a fresh one on the default seed, whose clock follows
    ``clock``). ``clock``: Unix seconds, for the auth window and the health timestamp (default
    ``time.time``). ``handlers``: operationId → handler (default :data:`~truex_sandbox.handlers.HANDLERS`).
    ``spec``: the OpenAPI document (default: :func:`~truex_sandbox.spec.load_spec`). ``cursor_key``: the
    key cursors are signed with (default: random per app, so cursors do not survive a restart). ``legacy``:
    ``"accept"`` serves the legacy base ``/api/v1`` with its deprecation headers, ``"gone"`` answers it 410
    naming the path under ``/v1/cefi``, as the exchange does after the announced removal. ``strict``:
    refuse a query parameter the operation does not have with a 400; by default it is ignored, named in an
    ``x-truex-sandbox-warning`` response header and logged (logger ``truex_sandbox``, warning), as the
    exchange most likely ignores it (DECISIONS §20). A repeated or invalid known parameter is a 400 either
    way.

    Raises :class:`StartupError` when an operation of the spec has no handler or a handler no operation.
    """
    clock = clock or time.time
    spec = load_spec() if spec is None else spec
    operations = build_operations(dict(spec))
    bindings = _bind_handlers(spec, operations, HANDLERS if handlers is None else handlers)
    if exchange is None:
        now = clock

        def clock_ns() -> int:
            return int(now() * 1_000_000_000)

        exchange = Exchange(clock=clock_ns)
    if legacy not in LEGACY_MODES:
        raise StartupError(f"legacy={legacy!r}: must be one of {', '.join(LEGACY_MODES)}")
    issuer = TokenIssuer()  # JWT bearer auth (auth_api.py): its own signing key per app
    verifier = BearerOrHmacVerifier(HmacVerifier(_key_lookup(exchange), clock), issuer, clock)
    core = _Core(exchange, verifier, CursorCodec(cursor_key), clock, legacy, strict)
    validators = RequestValidator(spec, operations)

    by_path: dict[str, dict[str, _Bound]] = {}
    for op_id, op in operations.items():
        canonical, handler = bindings[op_id]
        size = next((p for p in op.parameters if p.location == "query" and p.name == "size"), None)
        for base in op.bases:
            by_path.setdefault(base + op.path, {})[op.method] = _Bound(
                operation=op,
                canonical=canonical,
                handler=handler,
                validator=validators[op_id],
                paginated=size is not None,
                offset=op.has_param("skip"),
                size_default=int(size.default) if size is not None and size.default is not None else 10,
                user_id_required=canonical not in USER_ID_OPTIONAL,
                successor=_successor(op, base, operations),
                legacy=base == LEGACY_BASE,
                inline=canonical in ENGINE_FREE or not exchange.journaling,
            )

    spec_endpoint = _SpecEndpoint(core, _spec_bytes(spec))
    routes: list[Route] = [
        Route(f"{base}/openapi.json", endpoint=spec_endpoint, name=f"openapi{base}")
        for base in (CURRENT_BASE, LEGACY_BASE)
    ]
    routes += [
        Route(path, endpoint=_PathEndpoint(core, path, methods), name=path)
        for path, methods in by_path.items()
    ]
    routes += auth_api_routes(AuthApi(exchange.seed.jwt_keys, issuer, clock))
    app = _SandboxApp(exception_handlers={Exception: _last_resort})
    # Same Route objects, faster matching; Starlette builds its middleware stack around app.router lazily.
    app.router = _SpecRouter(routes, core)
    app.state.exchange = exchange
    app.state.clock = clock
    app.state.operations = operations
    app.state.token_issuer = issuer
    return app


def _successor(op: Operation, base: str, operations: Mapping[str, Operation]) -> str | None:
    """What replaces ``op`` served under ``base``: its plural's path, under the current base."""
    if op.deprecated and op.replacement is not None:
        return CURRENT_BASE + operations[op.replacement].path
    return CURRENT_BASE + op.path if base != CURRENT_BASE else None


async def _last_resort(request: Request, exc: Exception) -> Response:
    """A crash outside the pipeline (which catches its own): still a problem body, never a traceback."""
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    problem = {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "an unexpected error occurred",
    }
    return Response(
        _dumps(problem),
        status_code=500,
        media_type="application/problem+json",
        headers={"x-request-id": "unhandled-" + secrets.token_hex(6)},
    )


def _spec_bytes(spec: Mapping[str, Any]) -> bytes:
    return spec_json() if spec is load_spec() else _dumps(spec)
