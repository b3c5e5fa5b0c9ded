"""Persistence for the exchange: a journal of mutating commands, replayed deterministically on start.

Why a journal and not write-through tables: the engine is deterministic given its seed, its id counter start
and the timestamp of every call, so recording *what was asked and when* is enough to rebuild every order,
balance, trade, transfer, idempotency record and the id counter exactly — with one code path (the live one)
instead of a second serialisation of every structure that could drift from it. Each record is
``(seq, ts, op, args-json)``: ``op`` names an engine command (``create_order``, ``modify_order``,
``cancel_order``, ``update_client``, ``create_transfer``) or ``advance`` (the lazy lifecycle step — transfer
settlement, house re-quoting — when it changed something). Commands that failed with an engine error changed
nothing and are not recorded; reads are not recorded. The ``meta`` table holds the resolved seed and engine
configuration the database was created with; on reopen those win over what the caller passes.

Stores:

* :class:`NullStore` — the default: nothing is serialised or written (``journaling`` is False, and the
  engine skips building records at all).
* :class:`MemoryJournal` — keeps the records in a list; a second ``Exchange`` built on the same instance
  replays them (handy for tests of replay determinism).
* :class:`SqliteStore` — a SQLite file (WAL mode, ``synchronous=NORMAL``, one autocommitted INSERT per
  command). Replay cost grows with the journal; there is no compaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = ["MemoryJournal", "NullStore", "Record", "SqliteStore", "Store", "open_store"]


@dataclass(frozen=True, slots=True)
class Record:
    seq: int
    ts: int
    op: str
    args: dict[str, Any]


class Store(Protocol):
    @property
    def journaling(self) -> bool: ...

    def load_meta(self) -> dict[str, Any] | None: ...

    def save_meta(self, meta: dict[str, Any]) -> None: ...

    def records(self) -> Iterator[Record]: ...

    def append(self, ts: int, op: str, args_json: str) -> None: ...

    def close(self) -> None: ...


class NullStore:
    """No persistence at all."""

    @property
    def journaling(self) -> bool:
        return False

    def load_meta(self) -> dict[str, Any] | None:
        return None

    def save_meta(self, meta: dict[str, Any]) -> None:
        pass

    def records(self) -> Iterator[Record]:
        return iter(())

    def append(self, ts: int, op: str, args_json: str) -> None:
        pass

    def close(self) -> None:
        pass


class MemoryJournal:
    """Journal kept in memory; reusable by a later ``Exchange`` to replay it."""

    def __init__(self) -> None:
        self.meta: str | None = None
        self.entries: list[tuple[int, str, str]] = []

    @property
    def journaling(self) -> bool:
        return True

    def load_meta(self) -> dict[str, Any] | None:
        return None if self.meta is None else dict(json.loads(self.meta))

    def save_meta(self, meta: dict[str, Any]) -> None:
        self.meta = json.dumps(meta, sort_keys=True)

    def records(self) -> Iterator[Record]:
        for seq, (ts, op, args) in enumerate(list(self.entries), start=1):
            yield Record(seq, ts, op, json.loads(args))

    def append(self, ts: int, op: str, args_json: str) -> None:
        self.entries.append((ts, op, args_json))

    def close(self) -> None:
        pass


class SqliteStore:
    """Journal in a SQLite database file."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS journal ("
            "seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, op TEXT NOT NULL, args TEXT NOT NULL)"
        )

    @property
    def journaling(self) -> bool:
        return True

    def load_meta(self) -> dict[str, Any] | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save_meta(self, meta: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('config', ?)",
            (json.dumps(meta, sort_keys=True),),
        )

    def records(self) -> Iterator[Record]:
        cursor = self._db.execute("SELECT seq, ts, op, args FROM journal ORDER BY seq")
        for seq, ts, op, args in cursor:
            yield Record(int(seq), int(ts), str(op), json.loads(args))

    def append(self, ts: int, op: str, args_json: str) -> None:
        self._db.execute("INSERT INTO journal (ts, op, args) VALUES (?, ?, ?)", (ts, op, args_json))

    def close(self) -> None:
        self._db.close()


def open_store(spec: Store | str | Path | None) -> Store:
    """``None`` → :class:`NullStore`; a path (or ``":memory:"``) → :class:`SqliteStore`; a store as is."""
    if spec is None:
        return NullStore()
    if isinstance(spec, (str, Path)):
        return SqliteStore(spec)
    return spec
