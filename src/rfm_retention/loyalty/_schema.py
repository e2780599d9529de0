"""The points ledger's tables, written once for every database (see ``rfm_retention._storage``).

``events`` is the ledger: append-only, guarded in the database itself against
``UPDATE``, ``DELETE`` and an insert that would replace a stored key (SQLite's
``INSERT OR REPLACE`` deletes the old row without firing delete triggers, so
the insert guard is what closes that door). ``balances`` is a running
(balance, event count) per account that :func:`~rfm_retention.loyalty._verify`
checks against the replay.
"""

from __future__ import annotations

from rfm_retention._storage import Schema

__all__ = ["LEDGER_SCHEMA", "SCHEMA_VERSION"]

SCHEMA_VERSION = 2
"""The ledger schema this version of the library writes and reads."""

_EVENT_COLUMNS = ("seq", "key", "kind", "branch", "patient_id", "points", "at", "actor",
                  "reason", "reverses", "expires_at", "reward")

_TABLES = (
    """CREATE TABLE events (
    seq {serial},
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'reverse', 'expire', 'adjust')),
    branch TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    points {int} NOT NULL CHECK (points <> 0),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    reverses TEXT NOT NULL,
    expires_at TEXT,
    reward TEXT NOT NULL
)""",
    "CREATE INDEX events_account ON events (branch, patient_id, seq)",
    "CREATE INDEX events_expiry ON events (branch, expires_at) WHERE expires_at IS NOT NULL",
    """CREATE TABLE balances (
    branch TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    balance {int} NOT NULL,
    n_events {int} NOT NULL,
    PRIMARY KEY (branch, patient_id)
)""",
)

SQLITE_NO_REPLACE = """CREATE TRIGGER events_no_replace BEFORE INSERT ON events
WHEN EXISTS (SELECT 1 FROM events WHERE key = NEW.key OR seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only: a stored key cannot be written again');
END"""

_SQLITE_GUARDS = {
    "events_no_update": """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only: UPDATE refused'); END""",
    "events_no_delete": """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only: DELETE refused'); END""",
    "events_no_replace": SQLITE_NO_REPLACE,
}

LEDGER_SCHEMA = Schema(
    name="ledger",
    version=SCHEMA_VERSION,
    version_table="ledger_schema",
    tables=_TABLES,
    columns={"events": _EVENT_COLUMNS,
             "balances": ("branch", "patient_id", "balance", "n_events")},
    guards={"sqlite": _SQLITE_GUARDS},
)
