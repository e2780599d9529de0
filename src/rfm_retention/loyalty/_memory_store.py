"""An in-memory ledger store: for tests, notebooks and hosts that persist elsewhere.

It keeps each account's state (lots, balance, debt) current as events are
appended, so an operation costs the lots it touches, not the account's
history; a transaction that fails drops the states it touched, and they are
replayed from the committed events when next needed.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import attrs

from rfm_retention.loyalty._events import Event
from rfm_retention.loyalty._lots import AccountState, replay

__all__ = ["MemoryStore"]


class _MemoryTransaction:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.pending: list[Event] = []
        self._pending_keys: dict[str, Event] = {}
        self.touched: set[tuple[str, str]] = set()

    def state(self, branch: str, patient_id: str) -> AccountState:
        return self._store._state(branch, patient_id)

    def get(self, keys: Sequence[str]) -> dict[str, Event]:
        by_key = self._store._by_key
        found = {k: by_key[k] for k in keys if k in by_key}
        found.update({k: self._pending_keys[k] for k in keys if k in self._pending_keys})
        return found

    def account(self, branch: str, patient_id: str) -> list[Event]:
        stored = [self._store._events[i]
                  for i in self._store._by_account.get((branch, patient_id), [])]
        return stored + [e for e in self.pending
                         if e.branch == branch and e.patient_id == patient_id]

    def patients_with_lots_due(self, branch: str, at: dt.datetime) -> list[str]:
        due = {e.patient_id for e in [*self._store._events, *self.pending]
               if e.branch == branch and e.expires_at is not None and e.expires_at <= at}
        return sorted(due)

    def append(self, events: Sequence[Event]) -> int:
        first = len(self._store._events) + len(self.pending) + 1
        for offset, event in enumerate(events):
            if event.key in self._store._by_key or event.key in self._pending_keys:
                raise ValueError(f"duplicate event key {event.key!r}")
            stored = attrs.evolve(event, seq=first + offset)
            self.touched.add((event.branch, event.patient_id))
            self._store._state(event.branch, event.patient_id).apply(stored)
            self._pending_keys[event.key] = stored
            self.pending.append(stored)
        return first


class MemoryStore:
    """Events in a Python list; thread-safe (one transaction at a time), lost on exit.

    Example:
        >>> from rfm_retention.loyalty import MemoryStore, PointsLedger
        >>> ledger = PointsLedger(MemoryStore())
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._events: list[Event] = []
        self._by_key: dict[str, Event] = {}
        self._by_account: dict[tuple[str, str], list[int]] = {}
        self._balances: dict[tuple[str, str], tuple[int, int]] = {}
        self._states: dict[tuple[str, str], AccountState] = {}

    def _state(self, branch: str, patient_id: str) -> AccountState:
        """The account's live state (replayed from committed events when not held)."""
        account = (branch, patient_id)
        state = self._states.get(account)
        if state is None:
            events = [self._events[i] for i in self._by_account.get(account, [])]
            state = self._states[account] = replay(branch, patient_id, events)
        return state

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        """Hold the store's lock; apply the transaction's appends only if it succeeds."""
        with self._lock:
            tx = _MemoryTransaction(self)
            try:
                yield tx
            except BaseException:
                for account in tx.touched:  # replayed from committed events when next needed
                    self._states.pop(account, None)
                raise
            self._commit(tx)

    def _commit(self, tx: _MemoryTransaction) -> None:
        for stored in tx.pending:
            account = (stored.branch, stored.patient_id)
            self._by_account.setdefault(account, []).append(len(self._events))
            self._events.append(stored)
            self._by_key[stored.key] = stored
            balance, count = self._balances.get(account, (0, 0))
            self._balances[account] = (balance + stored.points, count + 1)

    def events(self, *, branch: str | None = None, patient_id: str | None = None
               ) -> Iterator[Event]:
        """Stored events in order (a snapshot taken when called)."""
        with self._lock:
            if branch is not None and patient_id is not None:
                snapshot = [self._events[i]
                            for i in self._by_account.get((branch, patient_id), [])]
            else:
                snapshot = list(self._events)
        for event in snapshot:
            if (branch is None or event.branch == branch) and (
                patient_id is None or event.patient_id == patient_id
            ):
                yield event

    def projected_balances(self) -> dict[tuple[str, str], tuple[int, int]]:
        """Running (balance, event count) per account."""
        with self._lock:
            return dict(self._balances)

    def derived_accounts(self) -> dict[tuple[str, str], tuple[int, int, int, int]]:
        """(balance, available, debt, event count) of every account's kept state."""
        with self._lock:
            states = [self._state(*account) for account in self._by_account]
        return {(s.branch, s.patient_id): (s.total, s.available, s.debt, s.n_events)
                for s in states}

    def derived_lots(self) -> dict[str, tuple[int, int, bool]]:
        """(remaining, expired, reversed) of every lot of the kept states."""
        with self._lock:
            states = [self._state(*account) for account in self._by_account]
        return {lot.key: (lot.remaining, lot.expired, lot.reversed)
                for s in states for lot in s.book.all_lots()}

    def __len__(self) -> int:
        return len(self._events)
