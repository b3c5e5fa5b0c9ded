"""Fault injection and recording for the WebSocket API: make streams misbehave on purpose.

A :class:`StreamFaultPlan` (``app.state.stream.faults``, ``Sandbox.stream_faults``, or the ``stream`` section
of a ``--faults`` file) holds :class:`StreamFault` rules; each fires on the next frame / connection / request it
matches, ``times`` times (default 1). What a rule does:

==================  ========================================================================================
``skip``            the next data frame's ``seqnum`` jumps ``count`` numbers (default 1): a gap
``duplicate``       the next data frame is sent twice (same ``seqnum``)
``reorder``         the next data frame is held back and sent after the one that follows it (alone after
                    0.2 s when none follows)
``stall``           the connection goes silent for ``seconds`` (default 30) without closing: nothing is sent and,
                    served by ``truex-sandbox`` / ``serve_in_thread``, nothing is read either, so pings
                    go unanswered (a half-open link); then it carries on
``close``           the connection is closed with ``code`` (default 1011, abnormal) and ``reason``
``drop``            the TCP connection is aborted, no close frame (the client sees 1006)
``close-clean``     the connection is closed with 1000
``refuse``          the next handshake is refused: HTTP 503 with ``Retry-After`` (``retry_after``, default 1)
``deny-auth``       the next SUBSCRIBE / UNSUBSCRIBE is answered ``UNAUTHORIZED`` (nothing changes)
``delay-snapshot``  the next SNAPSHOT is sent ``seconds`` late (default 1)
``unknown-field``   the next data frame's ``data`` carries an extra ``field`` (default ``x_sandbox``) = ``value``
``unknown-enum``    the next data frame's ``field`` (default ``status``) is set to ``value`` (default
                    ``"X_SANDBOX"``), a value the spec does not list
==================  ========================================================================================

``channel`` restricts a frame rule to one channel (DEPTH, EBBO, ...). In a fault file::

    faults: [...]          # the REST rules (truex_sandbox.faults)
    stream:
      - {fault: skip, channel: DEPTH, count: 2}
      - {fault: refuse, retry_after: 1, times: 3}

A :class:`Recording` keeps every frame the server sends (``{"t": unix seconds, "conn": n, "frame": {...}}``),
in memory and, with a path, as JSON lines (``truex-sandbox --record FILE``).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from .rulebook import RuleBook

__all__ = [
    "STREAM_FAULT_KINDS",
    "Recording",
    "StreamFault",
    "StreamFaultPlan",
    "StreamFaultRecord",
    "parse_stream_faults",
]

#: Every kind a stream rule's ``fault`` may name.
STREAM_FAULT_KINDS: Final = (
    "skip",
    "duplicate",
    "reorder",
    "stall",
    "close",
    "close-clean",
    "drop",
    "refuse",
    "deny-auth",
    "delay-snapshot",
    "unknown-field",
    "unknown-enum",
)
_KEYS: Final = frozenset(
    {"fault", "channel", "times", "count", "code", "reason", "retry_after", "seconds", "field", "value"}
)


class StreamFaultError(ValueError):
    """A stream fault rule that does not parse."""


@dataclass(frozen=True, slots=True)
class StreamFaultRecord:
    """One stream fault that fired."""

    fault: str
    channel: str | None
    at: float


@dataclass(slots=True)
class StreamFault:
    """One stream rule (see the module docstring)."""

    fault: str
    channel: str | None = None
    times: int = 1
    count: int = 1
    code: int | None = None
    reason: str = "injected fault (truex-sandbox stream fault plan)"
    retry_after: float = 1.0
    seconds: float | None = None
    field: str | None = None
    value: Any = None
    remaining: int = dataclasses.field(default=0, init=False)

    def __post_init__(self) -> None:
        self.fault = str(self.fault).lower()
        if self.fault not in STREAM_FAULT_KINDS:
            raise StreamFaultError(f"stream fault {self.fault!r}: not one of {', '.join(STREAM_FAULT_KINDS)}")
        for name in ("times", "count"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise StreamFaultError(f"stream fault {self.fault}: {name} must be a whole number >= 1")
        if self.seconds is None:
            self.seconds = 30.0 if self.fault == "stall" else 1.0
        for name in ("retry_after", "seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise StreamFaultError(f"stream fault {self.fault}: {name} must be a number >= 0")
        if self.code is None:
            self.code = 1000 if self.fault == "close-clean" else 1011
        if self.field is None:
            self.field = "status" if self.fault == "unknown-enum" else "x_sandbox"
        if self.value is None:
            self.value = "X_SANDBOX" if self.fault == "unknown-enum" else "injected"
        self.remaining = self.times


def parse_stream_faults(data: Any, *, source: str = "stream") -> list[StreamFault]:
    """Stream rules from decoded JSON/YAML (a list of mappings); :class:`StreamFaultError` when bad."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise StreamFaultError(f"{source}: expected a list of stream fault rules")
    rules: list[StreamFault] = []
    for i, raw in enumerate(data):
        where = f"{source}[{i}]"
        if not isinstance(raw, Mapping) or "fault" not in raw:
            raise StreamFaultError(f"{where}: a rule is a mapping with 'fault'")
        unknown = set(raw) - _KEYS
        if unknown:
            raise StreamFaultError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        try:
            rules.append(StreamFault(**{str(k): v for k, v in raw.items()}))
        except (StreamFaultError, TypeError) as exc:
            raise StreamFaultError(f"{where}: {exc}") from None
    return rules


class StreamFaultPlan(RuleBook[StreamFault]):
    """The stream rules in force and what fired; thread-safe (tests script it from another thread)."""

    def __init__(self, rules: Iterable[StreamFault] = (), *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(rules)
        self._clock = clock
        self.seen: list[StreamFaultRecord] = []

    def add(self, fault: str, **options: Any) -> StreamFault:
        """Add a rule, e.g. ``add("skip", channel="DEPTH", count=3)``, and return it."""
        (rule,) = parse_stream_faults([{"fault": fault, **options}], source="stream fault")
        return self._append(rule)

    def fired(self, fault: str | None = None) -> list[StreamFaultRecord]:
        with self._lock:
            return [r for r in self.seen if fault is None or r.fault == fault]

    def take(self, kinds: Iterable[str], channel: str | None = None) -> StreamFault | None:
        """The first live rule of one of ``kinds`` matching ``channel`` (its use counted), or None."""
        if not self._rules:
            return None
        wanted = set(kinds)
        with self._lock:
            for rule in self._rules:
                if rule.remaining <= 0 or rule.fault not in wanted:
                    continue
                if rule.channel is not None and rule.channel != channel:
                    continue
                rule.remaining -= 1
                self.seen.append(StreamFaultRecord(rule.fault, channel, self._clock()))
                return rule
        return None


class Recording:
    """Every frame sent, in memory (:attr:`frames`) and optionally appended to a JSON-lines file."""

    def __init__(self, path: str | Path | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.frames: list[dict[str, Any]] = []
        self._clock = clock
        self._lock = threading.Lock()
        self._file: IO[str] | None = open(path, "a", encoding="utf-8") if path is not None else None  # noqa: SIM115

    def record(self, conn: int, frame: Mapping[str, Any]) -> None:
        line = {"t": self._clock(), "conn": conn, "frame": frame}
        with self._lock:
            self.frames.append(line)
            if self._file is not None:
                self._file.write(json.dumps(line) + "\n")
                self._file.flush()

    def connection(self, conn: int) -> list[dict[str, Any]]:
        """The frames of one connection, in the order sent."""
        with self._lock:
            return [line["frame"] for line in self.frames if line["conn"] == conn]

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    @staticmethod
    def load(path: str | Path) -> list[dict[str, Any]]:
        """The lines of a recording file."""
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
