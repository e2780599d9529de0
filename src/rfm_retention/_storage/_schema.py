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

from collections.abc import Mapping

import attrs

__all__ = ["Schema", "in_dialect", "normalised"]

_TYPES = {
    "sqlite": {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "int": "INTEGER"},
    "postgresql": {"serial": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "int": "BIGINT"},
}


def in_dialect(sql: str, dialect: str) -> str:
    """A statement written with ``{serial}``/``{int}`` in ``dialect``'s words.

    Example:
        >>> in_dialect("CREATE TABLE t (n {int})", "postgresql")
        'CREATE TABLE t (n BIGINT)'
    """
    return sql.format(**_TYPES[dialect])


def normalised(sql: str) -> str:
    """SQL text compared as stored by any database (case, spacing and IF NOT EXISTS aside).

    Example:
        >>> normalised("CREATE TRIGGER IF NOT EXISTS t\\n  BEFORE UPDATE")
        'create trigger t before update'
    """
    words = sql.replace("IF NOT EXISTS", " ").split()
    return " ".join(words).lower().rstrip(";").strip()


@attrs.frozen
class Schema:
    """Tables, expected columns, version and append-only guards of one kind of store.

    Attributes:
        name: what the database holds, for messages ("points ledger").
        version: the schema version this library writes and reads.
        version_table: the one-row table recording the version.
        tables: ``CREATE`` statements of tables and indexes (with ``{serial}``/``{int}``).
        columns: the columns each table must have, in order.
        guards: per dialect, guard name -> its exact ``CREATE`` text.
    """

    name: str
    version: int
    version_table: str
    tables: tuple[str, ...]
    columns: Mapping[str, tuple[str, ...]]
    guards: Mapping[str, Mapping[str, str]]

    def statements(self, dialect: str) -> list[str]:
        """Everything that creates the schema in ``dialect``, version row last."""
        words = _TYPES[dialect]
        made = [in_dialect(sql, dialect) for sql in self.tables]
        made += [f"CREATE TABLE {self.version_table} (version {words['int']} NOT NULL)"]
        made += list(self.guards[dialect].values())
        made.append(f"INSERT INTO {self.version_table} (version) VALUES ({self.version})")
        return made

    def missing_columns(self, found: Mapping[str, tuple[str, ...]]) -> list[str]:
        """``table.column`` names this schema needs and ``found`` lacks."""
        return [f"{table}.{column}" for table, columns in self.columns.items()
                for column in columns if column not in found.get(table, ())]

    def bad_guards(self, dialect: str, found: Mapping[str, str]) -> list[str]:
        """Guards missing from ``found`` (name -> stored text) or stored with other text."""
        return [name for name, sql in self.guards[dialect].items()
                if normalised(found.get(name, "")) != normalised(sql)]
