"""A list of fault rules that tests script from one thread while a served sandbox reads it in another."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Generic, TypeVar

__all__ = ["RuleBook"]

R = TypeVar("R")


class RuleBook(Generic[R]):
    """Rules added, listed and cleared under one lock (the REST fault plan and the stream one share it)."""

    def __init__(self, rules: Iterable[R] = ()) -> None:
        self._rules: list[R] = list(rules)
        self._lock = threading.Lock()

    def _append(self, rule: R) -> R:
        with self._lock:
            self._rules.append(rule)
        return rule

    def extend(self, rules: Iterable[R]) -> None:
        with self._lock:
            self._rules.extend(rules)

    def clear(self) -> None:
        """Remove every rule (what already fired stays recorded)."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[R]:
        with self._lock:
            return list(self._rules)
