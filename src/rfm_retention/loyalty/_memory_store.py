"""An in-memory ledger store: for tests, notebooks and hosts that persist elsewhere."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import attrs

from rfm_retention.loyalty._events import Event

__all__ = ["MemoryStore"]


class _MemoryTransaction:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.pending: list[Event] = []
        self._pending_keys: dict[str, Event] = {}

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

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        """Hold the store's lock; apply the transaction's appends only if it succeeds."""
        with self._lock:
            tx = _MemoryTransaction(self)
            yield tx
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

    def __len__(self) -> int:
        return len(self._events)
