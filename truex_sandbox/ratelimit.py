"""Rate limits as the exchange most likely applies them: token buckets per API key and class of operation.

TrueX publishes no numbers, so limits are off unless asked for (``truex-sandbox --rate-limits PROFILE|FILE``,
or ``rate_limits=`` in :mod:`truex_sandbox.testing`). A request over its limit is answered 429 with a
problem and ``Retry-After`` (whole seconds until a token is back), and changes nothing.

Buckets are kept per API key (``x-truex-auth-token``; per client address for public calls), per class. A
class is ``rate`` requests per second with bursts of ``burst``; the bucket refills on the sandbox's clock, so
a test with a frozen clock advances it instead of sleeping.

Profiles (requests per second / burst):

=============  ============  ============  ==========
profile        ``public``    ``trading``   ``account``
=============  ============  ============  ==========
``default``    20 / 40       10 / 20       5 / 10
``strict``     2 / 2         1 / 2         1 / 2
=============  ============  ============  ==========

``public``: the unauthenticated market and reference data (health, versions, assets, instruments, quotes,
trades); ``trading``: creating, modifying and cancelling orders; ``account``: everything else signed (lists of
orders, trades, balances, transfers, clients; creating transfers). A file (JSON or YAML) gives the classes
itself, each with the operations it covers (any operation not listed falls in the class named ``default``,
if there is one, else is not limited)::

    classes:
      trading: {rate: 5, burst: 5, operations: [create_order, modify_order, cancel_order]}
      default: {rate: 50, burst: 100}
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = ["PROFILES", "RateClass", "RateLimitError", "RateLimiter", "load_rate_limits"]

_PUBLIC: Final = (
    "get_health",
    "list_versions",
    "list_assets",
    "list_instruments",
    "list_market_quotes",
    "get_vwap_quote_deprecated",
    "compute_market_quote",
    "list_market_trades",
)
_TRADING: Final = ("create_order", "modify_order", "cancel_order")


class RateLimitError(ValueError):
    """A rate-limit profile name or file that cannot be used."""


@dataclass(frozen=True, slots=True)
class RateClass:
    name: str
    rate: float  # tokens per second
    burst: float  # bucket size
    operations: frozenset[str] | None  # None: every operation no other class names


PROFILES: Final[Mapping[str, tuple[RateClass, ...]]] = {
    "off": (),
    "default": (
        RateClass("public", 20, 40, frozenset(_PUBLIC)),
        RateClass("trading", 10, 20, frozenset(_TRADING)),
        RateClass("account", 5, 10, None),
    ),
    "strict": (
        RateClass("public", 2, 2, frozenset(_PUBLIC)),
        RateClass("trading", 1, 2, frozenset(_TRADING)),
        RateClass("account", 1, 2, None),
    ),
}


class RateLimiter:
    """Token buckets (see the module docstring); thread-safe. ``clock``: Unix seconds."""

    def __init__(self, classes: Sequence[RateClass], clock: Callable[[], float]) -> None:
        self.classes = tuple(classes)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (class, key) -> (tokens, at)

    def class_of(self, operations: Sequence[str]) -> RateClass | None:
        fallback = None
        for cls in self.classes:
            if cls.operations is None:
                fallback = fallback or cls
            elif any(op in cls.operations for op in operations):
                return cls
        return fallback

    def take(self, operations: Sequence[str], key: str) -> float | None:
        """Spend a token: None when allowed, else the seconds until one is back (nothing spent)."""
        cls = self.class_of(operations)
        if cls is None:
            return None
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get((cls.name, key), (cls.burst, now))
            tokens = min(cls.burst, tokens + max(0.0, now - at) * cls.rate)
            if tokens >= 1:
                self._buckets[(cls.name, key)] = (tokens - 1, now)
                return None
            self._buckets[(cls.name, key)] = (tokens, now)
            return (1 - tokens) / cls.rate if cls.rate > 0 else 3600.0

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


def rate_classes(spec: str | Path | Mapping[str, Any]) -> tuple[RateClass, ...]:
    """The classes of a profile name, a file path or decoded file contents; :class:`RateLimitError` if bad."""
    if isinstance(spec, str) and spec in PROFILES:
        return PROFILES[spec]
    if isinstance(spec, Mapping):
        return _classes(spec, "rate limits")
    path = Path(spec)
    if not path.is_file():
        raise RateLimitError(
            f"rate limits {str(spec)!r}: neither a profile ({', '.join(PROFILES)}) nor a readable file"
        )
    return load_rate_limits(path)


def load_rate_limits(path: str | Path) -> tuple[RateClass, ...]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:
        raise RateLimitError(f"{path}: does not parse ({str(exc).splitlines()[0]})") from None
    return _classes(data, str(path))


def _classes(data: Any, source: str) -> tuple[RateClass, ...]:
    from .spec import operations

    known = operations()
    if (
        not isinstance(data, Mapping)
        or not isinstance(data.get("classes"), Mapping)
        or set(data) != {"classes"}
    ):
        raise RateLimitError(f"{source}: expected {{'classes': {{NAME: {{rate, burst, operations}}}}}}")
    classes = []
    for name, raw in data["classes"].items():
        where = f"{source}: class {name}"
        if not isinstance(raw, Mapping) or not set(raw) <= {"rate", "burst", "operations"}:
            raise RateLimitError(f"{where}: expected {{rate, burst, operations}}")
        try:
            rate = float(raw["rate"])
            burst = float(raw.get("burst", max(rate, 1.0)))
        except (KeyError, TypeError, ValueError):
            raise RateLimitError(f"{where}: rate (and burst) must be numbers") from None
        if not (rate >= 0 and burst >= 1):
            raise RateLimitError(f"{where}: rate must be >= 0 and burst >= 1")
        ops = raw.get("operations")
        if ops is not None:
            if not isinstance(ops, list) or not all(isinstance(o, str) for o in ops):
                raise RateLimitError(f"{where}: operations must be a list of operationIds")
            unknown = [o for o in ops if o not in known]
            if unknown:
                raise RateLimitError(f"{where}: unknown operation(s) {', '.join(unknown)}")
        elif name != "default":
            raise RateLimitError(f"{where}: operations is required (only 'default' covers the rest)")
        classes.append(RateClass(str(name), rate, burst, frozenset(ops) if ops is not None else None))
    return tuple(classes)
