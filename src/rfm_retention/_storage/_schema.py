"""A store's schema, described once for every database it can live in.

Tables are written once, in SQL both SQLite and PostgreSQL read, with two
words left to the database: ``{serial}`` (an auto-numbered integer primary
key) and ``{int}`` (a 64-bit integer). The append-only guards differ by
database (SQLite triggers, PostgreSQL trigger functions) and are given per
dialect; a store opening a database checks the recorded version, that every
expected column is there, and that every guard exists with exactly the text
this library wrote (a guard replaced by a permissive one is as bad as a
dropped one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from rfm_retention._frozen import frozen

__all__ = ["Schema", "in_dialect", "normalised", "run_migrations"]

_TYPES = {
    "sqlite": {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "int": "INTEGER"},
    # seq is numbered by the store inside the transaction (a sequence would leave gaps)
    "postgresql": {"serial": "BIGINT PRIMARY KEY", "int": "BIGINT"},
}


def in_dialect(sql: str, dialect: str) -> str:
    """A statement written with ``{serial}``/``{int}`` in ``dialect``'s words.

    Example:
        >>> in_dialect("CREATE TABLE t (n {int})", "postgresql")
        'CREATE TABLE t (n BIGINT)'
    """
    made = sql.format(**_TYPES[dialect])
    if dialect == "postgresql":  # text sorts by code point, as in Python and SQLite
        made = made.replace(" TEXT", ' TEXT COLLATE "C"')
    return made


def normalised(sql: str) -> str:
    """SQL text compared as stored by any database (case, spacing and IF NOT EXISTS aside).

    Example:
        >>> normalised("CREATE TRIGGER IF NOT EXISTS t\\n  BEFORE UPDATE")
        'create trigger t before update'
    """
    words = sql.replace("IF NOT EXISTS", " ").split()
    return " ".join(words).lower().rstrip(";").strip()


def _guard_text(name: str, sql: str) -> str:
    """What a database reports for a guard: a function's body, else its CREATE statement."""
    if name.startswith("function "):
        return sql.split("$$")[1]
    return sql


@attrs.frozen
class Schema:
    """Tables, expected columns, version and append-only guards of one kind of store.

    Attributes:
        name: what the database holds, for messages ("points ledger").
        version: the schema version this library writes and reads.
        version_table: the one-row table recording the version.
        tables: ``CREATE`` statements of tables and indexes (with ``{serial}``/``{int}``).
        columns: the columns each table must have, in order.
        guards: per dialect, guard name -> its exact ``CREATE`` text (a guard named
            ``"function NAME"`` is a PostgreSQL function, compared by its body).
    """

    name: str
    version: int
    version_table: str
    tables: tuple[str, ...]
    columns: Mapping[str, tuple[str, ...]] = attrs.field(converter=frozen)
    guards: Mapping[str, Mapping[str, str]] = attrs.field(converter=frozen)

    def statements(self, dialect: str) -> list[str]:
        """Everything that creates the schema in ``dialect``, version row last."""
        words = _TYPES[dialect]
        made = [in_dialect(sql, dialect) for sql in self.tables]
        made += [f"CREATE TABLE {self.version_table} (version {words['int']} NOT NULL)"]
        made += list(self.guards[dialect].values())
        made.append(f"INSERT INTO {self.version_table} (version) VALUES ({self.version})")
        return made

    def version_problem(self, versions: list[int], where: str, db: str) -> str:
        """What is wrong with the recorded ``versions`` of the database at ``where``, with
        the hint (``db``: how the migrate command names it, ``FILE`` or ``DSN``); ``""`` when
        it is this library's version.

        Example:
            >>> from rfm_retention.loyalty._schema import LEDGER_SCHEMA
            >>> LEDGER_SCHEMA.version_problem([3], "'points.db'", "FILE")
            ''
            >>> LEDGER_SCHEMA.version_problem([1], "'points.db'", "FILE").splitlines()[0]
            "'points.db' has ledger schema version [1]; this library reads version 3."
        """
        if versions == [self.version]:
            return ""
        hint = (f"\nHint: run `rfm-retention db migrate --db {db}` (after a backup) to bring "
                "it to this version." if versions and max(versions) < self.version else
                "\nHint: open it with the library version that wrote it.")
        return (f"{where} has {self.name} schema version {versions}; this library reads "
                f"version {self.version}.{hint}")

    def missing_columns(self, found: Mapping[str, tuple[str, ...]]) -> list[str]:
        """``table.column`` names this schema needs and ``found`` lacks."""
        return [f"{table}.{column}" for table, columns in self.columns.items()
                for column in columns if column not in found.get(table, ())]

    def bad_guards(self, dialect: str, found: Mapping[str, str]) -> list[str]:
        """Guards missing from ``found`` (name -> stored text) or stored with other text."""
        return [name for name, sql in self.guards[dialect].items()
                if normalised(found.get(name, "")) != normalised(_guard_text(name, sql))]


def run_migrations(conn: Any, schema: Schema, versions: list[int],
                   steps: Mapping[int, Callable[[Any], None]], *, where: str,
                   error: type[Exception]) -> tuple[int, int]:
    """Run the steps from the recorded version up to ``schema.version``; (before, after).

    The caller holds the transaction and records the new version afterwards.
    """
    if len(versions) != 1 or versions[0] > schema.version:
        raise error(f"{where} has {schema.name} schema version {versions}; this library "
                    f"migrates up to version {schema.version}")
    before = current = versions[0]
    while current < schema.version:
        if current not in steps:
            raise error(f"{where}: no migration from {schema.name} schema version {current}")
        steps[current](conn)
        current += 1
    return before, current
