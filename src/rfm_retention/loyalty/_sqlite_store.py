"""A ledger store in one SQLite file (standard library ``sqlite3``).

* WAL journal, ``synchronous=FULL`` by default: a committed operation survives a
  crash of the process (and, with FULL, of the machine).
* One ``BEGIN IMMEDIATE`` transaction per ledger operation: the write lock is
  taken *before* the account is read, so two processes redeeming against one
  balance are serialised and can never both spend the same points.
* Triggers refuse ``UPDATE`` and ``DELETE`` on ``events``: the table is
  append-only even for other programs opening the file.
* The schema version is recorded in ``ledger_schema`` and checked on open; a
  file with a foreign or newer schema raises :class:`StoreIntegrityError`.

One connection per thread and per process (opened lazily, re-opened after a
``fork``), so the store object itself can be shared by threads and by
``multiprocessing`` workers.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from rfm_retention._storage import ClosingStore
from rfm_retention._storage._sqlite import (
    connect,
    ensure_schema,
    migrate,
    translated,
    write_transaction,
)
from rfm_retention.errors import ConfigError, StoreIntegrityError
from rfm_retention.loyalty._events import Event
from rfm_retention.loyalty._schema import (
    LEDGER_SCHEMA,
    SCHEMA_VERSION,
    SQLITE_NO_REPLACE,
    account_state_statements,
)
from rfm_retention.loyalty._sql import (
    SqlLedgerTransaction,
    add_account_states,
    events_query,
    row_to_event,
)

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

# Big key lookups read the events table in seq order (sequentially) rather than once per
# key at random; see _SQLite.rows_of.
_SEQS_OF_KEYS = "SELECT e.seq FROM json_each(?) AS j JOIN events AS e ON e.key = j.value"
_CHUNK = 50_000
_FEW_KEYS = 500
# Read the whole table instead of looking keys up when they number at least 1/_SCAN_RATIO
# of the stored events (a scan costs about what looking up a quarter of the rows does).
_SCAN_RATIO = 4
Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]


class _SQLite:
    """What the ledger's SQL needs to know about SQLite."""

    # NOT INDEXED makes SQLite read the rows after a seq by seq; otherwise it walks the
    # whole account index to serve a GROUP BY.
    not_indexed = " NOT INDEXED"

    def sql(self, text: str) -> str:
        return text

    def executemany(self, conn: sqlite3.Connection, sql: str,
                    rows: Iterable[Sequence[Any]]) -> None:
        conn.executemany(sql, rows)

    def rows_of(self, conn: sqlite3.Connection, columns: str, keys: Sequence[str]
                ) -> Iterator[list[tuple[Any, ...]]]:
        """``columns`` (seq, key, ...) of the stored events among ``keys``, in seq order.

        Yields lists of rows. When the keys are many compared with the table (the
        nightly rerun of a big log), the table is read once in order and filtered
        here: a sequential scan beats a random probe per key. Otherwise the seqs of
        the keys come from the key index alone (keys sorted, so the index is walked
        in order) and the rows are read by seq.
        """
        unique = set(keys)
        if len(unique) <= _FEW_KEYS:  # single operations: one indexed query
            if unique:
                marks = ",".join("?" * len(unique))
                yield conn.execute(f"SELECT {columns} FROM events WHERE key IN ({marks}) "
                                   "ORDER BY seq", tuple(unique)).fetchall()
            return
        last = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        if _SCAN_RATIO * len(unique) >= last:
            cursor = conn.execute(f"SELECT {columns} FROM events")
            while rows := cursor.fetchmany(_CHUNK):
                yield [row for row in rows if row[1] in unique]
            return
        seqs: list[int] = []
        ordered = sorted(unique)
        for start in range(0, len(ordered), _CHUNK):
            part = json.dumps(ordered[start:start + _CHUNK])
            seqs.extend(row[0] for row in conn.execute(_SEQS_OF_KEYS, (part,)))
        seqs.sort()
        for start in range(0, len(seqs), _CHUNK):
            yield conn.execute(
                f"SELECT {columns} FROM events WHERE seq IN (SELECT value FROM json_each(?))",
                (json.dumps(seqs[start:start + _CHUNK]),)).fetchall()


_DIALECT = _SQLite()


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    conn.execute(SQLITE_NO_REPLACE)


def _migrate_2_to_3(conn: sqlite3.Connection) -> None:
    add_account_states(conn, _DIALECT, account_state_statements("sqlite"))


_MIGRATIONS = {1: _migrate_1_to_2, 2: _migrate_2_to_3}
_ATTEMPTS = 4


class SQLiteStore(ClosingStore):
    """Ledger events in a SQLite database file, safe for many threads and processes.

    Args:
        path: the database file (created with the schema if missing, unless
            ``create=False``).
        synchronous: SQLite's ``synchronous`` setting; ``FULL`` (default) makes
            each commit durable across power loss, ``NORMAL`` across process crashes.
        timeout: seconds to wait for another writer before giving up (spread
            over a few attempts with backoff; then a LedgerError with a hint).
        create: create the file and schema when missing (or empty); without
            it, a missing or empty file is refused.
        cache_mb: SQLite page cache per connection; a large batch keeps the
            key index in memory with it (64 MB inserts 1M events ~30% faster
            than SQLite's 2 MB default).

    Every ``sqlite3`` failure (a corrupt or foreign file, a directory, a
    missing folder, a lock held too long, a changed schema) is raised as
    :class:`~rfm_retention.errors.StoreIntegrityError` or
    :class:`~rfm_retention.errors.LedgerError` naming the file.

    Example:
        >>> from rfm_retention.loyalty import PointsLedger, SQLiteStore
        >>> ledger = PointsLedger(SQLiteStore("points.db"))  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "FULL",
        timeout: float = 60.0,
        create: bool = True,
        cache_mb: int = 64,
    ) -> None:
        self.path = os.fspath(path)
        self.synchronous = synchronous
        self.timeout = timeout
        self.create = create
        self.cache_mb = int(cache_mb)
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ConfigError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, "
                              f"got {synchronous!r}")
        self._local = threading.local()
        self._all: list[tuple[int, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        conn = self._connection()
        try:
            ensure_schema(conn, self.path, LEDGER_SCHEMA, create=create,
                          error=StoreIntegrityError, attempts=_ATTEMPTS)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ connections
    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        per_attempt = self.timeout / _ATTEMPTS
        conn = connect(self.path, LEDGER_SCHEMA, timeout=per_attempt, create=self.create,
                       error=StoreIntegrityError)
        try:
            with translated(self.path, LEDGER_SCHEMA, StoreIntegrityError):
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={self.synchronous}")
                conn.execute(f"PRAGMA busy_timeout={int(per_attempt * 1000)}")
                conn.execute(f"PRAGMA cache_size={-1024 * self.cache_mb}")
        except BaseException:
            conn.close()
            raise
        self._local.conn = conn
        self._local.pid = os.getpid()
        with self._lock:
            self._all.append((os.getpid(), conn))
        return conn

    def close(self) -> None:
        """Close every connection this process opened (the store re-opens on next use).

        Connections inherited through ``fork`` belong to the parent and are
        left alone: closing them in the child could disturb the parent's locks.
        """
        pid = os.getpid()
        with self._lock:
            conns, self._all = self._all, []
        for owner, conn in conns:
            if owner == pid:
                conn.close()
        self._local = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "synchronous": self.synchronous, "timeout": self.timeout,
                "cache_mb": self.cache_mb}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], synchronous=state["synchronous"],  # type: ignore[misc]
                      timeout=state["timeout"], cache_mb=state["cache_mb"])

    @classmethod
    def migrate(cls, path: str | os.PathLike[str]) -> tuple[int, int]:
        """Bring an older ledger file to :data:`SCHEMA_VERSION`; returns (before, after).

        Explicit on purpose: opening an older file refuses it with a hint to
        migrate, so a schema never changes behind a host's back. One transaction:
        a failed migration leaves the file as it was.

        Example:
            >>> SQLiteStore.migrate("points.db")  # doctest: +SKIP
            (1, 2)
        """
        return migrate(os.fspath(path), LEDGER_SCHEMA, _MIGRATIONS, error=StoreIntegrityError)

    # ------------------------------------------------------------------ protocol
    @contextmanager
    def transaction(self) -> Iterator[SqlLedgerTransaction]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any error)."""
        conn = self._connection()
        with write_transaction(conn, self.path, LEDGER_SCHEMA, StoreIntegrityError,
                               attempts=_ATTEMPTS):
            yield SqlLedgerTransaction(conn, _DIALECT)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one query, read in one snapshot, failures translated."""
        conn = self._connection()
        with translated(self.path, LEDGER_SCHEMA, StoreIntegrityError):
            conn.execute("BEGIN")
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.execute("COMMIT")

    def events(self, *, branch: str | None = None, patient_id: str | None = None
               ) -> Iterator[Event]:
        """Stored events in ``seq`` order, read in one snapshot."""
        sql, params = events_query(branch, patient_id)
        return map(row_to_event, self._read(sql, params))

    def projected_balances(self) -> dict[tuple[str, str], tuple[int, int]]:
        """The ``balances`` table: running (balance, event count) per account."""
        rows = self._read("SELECT branch, patient_id, balance, n_events FROM balances")
        return {(b, p): (int(bal), int(n)) for b, p, bal, n in rows}

    def derived_accounts(self) -> dict[tuple[str, str], tuple[int, int, int, int]]:
        """(balance, available, debt, event count) per account, as kept in ``balances``."""
        return {(b, p): (int(x), int(y), int(z), int(n)) for b, p, x, y, z, n in self._read(
            "SELECT branch, patient_id, balance, available, debt, n_events FROM balances")}

    def derived_lots(self) -> dict[str, tuple[int, int, bool]]:
        """(remaining, expired, reversed) per lot, as kept in ``lots``."""
        return {k: (int(r), int(e), bool(v)) for k, r, e, v in self._read(
            "SELECT key, remaining, expired, reversed FROM lots")}

    def __len__(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM events")[0][0])
