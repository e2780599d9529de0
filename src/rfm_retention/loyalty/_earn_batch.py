"""A batch of earn events as columns: what a nightly award writes without an object per visit.

Awarding a visit log writes one ``EARN`` event per earning visit; for a
million visits, building a million :class:`~rfm_retention.loyalty.Event`
objects (and a million ``isoformat`` calls to store them) costs more than
the database insert itself. :class:`EarnBatch` keeps the batch as one list
per column, built from the visit log's arrays in vectorised passes, and
hands a store its ``events`` rows as tuples generated from those lists
(:meth:`EarnBatch.rows`). A store that offers
:class:`~rfm_retention.loyalty._store.BulkEarns` writes them straight away;
any other store gets the same events as :class:`Event` objects
(:meth:`EarnBatch.events`), so every store keeps every ledger guarantee.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from rfm_retention.loyalty._events import Event, EventKind

__all__ = ["EarnBatch", "Signature"]

Signature = tuple[str, str, str, int | None, str, str, str | None, str]
"""``Event.request_signature()``: what makes a request what it is, as plain values."""

_EARN = EventKind.EARN.value


@attrs.frozen
class EarnBatch:
    """Earn events of one branch, actor and reason, one list per varying column.

    Attributes:
        branch: the ledger's branch.
        actor: who writes the batch.
        reason: why every event earns (``"revisit points"``).
        keys: each event's idempotency key (unique within the batch).
        patient_ids: each event's patient, as text.
        points: each event's positive points.
        at: each event's time, ISO text in whole seconds (as the store keeps it).
        expires_at: each lot's expiry as ISO text, or None when it never expires.

    Example:
        >>> batch = EarnBatch("main", "nightly", "revisit points", ["visit:main:V1"], ["p1"],
        ...                   [100], ["2024-03-01T09:30:00"], [None])
        >>> next(batch.rows(7))
        (7, 'visit:main:V1', 'earn', 'main', 'p1', 100, '2024-03-01T09:30:00', 'nightly', \
'revisit points', '', None, '')
        >>> batch.events()[0].at
        datetime.datetime(2024, 3, 1, 9, 30)
    """

    branch: str
    actor: str
    reason: str
    keys: list[str]
    patient_ids: list[str]
    points: list[int]
    at: list[str]
    expires_at: list[str | None]

    def __len__(self) -> int:
        return len(self.keys)

    def rows(self, first_seq: int) -> Iterator[tuple[Any, ...]]:
        """The ``events`` rows (columns in the table's order) stored from ``first_seq`` on."""
        constant = itertools.repeat
        return zip(itertools.count(first_seq), self.keys, constant(_EARN), constant(self.branch),
                   self.patient_ids, self.points, self.at, constant(self.actor),
                   constant(self.reason), constant(""), self.expires_at, constant(""))

    def signature(self, i: int) -> Signature:
        """The request signature of event ``i`` (compared with a stored event's)."""
        return (_EARN, self.branch, self.patient_ids[i], self.points[i], self.reason, "",
                self.expires_at[i], "")

    def event(self, i: int) -> Event:
        """Event ``i`` as an :class:`Event` (for a store without the bulk path, or an error)."""
        when = dt.datetime.fromisoformat
        expires = self.expires_at[i]
        return Event(self.keys[i], EventKind.EARN, self.branch, self.patient_ids[i],
                     self.points[i], when(self.at[i]), self.actor, self.reason, "",
                     None if expires is None else when(expires))

    def events(self) -> list[Event]:
        """Every event of the batch as an :class:`Event`, in batch order."""
        return [self.event(i) for i in range(len(self))]

    def take(self, which: Sequence[int]) -> EarnBatch:
        """The events at positions ``which`` (in that order) as a batch of their own."""
        if len(which) == len(self):
            return self
        def pick(column: list[Any]) -> list[Any]:
            return [column[i] for i in which]
        return EarnBatch(self.branch, self.actor, self.reason, pick(self.keys),
                         pick(self.patient_ids), pick(self.points), pick(self.at),
                         pick(self.expires_at))

    def chunks(self, size: int) -> Iterator[EarnBatch]:
        """Consecutive parts of at most ``size`` events (the whole batch when it is smaller)."""
        if len(self) <= size:
            yield self
            return
        for start in range(0, len(self), size):
            part = slice(start, start + size)
            yield EarnBatch(self.branch, self.actor, self.reason, self.keys[part],
                            self.patient_ids[part], self.points[part], self.at[part],
                            self.expires_at[part])
