"""The programme's KPI report over a date range, month by month.

Each month of ``[start, end]`` gets every KPI whose data the host supplied:

============================  ==================================================
column                        definition
============================  ==================================================
``active_at_start``           patients active on the month's first day (churn)
``lapsed``                    of those, patients who lapsed during the month
``churn_rate``                ``lapsed / active_at_start``
``revisit_3m_*``              cohort of the month's index visits, 3-month window
``revisit_6m_*``              same, 6-month window
``ratings``, ``satisfaction``  ratings given in the month and their mean
``cases_opened``              cases opened in the month
``coverage``                  of those, share with a first contact by ``as_of``
``contact_compliance``        first-contact deadlines falling in the month: met share
``plan_compliance``           retention-plan deadlines falling in the month: met share
``win_back_*``                medium/high cases first contacted in the month
``control_*``                 control patients warned in the month (win-back rule)
``uplift``, ``uplift_low/high``  ``win_back_rate - control_rate`` and its 95 % CI
============================  ==================================================

The uplift columns appear when the host supplies a :class:`ControlGroup`
(warned patients kept untreated) beside the cases; :attr:`KPIReport.uplift`
pools every month of the report, the figure to judge the programme by, since
a single month's groups are usually too small for a useful interval.

See :mod:`~rfm_retention.metrics._churn`, :mod:`~rfm_retention.metrics._revisit`,
:mod:`~rfm_retention.metrics._satisfaction`, :mod:`~rfm_retention.metrics._cases`
and :mod:`~rfm_retention.metrics._winback` for the exact rules (censoring,
exclusions). A month that ends after ``as_of`` is marked ``complete = False``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._display import Display
from rfm_retention._progress import Progress, report_progress
from rfm_retention._tabular import Tabular
from rfm_retention.data._sources import RatingTable, VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._calendar import month_spans
from rfm_retention.metrics._cases import (
    CaseColumns,
    Compliance,
    Coverage,
    deadline_compliance,
    followup_coverage,
)
from rfm_retention.metrics._churn import MonthlyChurn, churn_of_days
from rfm_retention.metrics._exclusions import Exclusions, visits_as_of
from rfm_retention.metrics._lapse import LapseRule
from rfm_retention.metrics._revisit import RevisitRate, revisit_of_days
from rfm_retention.metrics._satisfaction import MonthlySatisfaction, satisfaction_trend
from rfm_retention.metrics._winback import (
    WIN_BACK_DAYS,
    ControlGroup,
    Uplift,
    WinBackRate,
    control_win_back,
    win_back_rate,
)
from rfm_retention.time import TimeLike, as_date, as_instant

__all__ = ["KPIReport", "MonthlyKPIs", "kpi_report"]

_STAGE = "kpi report"
_SHARED_STEPS = 4  # churn, revisit 3 months, revisit 6 months, satisfaction: then each month


@attrs.frozen
class MonthlyKPIs:
    """Every KPI of one calendar month; None where the host gave no data for it."""

    month: dt.date
    churn: MonthlyChurn
    revisit_3m: RevisitRate
    revisit_6m: RevisitRate
    satisfaction: MonthlySatisfaction | None = None
    coverage: Coverage | None = None
    contact_compliance: Compliance | None = None
    plan_compliance: Compliance | None = None
    win_back: WinBackRate | None = None
    control_win_back: WinBackRate | None = None

    @property
    def complete(self) -> bool:
        """False when the month ends after the report's ``as_of``."""
        return self.churn.complete

    @property
    def uplift(self) -> Uplift | None:
        """The month's cases against the month's control patients (None without a control)."""
        if self.win_back is None or self.control_win_back is None:
            return None
        return Uplift(self.win_back, self.control_win_back)


def _rate(value: Any) -> float:
    return float("nan") if value is None else float(value.rate)


@attrs.frozen(repr=False)
class KPIReport(Tabular):
    """Monthly KPIs from ``start`` to ``end`` as known on ``as_of``.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "a", "b"], amount=[1.0] * 3,
        ...     visit_time=["2024-01-05", "2024-02-10", "2024-01-20"])
        >>> report = kpi_report(log, "2024-01-01", "2024-02-29", as_of="2024-09-30")
        >>> [m.revisit_3m.revisited for m in report.months]
        [1, 0]
    """

    ROW_KEY = "month"

    start: dt.date
    end: dt.date
    as_of: np.datetime64
    months: tuple[MonthlyKPIs, ...]

    def _display(self) -> Display:
        figures = {"from": self.start, "to": self.end, "as_of": as_date(self.as_of)}
        return Display("KPIReport", self.to_columns(), figures)

    @property
    def uplift(self) -> Uplift | None:
        """Win-back uplift pooled over every month (None without cases and a control group).

        Treated: cases first contacted in the report's months; control: control
        patients warned in them. Each case and control warning belongs to one
        month, so the pooled counts are the sums of the monthly ones.
        """
        pairs = [m.uplift for m in self.months]
        if not pairs or any(p is None for p in pairs):
            return None
        treated, control = WinBackRate(0, 0, 0), WinBackRate(0, 0, 0)
        for p in pairs:
            if p is None:
                raise RuntimeError("internal: p is unset")
            treated, control = treated + p.treated, control + p.control
        return Uplift(treated, control)

    def row_of(self, key: Any) -> int:
        """Position of one month (``"2024-03"``, a date or ``datetime64`` in it); KeyError if
        the report has no such month."""
        try:
            month = np.datetime64(str(key)[:7], "M")
        except ValueError:
            raise KeyError(f"no month {key!r} in this report") from None
        for i, m in enumerate(self.months):
            if np.datetime64(m.month, "M") == month:
                return i
        raise KeyError(f"no month {key!r} in this report ({self.start} to {self.end})")

    def record(self, row: int) -> MonthlyKPIs:
        """Every KPI of the month at ``row``."""
        return self.months[row]

    def _cells(self) -> dict[str, list[Any]]:
        """A flat table, one row per month (what ``rfm-retention report`` prints); ``month``
        is a ``datetime64[M]``."""
        cols: dict[str, list[Any]] = {}

        def put(name: str, value: Any) -> None:
            cols.setdefault(name, []).append(value)

        for m in self.months:
            put("month", np.datetime64(m.month, "M"))
            put("complete", m.complete)
            put("active_at_start", m.churn.active_at_start)
            put("lapsed", m.churn.lapsed)
            put("churn_rate", m.churn.rate)
            for tag, r in (("3m", m.revisit_3m), ("6m", m.revisit_6m)):
                put(f"revisit_{tag}_index", r.index_patients)
                put(f"revisit_{tag}_censored", r.censored)
                put(f"revisit_{tag}_revisited", r.revisited)
                put(f"revisit_{tag}_rate", r.rate)
            if m.satisfaction is not None:
                put("ratings", m.satisfaction.ratings)
                put("satisfaction", m.satisfaction.mean)
            if m.coverage is not None:
                put("cases_opened", m.coverage.opened)
                put("coverage", m.coverage.rate)
                put("contact_compliance", _rate(m.contact_compliance))
                put("plan_compliance", _rate(m.plan_compliance))
            if m.win_back is not None:
                put("win_back_contacted", m.win_back.contacted)
                put("win_back_censored", m.win_back.censored)
                put("win_back_won", m.win_back.won_back)
                put("win_back_excluded", m.win_back.excluded)
                put("win_back_rate", m.win_back.rate)
            up = m.uplift
            if up is not None:
                put("control_warned", up.control.contacted)
                put("control_censored", up.control.censored)
                put("control_won", up.control.won_back)
                put("control_excluded", up.control.excluded)
                put("control_rate", up.control.rate)
                low, high = up.confidence_interval
                put("uplift", up.uplift)
                put("uplift_low", low)
                put("uplift_high", high)
        return cols


def _in_month(
    times: npt.NDArray[np.datetime64], bounds: npt.NDArray[np.int64], i: int
) -> npt.NDArray[np.bool_]:
    days = times.astype("datetime64[D]").astype(np.int64)
    mask: npt.NDArray[np.bool_] = ~np.isnat(times) & (days >= bounds[i]) & (days < bounds[i + 1])
    return mask


@attrs.frozen(eq=False)
class MonthContext:
    """What every month's case KPIs share: the visits, month bounds and the rules."""

    visits: VisitLog
    bounds: npt.NDArray[np.int64]
    as_of: np.datetime64
    win_back_days: int
    exclusions: Exclusions | None
    progress: Progress | None = None


def monthly_rows(
    ctx: MonthContext,
    labels: list[dt.date],
    churn: list[MonthlyChurn],
    rev3: list[RevisitRate],
    rev6: list[RevisitRate],
    sat: list[MonthlySatisfaction] | None,
    cases: CaseColumns | None,
    control: ControlGroup | None,
) -> tuple[MonthlyKPIs, ...]:
    """One :class:`MonthlyKPIs` per month from its churn, revisit and the case data given."""
    bounds, as_of = ctx.bounds, ctx.as_of
    rows = []
    for i, month in enumerate(labels):
        extra: dict[str, Any] = {}
        if sat is not None:
            extra["satisfaction"] = sat[i]
        if cases is not None:
            opened = _in_month(cases.opened_at, bounds, i)
            extra["coverage"] = followup_coverage(cases.take(opened), as_of=as_of)
            due1 = _in_month(cases.first_contact_due, bounds, i)
            extra["contact_compliance"] = deadline_compliance(
                cases.first_contact_due[due1], cases.first_contact_at[due1], as_of=as_of
            )
            due2 = _in_month(cases.plan_due, bounds, i)
            extra["plan_compliance"] = deadline_compliance(
                cases.plan_due[due2], cases.plan_at[due2], as_of=as_of
            )
            contacted = _in_month(cases.first_contact_at, bounds, i)
            extra["win_back"] = win_back_rate(
                ctx.visits, cases.take(contacted), as_of=as_of,
                within_days=ctx.win_back_days, exclusions=ctx.exclusions,
            )
        if control is not None:
            warned = _in_month(control.warned_at, bounds, i)
            extra["control_win_back"] = control_win_back(
                ctx.visits, control.take(warned), as_of=as_of, within_days=ctx.win_back_days,
                exclusions=ctx.exclusions,
            )
        rows.append(MonthlyKPIs(month, churn[i], rev3[i], rev6[i], **extra))
        report_progress(ctx.progress, _STAGE, _SHARED_STEPS + i + 1, _SHARED_STEPS + len(labels))
    return tuple(rows)


def kpi_report(
    visits: VisitLog,
    start: TimeLike,
    end: TimeLike,
    *,
    as_of: TimeLike,
    ratings: RatingTable | None = None,
    cases: CaseColumns | None = None,
    lapse_rule: LapseRule | None = None,
    exclusions: Exclusions | None = None,
    win_back_days: int = WIN_BACK_DAYS,
    control: ControlGroup | None = None,
    progress: Progress | None = None,
) -> KPIReport:
    """Compute the monthly KPIs of every calendar month touching ``[start, end]``.

    ``as_of`` is the last day the data covers (the CLI uses the last visit
    day): it decides censoring and which months are complete. Cases are
    grouped by the month they were opened (coverage), first contacted
    (win-back) or due (compliance); control patients by the month they were
    warned. ``exclusions`` apply to churn, revisit and win-back (both sides).
    ``progress`` (a :data:`~rfm_retention.Progress`) hears of each step:
    churn, the two revisit windows, satisfaction, then each month's case KPIs.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "b", "c"], amount=[1.0] * 3,
        ...     visit_time=["2024-03-10", "2024-01-05", "2024-03-20"])
        >>> cases = CaseColumns.from_arrays(patient_id=["a", "b"], level=["high"] * 2,
        ...     first_contact_at=["2024-03-01T10:00:00"] * 2)
        >>> control = ControlGroup.from_arrays(patient_id=["c", "d"], level=["high"] * 2,
        ...     warned_at=["2024-03-02", "2024-03-02"])
        >>> report = kpi_report(log, "2024-03-01", "2024-03-31", as_of="2024-06-30",
        ...                     cases=cases, control=control)
        >>> up = report.uplift
        >>> up.treated.rate, up.control.rate, up.uplift
        (0.5, 0.5, 0.0)
    """
    if control is not None and cases is None:
        raise ConfigError("a control group needs the cases (the treated side) beside it")
    rule = lapse_rule or LapseRule()
    # each time input converted once, the instants handed to every KPI
    instant = as_instant(as_of)
    start, end = as_instant(start, field="start"), as_instant(end, field="end")
    _, bounds = month_spans(start, end)
    total = _SHARED_STEPS + len(bounds) - 1
    report_progress(progress, _STAGE, 0, total)
    # the visit days, shared by churn and both revisit windows
    as_of_day, vd, since = visits_as_of(visits, instant, exclusions)
    churn = churn_of_days(vd, since, start, end, as_of_day=as_of_day, rule=rule)
    report_progress(progress, _STAGE, 1, total)
    labels, rev3 = revisit_of_days(vd, since, start, end, as_of_day=as_of_day, months=3)
    report_progress(progress, _STAGE, 2, total)
    _, rev6 = revisit_of_days(vd, since, start, end, as_of_day=as_of_day, months=6)
    report_progress(progress, _STAGE, 3, total)
    sat = satisfaction_trend(ratings, start, end) if ratings is not None else None
    report_progress(progress, _STAGE, _SHARED_STEPS, total)
    context = MonthContext(visits, bounds, instant, win_back_days, exclusions, progress)
    rows = monthly_rows(context, labels, churn, rev3, rev6, sat, cases, control)
    return KPIReport(as_date(start), as_date(end), instant, rows)
