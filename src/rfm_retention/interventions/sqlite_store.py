"""Case histories in an SQLite file (standard library ``sqlite3``).

One transaction per append (``BEGIN IMMEDIATE``: concurrent writers queue
rather than interleave), WAL journal so readers never block the writer, a
schema version checked on open, and triggers that make the event table
append-only: an UPDATE or DELETE of a stored event aborts inside SQLite
itself, whoever issues it. A partial unique index keeps at most one non-closed
case per patient even across processes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence

from rfm_retention.errors import CaseError, StoreIntegrityError
from rfm_retention.interventions.events import CaseEvent, decode_event, encode_event, kind_of
from rfm_retention.interventions.records import Case
from rfm_retention.interventions.store import check_append
from rfm_retention.time import iso

__all__ = ["SCHEMA_VERSION", "SQLiteCaseStore"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS case_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cases (
    case_id    TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL,
    episode    INTEGER NOT NULL,
    status     TEXT NOT NULL,
    level      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    UNIQUE (patient_id, episode)
);
CREATE UNIQUE INDEX IF NOT EXISTS cases_one_open_per_patient
    ON cases (patient_id) WHERE status != 'closed';
CREATE TABLE IF NOT EXISTS case_events (
    case_id TEXT NOT NULL REFERENCES cases (case_id),
    seq     INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    at      TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);
CREATE TRIGGER IF NOT EXISTS case_events_append_only_update
    BEFORE UPDATE ON case_events
    BEGIN SELECT RAISE(ABORT, 'case history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_events_append_only_delete
    BEFORE DELETE ON case_events
    BEGIN SELECT RAISE(ABORT, 'case history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS cases_never_deleted
    BEFORE DELETE ON cases
    BEGIN SELECT RAISE(ABORT, 'cases are never deleted'); END;
"""


class SQLiteCaseStore:
    """A :class:`~rfm_retention.interventions.CaseStore` in an SQLite database file.

    Example:
        >>> store = SQLiteCaseStore(":memory:")
        >>> store.case_ids()
        ()
        >>> store.close()

    Args:
        path: Database file (created when missing), or ``":memory:"``.
        timeout: Seconds to wait for another writer before giving up.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._prepare()
        except BaseException:
            self._db.close()
            raise

    def _prepare(self) -> None:
        db = self._db
        if self.path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before append returns
        db.execute("PRAGMA foreign_keys=ON")
        # executescript commits before it runs, so the script carries its own
        # transaction: schema and version row appear together or not at all.
        try:
            db.executescript(
                "BEGIN IMMEDIATE;"
                + _SCHEMA
                + "INSERT INTO case_schema (version) SELECT "
                + str(SCHEMA_VERSION)
                + " WHERE NOT EXISTS (SELECT 1 FROM case_schema); COMMIT;"
            )
        except sqlite3.Error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        versions = [row[0] for row in db.execute("SELECT version FROM case_schema")]
        if versions != [SCHEMA_VERSION]:
            raise StoreIntegrityError(
                f"{self.path}: case store schema version {versions} is not the supported "
                f"version {SCHEMA_VERSION}.\nHint: open it with the library version that "
                "wrote it."
            )

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> SQLiteCaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, case: Case, events: Sequence[CaseEvent]) -> None:
        """See :meth:`~rfm_retention.interventions.CaseStore.append`."""
        rows = [
            (e.case_id, e.seq, kind_of(e), iso(e.at), encode_event(e))
            for e in events
        ]
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                found = db.execute(
                    "SELECT version FROM cases WHERE case_id = ?", (case.case_id,)
                ).fetchone()
                check_append(case, events, 0 if found is None else int(found[0]))
                db.execute(
                    "INSERT INTO cases (case_id, patient_id, episode, status, level, version) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (case_id) DO UPDATE SET "
                    "status = excluded.status, level = excluded.level, version = excluded.version",
                    (case.case_id, case.patient_id, case.episode, case.status.value,
                     case.level.label, case.version),
                )
                db.executemany(
                    "INSERT INTO case_events (case_id, seq, kind, at, body) VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                db.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                db.execute("ROLLBACK")
                if "cases.patient_id" in str(exc):
                    raise CaseError(
                        f"patient {case.patient_id} already has an open case "
                        f"(storing {case.case_id})"
                    ) from None
                raise CaseError(f"case {case.case_id}: store refused the change: {exc}") from None
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def history(self, case_id: str) -> tuple[CaseEvent, ...]:
        """See :meth:`~rfm_retention.interventions.CaseStore.history`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, body FROM case_events WHERE case_id = ? ORDER BY seq", (case_id,)
            ).fetchall()
        events = tuple(decode_event(body) for _, body in rows)
        for expected, (seq, _) in enumerate(rows, start=1):
            if seq != expected:
                raise StoreIntegrityError(f"case {case_id}: stored history skips event {expected}")
        return events

    def case_ids(
        self, *, patient_id: str | None = None, open_only: bool = False
    ) -> tuple[str, ...]:
        """See :meth:`~rfm_retention.interventions.CaseStore.case_ids`."""
        sql = "SELECT case_id FROM cases WHERE 1"
        params: list[str] = []
        if patient_id is not None:
            sql += " AND patient_id = ?"
            params.append(patient_id)
        if open_only:
            sql += " AND status != 'closed'"
        sql += " ORDER BY patient_id, episode"
        with self._lock:
            return tuple(row[0] for row in self._db.execute(sql, params))
