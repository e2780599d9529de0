"""Revisit rate at 3 and 6 calendar months, with right-censoring.

Definition (one index visit per patient and cohort period):

* The **index visit** of a patient for a period is their first visit day in
  that period (a month of the KPI report, or any ``[start, end]``).
* The patient **revisited** when they have another visit on a later calendar
  day, no later than the index day plus ``months`` calendar months
  (``index < day <= index + months``; 31 January + 1 month = 29 February).
* **Censored**: the window ``index + months`` ends after ``as_of`` (the last
  day the data covers), so the outcome is not known yet. Censored patients
  leave numerator and denominator, even those who already came back, so the
  rate is never biased towards early returners.
* **Excluded**: patients the host marks deceased or transferred on or before
  the window's last day and who did not revisit before that day.

``rate = revisited / (index patients - censored - excluded)``, NaN when the
denominator is 0.
"""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import IntArray
from rfm_retention.data._sources import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._calendar import add_months, check_period, month_spans
from rfm_retention.metrics._exclusions import Exclusions, visits_as_of
from rfm_retention.metrics._visits import VisitDays
from rfm_retention.time import TimeLike, day_number, to_date

__all__ = ["REVISIT_MONTHS", "RevisitRate", "revisit_rate", "revisit_rates_by_month"]


REVISIT_MONTHS = (3, 6)
"""The windows the programme reports (memory of the hospital fades by 80 % after
3 months and 95 % after 6 months without contact)."""


@attrs.frozen
class RevisitRate:
    """Revisit rate of one cohort.

    Attributes:
        months: window length in calendar months.
        index_patients: patients with an index visit in the cohort period.
        censored: of those, patients whose window had not closed by ``as_of``.
        excluded: of those, patients marked deceased/transferred (see module doc).
        revisited: patients who came back within the window.

    Examples:
        >>> r = RevisitRate(months=3, index_patients=10, censored=2, excluded=1, revisited=4)
        >>> r.eligible, round(r.rate, 3)
        (7, 0.571)
    """

    months: int
    index_patients: int
    censored: int
    excluded: int
    revisited: int

    @property
    def eligible(self) -> int:
        """The denominator: index patients whose outcome is known and who still count."""
        return self.index_patients - self.censored - self.excluded

    @property
    def rate(self) -> float:
        """``revisited / eligible``; NaN with no eligible patient."""
        return self.revisited / self.eligible if self.eligible else float("nan")


def _check_months(months: int) -> None:
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise ConfigError(f"months must be a positive whole number, got {months!r}")


def count_revisits(
    vd: VisitDays,
    index_rows: IntArray,
    window_end: IntArray,
    group: IntArray,
    n_groups: int,
    as_of_day: int,
    excluded_since: IntArray,
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Per group: (index patients, censored, excluded, revisited) of the index visit rows.

    The one place the revisit rule (censoring, exclusion, the window) is
    applied: the monthly cohorts and the acquisition cohorts both count here.
    """
    nxt = vd.next_day[index_rows]
    excl = excluded_since[vd.patient[index_rows]]
    censored = window_end > as_of_day
    revisited = ~censored & (nxt <= window_end) & (nxt <= excl)
    excluded = ~censored & ~revisited & (excl <= window_end)

    def per_group(mask: npt.NDArray[np.bool_]) -> IntArray:
        return np.bincount(group[mask], minlength=n_groups).astype(np.int64)

    everyone = np.ones(len(index_rows), bool)
    return per_group(everyone), per_group(censored), per_group(excluded), per_group(revisited)


def revisit_rate(
    visits: VisitLog,
    start: TimeLike,
    end: TimeLike,
    *,
    as_of: TimeLike,
    months: int = 3,
    exclusions: Exclusions | None = None,
) -> RevisitRate:
    """Revisit rate of the patients with an index visit between ``start`` and ``end``.

    The index visit is each patient's first visit day in ``[start, end]``
    (both days included). Visits after ``as_of`` are ignored: the result is
    what was knowable on that day. See the module docstring for the rules.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(
        ...     patient_id=["a", "a", "b", "c"],
        ...     visit_time=["2024-01-10", "2024-03-01", "2024-01-20", "2024-01-31"],
        ...     amount=[1.0, 1.0, 1.0, 1.0],
        ... )
        >>> r = revisit_rate(log, "2024-01-01", "2024-01-31", as_of="2024-04-29")
        >>> r.index_patients, r.censored, r.revisited, round(r.rate, 3)
        (3, 1, 1, 0.5)
    """
    _check_months(months)
    first, last = day_number(start), day_number(end)
    as_of_day, vd, excl = visits_as_of(visits, as_of, exclusions)
    check_period(first, last, start, end)
    in_period = (vd.day >= first) & (vd.day <= last)
    rows = np.flatnonzero(in_period)
    first_in_period = np.ones(len(rows), bool)
    first_in_period[1:] = vd.patient[rows[1:]] != vd.patient[rows[:-1]]
    rows = rows[first_in_period]
    window_end = add_months(vd.day[rows], months)
    idx, cen, exc, rev = count_revisits(
        vd, rows, window_end, np.zeros(len(rows), np.int64), 1, as_of_day, excl
    )
    return RevisitRate(months, int(idx[0]), int(cen[0]), int(exc[0]), int(rev[0]))


def revisit_rates_by_month(
    visits: VisitLog,
    start: TimeLike,
    end: TimeLike,
    *,
    as_of: TimeLike,
    months: int = 3,
    exclusions: Exclusions | None = None,
) -> tuple[list[dt.date], list[RevisitRate]]:
    """One :class:`RevisitRate` per calendar month touching ``[start, end]``.

    Each month is its own cohort: a patient's index visit for month M is
    their first visit day in M, so a patient seen in January and March is in
    both cohorts. Returns the first day of each month and its rate.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(
        ...     patient_id=["a", "a", "b", "b"], amount=[1.0] * 4,
        ...     visit_time=["2024-01-31", "2024-04-30", "2024-02-10", "2024-06-01"])
        >>> labels, rates = revisit_rates_by_month(log, "2024-01-01", "2024-02-29",
        ...                                        as_of="2024-12-31")
        >>> [(str(m), r.index_patients, r.revisited) for m, r in zip(labels, rates)]
        [('2024-01-01', 1, 1), ('2024-02-01', 1, 0)]
    """
    _check_months(months)
    as_of_day, vd, excl = visits_as_of(visits, as_of, exclusions)
    return revisit_of_days(vd, excl, start, end, as_of_day=as_of_day, months=months)


def revisit_of_days(
    vd: VisitDays,
    excluded_since: IntArray,
    start: TimeLike,
    end: TimeLike,
    *,
    as_of_day: int,
    months: int,
) -> tuple[list[dt.date], list[RevisitRate]]:
    """:func:`revisit_rates_by_month` on visit days already cut at ``as_of_day``.

    ``excluded_since`` holds each patient's exclusion day (``NO_DAY`` if
    none). An index visit's window end is computed from its month's position
    (day of month clipped to the target month's length), so no per-visit
    calendar conversion is needed.
    """
    labels, rates = revisit_by_group(
        vd, excluded_since, start, end, as_of_day=as_of_day, months=months,
        group=np.zeros(len(vd), np.int64), n_groups=1,
    )
    return labels, rates[0]


def revisit_by_group(
    vd: VisitDays,
    excluded_since: IntArray,
    start: TimeLike,
    end: TimeLike,
    *,
    as_of_day: int,
    months: int,
    group: IntArray,
    n_groups: int,
) -> tuple[list[dt.date], list[list[RevisitRate]]]:
    """:func:`revisit_of_days` split by a group code per visit day (one list per group).

    Each index visit counts in the group of its own visit day (the
    department of the index visit, for instance), so the groups add up to
    the whole.
    """
    _check_months(months)
    month_starts, bounds = month_spans(start, end)
    n_months = len(month_starts)
    # month starts from the first month to ``months`` months past the last, as day numbers
    ext = np.arange(
        month_starts[0], month_starts[-1] + np.timedelta64(months + 2, "M"), dtype="datetime64[M]"
    ).astype("datetime64[D]").astype(np.int64)
    month = np.searchsorted(bounds, vd.day, side="right") - 1
    inside = (month >= 0) & (month < n_months)
    rows = np.flatnonzero(inside)
    first_in_month = np.ones(len(rows), bool)
    first_in_month[1:] = (vd.patient[rows[1:]] != vd.patient[rows[:-1]]) | (
        month[rows[1:]] != month[rows[:-1]]
    )
    rows = rows[first_in_month]
    g = month[rows]
    target = g + months
    offset = vd.day[rows] - ext[g]
    window_end = ext[target] + np.minimum(offset, ext[target + 1] - ext[target] - 1)
    cell = group[rows] * n_months + g
    idx, cen, exc, rev = count_revisits(
        vd, rows, window_end, cell, n_groups * n_months, as_of_day, excluded_since
    )
    labels = [to_date(b) for b in bounds[:-1]]
    rates = [
        [
            RevisitRate(months, int(idx[c]), int(cen[c]), int(exc[c]), int(rev[c]))
            for c in range(k * n_months, (k + 1) * n_months)
        ]
        for k in range(n_groups)
    ]
    return labels, rates
