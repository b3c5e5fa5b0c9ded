"""Reconnect delays: capped exponential backoff with jitter, reset after a healthy connection."""

from __future__ import annotations

import random

import attrs

__all__ = ["Backoff"]


@attrs.frozen
class Backoff:
    """``initial * multiplier**attempt`` capped at ``maximum``, then scaled by a random factor in
    ``[1 - jitter, 1]`` (so many clients do not reconnect in step). A connection that stayed up for
    ``healthy_after`` seconds resets the attempt count."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5
    healthy_after: float = 30.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay before reconnect attempt ``attempt`` (0 = the first reconnect)."""
        base = min(self.maximum, self.initial * self.multiplier ** min(attempt, 64))
        factor = 1.0 - self.jitter * (rng or random).random()
        return max(0.0, base * factor)
