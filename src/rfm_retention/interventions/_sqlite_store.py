"""Case histories in an SQLite file (standard library ``sqlite3``).

One transaction per append (``BEGIN IMMEDIATE``: concurrent writers queue
rather than interleave), WAL journal so readers never block the writer, a
schema version checked on open (with every column and the exact text of
every guard), and triggers that make the history append-only: an UPDATE,
DELETE or INSERT OR REPLACE of a stored event aborts inside SQLite itself,
whoever issues it, and a ``cases`` row changes only together with its
history. A partial unique index keeps at most one non-closed case per patient
even across processes. Every ``sqlite3`` failure is a library error naming
the file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence

from rfm_retention._storage import ClosingStore, retrying
from rfm_retention._storage._sqlite import (
    connect,
    ensure_schema,
    migrate,
    translated,
)
from rfm_retention.errors import CaseError, StoreIntegrityError
from rfm_retention.interventions._case_sql import case_ids_query, decode_history, write_case
from rfm_retention.interventions._events import CaseEvent
from rfm_retention.interventions._records import Case
from rfm_retention.interventions._schema import (
    CASE_SCHEMA,
    OPEN_CASE_REFUSED,
    SCHEMA_VERSION,
    SQLITE_V2_GUARDS,
)

__all__ = ["SCHEMA_VERSION", "SQLiteCaseStore"]

_ATTEMPTS = 4


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    for statement in SQLITE_V2_GUARDS.values():
        conn.execute(statement)


_MIGRATIONS = {1: _migrate_1_to_2}


class SQLiteCaseStore(ClosingStore):
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

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0,
                 create: bool = True) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._db = connect(self.path, CASE_SCHEMA, timeout=timeout / _ATTEMPTS,
                           create=create, error=StoreIntegrityError)
        try:
            self._prepare(create)
        except BaseException:
            self._db.close()
            raise

    def _prepare(self, create: bool) -> None:
        db = self._db
        with translated(self.path, CASE_SCHEMA, StoreIntegrityError):
            if self.path != ":memory:":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before append returns
            db.execute("PRAGMA foreign_keys=ON")
        ensure_schema(db, self.path, CASE_SCHEMA, create=create, error=StoreIntegrityError,
                      attempts=_ATTEMPTS)

    @classmethod
    def migrate(cls, path: str | os.PathLike[str]) -> tuple[int, int]:
        """Bring an older case file to the current schema version; returns (before, after).

        Example:
            >>> SQLiteCaseStore.migrate("cases.db")  # doctest: +SKIP
            (1, 2)
        """
        return migrate(os.fspath(path), CASE_SCHEMA, _MIGRATIONS, error=StoreIntegrityError)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def append(self, case: Case, events: Sequence[CaseEvent]) -> None:
        """See :meth:`~rfm_retention.interventions.CaseStore.append`.

        A lock held by another writer is waited for and retried with backoff;
        when it stays held, a CaseError naming the file (nothing was written).
        """
        retrying(lambda: self._append_once(case, events), error=CaseError,
                 attempts=_ATTEMPTS)

    def _append_once(self, case: Case, events: Sequence[CaseEvent]) -> None:
        with self._lock:
            db = self._db
            with translated(self.path, CASE_SCHEMA, CaseError):  # Busy: append retries
                db.execute("BEGIN IMMEDIATE")
            try:
                write_case(db.execute, db.executemany, case, events)
                db.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                db.execute("ROLLBACK")
                if "cases.patient_id" in str(exc) or OPEN_CASE_REFUSED in str(exc):
                    raise CaseError(
                        f"patient {case.patient_id} already has an open case "
                        f"(storing {case.case_id})"
                    ) from None
                raise CaseError(f"case {case.case_id}: store refused the change: {exc}") from None
            except sqlite3.Error as exc:
                db.execute("ROLLBACK")
                with translated(self.path, CASE_SCHEMA, CaseError):
                    raise exc
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def history(self, case_id: str) -> tuple[CaseEvent, ...]:
        """See :meth:`~rfm_retention.interventions.CaseStore.history`."""
        with self._lock, translated(self.path, CASE_SCHEMA, StoreIntegrityError):
            rows = self._db.execute(
                "SELECT seq, body FROM case_events WHERE case_id = ? ORDER BY seq", (case_id,)
            ).fetchall()
        return decode_history(case_id, rows)

    def case_ids(
        self, *, patient_id: str | None = None, open_only: bool = False
    ) -> tuple[str, ...]:
        """See :meth:`~rfm_retention.interventions.CaseStore.case_ids`."""
        sql, params = case_ids_query(patient_id, open_only)
        with self._lock, translated(self.path, CASE_SCHEMA, StoreIntegrityError):
            return tuple(row[0] for row in self._db.execute(sql, params))
