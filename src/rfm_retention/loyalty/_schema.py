"""The points ledger's tables, written once for every database (see ``rfm_retention._storage``).

``events`` is the ledger: append-only, guarded in the database itself against
``UPDATE``, ``DELETE`` and an insert that would replace a stored key (SQLite's
``INSERT OR REPLACE`` deletes the old row without firing delete triggers, so
the insert guard is what closes that door). ``balances`` (each account's figures),
``lots`` and ``spends`` are the account states the store keeps current in the
same transaction as each append, which :func:`~rfm_retention.loyalty._verify`
checks against a replay from scratch.
"""

from __future__ import annotations

from rfm_retention._storage import Schema
from rfm_retention._storage._schema import in_dialect

__all__ = ["LEDGER_SCHEMA", "SCHEMA_VERSION", "account_state_statements"]

SCHEMA_VERSION = 3
"""The ledger schema this version of the library writes and reads."""

_EVENT_COLUMNS = ("seq", "key", "kind", "branch", "patient_id", "points", "at", "actor",
                  "reason", "reverses", "expires_at", "reward")

ACCOUNT_STATE_TABLES = (
    """CREATE TABLE lots (
    key TEXT PRIMARY KEY,
    branch TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    earned_at TEXT NOT NULL,
    expires_at TEXT,
    spend_order TEXT NOT NULL,
    points {int} NOT NULL,
    remaining {int} NOT NULL,
    expired {int} NOT NULL,
    expire_events {int} NOT NULL,
    reversed {int} NOT NULL
)""",
    "CREATE INDEX lots_open ON lots (branch, patient_id, spend_order, earned_at, key) "
    "WHERE remaining > 0",
    "CREATE INDEX lots_due ON lots (branch, spend_order) WHERE remaining > 0",
    """CREATE TABLE spends (
    spend_key TEXT NOT NULL,
    position {int} NOT NULL,
    lot_key TEXT NOT NULL,
    points {int} NOT NULL,
    PRIMARY KEY (spend_key, position)
)""",
    "CREATE INDEX events_reverses ON events (reverses) WHERE reverses <> ''",
    "CREATE INDEX events_redemptions ON events (branch, patient_id, at) WHERE kind = 'redeem'",
)
"""Each account's kept state (added in schema version 3): lots, spends, lookup indexes."""

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
    available {int} NOT NULL DEFAULT 0,
    debt {int} NOT NULL DEFAULT 0,
    PRIMARY KEY (branch, patient_id)
)""",
    *ACCOUNT_STATE_TABLES,
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

_PG_FUNCTION = """CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'ledger events are append-only: % refused', TG_OP; END $$"""

_POSTGRES_GUARDS = {
    "function ledger_append_only": _PG_FUNCTION,
    "events_append_only": "CREATE TRIGGER events_append_only BEFORE DELETE OR UPDATE ON events "
                          "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()",
    "events_no_truncate": "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
                          "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()",
}

LEDGER_SCHEMA = Schema(
    name="ledger",
    version=SCHEMA_VERSION,
    version_table="ledger_schema",
    tables=_TABLES,
    columns={"events": _EVENT_COLUMNS,
             "balances": ("branch", "patient_id", "balance", "n_events", "available", "debt"),
             "lots": ("key", "branch", "patient_id", "earned_at", "expires_at", "spend_order",
                      "points", "remaining", "expired", "expire_events", "reversed"),
             "spends": ("spend_key", "position", "lot_key", "points")},
    guards={"sqlite": _SQLITE_GUARDS, "postgresql": _POSTGRES_GUARDS},
)


def account_state_statements(dialect: str) -> list[str]:
    """The statements creating the account-state tables and indexes in ``dialect``."""
    return [in_dialect(sql, dialect) for sql in ACCOUNT_STATE_TABLES]
