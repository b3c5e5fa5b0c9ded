"""The sandbox's ASGI app: routes from the spec, a handler per operationId, one request pipeline.

Pipeline of every API request, in this order (each step's failure is a problem response and nothing else
runs, so a request that fails version, auth or validation changes nothing):

0. misbehaviour, when asked for (``gate=``, :class:`~truex_sandbox.faults.Gate`), run between steps 2 and 3
   (after the version, so its problem is rendered in the version asked for; before auth, so nothing is
   applied): an injected fault (a 429, 408, 5xx, a slow answer, a dropped connection, a degraded health) or a
   rate limit (429 with ``Retry-After``); a drop-after fault lets the pipeline apply the request and drops
   the connection instead of answering;
1. route: Starlette's own routing, a ``Route`` per spec path under each base (``{ref_id}`` syntax; static
   paths first, the current base's first) and the Auth API's; an unknown path → 404, method → 405
   (Starlette's ``HTTPException``, rendered as a problem by the app's exception handlers, ``Allow`` naming
   every method the path takes);
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

Performance: the per-request path does no spec walking, and each route's endpoint is a raw ASGI callable (no
``Request``/``Response`` objects). Starlette tries routes one by one, about 0.8 µs each on this machine, and
its exception middleware adds about 3 µs: ``POST /v1/cefi/orders``, tenth in the list, costs about 10 µs
more than with the dict lookup of the custom router this replaced (minimum of repeated in-process runs),
against 250-400 µs for a signed create over uvicorn.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from .auth import HmacVerifier, KeyRecord, Principal, refuse_repeated_auth_headers
from .auth_api import AuthApi, BearerOrHmacVerifier, auth_api_routes
from .engine import EngineError, Exchange
from .faults import GateStep
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
from .web_ui import web_routes
from .ws_server import WS_PATHS, StreamServer

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


def _raw_path(scope: Scope) -> bytes:
    """The path exactly as sent (percent-encoding kept, no query string): what the client signed."""
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        return quote(scope["path"]).encode("ascii")
    return raw.split(b"?", 1)[0]


def _successor_of(bound: _Bound, scope: Scope) -> str | None:
    """The path that replaces the one requested (its ``successor-version`` link), path parameters filled in."""
    successor = bound.successor
    if successor is not None:
        for name, value in scope.get("path_params", {}).items():
            successor = successor.replace("{" + name + "}", quote(str(value), safe=""))
    return successor


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
        gate: GateStep | None = None,
    ):
        self.exchange = exchange
        self.gate = gate
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

    def problem_response(self, error: ApiError, scope: Scope) -> Response:
        """A problem outside the pipeline (Starlette's 404 and 405), rendered as the pipeline renders its own."""
        version = self.version_of(scope["headers"])
        headers = {
            "x-request-id": self.request_id(),
            "x-truex-version": version,
            **dict(deprecation_headers(version, None)),
            **error.headers,
        }
        payload = render_error(version, problem_body(error, _instance(scope)))
        return Response(_dumps(payload), error.status, headers=headers, media_type="application/problem+json")

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
        marks = _Marks(_successor_of(bound, scope), op.deprecated, bound.legacy)
        # The query parameters the operation does not have, when they are ignored (not strict).
        ignored: list[str] | None = None if self.strict else []
        headers: dict[bytes, bytes] = dict(scope["headers"])  # ASGI names are lower-case bytes
        version = DEFAULT_VERSION
        try:
            raw_version = headers.get(b"x-truex-version")
            if raw_version is not None:
                version = negotiate(raw_version.decode("latin-1"))
            if self.gate is not None:  # step 0: injected faults and rate limits
                gated = await self.gate((op.operation_id, bound.canonical), scope, send)
                if gated is None:  # the connection was dropped: no answer
                    return
                send = gated
            encoded = await self._answer(bound, version, marks, scope, headers, receive, ignored)
        except ApiError as error:
            problem = error
        except EngineError as error:
            retry = {"retry-after": str(error.retry_after)} if error.retry_after is not None else None
            problem = ApiError(error.status, error.detail, title=error.title, headers=retry)
        except Exception:
            logger.exception("request %s: %s %s failed", request_id, op.method, op.path)
            problem = ApiError(500, f"an unexpected error occurred; request id {request_id}")
        else:
            await self.send(
                send,
                200,
                encoded,
                version=version,
                request_id=request_id,
                marks=marks,
                extra=_ignored_warning(request_id, op, ignored),
            )
            return
        await self.send_problem(
            send,
            problem,
            scope=scope,
            version=version,
            request_id=request_id,
            marks=marks,
            extra=_ignored_warning(request_id, op, ignored),
        )

    async def _answer(
        self,
        bound: _Bound,
        version: str,
        marks: _Marks,
        scope: Scope,
        headers: Mapping[bytes, bytes],
        receive: Receive,
        ignored: list[str] | None,
    ) -> bytes:
        """Steps 3 to 6 once the version is known: the encoded payload of a 200, or an exception."""
        op = bound.operation
        if bound.legacy and self.legacy == "gone":
            raise ApiError(
                410,
                f"the {LEGACY_BASE} prefix was removed on {V2024_SUNSET.isoformat()}; use {marks.successor}",
                title="Gone",
            )
        body = await _read_body(receive)
        principal: Principal | None = None
        if not op.public:
            if len(headers) != len(scope["headers"]):  # a name sent twice: the dict kept only the last copy
                refuse_repeated_auth_headers(scope["headers"])
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
            document = validator.body(None if content_type is None else content_type.decode("latin-1"), body)
        call = Call(self.exchange, version, query, path, document, principal, self.clock())
        result = bound.handler(call) if bound.inline else await run_in_threadpool(bound.handler, call)
        # Encoded here, inside the caller's try: a payload that cannot be encoded is a 500 like any crash.
        return _dumps(self._render(bound, version, result, query, principal))

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
    """The ASGI endpoint of one spec path: picks the operation by method.

    Its route lists the methods, so Starlette answers the others 405 before calling it; only ``HEAD`` (which
    Starlette adds to a route that takes ``GET``) gets here without an operation, and is refused the same way.
    """

    def __init__(self, core: _Core, by_method: Mapping[str, _Bound]) -> None:
        self.core = core
        self.by_method = dict(by_method)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        bound = self.by_method.get(scope["method"])
        if bound is None:
            raise HTTPException(405)  # rendered by _RoutingProblems.method_not_allowed
        await self.core.serve(bound, scope, receive, send)


class _SpecEndpoint:
    """``GET /v1/cefi/openapi.json`` (and under ``/api/v1``): the spec the app was built from."""

    def __init__(self, core: _Core, body: bytes) -> None:
        self.core = core
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", _JSON),
            (b"content-length", str(len(self.body)).encode("ascii")),
            (b"x-request-id", self.core.request_id().encode("ascii")),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else self.body})


class _RoutingProblems:
    """Starlette's own 404 and 405 (the ``HTTPException`` its router raises) as the pipeline's problems."""

    def __init__(self, core: _Core) -> None:
        self.core = core

    async def not_found(self, request: Request, exc: Exception) -> Response:
        scope = request.scope
        return self.core.problem_response(
            ApiError(404, f"no operation at {scope['method']} {scope['path']}"), scope
        )

    async def method_not_allowed(self, request: Request, exc: Exception) -> Response:
        """405 naming every method the path takes: Starlette's own ``Allow`` names only the first route's.

        ``DELETE /orders/active`` reaches ``/orders/{ref_id}`` (Starlette's rule), so ``PUT /orders/active``
        allows ``DELETE, GET``. ``HEAD`` is not listed: API paths do not serve it.
        """
        scope = request.scope
        top = {
            **scope,
            "root_path": scope.get("app_root_path", scope.get("root_path", "")),
            "path_params": {},
        }
        allow = ", ".join(sorted(_methods_at(request.app.routes, top) - {"HEAD"}))
        message = f"{scope['method']} is not allowed on {scope['path']}; allowed: {allow}"
        return self.core.problem_response(ApiError(405, message, headers={"allow": allow}), scope)


def _methods_at(routes: Iterable[BaseRoute], scope: Scope) -> set[str]:
    """The methods of every route whose path matches ``scope``'s."""
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods and route.matches(scope)[0] is not Match.NONE:
            methods |= route.methods
    return methods


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
    ws_coalesce: float = 1.0,
    gate: GateStep | None = None,
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
    way. ``gate``: the misbehaviour step (:class:`~truex_sandbox.faults.Gate`: fault plan, rate limits),
    none by default.

    ``ws_coalesce``: seconds between publications of no-auth WebSocket subscriptions (0: real time); the
    WebSocket API is served at ``/api/v1`` and ``/`` (:mod:`truex_sandbox.ws_server`); a plain ``GET /`` is
    the sandbox's web page (:mod:`truex_sandbox.web_ui`).

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
    core = _Core(exchange, verifier, CursorCodec(cursor_key), clock, legacy, strict, gate)
    bound = _bind_paths(operations, bindings, RequestValidator(spec, operations), exchange.journaling)
    spec_endpoint = _SpecEndpoint(core, _spec_bytes(spec))
    spec_routes = [
        Route(base + "/openapi.json", endpoint=spec_endpoint, methods=["GET"], name=f"openapi{base}")
        for base in bound
    ]
    api_routes = [
        Route(base + path, endpoint=_PathEndpoint(core, methods), methods=sorted(methods), name=base + path)
        for base, paths in bound.items()
        for path, methods in paths.items()
    ]
    # Starlette tries routes in order: static paths first (``/orders/active`` before ``/orders/{ref_id}``),
    # the current base's before the legacy one's (a stable sort keeps the spec's order otherwise).
    routes: list[BaseRoute] = [
        *sorted([*api_routes, *spec_routes], key=lambda route: bool(route.param_convertors)),
        *auth_api_routes(AuthApi(exchange.seed.jwt_keys, issuer, clock)),
    ]
    stream = StreamServer(exchange, clock=clock, coalesce=ws_coalesce)
    routes += [WebSocketRoute(path, stream.endpoint, name=f"ws{path}") for path in WS_PATHS]
    # The page at GET / (a WebSocket upgrade on / still reaches the stream: routes match by scope type).
    routes += web_routes(exchange, ws_coalesce=ws_coalesce)
    problems = _RoutingProblems(core)
    app = Starlette(
        routes=routes,
        exception_handlers={
            404: problems.not_found,
            405: problems.method_not_allowed,
            Exception: _last_resort,
        },
    )
    app.router.redirect_slashes = False  # a trailing slash too many or too few: a 404, not a redirect
    app.state.exchange = exchange
    app.state.clock = clock
    app.state.operations = operations
    app.state.token_issuer = issuer
    app.state.stream = stream
    app.state.gate = gate
    return app


def _bind_paths(
    operations: Mapping[str, Operation],
    bindings: Mapping[str, tuple[str, Handler]],
    validators: RequestValidator,
    journaling: bool,
) -> dict[str, dict[str, dict[str, _Bound]]]:
    """base → path under it → method → the operation bound; the current base first, then the legacy one."""
    by_base: dict[str, dict[str, dict[str, _Bound]]] = {CURRENT_BASE: {}, LEGACY_BASE: {}}
    for op_id, op in operations.items():
        canonical, handler = bindings[op_id]
        size = next((p for p in op.parameters if p.location == "query" and p.name == "size"), None)
        for base in op.bases:
            by_base.setdefault(base, {}).setdefault(op.path, {})[op.method] = _Bound(
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
                inline=canonical in ENGINE_FREE or not journaling,
            )
    return by_base


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
