"""Monthly churn rate under the lapse rule.

Definition, for each calendar month ``[first day, last day]``:

* **Active at the start**: the patient had a visit before the month's first
  day and had not lapsed by then (their lapse day after that visit is on or
  after the first day). Patients the host marks deceased/transferred on or
  before the month's last day are left out of that month and every later one.
* **Lapsed during the month**: an active patient with a lapse event (see
  :mod:`rfm_retention.metrics._lapse`) whose lapse day falls inside the month,
  including one who visited early in the month and then lapsed again before
  it ended.
* ``churn rate = lapsed / active at the start``; NaN with nobody active.

A month that ends after ``as_of`` is reported but marked incomplete: its
lapses are only those seen by ``as_of``. Months starting after ``as_of``
have no active patients (nothing is known about them).
"""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np

from rfm_retention._arrays import IntArray
from rfm_retention.data._sources import VisitLog
from rfm_retention.metrics._calendar import month_spans
from rfm_retention.metrics._exclusions import Exclusions, visits_as_of
from rfm_retention.metrics._lapse import LapseRule, lapse_days
from rfm_retention.metrics._visits import VisitDays, last_day_before
from rfm_retention.time import TimeLike, to_date

__all__ = ["MonthlyChurn", "monthly_churn"]


@attrs.frozen
class MonthlyChurn:
    """Churn of one calendar month.

    Attributes:
        month: first day of the month.
        active_at_start: patients active on the month's first day.
        lapsed: of those, patients who lapsed during the month.
        complete: False when the month ends after ``as_of``.

    Examples:
        >>> MonthlyChurn(dt.date(2024, 3, 1), active_at_start=200, lapsed=9, complete=True).rate
        0.045
    """

    month: dt.date
    active_at_start: int
    lapsed: int
    complete: bool

    @property
    def rate(self) -> float:
        """``lapsed / active_at_start``; NaN with nobody active."""
        return self.lapsed / self.active_at_start if self.active_at_start else float("nan")


def monthly_churn(
    visits: VisitLog,
    start: TimeLike,
    end: TimeLike,
    *,
    as_of: TimeLike,
    rule: LapseRule | None = None,
    exclusions: Exclusions | None = None,
) -> list[MonthlyChurn]:
    """Churn of every calendar month touching ``[start, end]`` (see the module docstring).

    Vectorised: each visit day covers the month starts between it and its
    end of activity (next visit or lapse), counted with a running sum, so
    the work grows with visits, not with patients times months.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(
        ...     patient_id=["a", "b", "b"],
        ...     visit_time=["2024-01-05", "2024-01-10", "2024-02-15"],
        ...     amount=[1.0, 1.0, 1.0],
        ... )
        >>> rule = LapseRule(grace_days=0, default_interval_days=40)
        >>> [(m.active_at_start, m.lapsed) for m in monthly_churn(
        ...     log, "2024-02-01", "2024-03-31", as_of="2024-06-30", rule=rule)]
        [(2, 1), (1, 1)]
    """
    as_of_day, vd, since = visits_as_of(visits, as_of, exclusions)
    return churn_of_days(vd, since, start, end, as_of_day=as_of_day, rule=rule or LapseRule())


def churn_of_days(
    vd: VisitDays,
    excluded_since: IntArray,
    start: TimeLike,
    end: TimeLike,
    *,
    as_of_day: int,
    rule: LapseRule,
) -> list[MonthlyChurn]:
    """:func:`monthly_churn` on visit days already cut at ``as_of_day``.

    ``excluded_since`` holds each patient's exclusion day (``NO_DAY`` if none),
    indexed like ``vd.patient``. Work is linear in visit days: no
    (patient, month) pairs are materialised.
    """
    group = np.zeros(len(vd), np.int64)
    return churn_by_group(
        vd, excluded_since, start, end, as_of_day=as_of_day, rule=rule, group=group, n_groups=1
    )[0]


def churn_by_group(
    vd: VisitDays,
    excluded_since: IntArray,
    start: TimeLike,
    end: TimeLike,
    *,
    as_of_day: int,
    rule: LapseRule,
    group: IntArray,
    n_groups: int,
) -> list[list[MonthlyChurn]]:
    """:func:`churn_of_days` split by a group code per visit day (one list per group).

    A patient active at a month's start belongs, for that month, to the group
    of the visit day that keeps them active (their last visit day before the
    month), and so does their lapse in that month: every (patient, month)
    counts in exactly one group, so the groups add up to the whole.
    """
    months, bounds = month_spans(start, end)
    n_months = len(months)
    starts = bounds[:-1]
    _, lapse = lapse_days(vd, rule)
    excl = excluded_since[vd.patient]
    width = n_months + 1

    # Visit day j keeps its patient active at every month start s with day_j < s <= end_j,
    # i.e. months lo_j <= m < hi_j, and not in months ending after the exclusion day.
    end_active = np.minimum(vd.next_day, lapse)
    lo = np.searchsorted(starts, vd.day, side="right")
    hi = np.searchsorted(starts, end_active, side="right")
    hi = np.minimum(hi, np.searchsorted(starts, as_of_day, side="right"))
    hi = np.minimum(hi, np.searchsorted(bounds, excl, side="right") - 1)
    spans = hi > lo
    g = group[spans] * width
    delta = np.bincount(g + lo[spans], minlength=n_groups * width) - np.bincount(
        g + hi[spans], minlength=n_groups * width
    )
    active = np.cumsum(delta.reshape(n_groups, width), axis=1)[:, :n_months].astype(np.int64)

    # Lapse events inside each month, seen by as_of, of patients active at its start: the
    # visit day covering the month's start is the patient's last one before it.
    happened = np.flatnonzero((vd.next_day >= lapse) & (lapse <= as_of_day))
    ev_month = np.searchsorted(bounds, lapse[happened], side="right") - 1
    inside = (ev_month >= 0) & (ev_month < n_months)
    happened, ev_month = happened[inside], ev_month[inside]
    ev_patient = vd.patient[happened]
    covering = last_day_before(vd, ev_patient, starts[ev_month])
    ok = covering >= 0
    ok[ok] = ev_month[ok] < hi[covering[ok]]
    ev_patient, ev_month, covering = ev_patient[ok], ev_month[ok], covering[ok]
    # events are sorted by (patient, lapse day): one count per (patient, month)
    first = np.ones(len(ev_month), bool)
    first[1:] = (ev_patient[1:] != ev_patient[:-1]) | (ev_month[1:] != ev_month[:-1])
    cell = group[covering[first]] * n_months + ev_month[first]
    lapsed = np.bincount(cell, minlength=n_groups * n_months).reshape(n_groups, n_months)

    complete = [bool(bounds[i + 1] - 1 <= as_of_day) for i in range(n_months)]
    labels = [to_date(starts[i]) for i in range(n_months)]
    return [
        [
            MonthlyChurn(labels[i], int(active[k, i]), int(lapsed[k, i]), complete[i])
            for i in range(n_months)
        ]
        for k in range(n_groups)
    ]
