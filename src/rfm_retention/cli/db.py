"""``rfm-retention db migrate``: bring a ledger or case database to this library's schema.

Opening a database written by an older version refuses it with a hint to run
this command: a schema never changes behind the host's back. Take a backup
first; the migration is one transaction, so a failure leaves the file as it was.
"""

from __future__ import annotations

import argparse
import sqlite3
from typing import Any

from rfm_retention._storage._postgres import is_dsn, where
from rfm_retention.errors import StoreIntegrityError
from rfm_retention.interventions import PostgresCaseStore, SQLiteCaseStore
from rfm_retention.loyalty import PostgresStore, SQLiteStore

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``db migrate`` to the command line."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "db", help="database maintenance: migrate a ledger or case database to this version",
        description="Maintenance of the points ledger and case databases.")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    migrate = actions.add_parser(
        "migrate", help="bring a ledger or case database to this library's schema version "
        "(explicit, one transaction; back it up first)")
    migrate.add_argument("--db", required=True, metavar="FILE|DSN",
                         help="ledger or case database file, or postgresql://user@host/db")
    migrate.set_defaults(func=run_migrate)


def _kind(path: str) -> str:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreIntegrityError(f"{path!r} is not a readable database: {exc}") from None
    if "ledger_schema" in tables:
        return "ledger"
    if "case_schema" in tables:
        return "case"
    raise StoreIntegrityError(f"{path!r} holds neither a ledger nor a case schema")


def _migrate_server(dsn: str) -> int:
    done = 0
    for kind, store in (("ledger", PostgresStore), ("case", PostgresCaseStore)):
        try:
            before, after = store.migrate(dsn)
        except StoreIntegrityError as exc:
            if "holds no" in str(exc):
                continue
            raise
        change = "already at" if before == after else f"migrated from version {before} to"
        print(f"{where(dsn)}: {kind} schema {change} version {after}")
        done += 1
    if not done:
        raise StoreIntegrityError(f"{where(dsn)} holds neither a ledger nor a case schema")
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    """Migrate the file or server named by ``--db``; prints the versions before and after."""
    if is_dsn(args.db):
        return _migrate_server(args.db)
    kind = _kind(args.db)
    store = SQLiteStore if kind == "ledger" else SQLiteCaseStore
    before, after = store.migrate(args.db)
    change = "already at" if before == after else f"migrated from version {before} to"
    print(f"{args.db}: {kind} schema {change} version {after}")
    return 0
