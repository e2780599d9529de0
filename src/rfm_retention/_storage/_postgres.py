"""The PostgreSQL side of the storage layer (``psycopg`` 3, the optional extra ``postgres``).

Every transaction runs at ``SERIALIZABLE``: the ledger's rules are Python that
reads many rows (lots, spends, earlier events) before it writes, and
SERIALIZABLE makes PostgreSQL itself guarantee that concurrent operations
behave as if run one after another, without a hand-placed row lock for every
read. PostgreSQL refuses a transaction it could not serialise (``40001``, or
a deadlock ``40P01``); such a transaction wrote nothing and is run again by
:func:`~rfm_retention._storage.retrying`. On one hot account (eight
processes spending one balance) nearly every transaction would conflict and
be retried, so the write transactions of a store also queue on one advisory
lock taken before ``BEGIN`` (the same one-writer-at-a-time rule as SQLite's
write lock; reads never wait): SERIALIZABLE stays as the guarantee, the lock
makes conflicts rare. A lost
connection (a server restart) is treated the same way: the store reconnects
on the next attempt, and because every operation is keyed, running it again
never applies it twice. Every other failure is a library error naming the
server (the address without its password).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from rfm_retention._optional import import_optional
from rfm_retention._storage._retry import Busy, retrying
from rfm_retention._storage._schema import Schema, run_migrations
from rfm_retention.errors import RFMRetentionError

__all__ = ["Connections", "Migration", "PostgresDialect", "is_dsn", "migrate_server",
           "open_connections", "where"]

ErrorClass = type[RFMRetentionError]
Migration = Any
"""One step from a schema version to the next: a callable taking the open connection."""

# serialisation failure, deadlock, a key a concurrent transaction just wrote (the ledger's
# retried idempotency key: the next attempt finds it stored), lock not available
_RETRY_STATES = {"40001", "40P01", "23505", "55P03"}
_LOCK_SCHEMA = 7_244_501  # advisory lock key: one process creates or migrates at a time
_LOCK_WAIT = "30s"
LEDGER_WRITERS = 7_244_502
"""Advisory lock key serialising the ledger's write transactions on one database."""
CASE_WRITERS = 7_244_503
"""Advisory lock key serialising the case store's appends on one database."""


def is_dsn(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL server rather than a file.

    Example:
        >>> is_dsn("postgresql://app@db.hospital.local/retention"), is_dsn("points.db")
        (True, False)
    """
    return text.startswith(("postgresql://", "postgres://"))


def psycopg() -> Any:
    """The ``psycopg`` module, or MissingDependencyError with the install hint."""
    return import_optional("psycopg", "postgres", "a PostgreSQL store")


def where(dsn: str) -> str:
    """The server and database of ``dsn``, without password, for messages.

    Example:
        >>> where("postgresql://app:secret@db:5432/retention")
        'postgresql://app@db:5432/retention'
    """
    try:
        parts = psycopg().conninfo.conninfo_to_dict(dsn)
    except Exception:  # a malformed address: name it without guessing
        return "the PostgreSQL server"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


class PostgresDialect:
    """What the shared SQL needs to know about PostgreSQL."""

    not_indexed = ""

    def sql(self, text: str) -> str:
        """``?`` placeholders as psycopg's ``%s``."""
        return text.replace("%", "%%").replace("?", "%s")

    def executemany(self, conn: Any, sql: str, rows: Any) -> None:
        """Run ``sql`` once per row (pipelined by psycopg)."""
        with conn.cursor() as cursor:
            cursor.executemany(sql, rows)

    def rows_of(self, conn: Any, columns: str, keys: Any) -> Iterator[list[tuple[Any, ...]]]:
        """``columns`` of the stored events among ``keys``, in batches of 50,000 keys."""
        unique = sorted(set(keys))
        for start in range(0, len(unique), 50_000):
            yield conn.execute(f"SELECT {columns} FROM events WHERE key = ANY(%s) ORDER BY seq",
                               (unique[start:start + 50_000],)).fetchall()


class Connections:
    """One connection per thread and process to one server, reopened after a failure."""

    def __init__(self, dsn: str, schema: Schema, error: ErrorClass, *,
                 connect_timeout: float, retry_unique: bool = True) -> None:
        self.dsn = dsn
        self.where = where(dsn)
        self.schema = schema
        self.error = error
        self.connect_timeout = connect_timeout
        self.retry_states = _RETRY_STATES if retry_unique else _RETRY_STATES - {"23505"}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[Any] = []

    def get(self) -> Any:
        """This thread's open connection (opened now if there is none or it broke)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed and self._local.pid == os.getpid():
            return conn
        pg = psycopg()
        try:
            conn = pg.connect(self.dsn, autocommit=True,
                              connect_timeout=max(1, int(self.connect_timeout)))
        except pg.OperationalError as exc:
            raise Busy(self.where, f"cannot connect: {str(exc).strip()}") from None
        except pg.Error as exc:
            raise self.error(f"{self.where}: cannot connect: {str(exc).strip()}") from None
        conn.execute(f"SET lock_timeout = '{_LOCK_WAIT}'")  # then Busy, retried
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._lock:
            self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this object opened."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with suppress(Exception):
                conn.close()
        self._local = threading.local()

    @contextmanager
    def translated(self) -> Iterator[None]:
        """psycopg failures as :class:`Busy` (retry) or the store's library error."""
        pg = psycopg()
        try:
            yield
        except pg.Error as exc:
            state = getattr(exc, "sqlstate", None) or ""
            if state in self.retry_states or isinstance(exc, pg.OperationalError):
                if isinstance(exc, pg.OperationalError):
                    self.drop()
                raise Busy(self.where, str(exc).strip().splitlines()[0]) from None
            raise self.error(f"{self.where}: the {self.schema.name} database refused the "
                             f"operation: {str(exc).strip()}") from None

    def drop(self) -> None:
        """Forget this thread's connection (it broke); the next use opens a new one."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with suppress(Exception):
                conn.close()

    @contextmanager
    def transaction(self, *, read_only: bool = False, isolation: str = "SERIALIZABLE",
                    writer_lock: int | None = None) -> Iterator[Any]:
        """``BEGIN ISOLATION LEVEL SERIALIZABLE`` ... ``COMMIT``; ROLLBACK on any error.

        ``writer_lock``: an advisory lock taken before the transaction begins and
        released after it ends, so the writers holding it run one at a time (their
        snapshots then never conflict) instead of racing and being retried.
        """
        conn = self.get()
        mode = " READ ONLY" if read_only else ""
        with self.translated():
            if writer_lock is not None:
                conn.execute("SELECT pg_advisory_lock(%s)", (writer_lock,))
            conn.execute(f"BEGIN ISOLATION LEVEL {isolation}{mode}")
        try:
            with self.translated():
                yield conn
                conn.execute("COMMIT")
        except BaseException:
            if not conn.closed and conn.info.transaction_status != 0:  # not idle
                try:
                    conn.execute("ROLLBACK")
                except Exception:  # the connection broke; nothing was committed
                    self.drop()
            raise
        finally:
            if writer_lock is not None and not conn.closed:
                with suppress(Exception):  # a broken connection took its lock with it
                    conn.execute("SELECT pg_advisory_unlock(%s)", (writer_lock,))

    def read(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        """Rows of one query in a read-only transaction (retried when refused)."""
        def once() -> list[tuple[Any, ...]]:
            with self.transaction(read_only=True) as conn:
                return list(conn.execute(sql, params).fetchall())
        return retrying(once, error=self.error)

    # ------------------------------------------------------------------ schema
    def _tables(self, conn: Any) -> set[str]:
        return {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()").fetchall()}

    def _columns(self, conn: Any) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {}
        for table, column in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() ORDER BY ordinal_position").fetchall():
            found.setdefault(table, []).append(column)
        return {t: tuple(c) for t, c in found.items()}

    def _guards(self, conn: Any) -> dict[str, str]:
        rows = conn.execute(
            "SELECT t.tgname, pg_get_triggerdef(t.oid), n.nspname FROM pg_trigger AS t "
            "JOIN pg_class AS c ON c.oid = t.tgrelid JOIN pg_namespace AS n "
            "ON n.oid = c.relnamespace WHERE NOT t.tgisinternal "
            "AND n.nspname = current_schema()").fetchall()
        # names are shown schema-qualified; the guard is the same in any schema
        found = {name: text.replace(f" {space}.", " ") for name, text, space in rows}
        for name, body in conn.execute(
                "SELECT p.proname, p.prosrc FROM pg_proc AS p JOIN pg_namespace AS n "
                "ON n.oid = p.pronamespace WHERE n.nspname = current_schema()").fetchall():
            found[f"function {name}"] = body
        return found

    def _check(self, conn: Any) -> None:
        schema, error = self.schema, self.error
        versions = [int(r[0]) for r in conn.execute(
            f"SELECT version FROM {schema.version_table}").fetchall()]
        problem = schema.version_problem(versions, self.where, "DSN")
        if problem:
            raise error(problem)
        missing = schema.missing_columns(self._columns(conn))
        if missing:
            raise error(f"{self.where}: the {schema.name} schema lacks column(s) "
                        f"{', '.join(missing)}.\nHint: restore it from a backup.")
        bad = schema.bad_guards("postgresql", self._guards(conn))
        if bad:
            raise error(f"{self.where}: the append-only guard(s) {', '.join(sorted(bad))} were "
                        "removed or changed.\nHint: restore them (db migrate re-creates them "
                        "only on an older schema) and run verify.")

    def ensure_schema(self, *, create: bool) -> None:
        """Create the schema in an empty database (when ``create``), else check it."""
        def once() -> None:  # READ COMMITTED: after the lock, see what another creator made
            with self.transaction(isolation="READ COMMITTED") as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_SCHEMA,))
                if self.schema.version_table not in self._tables(conn):
                    if not create:
                        raise self.error(f"{self.where} holds no {self.schema.name} schema."
                                         "\nHint: create it by opening the store with "
                                         "create=True (points award / cases open do).")
                    for statement in self.schema.statements("postgresql"):
                        conn.execute(statement)
                self._check(conn)
        retrying(once, error=self.error)

    def migrate(self, steps: Mapping[int, Any]) -> tuple[int, int]:
        """Bring the schema to this version, one step per version, in one transaction."""
        schema, error = self.schema, self.error
        result: list[int] = []

        def once() -> None:
            with self.transaction(isolation="READ COMMITTED") as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_SCHEMA,))
                if schema.version_table not in self._tables(conn):
                    raise error(f"{self.where} holds no {schema.name} schema to migrate")
                versions = [int(r[0]) for r in conn.execute(
                    f"SELECT version FROM {schema.version_table}").fetchall()]
                before, current = run_migrations(conn, schema, versions, steps,
                                                 where=self.where, error=error)
                conn.execute(f"UPDATE {schema.version_table} SET version = %s", (current,))
                self._check(conn)
                result[:] = [before, current]
        retrying(once, error=error)
        return result[0], result[1]


def open_connections(dsn: str, schema: Schema, error: ErrorClass, *, create: bool,
                     connect_timeout: float, retry_unique: bool = True) -> Connections:
    """A store's connections to ``dsn``, its schema created (``create``) or checked first.

    A store opens its server through here, so a refused schema leaves no
    connection behind.
    """
    db = Connections(dsn, schema, error, connect_timeout=connect_timeout,
                     retry_unique=retry_unique)
    try:
        db.ensure_schema(create=create)
    except BaseException:
        db.close()
        raise
    return db


def migrate_server(dsn: str, schema: Schema, error: ErrorClass) -> tuple[int, int]:
    """Bring ``schema`` on the server to this library's version; (before, after)."""
    db = Connections(dsn, schema, error, connect_timeout=10.0)
    try:
        return db.migrate({})
    finally:
        db.close()
