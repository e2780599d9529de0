"""Before and after the programme: monthly churn and revisit, with a difference and its interval.

The documents judge the programme by its trend: monthly churn from 12 % to
7 % in six months, revisit from 30 % to 65 %. Given the day the programme
started, the months of a :class:`~rfm_retention.metrics.KPIReport` split in
two:

* **before**: complete months that end before the start day;
* **after**: complete months that begin on or after it. The month the
  programme starts in (unless it starts on the 1st) is a transition and
  belongs to neither; so do incomplete months.

For each KPI the pooled rate of each side (churn: lapsed ÷ active at the
month starts, summed over the side's months; revisit: revisited ÷ eligible
index patients, censored months left out) and the difference ``after -
before`` with a 95 % Wald interval, ``d ± 1.96 * sqrt(p1(1-p1)/n1 +
p2(1-p2)/n2)``. The same patient is counted in several months, so the
months are not independent samples and the interval is on the narrow side:
read it as a guide, not a test.

With a **control group** (patients the programme does not reach), the same
figures for it and the **difference in differences**, ``(after - before)``
of the programme minus ``(after - before)`` of the control, with the
interval ``± 1.96 * sqrt`` of the four variances summed: the change the
programme made beyond what happened anyway (season, competitors, the city).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import attrs

from rfm_retention._display import Display
from rfm_retention._tabular import Tabular
from rfm_retention.metrics._report import KPIReport, MonthlyKPIs
from rfm_retention.metrics._winback import difference_interval
from rfm_retention.time import TimeLike, as_date

__all__ = ["BeforeAfter", "PeriodRate", "RateChange", "before_after"]

_KPIS: dict[str, Callable[[MonthlyKPIs], tuple[int, int]]] = {
    "churn": lambda m: (m.churn.lapsed, m.churn.active_at_start),
    "revisit_3m": lambda m: (m.revisit_3m.revisited, m.revisit_3m.eligible),
    "revisit_6m": lambda m: (m.revisit_6m.revisited, m.revisit_6m.eligible),
}


@attrs.frozen
class PeriodRate:
    """One KPI pooled over one side's months.

    Examples:
        >>> PeriodRate(months=3, events=36, at_risk=300).rate
        0.12
    """

    months: int
    events: int
    at_risk: int

    @property
    def rate(self) -> float:
        """``events / at_risk``; NaN with nobody at risk."""
        return self.events / self.at_risk if self.at_risk else float("nan")

    @property
    def variance(self) -> float:
        """``p(1-p)/n``, the squared standard error of the rate."""
        p = self.rate
        return p * (1 - p) / self.at_risk if self.at_risk else float("nan")


@attrs.frozen
class RateChange:
    """A KPI before and after, the difference and its 95 % interval.

    Examples:
        >>> c = RateChange("churn", PeriodRate(6, 72, 600), PeriodRate(6, 42, 600))
        >>> round(c.difference, 3), [round(x, 3) for x in c.confidence_interval]
        (-0.05, [-0.083, -0.017])
    """

    kpi: str
    before: PeriodRate
    after: PeriodRate

    @property
    def difference(self) -> float:
        """``after.rate - before.rate``."""
        return self.after.rate - self.before.rate

    @property
    def confidence_interval(self) -> tuple[float, float]:
        """95 % Wald interval of the difference (see the module docstring)."""
        return difference_interval(
            self.after.rate, self.after.at_risk, self.before.rate, self.before.at_risk
        )


@attrs.frozen(repr=False)
class BeforeAfter(Tabular):
    """Churn and revisit before vs after the programme start (and for a control group).

    Attributes:
        programme_start: the day the programme started.
        changes: one :class:`RateChange` per KPI (churn, revisit_3m, revisit_6m).
        control: the control group's changes, when the host keeps one.
    """

    programme_start: dt.date
    changes: tuple[RateChange, ...]
    control: tuple[RateChange, ...] | None = None

    def change(self, kpi: str) -> RateChange:
        """The change of one KPI (``churn``, ``revisit_3m``, ``revisit_6m``)."""
        return next(c for c in self.changes if c.kpi == kpi)

    def difference_in_differences(self, kpi: str) -> tuple[float, tuple[float, float]]:
        """Programme change minus control change, and its 95 % interval (NaN without control)."""
        nan = float("nan")
        if self.control is None:
            return nan, (nan, nan)
        mine = self.change(kpi)
        theirs = next(c for c in self.control if c.kpi == kpi)
        did = mine.difference - theirs.difference
        parts = (mine.before, mine.after, theirs.before, theirs.after)
        if any(p.at_risk == 0 for p in parts):
            return nan, (nan, nan)
        half = 1.96 * math.sqrt(sum(p.variance for p in parts))
        return did, (did - half, did + half)

    def _display(self) -> Display:
        return Display("BeforeAfter", self.to_columns(), {"start": self.programme_start})

    ROW_KEY = ("arm", "kpi")

    def _cells(self) -> dict[str, list[Any]]:
        """One row per KPI (and per KPI of the control group): before, after, difference, CI."""
        cols: dict[str, list[Any]] = {}
        arms = [("programme", self.changes)]
        if self.control is not None:
            arms.append(("control", self.control))
        for arm, changes in arms:
            for c in changes:
                low, high = c.confidence_interval
                did, (d_low, d_high) = self.difference_in_differences(c.kpi)
                row = {
                    "arm": arm, "kpi": c.kpi,
                    "before_months": c.before.months, "before_events": c.before.events,
                    "before_at_risk": c.before.at_risk, "before_rate": c.before.rate,
                    "after_months": c.after.months, "after_events": c.after.events,
                    "after_at_risk": c.after.at_risk, "after_rate": c.after.rate,
                    "difference": c.difference, "ci_low": low, "ci_high": high,
                }
                if self.control is not None:
                    keep = arm == "programme"
                    nan = float("nan")
                    row.update(did=did if keep else nan, did_low=d_low if keep else nan,
                               did_high=d_high if keep else nan)
                for name, value in row.items():
                    cols.setdefault(name, []).append(value)
        return cols


def _changes(report: KPIReport, start: dt.date) -> tuple[RateChange, ...]:
    out = []
    for kpi, counts in _KPIS.items():
        sides: dict[str, list[tuple[int, int]]] = {"before": [], "after": []}
        for m in report.months:
            if not m.complete:
                continue
            last = (m.month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            side = "before" if last <= start else "after" if m.month >= start else None
            events, at_risk = counts(m)
            if side is not None and at_risk > 0:
                sides[side].append((events, at_risk))
        rates = {
            side: PeriodRate(len(v), sum(e for e, _ in v), sum(n for _, n in v))
            for side, v in sides.items()
        }
        out.append(RateChange(kpi, rates["before"], rates["after"]))
    return tuple(out)


def before_after(
    report: KPIReport, programme_start: TimeLike, *, control: KPIReport | None = None
) -> BeforeAfter:
    """Monthly churn and revisit before vs after ``programme_start`` (see the module docstring).

    ``report`` should reach back before the start (``kpi_report(visits,
    start_a_year_before, ...)``); ``control`` is the same report over the
    control group's patients (``kpi_report_by(..., by=arm).report_of("control")``).

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> from rfm_retention.metrics import LapseRule, kpi_report
        >>> log = VisitLog.from_arrays(patient_id=["a", "a", "b", "b", "b"], amount=[1.0] * 5,
        ...     visit_time=["2024-01-05", "2024-02-05", "2024-01-10", "2024-03-01", "2024-04-01"])
        >>> report = kpi_report(log, "2024-01-01", "2024-06-30", as_of="2024-12-31",
        ...                     lapse_rule=LapseRule(grace_days=0))
        >>> ba = before_after(report, "2024-04-01")
        >>> c = ba.change("churn")
        >>> (c.before.events, c.before.at_risk), (c.after.events, c.after.at_risk)
        ((0, 4), (1, 5))
    """
    start = as_date(programme_start)
    return BeforeAfter(
        start,
        _changes(report, start),
        None if control is None else _changes(control, start),
    )
