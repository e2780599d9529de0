"""The ledger's SQL, written once for every database: row encoding, reads, appends, account state.

A database store (SQLite, PostgreSQL) opens a connection and a transaction;
everything it does inside the transaction is here, in SQL both databases
read (``?`` placeholders, rewritten by the dialect). Each account's state is
kept in two tables beside the events, updated in the same transaction as each
append: ``lots`` (every lot and what is left of it; an index on the open ones
in spending order) and ``spends`` (which lots each redemption took, to give
them back on cancellation), with the account's figures in ``balances``. So
an operation reads and writes the few rows it touches, whatever the length of
the account's history.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from rfm_retention.errors import StoreIntegrityError
from rfm_retention.loyalty._earn_batch import EarnBatch
from rfm_retention.loyalty._events import Event, EventKind
from rfm_retention.loyalty._lots import AccountState, InvariantViolation, Spend, _MutableLot

__all__ = [
    "COLUMNS",
    "Dialect",
    "SqlLedgerTransaction",
    "add_account_states",
    "event_to_row",
    "row_to_event",
]

COLUMNS = ("seq, key, kind, branch, patient_id, points, at, actor, reason, reverses, "
           "expires_at, reward")
SIGNATURE_COLUMNS = ("seq, key, kind, branch, patient_id, "
                     "CASE WHEN kind IN ('reverse', 'expire') THEN NULL ELSE points END, "
                     "reason, reverses, expires_at, reward")
# seq is given, not drawn from a sequence: a PostgreSQL sequence is not rolled back with
# its transaction, and verify() requires seq to run 1, 2, 3 ... without gaps.
_INSERT_HEAD = ("INSERT INTO events (seq, key, kind, branch, patient_id, points, at, actor, "
                "reason, reverses, expires_at, reward) VALUES ")
_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_ROW_WIDTH = 12
_INSERT = _INSERT_HEAD + _ROW
# A big append inserts this many rows per statement: one statement step per row costs
# more than the row itself (about a fifth of a bulk insert).
_ROWS_PER_INSERT = 100
_NEVER = dt.datetime.max.isoformat()
_LOT_COLUMNS = "key, earned_at, expires_at, points, remaining, expired, expire_events, reversed"
_PAGE = 64
_BULK = 64
_KINDS = {kind.value: kind for kind in EventKind}
# Lots opened by the rows after seq ? (a batch of earns), each account's figures added up.
_BULK_LOTS = (
    "INSERT INTO lots (key, branch, patient_id, earned_at, expires_at, spend_order, points, "
    "remaining, expired, expire_events, reversed) "
    f"SELECT key, branch, patient_id, at, expires_at, COALESCE(expires_at, '{_NEVER}'), "
    "points, points, 0, 0, 0 FROM events{not_indexed} WHERE seq > ?"
)
_BULK_BALANCES = (
    "INSERT INTO balances (branch, patient_id, balance, n_events, available, debt) "
    "SELECT branch, patient_id, SUM(points), COUNT(*), SUM(points), 0 "
    "FROM events{not_indexed} WHERE seq > ? GROUP BY branch, patient_id "
    "ON CONFLICT (branch, patient_id) DO UPDATE SET "
    "balance = balances.balance + excluded.balance, "
    "n_events = balances.n_events + excluded.n_events, "
    "available = balances.available + excluded.available"
)
_SAVE_BALANCE = (
    "INSERT INTO balances (branch, patient_id, balance, n_events, available, debt) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (branch, patient_id) DO UPDATE SET "
    "balance = excluded.balance, n_events = excluded.n_events, "
    "available = excluded.available, debt = excluded.debt"
)


def row_to_event(row: Sequence[Any]) -> Event:
    """An :class:`Event` from an ``events`` row in :data:`COLUMNS` order."""
    seq, key, kind, branch, patient, points, at, actor, reason, reverses, expires, reward = row
    when = dt.datetime.fromisoformat
    return Event(key, _KINDS[kind], branch, patient, int(points), when(at), actor, reason,
                 reverses, None if expires is None else when(expires), reward, int(seq))


def event_to_row(e: Event, seq: int) -> tuple[Any, ...]:
    """The ``events`` row of an event stored at position ``seq``."""
    return (seq, e.key, e.kind.value, e.branch, e.patient_id, e.points, e.at.isoformat(),
            e.actor, e.reason, e.reverses,
            None if e.expires_at is None else e.expires_at.isoformat(), e.reward)


def events_query(branch: str | None, patient_id: str | None) -> tuple[str, list[str]]:
    """The query (``?`` placeholders) reading events, optionally of one branch/patient, by seq."""
    where, params = [], []
    if branch is not None:
        where.append("branch = ?")
        params.append(branch)
    if patient_id is not None:
        where.append("patient_id = ?")
        params.append(patient_id)
    sql = f"SELECT {COLUMNS} FROM events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " ORDER BY seq", params


class Connection(Protocol):
    """What the SQL here needs of a connection (``sqlite3`` and ``psycopg`` both fit)."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any:
        """Run one statement; returns a cursor."""
        ...


class Dialect(Protocol):
    """What differs between databases inside a ledger transaction."""

    not_indexed: str
    """Text after a table name that makes a range read by ``seq`` (SQLite: NOT INDEXED)."""

    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders in this database's style."""
        ...

    def executemany(self, conn: Any, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run ``sql`` once per row."""
        ...

    def rows_of(self, conn: Any, columns: str, keys: Sequence[str]
                ) -> Iterator[list[tuple[Any, ...]]]:
        """``columns`` (seq, key, ...) of the stored events among ``keys``, in batches."""
        ...


class _SqlBook:
    """An account's book in the ``lots``/``spends`` tables (changes written through)."""

    def __init__(self, tx: SqlLedgerTransaction, branch: str, patient_id: str) -> None:
        self._tx = tx
        self._account = (branch, patient_id)
        self._lots: dict[str, _MutableLot] = {}

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return list(self._tx.run(sql, params).fetchall())

    def _lot(self, row: Sequence[Any]) -> _MutableLot:
        key = row[0]
        held = self._lots.get(key)
        if held is not None:
            return held
        when = dt.datetime.fromisoformat
        lot = _MutableLot(key, when(row[1]), None if row[2] is None else when(row[2]),
                          int(row[3]), int(row[4]), int(row[5]), int(row[6]), bool(row[7]))
        self._lots[key] = lot
        return lot

    def lot(self, key: str) -> _MutableLot | None:
        if key in self._lots:
            return self._lots[key]
        rows = self._rows(f"SELECT {_LOT_COLUMNS} FROM lots WHERE key = ? AND branch = ? "
                          "AND patient_id = ?", (key, *self._account))
        return self._lot(rows[0]) if rows else None

    def all_lots(self) -> list[_MutableLot]:
        rows = self._rows(f"SELECT {_LOT_COLUMNS} FROM lots WHERE branch = ? AND patient_id = ? "
                          "ORDER BY spend_order, earned_at, key", self._account)
        return [self._lot(r) for r in rows]

    def open_lots(self) -> Iterator[_MutableLot]:
        after: tuple[str, str, str] = ("", "", "")
        while True:
            rows = self._rows(
                f"SELECT {_LOT_COLUMNS}, spend_order FROM lots WHERE branch = ? "
                "AND patient_id = ? AND remaining > 0 AND (spend_order, earned_at, key) > "
                "(?, ?, ?) ORDER BY spend_order, earned_at, key LIMIT " + str(_PAGE),
                (*self._account, *after))
            for row in rows:
                lot = self._lot(row)
                if lot.remaining > 0:
                    yield lot
            if len(rows) < _PAGE:
                return
            last = rows[-1]
            after = (last[8], last[1], last[0])

    def due_lots(self, at: dt.datetime) -> list[_MutableLot]:
        rows = self._rows(
            f"SELECT {_LOT_COLUMNS} FROM lots WHERE branch = ? AND patient_id = ? "
            "AND remaining > 0 AND spend_order <= ? ORDER BY spend_order, earned_at, key",
            (*self._account, at.isoformat()))
        return [lot for lot in map(self._lot, rows) if lot.remaining > 0]

    def add(self, lot: _MutableLot) -> None:
        self._lots[lot.key] = lot
        expires = None if lot.expires_at is None else lot.expires_at.isoformat()
        self._tx.run(
            "INSERT INTO lots (key, branch, patient_id, earned_at, expires_at, spend_order, "
            "points, remaining, expired, expire_events, reversed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (lot.key, *self._account, lot.earned_at.isoformat(), expires, expires or _NEVER,
             lot.points, lot.remaining, lot.expired, lot.expire_events, int(lot.reversed)))

    def touch(self, lot: _MutableLot, *, reopened: bool) -> None:
        self._tx.run("UPDATE lots SET remaining = ?, expired = ?, expire_events = ?, "
                     "reversed = ? WHERE key = ?",
                     (lot.remaining, lot.expired, lot.expire_events, int(lot.reversed),
                      lot.key))

    def kind_of(self, key: str) -> tuple[EventKind, int] | None:
        rows = self._rows("SELECT kind, points FROM events WHERE key = ? AND branch = ? "
                          "AND patient_id = ?", (key, *self._account))
        return (_KINDS[rows[0][0]], int(rows[0][1])) if rows else None

    def spend(self, key: str) -> Spend:
        rows = self._rows("SELECT lot_key, points FROM spends WHERE spend_key = ? "
                          "ORDER BY position", (key,))
        return [(r[0], int(r[1])) for r in rows]

    def reversal_of(self, key: str) -> str:
        rows = self._rows("SELECT key FROM events WHERE reverses = ? AND kind = 'reverse'",
                          (key,))
        return str(rows[0][0]) if rows else ""

    def redeemed(self, year: int) -> list[tuple[int, str]]:
        rows = self._rows(
            "SELECT e.points, e.reward FROM events AS e WHERE e.branch = ? "
            "AND e.patient_id = ? AND e.kind = 'redeem' AND e.at >= ? AND e.at < ? "
            "AND NOT EXISTS (SELECT 1 FROM events AS r WHERE r.reverses = e.key "
            "AND r.kind = 'reverse')",
            (*self._account, dt.datetime(year, 1, 1).isoformat(),
             dt.datetime(year + 1, 1, 1).isoformat() if year < 9999 else "9999-99"))
        return [(-int(points), reward) for points, reward in rows]

    def record(self, event: Event, spend: Spend | None) -> None:
        if spend:
            self._tx.many("INSERT INTO spends (spend_key, position, lot_key, points) "
                          "VALUES (?, ?, ?, ?)",
                          [(event.key, i, k, n) for i, (k, n) in enumerate(spend)])


class SqlLedgerTransaction:
    """A :class:`~rfm_retention.loyalty.StoreTransaction` (with account states) over SQL."""

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        self._conn = conn
        self._dialect = dialect
        self._states: dict[tuple[str, str], AccountState] = {}

    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute one statement in the transaction; returns the cursor."""
        return self._conn.execute(self._dialect.sql(sql), params)

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Execute one statement per row."""
        self._dialect.executemany(self._conn, self._dialect.sql(sql), rows)

    def insert_events(self, rows: Iterable[tuple[Any, ...]], n: int) -> None:
        """Insert ``n`` ``events`` rows, :data:`_ROWS_PER_INSERT` per statement."""
        full, rest = divmod(n, _ROWS_PER_INSERT)
        values = iter(itertools.chain.from_iterable(rows))
        if full:
            group = _INSERT_HEAD + ", ".join([_ROW] * _ROWS_PER_INSERT)
            groups = zip(*[values] * (_ROWS_PER_INSERT * _ROW_WIDTH), strict=False)
            self.many(group, itertools.islice(groups, full))  # the rest stays in ``values``
        if rest:
            self.run(_INSERT_HEAD + ", ".join([_ROW] * rest), tuple(values))

    # ------------------------------------------------------------------ reads
    def get(self, keys: Sequence[str]) -> dict[str, Event]:
        return {row[1]: row_to_event(row)
                for rows in self._dialect.rows_of(self._conn, COLUMNS, keys) for row in rows}

    def stored_signatures(self, keys: Sequence[str]
                          ) -> dict[str, tuple[str, str, str, int | None, str, str, str | None,
                                               str]]:
        return {row[1]: (*row[2:5], None if row[5] is None else int(row[5]), *row[6:])
                for rows in self._dialect.rows_of(self._conn, SIGNATURE_COLUMNS, keys)
                for row in rows}

    def account(self, branch: str, patient_id: str) -> list[Event]:
        rows = self.run(f"SELECT {COLUMNS} FROM events WHERE branch = ? AND patient_id = ? "
                        "ORDER BY seq", (branch, patient_id)).fetchall()
        return [row_to_event(r) for r in rows]

    def patients_with_lots_due(self, branch: str, at: dt.datetime) -> list[str]:
        rows = self.run("SELECT DISTINCT patient_id FROM lots WHERE branch = ? "
                        "AND remaining > 0 AND spend_order <= ? ORDER BY patient_id",
                        (branch, at.isoformat())).fetchall()
        return [r[0] for r in rows]

    def state(self, branch: str, patient_id: str) -> AccountState:
        account = (branch, patient_id)
        held = self._states.get(account)
        if held is not None:
            return held
        row = self.run("SELECT balance, available, debt, n_events FROM balances "
                       "WHERE branch = ? AND patient_id = ?", account).fetchone()
        figures = (0, 0, 0, 0) if row is None else tuple(int(v) for v in row)
        state = AccountState(branch, patient_id, _SqlBook(self, branch, patient_id), *figures)
        self._states[account] = state
        return state

    # ------------------------------------------------------------------ appends
    def _last_seq(self) -> int:
        return int(self.run("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])

    def append(self, events: Sequence[Event]) -> int:
        before = self._last_seq()
        if len(events) >= _BULK and all(e.kind is EventKind.EARN and e.points > 0
                                        for e in events):
            self._append_earns(events, before)
            return before + 1
        touched: dict[tuple[str, str], AccountState] = {}
        for seq, event in enumerate(events, start=before + 1):
            state = self.state(event.branch, event.patient_id)
            state.apply(event)
            touched[(event.branch, event.patient_id)] = state
            self.run(_INSERT, event_to_row(event, seq))
        self.many(_SAVE_BALANCE, [(*a, s.total, s.n_events, s.available, s.debt)
                                  for a, s in touched.items()])
        return before + 1

    def append_earns(self, batch: EarnBatch) -> int:
        """Append a batch of earns from its columns (see :class:`BulkEarns`)."""
        before = self._last_seq()
        self._states.clear()
        self.insert_events(batch.rows(before + 1), len(batch))
        self._open_earned_lots(before)
        return before + 1

    def _append_earns(self, events: Sequence[Event], before: int) -> None:
        """A batch of earn events: inserted in bulk, then their lots opened in the database."""
        self._states.clear()
        self.insert_events((event_to_row(e, seq) for seq, e in enumerate(events, before + 1)),
                           len(events))
        self._open_earned_lots(before)

    def _open_earned_lots(self, before: int) -> None:
        """Lots and figures of the earns stored after ``before``, added up in the database."""
        not_indexed = self._dialect.not_indexed
        self.run(_BULK_LOTS.format(not_indexed=not_indexed), (before,))
        self.run(_BULK_BALANCES.format(not_indexed=not_indexed), (before,))
        indebted = self.run(
            "SELECT b.branch, b.patient_id FROM balances AS b WHERE b.debt > 0 AND EXISTS "
            "(SELECT 1 FROM events AS e WHERE e.seq > ? AND e.branch = b.branch "
            "AND e.patient_id = b.patient_id)", (before,)).fetchall()
        for branch, patient_id in indebted:
            self._repay_debt(branch, patient_id, before)
        self._states.clear()

    def _repay_debt(self, branch: str, patient_id: str, before: int) -> None:
        """New lots of an indebted account pay its debt first, in the order they were earned."""
        state = self.state(branch, patient_id)
        keys = self.run("SELECT key FROM events WHERE seq > ? AND branch = ? AND patient_id = ? "
                        "ORDER BY seq", (before, branch, patient_id)).fetchall()
        for (key,) in keys:
            lot = state.lot(key)
            if lot is None or state.debt == 0:
                break
            repay = min(state.debt, lot.remaining)
            lot.remaining -= repay
            state.available -= repay
            state.debt -= repay
            state.book.touch(lot, reopened=False)
        self.run(_SAVE_BALANCE, (branch, patient_id, state.total, state.n_events,
                                 state.available, state.debt))


def add_account_states(conn: Any, dialect: Dialect, statements: Sequence[str]) -> None:
    """Schema step 2 -> 3: create the account-state tables and fill them by replaying.

    ``statements`` create the tables and indexes (in the database's words). The
    replay uses the same rules as every later append; an account whose events do
    not add up stops the migration (nothing is changed).
    """
    for column in ("available", "debt"):
        conn.execute(f"ALTER TABLE balances ADD COLUMN {column} BIGINT NOT NULL DEFAULT 0")
    for statement in statements:
        conn.execute(statement)
    states: dict[tuple[str, str], AccountState] = {}
    for row in conn.execute(f"SELECT {COLUMNS} FROM events ORDER BY seq").fetchall():
        event = row_to_event(row)
        account = (event.branch, event.patient_id)
        state = states.get(account) or states.setdefault(account, AccountState(*account))
        try:
            state.apply(event)
        except InvariantViolation as exc:
            raise StoreIntegrityError(f"cannot migrate: the events of {account} do not add "
                                      f"up ({exc}).\nHint: run verify() first.") from None
    tx = SqlLedgerTransaction(conn, dialect)
    for (branch, patient_id), state in states.items():
        book = _SqlBook(tx, branch, patient_id)
        for lot in state.book.all_lots():
            book.add(lot)
        spends = getattr(state.book, "spends", {})
        for key, spend in spends.items():
            book.record(Event(key, EventKind.REDEEM, branch, patient_id, -1, dt.datetime.min),
                        spend)
    tx.many(_SAVE_BALANCE, [(*a, s.total, s.n_events, s.available, s.debt)
                            for a, s in states.items()])
