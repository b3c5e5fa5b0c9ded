"""Persistence for the exchange: a journal of mutating commands, replayed deterministically on start.

Why a journal and not write-through tables: the engine is deterministic given its seed, its id counter start
and the timestamp of every call, so recording *what was asked and when* is enough to rebuild every order,
balance, trade, transfer, idempotency record and the id counter exactly — with one code path (the live one)
instead of a second serialisation of every structure that could drift from it. Each record is
``(seq, ts, op, args-json)``: ``op`` names an engine command (``create_order``, ``modify_order``,
``cancel_order``, ``update_client``, ``create_transfer``) or ``advance`` (the lazy lifecycle step — transfer
settlement, house re-quoting — written before it runs, when it may change something). Reads are not
recorded. The ``meta`` table holds the journal's format version and the resolved seed and engine configuration
the database was created with; on reopen those win over what the caller passes.

Stores:

* :class:`NullStore` — the default: nothing is serialised or written (``journaling`` is False, and the
  engine skips building records at all).
* :class:`MemoryJournal` — keeps the records in a list; a second ``Exchange`` built on the same instance
  replays them (handy for tests of replay determinism).
* :class:`SqliteStore` — a SQLite file (WAL mode, ``synchronous=FULL``, one autocommitted INSERT per
  command), locked to one process. Replay cost grows with the journal; there is no compaction.

Journal first, then memory: the engine writes a command's record (and waits for the fsync) before it changes
anything, so an acknowledged command survives a crash or power loss, and a failed write
(:class:`JournalWriteError`) changes nothing. A command the engine then refuses stays in the journal and
replays to the same refusal. Start-up problems (not a SQLite file, damaged, another format version, missing
metadata, a gap in the journal, another process holding the file) are :class:`JournalError`: one line saying
what is wrong and what to do.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "JOURNAL_FORMAT",
    "JournalError",
    "JournalWriteError",
    "MemoryJournal",
    "NullStore",
    "Record",
    "SqliteStore",
    "Store",
    "StoreInUse",
    "open_store",
]

#: The format of the records this version writes (meta key ``format``). 2: refused commands are journaled
#: too (journal first, then memory). 1 (the format kept in the configuration's ``version``) is read as well.
JOURNAL_FORMAT: Final = 2
READABLE_FORMATS: Final = frozenset({"1", "2"})
#: Seconds a write waits for another connection's lock before it fails (and the request answers 503): short,
#: because the engine's lock is held meanwhile and every other request waits for it.
DEFAULT_BUSY_TIMEOUT: Final = 1.0


class JournalError(ValueError):
    """The database cannot serve as this sandbox's journal; the message says what is wrong and what to do."""


class StoreInUse(JournalError):
    """Another process holds the database (the message names its pid)."""


class JournalWriteError(Exception):
    """A journal write failed and recorded nothing: the command it was for did not happen (retryable)."""


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
    """Journal in a SQLite database file, held by one process at a time.

    Durability: WAL with ``synchronous=FULL``, one autocommitted INSERT per command, so an append that
    returns has been fsynced (``NORMAL`` in WAL mode may lose the last commits on power loss). A write that
    fails (locked past ``busy_timeout`` seconds, disk full, read-only) raises :class:`JournalWriteError` and
    leaves nothing behind. Opening checks the file (a SQLite database, its format version, its metadata, no
    gap in the journal) and raises :class:`JournalError` with one line saying what is wrong.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = str(path)
        self._lock = None if self.path == ":memory:" else _PidLock(self.path)
        try:
            self._db = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            try:
                self._open()
            except BaseException:
                self._db.close()
                raise
        except sqlite3.DatabaseError as exc:
            self._release()
            raise JournalError(f"{self.path}: {_damage(exc)}") from None
        except BaseException:
            self._release()
            raise

    def _open(self) -> None:
        """Set the durability pragmas, check the file, create the tables of a new journal."""
        db = self._db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        row = db.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(
                f"database disk image is malformed ({row[0] if row else 'no answer'})"
            )
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        ours = {"meta", "journal"}
        if not tables & ours:
            if tables - {"sqlite_sequence"}:
                raise JournalError(
                    f"{self.path}: not a truex-sandbox journal (it has tables {', '.join(sorted(tables))}); "
                    "pass a new file to --db"
                )
            self._create()
            return
        if not ours <= tables:
            raise JournalError(
                f"{self.path}: the journal's {(ours - tables).pop()} table is missing; restore the file "
                "from a backup or pass a new file to --db"
            )
        self._check_format()

    def _create(self) -> None:
        with _transaction(self._db):
            self._db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._db.execute(
                "CREATE TABLE journal ("
                "seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, op TEXT NOT NULL, args TEXT NOT NULL)"
            )
            self._db.execute("INSERT INTO meta (key, value) VALUES ('format', ?)", (str(JOURNAL_FORMAT),))

    def _check_format(self) -> None:
        """Refuse a journal of another format, or one whose records have lost their metadata."""
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        has_records = self._db.execute("SELECT 1 FROM journal LIMIT 1").fetchone() is not None
        if "config" not in meta and has_records:
            raise JournalError(
                f"{self.path}: the journal has records but no metadata (seed and configuration); restore the "
                "file from a backup or pass a new file to --db"
            )
        raw = meta.get("format")
        if raw is None and "config" in meta:
            raw = str(_config_version(meta["config"]))  # format 1 kept it in the configuration
        if raw not in READABLE_FORMATS:
            raise JournalError(
                f"{self.path}: journal format version {raw} is not one this truex-sandbox reads "
                f"({', '.join(sorted(READABLE_FORMATS))}); use the truex-sandbox that wrote it, or pass a new "
                "file to --db"
            )
        if raw != str(JOURNAL_FORMAT):
            # Format 2 only adds records (refused commands) that format 1 never wrote: its reader reads both.
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('format', ?)", (str(JOURNAL_FORMAT),)
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
        """Every record in order; :class:`JournalError` on a gap in ``seq`` or an unreadable record."""
        expected = 1
        try:
            for seq, ts, op, args in self._db.execute("SELECT seq, ts, op, args FROM journal ORDER BY seq"):
                if seq != expected:
                    raise JournalError(
                        f"{self.path}: journal record {expected} is missing (the next one is {seq}); the file "
                        "was edited or damaged: restore it from a backup or pass a new file to --db"
                    )
                yield Record(int(seq), int(ts), str(op), json.loads(args))
                expected += 1
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path}: {_damage(exc)}") from None
        except ValueError as exc:
            if isinstance(exc, JournalError):
                raise
            raise JournalError(
                f"{self.path}: journal record {expected} is unreadable ({exc}); restore the file from a "
                "backup or pass a new file to --db"
            ) from None

    def append(self, ts: int, op: str, args_json: str) -> None:
        try:
            self._insert(ts, op, args_json)
        except sqlite3.Error as exc:
            if self._db.in_transaction:  # a failed commit can leave its transaction open: undo it
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            raise JournalWriteError(
                f"the journal could not be written ({exc}); nothing was recorded"
            ) from exc

    def _insert(self, ts: int, op: str, args_json: str) -> None:
        self._db.execute("INSERT INTO journal (ts, op, args) VALUES (?, ?, ?)", (ts, op, args_json))

    def close(self) -> None:
        self._db.close()
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _config_version(text: str) -> object:
    try:
        config = json.loads(text)
    except ValueError:
        return None
    return config.get("version") if isinstance(config, dict) else None


def _damage(exc: sqlite3.DatabaseError) -> str:
    return (
        f"not a usable SQLite database ({exc}): it is damaged, truncated or not a journal; restore it "
        "from a backup or pass a new file to --db"
    )


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class _PidLock:
    """An exclusive ``flock`` on ``<db>.lock``, which holds the pid of the process that has it.

    One process per database: two sandboxes on one file would both hand out the same order ids. The kernel
    drops the lock when the process dies (even by ``kill -9``), so a stale file never blocks a start.
    """

    def __init__(self, db_path: str) -> None:
        self.path = db_path + ".lock"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StoreInUse(
                f"{db_path}: in use by another truex-sandbox (pid {holder}, see {self.path}); stop that one, "
                "or pass another file to --db"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None


def open_store(spec: Store | str | Path | None) -> Store:
    """``None`` → :class:`NullStore`; a path (or ``":memory:"``) → :class:`SqliteStore`; a store as is."""
    if spec is None:
        return NullStore()
    if isinstance(spec, (str, Path)):
        return SqliteStore(spec)
    return spec
