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
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._progress import Progress, report_progress
from rfm_retention.data import VisitLog
from rfm_retention.errors import IdempotencyConflict, LedgerError
from rfm_retention.loyalty._events import Event, EventKind
from rfm_retention.loyalty._store import StoredSignatures, StoreTransaction
from rfm_retention.time import TimeLike, to_instant

if TYPE_CHECKING:
    from rfm_retention.loyalty._ledger import PointsLedger

__all__ = ["AwardResult", "award_visits", "visit_key", "visit_keys"]

REVISIT_REASON = "revisit points"
_AWARD_STEPS = 4  # keys, check against the store, write, commit


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
    """The earn key of every row of ``visits`` (in the log's order)."""
    n = len(visits)
    if n == 0:
        return []
    ids = visits.visit_id
    prefix = f"visit:{branch}:"
    if not (ids == "").any():  # every visit has an id: the common, fast case
        return [prefix + vid for vid in ids.tolist()]
    pids = visits.row_patient_ids().astype(str)
    seconds = visits.time.astype("datetime64[s]")
    stamps = np.datetime_as_string(seconds, unit="s")
    no_id = ids == ""
    same = np.zeros(n, dtype=bool)
    same[1:] = (pids[1:] == pids[:-1]) & (seconds[1:] == seconds[:-1]) & no_id[1:] & no_id[:-1]
    idx = np.arange(n)
    run_start = np.maximum.accumulate(np.where(same, 0, idx))
    occurrence = idx - run_start + 1
    return [
        prefix + vid if vid else
        f"{prefix}{pid}@{stamp}" + (f"#{occ}" if occ > 1 else "")
        for vid, pid, stamp, occ in zip(ids.tolist(), pids.tolist(), stamps.tolist(),
                                        occurrence.tolist(), strict=True)
    ]


def _earning_rows(ledger: PointsLedger, visits: VisitLog, since: TimeLike | None
                  ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    points = ledger.rules.points(visits)
    in_range = np.ones(len(visits), dtype=bool)
    if since is not None:
        in_range = visits.time >= to_instant(since, field="since", error=LedgerError)
    return in_range, in_range & (points > 0), points


def award_visits(ledger: PointsLedger, visits: VisitLog, *, since: TimeLike | None = None,
                 actor: str = "award_visits", progress: Progress | None = None) -> AwardResult:
    """Award the ledger's earning rules over ``visits`` in one all-or-nothing transaction.

    ``visits`` must hold each patient's history back to their first visit
    (the earliest visit in the log earns ``first_visit_points``); ``since``
    limits *awarding* to visits at or after it while the full log still
    decides which visit was first. ``progress`` (a
    :data:`~rfm_retention.Progress`) hears of each step (stage ``"award"``):
    the keys, the check against what is stored, the write, the commit.
    """
    if not isinstance(visits, VisitLog):
        raise LedgerError(f"award_visits needs a VisitLog, got {type(visits).__name__}")
    report_progress(progress, "award", 0, _AWARD_STEPS)
    in_range, earning, points = _earning_rows(ledger, visits, since)
    rows = np.flatnonzero(earning)
    keys_all = visit_keys(ledger.branch, visits)
    keys = [keys_all[i] for i in rows.tolist()]
    if len(set(keys)) != len(keys):
        dup = Counter(keys).most_common(1)[0][0]
        raise LedgerError(f"two visits share the key {dup!r}; give them distinct visit ids")
    fields = _EarnFields.of(ledger, visits, rows, points)
    report_progress(progress, "award", 1, _AWARD_STEPS)

    def award_in(tx: StoreTransaction) -> list[Event]:
        stored = _stored_signatures(tx, keys)
        if stored:
            _check_unchanged(tx, ledger.branch, keys, fields, stored, actor)
            fresh = [i for i, key in enumerate(keys) if key not in stored]
        else:
            fresh = list(range(len(keys)))
        report_progress(progress, "award", 2, _AWARD_STEPS)
        new = _earn_events(ledger.branch, keys, fields, fresh, actor)
        if new:
            tx.append(new)
        report_progress(progress, "award", 3, _AWARD_STEPS)
        return new

    new = ledger.in_transaction(award_in)
    report_progress(progress, "award", _AWARD_STEPS, _AWARD_STEPS)
    return AwardResult(
        visits=int(in_range.sum()),
        earning=len(keys),
        awarded=len(new),
        already_awarded=len(keys) - len(new),
        points=sum(e.points for e in new),
    )


@attrs.frozen
class _EarnFields:
    """Per earning row: patient id, points, time and expiry (datetime and ISO text)."""

    pids: list[str]
    points: list[int]
    times: list[Any]
    expiry: list[Any]
    expiry_iso: list[str | None]

    @classmethod
    def of(cls, ledger: PointsLedger, visits: VisitLog, rows: npt.NDArray[np.int64],
           points: npt.NDArray[np.int64]) -> _EarnFields:
        at = visits.time[rows].astype("datetime64[s]")
        days = ledger.rules.expires_after_days
        expiry: list[Any] = [None] * len(rows)
        expiry_iso: list[str | None] = [None] * len(rows)
        if days is not None:
            ends = (at + np.timedelta64(days, "D")).astype("datetime64[s]")
            expiry = ends.astype("datetime64[us]").tolist()
            # whole seconds, so this is exactly datetime.isoformat() of each expiry
            expiry_iso = np.datetime_as_string(ends, unit="s").tolist()
        return cls(visits.row_patient_ids()[rows].astype(str).tolist(),
                   points[rows].tolist(), at.astype("datetime64[us]").tolist(), expiry,
                   expiry_iso)


Signature = tuple[str, str, str, int | None, str, str, str | None, str]


def _stored_signatures(tx: StoreTransaction, keys: list[str]) -> dict[str, Signature]:
    """What is stored under ``keys``, as request signatures (one bulk read)."""
    if not keys:
        return {}
    if isinstance(tx, StoredSignatures):
        return tx.stored_signatures(keys)
    return {key: event.request_signature() for key, event in tx.get(keys).items()}


def _check_unchanged(tx: StoreTransaction, branch: str, keys: list[str], fields: _EarnFields,
                     stored: dict[str, Signature], actor: str) -> None:
    """Raise IdempotencyConflict for the first stored key whose request differs."""
    earn = EventKind.EARN.value
    for i, (key, pid, pts, exp) in enumerate(zip(keys, fields.pids, fields.points,
                                                 fields.expiry_iso, strict=True)):
        old = stored.get(key)
        if old is not None and old != (earn, branch, pid, pts, REVISIT_REASON, "", exp, ""):
            request = _earn_events(branch, keys, fields, [i], actor)[0]
            event = tx.get([key])[key]
            raise IdempotencyConflict(key, detail=event.describe_difference(request))


def _earn_events(branch: str, keys: list[str], fields: _EarnFields, which: list[int],
                 actor: str) -> list[Event]:
    earn = EventKind.EARN
    pids, points, times, expiry = fields.pids, fields.points, fields.times, fields.expiry
    return [Event(keys[i], earn, branch, pids[i], points[i], times[i], actor, REVISIT_REASON,
                  "", expiry[i]) for i in which]


def reverse_visit(ledger: PointsLedger, key: str, *, at: TimeLike, actor: str,
                  reason: str) -> Event | None:
    """Reverse a cancelled or refunded visit's points; None when the visit earned nothing."""
    found = ledger.in_transaction(lambda tx: tx.get([key]).get(key))
    if found is None:
        return None
    return ledger.reverse(key, at=at, actor=actor, reason=reason)
