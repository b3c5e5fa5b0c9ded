"""Fault injection: make the sandbox misbehave on purpose, so a bot's retry, back-off and recovery run.

A :class:`FaultPlan` holds :class:`Fault` rules; each API request (after routing and the version header,
before auth and everything else of the pipeline, see :mod:`truex_sandbox.app`) is matched against them in
order, and the first rule that matches and still has uses fires. What a fault does:

=================  ==========================================================================================
``429``            a 429 problem with ``Retry-After`` (``retry_after``, default 1 s); nothing is applied
``408`` ``500``    that status as a problem; nothing is applied (a real 500 may have applied the request:
``502`` ``503``    use ``drop-after`` to test that case). ``503`` carries ``Retry-After`` too
``slow``           the answer comes ``seconds`` late (real time: it is what a client's timeout sees)
``drop-before``    the connection is closed before the request is read: nothing is applied
``drop-after``     the request is applied, then the connection is closed instead of answering (the case that
                   makes duplicate orders when a client retries without an idempotency key)
``degraded``       ``GET /health`` answers ``"status": "degraded"`` (match it with ``operation: get_health``)
=================  ==========================================================================================

Matching (every field optional, all given must match): ``operation`` (an operationId; a deprecated twin
matches its replacement's name too), ``method``, ``path`` (a glob on the request path, e.g.
``/v1/cefi/orders*``), ``client`` (a client id or mnemonic, as sent in ``x-truex-auth-userid``; the Auth API and the served spec
are not API operations and never fault). How often:
``times`` (the next N matching requests; default 1) or ``share`` (that fraction of matching requests, drawn
from a seeded generator so runs repeat; unlimited unless ``times`` caps it).

A fault file (``truex-sandbox --faults FILE``) is JSON or YAML: a list of rules, or ``{"faults": [...]}``::

    faults:
      - {fault: 429, operation: create_order, times: 2, retry_after: 1}
      - {fault: drop-after, operation: create_order}
      - {fault: 503, share: 0.1}
      - {fault: degraded, operation: get_health, times: 5}
    stream:                       # WebSocket faults, see truex_sandbox.ws_faults
      - {fault: skip, channel: DEPTH, count: 2}

Every fault that fires is recorded (:attr:`FaultPlan.seen`), so a test can assert what its bot saw.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from starlette.types import Message, Scope, Send

from .connections import drop_connection
from .problems import ApiError
from .rulebook import RuleBook

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "FaultError",
    "FaultPlan",
    "FaultRecord",
    "Gate",
    "load_faults",
    "load_stream_faults",
    "parse_faults",
]

_STATUSES: Final = {"408": 408, "429": 429, "500": 500, "502": 502, "503": 503}
#: Every kind a rule's ``fault`` may name.
FAULT_KINDS: Final = (*_STATUSES, "slow", "drop-before", "drop-after", "degraded")
_KEYS: Final = frozenset(
    {"fault", "operation", "method", "path", "client", "times", "share", "retry_after", "seconds"}
)
_TITLES: Final = {
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class FaultError(ValueError):
    """A fault rule or file that does not parse, or names an unknown operation or fault."""


@dataclass(frozen=True, slots=True)
class FaultRecord:
    """One fault that fired: what it was and the request it hit."""

    fault: str
    operation: str
    method: str
    path: str
    client_id: str | None
    #: The sandbox's clock (Unix seconds) when it fired.
    at: float


@dataclass(slots=True)
class Fault:
    """One rule (see the module docstring). ``remaining`` counts down from ``times``; None = no limit."""

    fault: str
    operation: str | None = None
    method: str | None = None
    path: str | None = None
    client: str | None = None
    times: int | None = 1
    share: float | None = None
    retry_after: float = 1.0
    seconds: float = 1.0
    remaining: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.fault = str(self.fault).lower()
        if self.fault not in FAULT_KINDS:
            raise FaultError(f"fault {self.fault!r}: not one of {', '.join(FAULT_KINDS)}")
        if self.operation is not None:
            _check_operation(self.operation)
        if self.method is not None:
            self.method = self.method.upper()
        if self.times is not None and (isinstance(self.times, bool) or not isinstance(self.times, int)):
            raise FaultError(f"fault {self.fault}: times must be a whole number, got {self.times!r}")
        if self.times is not None and self.times < 1:
            raise FaultError(f"fault {self.fault}: times must be >= 1, got {self.times}")
        if self.share is not None and not 0 < self.share <= 1:
            raise FaultError(f"fault {self.fault}: share must be in (0, 1], got {self.share!r}")
        for name in ("retry_after", "seconds"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
                raise FaultError(f"fault {self.fault}: {name} must be a number >= 0, got {value!r}")
        self.remaining = self.times

    @property
    def spent(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


def _check_operation(name: str) -> None:
    from .spec import operations  # the spec's operations, cached

    known = operations()
    if name not in known:
        raise FaultError(
            f"operation {name!r}: not an operationId of the spec (e.g. create_order, get_health)"
        )


def parse_faults(data: Any, *, source: str = "faults") -> list[Fault]:
    """Rules from decoded JSON/YAML: a list of mappings, or ``{"faults": [...]}``; :class:`FaultError` if bad."""
    if isinstance(data, Mapping):
        unknown = set(data) - {"faults", "stream"}  # "stream": truex_sandbox.ws_faults
        if unknown:
            raise FaultError(f"{source}: unknown top-level key(s) {', '.join(sorted(map(str, unknown)))}")
        data = data.get("faults", [])
    if not isinstance(data, list):
        raise FaultError(f"{source}: expected a list of fault rules or {{'faults': [...]}}")
    rules: list[Fault] = []
    for i, raw in enumerate(data):
        where = f"{source}[{i}]"
        if not isinstance(raw, Mapping):
            raise FaultError(f"{where}: a rule is a mapping, got {type(raw).__name__}")
        unknown = set(raw) - _KEYS
        if unknown:
            raise FaultError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        if "fault" not in raw:
            raise FaultError(f"{where}: 'fault' is required (one of {', '.join(FAULT_KINDS)})")
        args = {k: v for k, v in raw.items() if k != "fault"}
        if "share" in args and "times" not in args:
            args["times"] = None
        try:
            rules.append(Fault(str(raw["fault"]), **args))
        except FaultError as exc:
            raise FaultError(f"{where}: {exc}") from None
        except TypeError as exc:
            raise FaultError(f"{where}: {exc}") from None
    return rules


def _read(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FaultError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        import yaml  # JSON is YAML too

        return yaml.safe_load(text)
    except Exception as exc:
        raise FaultError(f"{path}: does not parse ({str(exc).splitlines()[0]})") from None


def load_faults(path: str | Path) -> list[Fault]:
    """Rules from a JSON or YAML file; :class:`FaultError` (one line) when it cannot be read or parsed."""
    return parse_faults(_read(path), source=str(path))


def load_stream_faults(path: str | Path) -> list[Any]:
    """The ``stream`` section of a fault file (:class:`~truex_sandbox.ws_faults.StreamFault` rules)."""
    from .ws_faults import StreamFaultError, parse_stream_faults

    data = _read(path)
    if not isinstance(data, Mapping):
        return []
    try:
        return parse_stream_faults(data.get("stream"), source=f"{path}: stream")
    except StreamFaultError as exc:
        raise FaultError(str(exc)) from None


class FaultPlan(RuleBook[Fault]):
    """The rules in force and the record of what fired; thread-safe (served sandboxes run in a thread)."""

    def __init__(
        self,
        rules: Iterable[Fault] = (),
        *,
        clock: Callable[[], float] | None = None,
        seed: int = 0,
        clients: Mapping[str, str] | None = None,
    ) -> None:
        import time

        super().__init__(rules)
        self._clock = clock or time.time
        self._random = random.Random(seed)
        #: mnemonic → client id, so a rule may name a client either way.
        self._clients = dict(clients or {})
        self.seen: list[FaultRecord] = []

    # ---------------------------------------------------------------------------------- scripting
    def name_clients(self, clients: Mapping[str, str]) -> None:
        """Let rules name clients by mnemonic too (mnemonic → client id)."""
        with self._lock:
            self._clients.update(clients)

    def add(self, fault: str | int, **match: Any) -> Fault:
        """Add a rule (keywords as in a fault file) and return it; e.g. ``add(429, operation="create_order")``."""
        (rule,) = parse_faults([{"fault": str(fault), **match}], source="fault")
        return self._append(rule)

    def fired(self, fault: str | int | None = None, operation: str | None = None) -> list[FaultRecord]:
        """The records, optionally only of one fault kind and/or operation."""
        with self._lock:
            return [
                r
                for r in self.seen
                if (fault is None or r.fault == str(fault))
                and (operation is None or r.operation == operation)
            ]

    # ---------------------------------------------------------------------------------- matching
    def take(self, operations: Sequence[str], method: str, path: str, client_id: str | None) -> Fault | None:
        """The rule that fires for this request (its use counted and recorded), or None."""
        with self._lock:
            for rule in self._rules:
                if rule.spent or not self._matches(rule, operations, method, path, client_id):
                    continue
                if rule.share is not None and self._random.random() >= rule.share:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                self.seen.append(
                    FaultRecord(rule.fault, operations[0], method, path, client_id, self._clock())
                )
                return rule
        return None

    def _matches(
        self, rule: Fault, operations: Sequence[str], method: str, path: str, client: str | None
    ) -> bool:
        if rule.operation is not None and rule.operation not in operations:
            return False
        if rule.method is not None and rule.method != method:
            return False
        if rule.path is not None and not fnmatch.fnmatchcase(path, rule.path):
            return False
        if rule.client is not None:
            wanted = self._clients.get(rule.client, rule.client)
            if client != wanted:
                return False
        return True


#: What the pipeline's first step returns: the ``send`` to answer with, or None when the connection was
#: dropped (nothing more to do). It raises :class:`~truex_sandbox.problems.ApiError` for a problem answer.
GateStep = Callable[[Sequence[str], Scope, Send], Awaitable[Send | None]]


class Gate:
    """The pipeline's misbehaviour step: the fault plan first, then the rate limiter (if any).

    Called by :meth:`truex_sandbox.app._Core.serve` with the request's operationIds (its own first, then the
    one whose handler it shares), its scope and ``send``.
    """

    def __init__(self, faults: FaultPlan | None = None, limiter: Any | None = None) -> None:
        self.faults = faults
        self.limiter = limiter

    async def __call__(self, operations: Sequence[str], scope: Scope, send: Send) -> Send | None:
        method: str = scope["method"]
        path: str = scope["path"]
        client_id = _header(scope, b"x-truex-auth-userid")
        if self.faults is not None:
            rule = self.faults.take(operations, method, path, client_id)
            if rule is not None:
                return await _fire(rule, scope, send)
        if self.limiter is not None:
            key = _header(scope, b"x-truex-auth-token") or _peer(scope)
            wait = self.limiter.take(operations, key)
            if wait is not None:
                retry = str(max(1, int(-(-wait // 1))))  # whole seconds, rounded up
                raise ApiError(
                    429,
                    f"rate limit exceeded for this API key; retry after {retry} s",
                    title="Too Many Requests",
                    headers={"retry-after": retry},
                )
        return send


async def _fire(rule: Fault, scope: Scope, send: Send) -> Send | None:
    status = _STATUSES.get(rule.fault)
    if status is not None:
        headers = {"retry-after": _seconds(rule.retry_after)} if status in (429, 503) else {}
        raise ApiError(
            status,
            f"injected fault: {status} {_TITLES[status]} (truex-sandbox fault plan)",
            title=_TITLES[status],
            headers=headers,
        )
    if rule.fault == "slow":
        await asyncio.sleep(rule.seconds)
        return send
    if rule.fault == "drop-before":
        await drop_connection(scope, send)
        return None
    if rule.fault == "drop-after":
        return _dropping_send(scope, send)
    return _degrading_send(send)  # "degraded"


def _dropping_send(scope: Scope, send: Send) -> Send:
    """A ``send`` that drops the connection instead of starting the answer."""
    dropped = False

    async def dropping(message: Message) -> None:
        nonlocal dropped
        if not dropped:
            dropped = True
            await drop_connection(scope, send)

    return dropping


def _degrading_send(send: Send) -> Send:
    """A ``send`` that turns a healthy health answer into a degraded one."""
    start: Message | None = None

    async def degrading(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        body: bytes = message.get("body", b"").replace(b'"status":"healthy"', b'"status":"degraded"')
        assert start is not None
        headers = [(k, str(len(body)).encode() if k == b"content-length" else v) for k, v in start["headers"]]
        await send({**start, "headers": headers})
        await send({**message, "body": body})

    return degrading


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:?"
