"""A controllable clock for the sandbox: real time by default, frozen and advanced by a test on request.

One :class:`SandboxClock` drives everything time-dependent in a sandbox built by
:mod:`truex_sandbox.testing`: the engine (transfers settling, 24 h windows), the HMAC timestamp window, the
health timestamp, token expiry and the rate limiter's buckets. A test moves it instead of sleeping::

    clock.freeze()            # time stands still (at the current reading unless ``at=`` says otherwise)
    clock.advance(3600)       # one hour later, at once
    clock.resume()            # flows again from where it stands

:meth:`sleep` advances the clock instead of waiting, so a client given ``sleep=clock.sleep`` (as the pytest
plugin's clients are) backs off in no real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["SandboxClock"]


class SandboxClock:
    """Unix time that a test can freeze, set and advance; thread-safe; never goes backwards by itself.

    ``time()`` is Unix seconds (float), ``time_ns()`` Unix nanoseconds (the engine's clock). ``base`` is the
    real clock it follows while running (default :func:`time.time_ns`).
    """

    def __init__(self, *, frozen_at: float | None = None, base: Callable[[], int] = time.time_ns) -> None:
        self._base = base
        self._lock = threading.Lock()
        self._offset_ns = 0
        self._frozen_ns: int | None = None
        if frozen_at is not None:
            self._frozen_ns = _ns(frozen_at)

    # ------------------------------------------------------------------------------------ reading
    def time_ns(self) -> int:
        frozen = self._frozen_ns
        return frozen if frozen is not None else self._base() + self._offset_ns

    def time(self) -> float:
        return self.time_ns() / 1e9

    __call__ = time

    @property
    def frozen(self) -> bool:
        return self._frozen_ns is not None

    # ----------------------------------------------------------------------------------- steering
    def freeze(self, at: float | None = None) -> None:
        """Stop the clock, at ``at`` (Unix seconds) or at its current reading."""
        with self._lock:
            self._frozen_ns = self.time_ns() if at is None else _ns(at)

    def resume(self) -> None:
        """Let the clock run again from where it stands."""
        with self._lock:
            if self._frozen_ns is not None:
                self._offset_ns = self._frozen_ns - self._base()
                self._frozen_ns = None

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (frozen or not); a negative amount is refused."""
        if not seconds >= 0:
            raise ValueError(f"advance({seconds!r}): the sandbox's clock only moves forward")
        step = _ns(seconds)
        with self._lock:
            if self._frozen_ns is not None:
                self._frozen_ns += step
            else:
                self._offset_ns += step

    def set(self, at: float) -> None:
        """Jump to ``at`` (Unix seconds), keeping the clock frozen or running as it is.

        Going backwards is allowed here (a test of a client's clock checks may want it), but the engine
        treats a clock going backwards as standing still.
        """
        with self._lock:
            if self._frozen_ns is not None:
                self._frozen_ns = _ns(at)
            else:
                self._offset_ns = _ns(at) - self._base()

    def sleep(self, seconds: float) -> None:
        """Advance instead of waiting: what a client's back-off should call against the sandbox."""
        if seconds > 0:
            self.advance(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def _ns(seconds: float) -> int:
    return round(seconds * 1_000_000_000)
