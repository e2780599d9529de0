"""Programme pictures: the monthly KPI lines and revisit curves by first-visit cohort."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rfm_retention.data import VisitLog
from rfm_retention.metrics import KPIReport
from rfm_retention.plot._axes import axes
from rfm_retention.time import TimeLike, as_date, day_number, to_date

__all__ = ["kpi_lines", "revisit_curves"]

_RATES = (
    ("churn_rate", "churn"),
    ("revisit_3m_rate", "revisit 3 months"),
    ("revisit_6m_rate", "revisit 6 months"),
    ("win_back_rate", "win-back"),
)


def kpi_lines(report: KPIReport, *, programme_start: TimeLike | None = None,
              ax: Any = None) -> Any:
    """Churn, revisit at 3 and 6 months and win-back by month (%), satisfaction on a right axis.

    Lines for KPIs the report has no data for are left out; months whose
    revisit windows have not closed have no point. ``programme_start`` draws
    a vertical line, so the months before and after can be compared.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> from rfm_retention.metrics import kpi_report
        >>> from rfm_retention.testing import synthetic_cohort
        >>> c = synthetic_cohort(200, seed=3).data
        >>> r = kpi_report(c.visits, "2023-01-01", "2023-12-31", as_of="2024-12-31",
        ...                ratings=c.ratings)
        >>> ax = kpi_lines(r, programme_start="2023-07-01", ax=Figure().subplots())
        >>> [line.get_label() for line in ax.get_lines()]
        ['churn', 'revisit 3 months', 'revisit 6 months', 'programme start']
    """
    ax = axes(ax, "plot.kpi_lines")
    cols = report.to_columns()
    months = [m.month for m in report.months]
    for key, label in _RATES:
        if key in cols:
            values = np.asarray(cols[key], np.float64) * 100.0
            ax.plot(months, values, marker="o", markersize=3, label=label)
    ax.set_ylabel("rate (%)")
    ax.set_xlabel("month")
    if programme_start is not None:
        ax.axvline(to_date(day_number(programme_start)), color="black", linestyle=":",
                   label="programme start")
    handles, labels = ax.get_legend_handles_labels()
    if "satisfaction" in cols:
        right = ax.twinx()
        right.plot(months, np.asarray(cols["satisfaction"], np.float64), color="#8e44ad",
                   linestyle="--", marker="s", markersize=3, label="satisfaction")
        right.set_ylabel("mean rating")
        more_h, more_l = right.get_legend_handles_labels()
        handles, labels = handles + more_h, labels + more_l
    ax.legend(handles, labels, loc="best", fontsize=8)
    ax.set_title(f"Monthly KPIs {report.start:%Y-%m} to {report.end:%Y-%m} "
                 f"(as of {as_date(report.as_of)})")
    return ax


Cohort = Literal["month", "quarter", "year"]


def _cohort_labels(first_day: npt.NDArray[np.int64], by: Cohort) -> npt.NDArray[np.str_]:
    months = first_day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    year = months // 12 + 1970
    if by == "year":
        return year.astype(str)
    if by == "quarter":
        return np.char.add(np.char.add(year.astype(str), "Q"), (months % 12 // 3 + 1).astype(str))
    return np.char.add(np.char.add(year.astype(str), "-"),
                       np.char.zfill((months % 12 + 1).astype(str), 2))


def revisit_curves(
    visits: VisitLog,
    *,
    as_of: TimeLike,
    by: Cohort = "quarter",
    max_days: int = 365,
    last: int = 6,
    min_patients: int = 20,
    ax: Any = None,
) -> Any:
    """Share of each first-visit cohort back for a second visit within ``d`` days, for every ``d``.

    A cohort is the patients whose first visit fell in one month, quarter or
    year (``by``); the ``last`` most recent cohorts are drawn. At day ``d``
    only patients first seen at least ``d`` days before ``as_of`` count (the
    others could not have been seen for that long yet), so a young cohort's
    curve simply stops early; it also stops where fewer than ``min_patients``
    of the cohort (or the whole of a smaller cohort) are still counted, before
    a handful of patients make it jump. Visits after ``as_of`` are ignored.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> from rfm_retention.testing import synthetic_cohort
        >>> log = synthetic_cohort(300, seed=3).data.visits
        >>> ax = revisit_curves(log, as_of="2023-12-31", by="year", ax=Figure().subplots())
        >>> [line.get_label() for line in ax.get_lines()]
        ['2022', '2023']
    """
    ax = axes(ax, "plot.revisit_curves")
    end = day_number(as_of)
    days = visits.time.astype("datetime64[D]").astype(np.int64)
    seen = days <= end
    patient, day = visits.patient_index[seen], days[seen]
    if not len(day):
        ax.set_title("Revisit curves: no visits on or before as_of")
        return ax
    starts = np.flatnonzero(np.r_[True, patient[1:] != patient[:-1]])
    first = day[starts]
    first_of_row = np.repeat(first, np.diff(np.r_[starts, len(day)]))
    later = np.flatnonzero(day > first_of_row)
    _, at = np.unique(patient[later], return_index=True)
    gap = np.full(len(first), np.inf)
    gap[np.searchsorted(patient[starts], patient[later][at])] = day[later][at] - first_of_row[
        later][at]
    observed = end - first
    labels = _cohort_labels(first, by)
    grid = np.arange(0, max_days + 1, 7)
    for cohort in np.unique(labels)[-last:]:
        mine = labels == cohort
        g, obs = gap[mine], observed[mine]
        counted = obs[None, :] >= grid[:, None]
        back = counted & (g[None, :] <= grid[:, None])
        n = counted.sum(axis=1)
        keep = n >= max(1, min(min_patients, int(mine.sum())))
        share = back.sum(axis=1)[keep] / n[keep] * 100.0
        ax.plot(grid[keep], share, label=str(cohort))
    ax.set_xlabel("days since first visit")
    ax.set_ylabel("back for a second visit (%)")
    ax.set_xlim(0, max_days)
    ax.set_ylim(0, 100)
    ax.legend(title=f"first visit ({by})", fontsize=8)
    ax.set_title(f"Revisit curves by first-visit cohort, as of {to_date(end)}")
    return ax
