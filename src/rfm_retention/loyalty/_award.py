"""Awarding points from a visit log, keyed by visit, so a nightly rerun never pays twice.

Each earning visit becomes one ``EARN`` event whose key names the visit:
``visit:<branch>:<visit_id>``, or, for visits without an id,
``visit:<branch>:<patient_id>@<visit time, ISO seconds>`` (with ``#2``, ``#3``
... for further visits of the same patient at the same second, in file order).
Rerunning the same log finds every key already stored and adds nothing;
a changed visit (other patient, other points) raises IdempotencyConflict and
nothing of the batch is written.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._progress import Progress, report_progress
from rfm_retention.data import VisitLog
from rfm_retention.errors import IdempotencyConflict, LedgerError
from rfm_retention.loyalty._earn_batch import EarnBatch, Signature
from rfm_retention.loyalty._events import Event
from rfm_retention.loyalty._store import BulkEarns, StoredSignatures, StoreTransaction
from rfm_retention.time import TimeLike, to_instant

if TYPE_CHECKING:
    from rfm_retention.loyalty._ledger import PointsLedger

__all__ = ["CHUNK", "AwardResult", "award_visits", "earn_batch", "visit_key", "visit_keys"]

REVISIT_REASON = "revisit points"
CHUNK = 100_000
"""Earn events written per store call: the unit a long award can report its progress in."""


@attrs.frozen
class AwardResult:
    """What one :meth:`PointsLedger.award_visits` call did.

    Attributes:
        visits: rows in the log (after ``since``).
        earning: of those, visits that earn points under the rules.
        awarded: earn events written now.
        already_awarded: earning visits whose event was already stored (a rerun).
        points: points written now.
    """

    visits: int
    earning: int
    awarded: int
    already_awarded: int
    points: int


def visit_key(branch: str, patient_id: str | int, visit_time: dt.datetime,
              visit_id: str = "", occurrence: int = 1) -> str:
    """The idempotency key of one visit's earn event (see the module docs).

    Example:
        >>> visit_key("main", "p1", dt.datetime(2024, 3, 1, 9, 30), "V-17")
        'visit:main:V-17'
        >>> visit_key("main", "p1", dt.datetime(2024, 3, 1, 9, 30))
        'visit:main:p1@2024-03-01T09:30:00'
    """
    if visit_id:
        return f"visit:{branch}:{visit_id}"
    stamp = visit_time.replace(microsecond=0).isoformat()
    suffix = f"#{occurrence}" if occurrence > 1 else ""
    return f"visit:{branch}:{patient_id}@{stamp}{suffix}"


def visit_keys(branch: str, visits: VisitLog) -> list[str]:
    """The earn key of every row of ``visits`` (in the log's order).

    Example:
        >>> log = VisitLog.from_arrays(patient_id=["p1", "p1"], amount=[80.0, 60.0],
        ...                            visit_time=["2024-03-01T09:30", "2024-03-01T09:30"])
        >>> visit_keys("main", log)
        ['visit:main:p1@2024-03-01T09:30:00', 'visit:main:p1@2024-03-01T09:30:00#2']
    """
    return _keys(branch, visits, np.arange(len(visits)))


def _keys(branch: str, visits: VisitLog, rows: npt.NDArray[np.intp]) -> list[str]:
    """The earn keys of ``rows`` of ``visits``: visit ids where given, else patient and time."""
    ids = visits.visit_id
    prefix = f"visit:{branch}:"
    if not len(rows):
        return []
    if not (ids == "").any():  # every visit has an id: the common, fast case
        return [prefix + vid for vid in ids[rows].tolist()]
    n = len(visits)
    pids = visits.row_patient_ids().astype(str)
    seconds = visits.time.astype("datetime64[s]")
    no_id = ids == ""
    same = np.zeros(n, dtype=bool)
    same[1:] = (pids[1:] == pids[:-1]) & (seconds[1:] == seconds[:-1]) & no_id[1:] & no_id[:-1]
    idx = np.arange(n)
    occurrence = (idx - np.maximum.accumulate(np.where(same, 0, idx)) + 1)[rows]
    stamps = np.datetime_as_string(seconds[rows], unit="s")
    return [
        prefix + vid if vid else
        f"{prefix}{pid}@{stamp}" + (f"#{occ}" if occ > 1 else "")
        for vid, pid, stamp, occ in zip(ids[rows].tolist(), pids[rows].tolist(),
                                        stamps.tolist(), occurrence.tolist(), strict=True)
    ]


def _earning_rows(ledger: PointsLedger, visits: VisitLog, since: TimeLike | None
                  ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    points = ledger.rules.points(visits)
    in_range = np.ones(len(visits), dtype=bool)
    if since is not None:
        in_range = visits.time >= to_instant(since, field="since", error=LedgerError)
    return in_range, in_range & (points > 0), points


def earn_batch(ledger: PointsLedger, visits: VisitLog, rows: npt.NDArray[np.intp],
               points: npt.NDArray[np.int64], actor: str) -> EarnBatch:
    """The earn events of ``rows`` of ``visits`` as columns, built in vectorised passes."""
    at = visits.time[rows].astype("datetime64[s]")
    days = ledger.rules.expires_after_days
    expiry: list[str | None] = [None] * len(rows)
    if days is not None:
        # whole seconds, so this is exactly datetime.isoformat() of each expiry
        ends = (at + np.timedelta64(days, "D")).astype("datetime64[s]")
        expiry = np.datetime_as_string(ends, unit="s").tolist()
    return EarnBatch(ledger.branch, actor, REVISIT_REASON, _keys(ledger.branch, visits, rows),
                     visits.row_patient_ids()[rows].astype(str).tolist(), points[rows].tolist(),
                     np.datetime_as_string(at, unit="s").tolist(), expiry)


def award_visits(ledger: PointsLedger, visits: VisitLog, *, since: TimeLike | None = None,
                 actor: str = "award_visits", progress: Progress | None = None) -> AwardResult:
    """Award the ledger's earning rules over ``visits`` in one all-or-nothing transaction.

    ``visits`` must hold each patient's history back to their first visit
    (the earliest visit in the log earns ``first_visit_points``); ``since``
    limits *awarding* to visits at or after it while the full log still
    decides which visit was first. The events are built as columns straight
    from the log's arrays (:class:`EarnBatch`) and written in chunks of
    :data:`CHUNK`; a store with the bulk path stores them without an object
    per visit.

    ``progress`` (a :data:`~rfm_retention.Progress`) hears of each step
    (stage ``"award"``): the events built, the check against what is stored,
    each chunk written, the commit.
    """
    if not isinstance(visits, VisitLog):
        raise LedgerError(f"award_visits needs a VisitLog, got {type(visits).__name__}")
    in_range, earning, points = _earning_rows(ledger, visits, since)
    rows = np.flatnonzero(earning)
    steps = 3 + max(1, -(-len(rows) // CHUNK))  # built, checked, each chunk, committed
    report_progress(progress, "award", 0, steps)
    batch = earn_batch(ledger, visits, rows, points, actor)
    if len(set(batch.keys)) != len(batch):
        dup = Counter(batch.keys).most_common(1)[0][0]
        raise LedgerError(f"two visits share the key {dup!r}; give them distinct visit ids")
    report_progress(progress, "award", 1, steps)

    def award_in(tx: StoreTransaction) -> EarnBatch:
        stored = _stored_signatures(tx, batch.keys)
        fresh = batch
        if stored:
            _check_unchanged(tx, batch, stored)
            fresh = batch.take([i for i, key in enumerate(batch.keys) if key not in stored])
        report_progress(progress, "award", 2, steps)
        for k, part in enumerate(fresh.chunks(CHUNK)):
            _append(tx, part)
            report_progress(progress, "award", 3 + k, steps)
        return fresh

    new = ledger.in_transaction(award_in)
    report_progress(progress, "award", steps, steps)
    return AwardResult(
        visits=int(in_range.sum()),
        earning=len(batch),
        awarded=len(new),
        already_awarded=len(batch) - len(new),
        points=sum(new.points),
    )


def _append(tx: StoreTransaction, part: EarnBatch) -> None:
    """Write one chunk: from its columns where the store can, else as events."""
    if not len(part):
        return
    if isinstance(tx, BulkEarns):
        tx.append_earns(part)
    else:
        tx.append(part.events())


def _stored_signatures(tx: StoreTransaction, keys: list[str]) -> dict[str, Signature]:
    """What is stored under ``keys``, as request signatures (one bulk read)."""
    if not keys:
        return {}
    if isinstance(tx, StoredSignatures):
        return tx.stored_signatures(keys)
    return {key: event.request_signature() for key, event in tx.get(keys).items()}


def _check_unchanged(tx: StoreTransaction, batch: EarnBatch,
                     stored: dict[str, Signature]) -> None:
    """Raise IdempotencyConflict for the first stored key whose request differs."""
    for i, key in enumerate(batch.keys):
        old = stored.get(key)
        if old is not None and old != batch.signature(i):
            event = tx.get([key])[key]
            raise IdempotencyConflict(key, detail=event.describe_difference(batch.event(i)))


def reverse_visit(ledger: PointsLedger, key: str, *, at: TimeLike, actor: str,
                  reason: str) -> Event | None:
    """Reverse a cancelled or refunded visit's points; None when the visit earned nothing."""
    found = ledger.in_transaction(lambda tx: tx.get([key]).get(key))
    if found is None:
        return None
    return ledger.reverse(key, at=at, actor=actor, reason=reason)
