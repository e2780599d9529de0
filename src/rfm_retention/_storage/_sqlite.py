"""The SQLite side of the storage layer: opening a file, checking its schema, failures.

Every ``sqlite3`` failure a store can meet becomes a library error naming the
file: a directory or a missing folder given as the database, a corrupt or
foreign file, a schema with a dropped column or a changed guard, and a lock
that stayed held (after retries with backoff). A read-only open of an empty
file refuses it rather than turning it into a new database.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TypeVar

from rfm_retention._storage._retry import Busy, retrying
from rfm_retention._storage._schema import Schema, run_migrations
from rfm_retention.errors import RFMRetentionError

__all__ = [
    "Migration",
    "begin_immediate",
    "connect",
    "ensure_schema",
    "migrate",
    "translated",
    "write_transaction",
]

T = TypeVar("T")
ErrorClass = type[RFMRetentionError]
Migration = Callable[[sqlite3.Connection], None]
"""One step from a schema version to the next, run inside the migration's transaction."""

_BUSY_WORDS = ("database is locked", "database table is locked", "database is busy")


def connect(path: str, schema: Schema, *, timeout: float, create: bool,
            error: ErrorClass) -> sqlite3.Connection:
    """An autocommit connection to ``path``, after checking the path can be a database file."""
    if path != ":memory:" and not path.startswith("file:"):
        if os.path.isdir(path):
            raise error(f"{path!r} is a directory, not a {schema.name} database file")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise error(f"{path!r}: the folder {folder!r} does not exist.\nHint: create it "
                        "first, or give another --db path.")
        if not create and not os.path.exists(path):
            raise error(f"no {schema.name} database at {path!r}")
        if not create and os.path.getsize(path) == 0:
            raise error(f"{path!r} is empty, not a {schema.name} database.\nHint: give the "
                        "file the store was created in.")
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        raise error(f"cannot open {schema.name} database {path!r}: {exc}") from None
    return conn


@contextmanager
def translated(path: str, schema: Schema, error: ErrorClass) -> Iterator[None]:
    """Turn ``sqlite3`` failures into :class:`Busy` (lock races) or ``error`` naming the file."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if any(word in str(exc) for word in _BUSY_WORDS):
            raise Busy(repr(path), str(exc)) from None
        raise error(f"{path!r}: the {schema.name} database refused the operation: {exc}"
                    ) from None
    except sqlite3.DatabaseError as exc:
        raise error(f"{path!r} is not a readable {schema.name} database: {exc}.\nHint: restore "
                    "it from a backup, or give the right --db file.") from None


def begin_immediate(conn: sqlite3.Connection, path: str, schema: Schema,
                    error: ErrorClass, *, attempts: int) -> None:
    """``BEGIN IMMEDIATE``, retried with backoff while another writer holds the lock."""
    def begin() -> None:
        with translated(path, schema, error):
            conn.execute("BEGIN IMMEDIATE")
    retrying(begin, error=error, attempts=attempts)


@contextmanager
def write_transaction(conn: sqlite3.Connection, path: str, schema: Schema, error: ErrorClass,
                      *, attempts: int) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` (retried) ... ``COMMIT``, ``ROLLBACK`` on error, failures translated."""
    begin_immediate(conn, path, schema, error, attempts=attempts)
    try:
        with translated(path, schema, error):
            yield
            conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(conn: sqlite3.Connection, tables: Sequence[str]) -> dict[str, tuple[str, ...]]:
    return {t: tuple(r[1] for r in conn.execute(f"PRAGMA table_info({t})")) for t in tables}


def _guards(conn: sqlite3.Connection) -> dict[str, str]:
    return {name: sql or "" for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")}


def _version(conn: sqlite3.Connection, schema: Schema) -> list[int]:
    return [int(r[0]) for r in conn.execute(f"SELECT version FROM {schema.version_table}")]


def _check(conn: sqlite3.Connection, path: str, schema: Schema, error: ErrorClass) -> None:
    problem = schema.version_problem(_version(conn, schema), repr(path), "FILE")
    if problem:
        raise error(problem)
    missing = schema.missing_columns(_columns(conn, list(schema.columns)))
    if missing:
        raise error(f"{path!r}: the {schema.name} schema version {schema.version} lacks "
                    f"column(s) {', '.join(missing)}; the file was changed by another program."
                    "\nHint: restore it from a backup.")
    bad = schema.bad_guards("sqlite", _guards(conn))
    if bad:
        raise error(f"{path!r}: the append-only guard(s) {', '.join(sorted(bad))} were removed "
                    "or changed by another program.\nHint: restore the file from a backup and "
                    "run verify.")


def ensure_schema(conn: sqlite3.Connection, path: str, schema: Schema, *, create: bool,
                  error: ErrorClass, attempts: int = 4) -> None:
    """Create the schema in an empty file (when ``create``), else check version, columns, guards."""
    with translated(path, schema, error):  # an existing schema is checked without the lock
        conn.execute("BEGIN")
        try:
            if schema.version_table in _tables(conn):
                _check(conn, path, schema, error)
                return
        finally:
            conn.execute("COMMIT")
    with write_transaction(conn, path, schema, error, attempts=attempts):
        tables = _tables(conn)
        if schema.version_table not in tables:
            if tables - {"sqlite_sequence"}:
                raise error(f"{path!r} holds tables {sorted(tables)} but no {schema.name} "
                            f"schema; it is not a {schema.name} database")
            if not create:
                raise error(f"{path!r} is empty, not a {schema.name} database.\nHint: "
                            "give the file the store was created in.")
            for statement in schema.statements("sqlite"):
                conn.execute(statement)
        _check(conn, path, schema, error)


def migrate(path: str, schema: Schema, steps: Mapping[int, Migration], *,
            error: ErrorClass) -> tuple[int, int]:
    """Bring the file's schema to ``schema.version``, one step per version, in one transaction.

    Returns (version before, version after). A file already at the version is left alone.
    """
    conn = connect(path, schema, timeout=15.0, create=False, error=error)
    try:
        with write_transaction(conn, path, schema, error, attempts=4):
            if schema.version_table not in _tables(conn):
                raise error(f"{path!r} holds no {schema.name} schema to migrate")
            before, current = run_migrations(conn, schema, _version(conn, schema), steps,
                                             where=repr(path), error=error)
            conn.execute(f"UPDATE {schema.version_table} SET version = ?", (current,))
            _check(conn, path, schema, error)
    finally:
        conn.close()
    return before, current
