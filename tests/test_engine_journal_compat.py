"""A journal written by the engine before issue 12 (the typed-command rewrite) replays to the state it had.

The journal format did not change (records are the requests as sent, parsed on replay by
``truex_sandbox.commands``); this pins that an existing sandbox database keeps working.
``tests/fixtures/journal_before_issue12.json`` holds the journal of a golden-style run (creates of every kind,
repeats, modifies, cancels, refused bodies, the house re-quoting) and the digest of ``dump_state`` after it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from truex_sandbox.engine import Exchange
from truex_sandbox.store import MemoryJournal

FIXTURE = Path(__file__).parent / "fixtures" / "journal_before_issue12.json"


def test_a_journal_of_the_previous_engine_replays_to_the_same_state() -> None:
    fixture = json.loads(FIXTURE.read_text())
    journal = MemoryJournal()
    journal.save_meta(fixture["meta"])
    journal.entries = [(ts, op, json.dumps(args)) for ts, op, args in fixture["entries"]]
    now = int(fixture["now"])
    exchange = Exchange(clock=lambda: now, store=journal)
    state = exchange.dump_state()
    digest = hashlib.sha256(json.dumps(state, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert digest == fixture["state_sha256"]
    assert exchange.check_invariants() == []
