"""What every built-in store shares, whatever the database.

The points ledger and the case book each keep their events in a database;
this package holds what their stores have in common so it is written once:
the schema description (tables, expected columns, append-only guards, the
recorded version), the translation of database failures into library errors
naming the database, the retry with backoff of a transaction that lost a
lock or a serialisation race, and closing a store at the end of a ``with``
block. A database module (SQLite in
:mod:`rfm_retention._storage._sqlite`, PostgreSQL in
:mod:`rfm_retention._storage._postgres`) supplies only what differs.
"""

from rfm_retention._storage._closing import ClosingStore
from rfm_retention._storage._retry import Busy, retrying
from rfm_retention._storage._schema import Schema

__all__ = ["Busy", "ClosingStore", "Schema", "retrying"]
