"""Durability of the sandbox's journal: journal first, then memory; one process per database; clear refusals.

Faults are real where the machine allows (another connection holding SQLite's write lock, a second process,
damaged files, ``kill -9`` of a served sandbox) and simulated where it does not (a full disk, a read-only
file: the tests run as root, who may write anyway). No test asserts a timing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_support import BTC, PYUSD, V2026, Creds, Signer, asgi_client, creds_of, json_body

from truex_sandbox.app import create_app
from truex_sandbox.engine import Exchange, Unavailable
from truex_sandbox.seed import default_seed, seed_to_dict
from truex_sandbox.store import JournalError, SqliteStore, StoreInUse

ROOT = Path(__file__).resolve().parent.parent
ALICE, BOB = "300000000000000001", "300000000000000002"
A = frozenset({ALICE})


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000 * 1_000_000_000

    def __call__(self) -> int:
        self.now += 1_000
        return self.now


def order(ext: str, price: str = "74000", qty: str = "0.01") -> dict[str, Any]:
    info = {
        "client_id": ALICE,
        "instrument_id": BTC,
        "side": "BUY",
        "type": "LIMIT",
        "qty": qty,
        "price": price,
    }
    return {"external_id": ext, "info": info}


def deposit(amount: str) -> dict[str, Any]:
    request = {"client_id": ALICE, "asset_id": PYUSD, "platform": "FIAT", "type": "DEPOSIT", "amount": amount}
    return {"request": request}


def rows(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as db:
        return [(int(seq), str(op)) for seq, op in db.execute("SELECT seq, op FROM journal ORDER BY seq")]


class FailingStore(SqliteStore):
    """A SqliteStore whose writes fail with ``error`` while it is set (a full disk, a read-only file)."""

    error: sqlite3.Error | None = None

    def _insert(self, ts: int, op: str, args_json: str) -> None:
        if self.error is not None:
            raise self.error
        super()._insert(ts, op, args_json)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "sandbox.db"


# ----------------------------------------------------------------------------- journal first, then memory
@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database or disk is full"),
        sqlite3.OperationalError("attempt to write a readonly database"),
        sqlite3.OperationalError("disk I/O error"),
    ],
)
def test_a_failed_write_changes_nothing_and_the_journal_stays_replayable(
    db: Path, error: sqlite3.Error
) -> None:
    clock = Clock()
    store = FailingStore(db)
    ex = Exchange(default_seed(), clock=clock, store=store)
    kept = ex.create_order(A, order("kept"))
    before, journal = ex.dump_state(), rows(db)
    store.error = error
    with pytest.raises(Unavailable) as caught:
        ex.create_order(A, order("lost"))
    assert caught.value.status == 503 and caught.value.retry_after is not None
    assert str(error) in caught.value.detail
    for command in (
        lambda: ex.cancel_order(A, kept["id"]),
        lambda: ex.modify_order(A, {"id": kept["id"], "info": {"client_id": ALICE, "new_qty": "0.02"}}),
        lambda: ex.update_client(A, {"id": ALICE, "info": {"self_trade_prevention": "CANCEL_BOTH"}}),
        lambda: ex.create_transfer(A, deposit("1")),
    ):
        with pytest.raises(Unavailable):
            command()
    assert ex.dump_state() | {"now": ""} == before | {"now": ""}
    assert rows(db) == journal
    with pytest.raises(Exception, match="ref_id"):  # the refused create left no order behind
        ex.order_status(A, "lost", "client")
    store.error = None
    ex.cancel_order(A, kept["id"])  # healthy again: the same command now works
    state = ex.dump_state()
    ex.close()
    again = Exchange(clock=clock, store=db)
    assert again.dump_state() | {"now": ""} == state | {"now": ""}
    again.close()


def test_a_read_whose_lifecycle_step_cannot_be_journaled_changes_nothing(db: Path) -> None:
    clock = Clock()
    store = FailingStore(db)
    ex = Exchange(default_seed(), clock=clock, store=store, settle_delay_ns=10**12)
    created = ex.create_transfer(A, deposit("5"))
    assert created["status"] == "INITIALIZED"
    store.error = sqlite3.OperationalError("database or disk is full")
    with pytest.raises(Unavailable):
        ex.list_transfers(A)  # the read would move the transfer to PENDING: that step is a write
    store.error = None
    assert [t["status"] for t in ex.list_transfers(A)] == ["PENDING"]
    assert rows(db)[-1][1] == "advance"
    state = ex.dump_state()
    ex.close()
    assert Exchange(clock=lambda: int(state["now"]), store=db).dump_state() == state


def test_a_locked_database_answers_503_and_changes_nothing(db: Path) -> None:
    ex = Exchange(default_seed(), clock=Clock(), store=SqliteStore(db, busy_timeout=0.05))
    before = ex.dump_state()
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds SQLite's write lock
    try:
        with pytest.raises(Unavailable, match="locked"):
            ex.create_order(A, order("blocked"))
        assert ex.dump_state() | {"now": ""} == before | {"now": ""}
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert ex.create_order(A, order("blocked"))["status"] == "ACTIVE"
    ex.close()


def test_refused_commands_are_journaled_and_replay_to_the_same_refusal(db: Path) -> None:
    clock = Clock()
    ex = Exchange(default_seed(), clock=clock, store=db)
    ex.create_order(A, order("one"))
    with pytest.raises(Exception, match=r"info\.qty"):
        ex.create_order(A, order("two", qty="x"))
    assert [op for _, op in rows(db)].count("create_order") == 2
    state = ex.dump_state()
    ex.close()
    assert Exchange(clock=clock, store=db).dump_state() | {"now": ""} == state | {"now": ""}


def test_the_journal_is_fsynced_on_every_commit(db: Path) -> None:
    store = SqliteStore(db)
    try:
        assert store._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert store._db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        store.close()


# -------------------------------------------------------------------------------- HTTP: 503 and /health
async def test_http_answers_503_with_retry_after_and_health_stays_up(db: Path) -> None:
    exchange = Exchange(default_seed(), store=SqliteStore(db, busy_timeout=1.0))
    app = create_app(exchange)
    alice = creds_of(exchange, "ALICE")
    before = exchange.dump_state()
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        async with asgi_client(app, Signer(alice), V2026) as c:
            content, headers = json_body(order("http-1"))
            create = asyncio.create_task(c.post("/v1/cefi/orders", content=content, headers=headers))
            await asyncio.sleep(0.1)  # the create now waits for SQLite's lock in a worker thread
            health = await c.get("/v1/cefi/health")
            assert health.status_code == 200  # served by the event loop meanwhile
            response = await create
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert response.headers["content-type"] == "application/problem+json"
        assert "locked" in response.json()["error"]["detail"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert exchange.dump_state() | {"now": ""} == before | {"now": ""}
    async with asgi_client(app, Signer(alice), V2026) as c:
        content, headers = json_body(order("http-1"))
        assert (await c.post("/v1/cefi/orders", content=content, headers=headers)).status_code == 200
    exchange.close()


# ----------------------------------------------------------------------------- one process per database
def test_a_second_store_on_the_same_database_is_refused_naming_the_holder(db: Path) -> None:
    first = Exchange(store=db)
    with pytest.raises(StoreInUse, match=f"pid {os.getpid()}"):
        Exchange(store=db)
    first.close()
    Exchange(store=db).close()  # released on close


def _sandbox(db: Path, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "truex_sandbox", "--port", "0", "--db", str(db), "--log-level", "warning"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [*argv, *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _banner(process: subprocess.Popen[str]) -> tuple[str, Creds]:
    """The base URL and ALICE's credentials, from the banner the sandbox prints once it serves."""
    assert process.stdout is not None
    base_url = key_id = secret = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        entry = line.strip()
        if entry.startswith("truex-sandbox listening on "):
            base_url = entry.rsplit(" ", 1)[1]
        elif entry.startswith("key id:"):
            key_id = entry.split(":", 1)[1].strip()
        elif entry.startswith("secret:"):
            secret = entry.split(":", 1)[1].strip()
        elif entry.startswith("client:") and entry.split()[1] == ALICE:
            return base_url, Creds(key_id, secret, ALICE)
    raise AssertionError("no banner; stderr: " + (process.stderr.read() if process.stderr else ""))


def _refusal(db: Path, *extra: str) -> str:
    """The one stderr line of a sandbox that refuses to start (exit 2)."""
    done = subprocess.run(
        [sys.executable, "-m", "truex_sandbox", "--port", "0", "--db", str(db), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("truex-sandbox: ")
    return done.stderr


def test_a_second_process_exits_2_naming_the_holder(db: Path) -> None:
    first = _sandbox(db)
    try:
        _banner(first)
        assert f"pid {first.pid}" in _refusal(db)
    finally:
        first.terminate()
        first.communicate(timeout=30)


# ---------------------------------------------------------------------------------- damaged databases
def _journal_with_records(db: Path) -> None:
    ex = Exchange(default_seed(), clock=Clock(), store=db)
    for i in range(3):
        ex.create_order(A, order(f"r{i}"))
    ex.close()


def _edit(db: Path, *statements: str) -> None:
    with sqlite3.connect(db) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("not sqlite", "not a usable SQLite database"),
        ("truncated", "not a usable SQLite database"),
        ("gap", "journal record 2 is missing"),
        ("no meta", "no metadata"),
        ("format 99", "journal format version 99"),
        ("format 0", "journal format version 0"),
        ("unknown op", "is not a command this sandbox wrote"),
        ("foreign", "not a truex-sandbox journal"),
    ],
)
def test_a_damaged_database_is_refused_with_one_line(db: Path, damage: str, message: str) -> None:
    if damage == "not sqlite":
        db.write_bytes(b"this is not a database, just text" * 200)
    elif damage == "foreign":
        _edit(db, "CREATE TABLE accounts (id INTEGER)")
    else:
        _journal_with_records(db)
        _damage(db, damage)
    with pytest.raises(JournalError, match=message):
        Exchange(store=db)
    assert message in _refusal(db)


def _damage(db: Path, damage: str) -> None:
    if damage == "truncated":
        with sqlite3.connect(db) as conn:  # move the WAL into the file first: the cut then hits real pages
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 2])
    elif damage == "gap":
        _edit(db, "DELETE FROM journal WHERE seq = 2")
    elif damage == "no meta":
        _edit(db, "DELETE FROM meta WHERE key = 'config'")
    elif damage.startswith("format"):
        _edit(db, f"UPDATE meta SET value = '{damage.split()[1]}' WHERE key = 'format'")
    elif damage == "unknown op":
        _edit(db, "UPDATE journal SET op = 'launch_rocket' WHERE seq = 1")


def test_a_format_1_journal_is_read_and_upgraded(db: Path) -> None:
    clock = Clock()
    _journal_with_records(db)
    _edit(db, "DELETE FROM meta WHERE key = 'format'")
    config = json.loads(
        sqlite3.connect(db).execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0]
    )
    _edit(db, f"UPDATE meta SET value = '{json.dumps({**config, 'version': 1})}' WHERE key = 'config'")
    ex = Exchange(clock=clock, store=db)
    assert len(ex.active_orders(A)) == 3
    ex.close()
    assert sqlite3.connect(db).execute("SELECT value FROM meta WHERE key = 'format'").fetchone() == ("2",)


def test_seed_differing_from_the_database_is_refused(db: Path, tmp_path: Path) -> None:
    _journal_with_records(db)  # the default seed
    seed = seed_to_dict(default_seed())
    same, other = tmp_path / "same.json", tmp_path / "other.json"
    same.write_text(json.dumps(seed))
    seed["clients"][0]["balances"] = {k: "1" for k in seed["clients"][0]["balances"]}
    other.write_text(json.dumps(seed))
    assert "created from another seed" in _refusal(db, "--seed", str(other))
    process = _sandbox(db, "--seed", str(same))  # the seed it was made from is fine
    try:
        _banner(process)
    finally:
        process.terminate()
        process.communicate(timeout=30)


# ----------------------------------------------------------------------------------- kill -9 under load
def _creates(base_url: str, alice: Creds, prefix: str, acked: list[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=base_url, auth=Signer(alice), headers={"X-Truex-Version": V2026}) as c:
        i = 0
        while not stop.is_set():
            content, headers = json_body(order(f"{prefix}{i}", price=str(74000 - i % 100)))
            try:
                response = c.post("/v1/cefi/orders", content=content, headers=headers, timeout=10)
            except httpx.HTTPError:
                return  # the server died mid-request: not acknowledged
            if response.status_code == 200:
                data = response.json()["data"]
                acked.append(data["id"] if data["status"] == "ACTIVE" else f"not active: {data}")
            i += 1


def test_kill_9_under_load_loses_no_acknowledged_order(db: Path) -> None:
    process = _sandbox(db)
    acked: list[str] = []
    stop = threading.Event()
    try:
        base_url, alice = _banner(process)
        workers = [
            threading.Thread(target=_creates, args=(base_url, alice, f"k{w}-", acked, stop)) for w in range(3)
        ]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        while len(acked) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)  # mid-load: requests are in flight
        process.wait(timeout=30)
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)
    for worker in workers:
        worker.join(timeout=30)
    assert len(acked) >= 60
    again = _sandbox(db)  # the dead process's lock went with it
    try:
        base_url, alice = _banner(again)
        with httpx.Client(base_url=base_url, auth=Signer(alice), headers={"X-Truex-Version": V2026}) as c:
            found = _all_active_ids(c)
    finally:
        again.terminate()
        again.communicate(timeout=30)
    assert set(acked) <= found


def _all_active_ids(client: httpx.Client) -> set[str]:
    ids: set[str] = set()
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"size": 100, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/cefi/orders/active", params=params, timeout=30).json()
        ids.update(o["id"] for o in page["data"])
        cursor = page["pagination"]["next_cursor"]
        if not cursor:
            return ids
