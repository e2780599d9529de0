"""A ledger store on a PostgreSQL server, shared by every application server of a hospital.

The same tables, rules and account states as :class:`SQLiteStore` (the SQL is
shared, see ``rfm_retention.loyalty._sql``); what differs is how the database
keeps concurrent operations apart: each operation is one ``SERIALIZABLE``
transaction, a transaction PostgreSQL could not serialise is run again with
backoff (see ``rfm_retention._storage._postgres`` for why SERIALIZABLE rather
than row locks), and the append-only guard is a trigger function refusing
``UPDATE``, ``DELETE`` and ``TRUNCATE`` on ``events`` for every role.
``psycopg`` (extra ``postgres``) is imported only when a store is opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rfm_retention._storage import ClosingStore
from rfm_retention._storage._postgres import (
    LEDGER_WRITERS,
    PostgresDialect,
    migrate_server,
    open_connections,
)
from rfm_retention.errors import StoreIntegrityError
from rfm_retention.loyalty._events import Event
from rfm_retention.loyalty._schema import LEDGER_SCHEMA
from rfm_retention.loyalty._sql import SqlLedgerTransaction, events_query, row_to_event

__all__ = ["PostgresStore"]

_DIALECT = PostgresDialect()


class PostgresStore(ClosingStore):
    """Ledger events in a PostgreSQL database, safe for many processes on many machines.

    Args:
        dsn: the server address, ``postgresql://user:password@host:port/database``
            (the role needs the privileges listed in the PostgreSQL guide).
        create: create the schema in an empty database; without it, a database
            with no ledger schema is refused.
        connect_timeout: seconds to wait for the server when connecting.

    Example:
        >>> from rfm_retention.loyalty import PointsLedger, PostgresStore
        >>> ledger = PointsLedger(PostgresStore("postgresql://app@db/retention"))  # doctest: +SKIP
    """

    def __init__(self, dsn: str, *, create: bool = True, connect_timeout: float = 10.0) -> None:
        self.dsn = dsn
        self.create = create
        self.connect_timeout = connect_timeout
        self._db = open_connections(dsn, LEDGER_SCHEMA, StoreIntegrityError, create=create,
                                    connect_timeout=connect_timeout)
        self.where = self._db.where

    def close(self) -> None:
        """Close this store's connections (it reconnects on next use)."""
        self._db.close()

    def __getstate__(self) -> dict[str, Any]:
        return {"dsn": self.dsn, "connect_timeout": self.connect_timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["dsn"], connect_timeout=state["connect_timeout"])  # type: ignore[misc]

    @classmethod
    def migrate(cls, dsn: str) -> tuple[int, int]:
        """Bring the server's ledger schema to this library's version; (before, after).

        Example:
            >>> PostgresStore.migrate("postgresql://app@db/retention")  # doctest: +SKIP
            (3, 3)
        """
        return migrate_server(dsn, LEDGER_SCHEMA, StoreIntegrityError)

    # ------------------------------------------------------------------ protocol
    @contextmanager
    def transaction(self) -> Iterator[SqlLedgerTransaction]:
        """One SERIALIZABLE transaction; a refused one raises so the ledger runs it again."""
        with self._db.transaction(writer_lock=LEDGER_WRITERS) as conn:
            yield SqlLedgerTransaction(conn, _DIALECT)

    def events(self, *, branch: str | None = None, patient_id: str | None = None
               ) -> Iterator[Event]:
        """Stored events in ``seq`` order, read in one snapshot."""
        sql, params = events_query(branch, patient_id)
        return map(row_to_event, self._db.read(_DIALECT.sql(sql), params))

    def projected_balances(self) -> dict[tuple[str, str], tuple[int, int]]:
        """Running (balance, event count) per account."""
        rows = self._db.read("SELECT branch, patient_id, balance, n_events FROM balances")
        return {(b, p): (int(bal), int(n)) for b, p, bal, n in rows}

    def derived_accounts(self) -> dict[tuple[str, str], tuple[int, int, int, int]]:
        """(balance, available, debt, event count) per account, as kept in ``balances``."""
        return {(b, p): (int(x), int(y), int(z), int(n)) for b, p, x, y, z, n in self._db.read(
            "SELECT branch, patient_id, balance, available, debt, n_events FROM balances")}

    def derived_lots(self) -> dict[str, tuple[int, int, bool]]:
        """(remaining, expired, reversed) per lot, as kept in ``lots``."""
        return {k: (int(r), int(e), bool(v)) for k, r, e, v in self._db.read(
            "SELECT key, remaining, expired, reversed FROM lots")}

    def __len__(self) -> int:
        return int(self._db.read("SELECT COUNT(*) FROM events")[0][0])
