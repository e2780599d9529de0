"""Case histories on a PostgreSQL server (``psycopg`` 3, the optional extra ``postgres``).

The same tables and SQL as :class:`SQLiteCaseStore` (``_case_sql``); each
append is one ``SERIALIZABLE`` transaction, retried with backoff when
PostgreSQL could not serialise it; trigger functions keep the history
append-only and let a case row change only together with its history; the
partial unique index keeps one open case per patient across every server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rfm_retention._storage import ClosingStore, retrying
from rfm_retention._storage._postgres import (
    CASE_WRITERS,
    PostgresDialect,
    migrate_server,
    open_connections,
)
from rfm_retention.errors import CaseError, StoreIntegrityError
from rfm_retention.interventions._case_sql import case_ids_query, decode_history, write_case
from rfm_retention.interventions._events import CaseEvent
from rfm_retention.interventions._records import Case
from rfm_retention.interventions._schema import CASE_SCHEMA

__all__ = ["PostgresCaseStore"]

_DIALECT = PostgresDialect()


class PostgresCaseStore(ClosingStore):
    """A :class:`~rfm_retention.interventions.CaseStore` in a PostgreSQL database.

    Args:
        dsn: ``postgresql://user:password@host:port/database``.
        create: create the schema in an empty database.
        connect_timeout: seconds to wait for the server when connecting.

    Example:
        >>> store = PostgresCaseStore("postgresql://app@db/retention")  # doctest: +SKIP
        >>> store.case_ids()  # doctest: +SKIP
        ()
    """

    def __init__(self, dsn: str, *, create: bool = True, connect_timeout: float = 10.0) -> None:
        self.dsn = dsn
        self._db = open_connections(dsn, CASE_SCHEMA, StoreIntegrityError, create=create,
                                    connect_timeout=connect_timeout, retry_unique=False)
        self.where = self._db.where

    @classmethod
    def migrate(cls, dsn: str) -> tuple[int, int]:
        """Bring the server's case schema to this library's version; (before, after)."""
        return migrate_server(dsn, CASE_SCHEMA, StoreIntegrityError)

    def close(self) -> None:
        """Close this store's connections."""
        self._db.close()

    def append(self, case: Case, events: Sequence[CaseEvent]) -> None:
        """See :meth:`~rfm_retention.interventions.CaseStore.append` (one transaction)."""
        def once() -> None:
            with self._db.transaction(writer_lock=CASE_WRITERS) as conn:
                def run(sql: str, params: Sequence[Any]) -> Any:
                    return conn.execute(_DIALECT.sql(sql), params)

                def many(sql: str, rows: Sequence[Sequence[Any]]) -> None:
                    _DIALECT.executemany(conn, _DIALECT.sql(sql), rows)

                write_case(run, many, case, events)

        try:
            retrying(once, error=CaseError)
        except StoreIntegrityError as exc:
            if "cases_one_open_per_patient" in str(exc) or "cases_patient_id" in str(exc):
                raise CaseError(f"patient {case.patient_id} already has an open case "
                                f"(storing {case.case_id})") from None
            raise CaseError(f"case {case.case_id}: store refused the change: {exc}") from None

    def history(self, case_id: str) -> tuple[CaseEvent, ...]:
        """See :meth:`~rfm_retention.interventions.CaseStore.history`."""
        rows = self._db.read(_DIALECT.sql(
            "SELECT seq, body FROM case_events WHERE case_id = ? ORDER BY seq"), (case_id,))
        return decode_history(case_id, rows)

    def case_ids(
        self, *, patient_id: str | None = None, open_only: bool = False
    ) -> tuple[str, ...]:
        """See :meth:`~rfm_retention.interventions.CaseStore.case_ids`."""
        sql, params = case_ids_query(patient_id, open_only)
        return tuple(row[0] for row in self._db.read(_DIALECT.sql(sql), params))
