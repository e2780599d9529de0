"""Behaviour indicators: the patient's own visiting pattern is changing.

All read the visit log (always present). The 3-month windows are calendar
months ending on ``as_of``: "last 3 months" is ``(as_of - 3 months, as_of]``,
"the 3 before" is ``(as_of - 6 months, as_of - 3 months]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import BoolArray, FloatArray, IntArray
from rfm_retention.data import PatientData
from rfm_retention.risk._care_intervals import SPEC_CARE_INTERVALS, CareIntervals
from rfm_retention.risk._indicator import REASON_CODES, IndicatorBase, Measurement, present, require
from rfm_retention.risk._rows import SourceRows, scatter, visit_features, visit_gaps
from rfm_retention.time import SECONDS_PER_DAY
from rfm_retention.vocabulary import Dimension, ReasonCode

__all__ = ["FrequencyDrop", "IntervalExtension", "NoShows", "SpendDrop", "episode_intervals"]


_GENERAL_NORM = -2
"""``norm`` detail of a patient judged against ``fallback_days``."""


def _pct(x: float) -> str:
    return f"{x:+.0%}"


def _of_visited(
    data: PatientData,
    where: IntArray,
    value: FloatArray,
    *,
    signal: BoolArray | None = None,
    reasons: npt.NDArray[np.int8] | None = None,
    **details: npt.NDArray[Any],
) -> Measurement:
    """A measurement from arrays over the visited patients ``where`` (see ``visit_features``).

    Every array is spread over all of ``data.patients``; a patient outside
    ``where`` gets no value and no signal, NaN details, and ``-1`` in integer
    details and ``reasons`` (the "none" code). ``signal`` defaults to "the
    value is defined".
    """
    n = len(data.patients)

    def spread(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        if values.dtype == np.bool_:
            return scatter(n, where, values, False)
        if np.issubdtype(values.dtype, np.integer):
            return scatter(n, where, values, values.dtype.type(-1))
        return scatter(n, where, values, np.nan)

    return Measurement(
        value=spread(value),
        signal=spread(~np.isnan(value) if signal is None else signal),
        reasons=None if reasons is None else spread(reasons),
        details={name: spread(values) for name, values in details.items()},
    )


def episode_intervals(
    data: PatientData, instant: np.datetime64, cluster_days: float
) -> tuple[FloatArray, FloatArray]:
    """Per patient: the median and the count of gaps between *episodes of care*.

    Visits closer than ``cluster_days`` to the previous one belong to the same
    episode (a course of sessions every 3 days, a check-up and its results
    visit); only the gaps between episodes are the patient's revisit rhythm.
    NaN median where a patient has no such gap. Vectorised: the visits are
    already in (patient, time) order, so one sort of packed ``(patient, gap)``
    integers groups each patient's gaps by size (see ``visit_gaps``).

    Example:
        >>> from rfm_retention.data import PatientData, VisitLog
        >>> log = VisitLog.from_arrays(patient_id=[1, 1, 1, 1], amount=[9, 9, 9, 9],
        ...     visit_time=["2024-01-01", "2024-01-04", "2024-03-01", "2024-05-01"])
        >>> data = PatientData(visits=log)
        >>> median, count = episode_intervals(data, np.datetime64("2024-06-01"), 14)
        >>> median.tolist(), count.tolist()  # 3 days apart: one episode; then 57 and 61 days
        ([59.0], [2.0])
    """
    n = len(data.patients)
    # each patient's gaps come as a sorted run (see visit_gaps: one packed sort)
    who, in_order = visit_gaps(data, instant, round(cluster_days * SECONDS_PER_DAY))
    count = np.bincount(who, minlength=n).astype(np.float64)
    median = np.full(n, np.nan)
    if in_order.shape[0]:
        has = np.flatnonzero(count > 0)
        k = count[has].astype(np.int64)
        start = np.cumsum(k) - k
        mid = 0.5 * (in_order[start + (k - 1) // 2] + in_order[start + k // 2])
        median[has] = mid / SECONDS_PER_DAY
    return median, count


@attrs.frozen
class IntervalExtension(IndicatorBase):
    """Days since the last visit vs the patient's usual interval; fires above +50 %.

    ``value = days_since_last_visit / usual_interval - 1`` (``1.32`` = 132 %
    longer than usual). Fires when ``value > threshold`` (exactly +50 % does
    not fire). Severity: 0 at 0 %, 1 at twice the threshold (+100 %).

    The usual interval, in order of preference:

    1. **the patient's own rhythm**: the median gap between their *episodes of
       care*, where visits less than ``cluster_days`` apart count as one
       episode, once they have ``min_visits`` episodes. Clustering matters:
       a rehabilitation course (sessions every 3-4 days) would otherwise make
       the usual interval a few days and every patient "+2000 %" the week
       the course ends. The median, not the mean, so one long absence in the
       past does not hide the current one;
    2. **the disease norm** (``max_days`` of the care norm matching the last
       visit's diagnosis), so a one-visit hypertension patient is judged
       against the 60-day norm rather than ignored;
    3. **a general revisit norm**, ``fallback_days`` (90: the documents'
       memory of the hospital has faded by 80 % after 3 months without
       contact), so a patient seen once for an acute complaint, the patient
       the documents most often lose, is not invisible either. ``None``
       gives such patients no signal.

    Example:
        >>> IntervalExtension(threshold=0.8).threshold
        0.8
    """

    name: ClassVar[str] = "interval_extension"
    dimension: ClassVar[Dimension] = Dimension.BEHAVIOUR
    sources: ClassVar[frozenset[str]] = frozenset({"visits"})
    reason: ClassVar[ReasonCode] = ReasonCode.BEHAVIOUR_ONLY
    trigger: ClassVar[str] = ">"
    measures: ClassVar[tuple[str, ...]] = ("days_since_last_visit", "usual_interval_days")

    threshold: float = 0.5
    min_visits: int = 2
    care_intervals: CareIntervals = SPEC_CARE_INTERVALS
    min_usual_days: float = 1.0
    cluster_days: float = 14.0
    fallback_days: float | None = 90.0

    def __attrs_post_init__(self) -> None:
        require(self.threshold > 0, f"{self.name}: threshold must be > 0")
        require(self.min_visits >= 2, f"{self.name}: min_visits must be at least 2")
        require(self.min_usual_days > 0, f"{self.name}: min_usual_days must be > 0")
        require(self.cluster_days >= 0, f"{self.name}: cluster_days must be >= 0")
        require(
            self.fallback_days is None or self.fallback_days > 0,
            f"{self.name}: fallback_days must be > 0 or None",
        )

    def measure(self, data: PatientData, instant: np.datetime64) -> Measurement:
        f, where = visit_features(data, instant)
        median, episodes = episode_intervals(data, instant, self.cluster_days)
        own = np.where(episodes[where] >= self.min_visits - 1, median[where], np.nan)
        short = np.flatnonzero(np.isnan(own))  # only they need a disease norm
        norm_days = np.full(own.shape[0], np.nan)
        norm_index = np.full(own.shape[0], -1, np.int64)
        norm_days[short], norm_index[short] = self.care_intervals.max_days_of(
            f.last_diagnosis[short]
        )
        use_norm = np.isnan(own) & ~np.isnan(norm_days)
        usual = np.where(use_norm, norm_days, own)
        if self.fallback_days is not None:
            norm_index = np.where(np.isnan(usual), _GENERAL_NORM, norm_index)
            usual = np.where(np.isnan(usual), self.fallback_days, usual)
        usual = np.where(np.isnan(usual), np.nan, np.maximum(usual, self.min_usual_days))
        gap = f.days_since_last_visit.astype(np.float64)
        with np.errstate(invalid="ignore"):
            value = gap / usual - 1.0
        return _of_visited(
            data,
            where,
            value,
            days_since_last_visit=gap,
            usual_interval_days=usual,
            norm=np.where(use_norm | (norm_index == _GENERAL_NORM), norm_index, -1),
        )

    def limit(self) -> float:
        return self.threshold

    def explain_row(self, row: int, value: float, details: Mapping[str, float]) -> str:
        norm = int(details["norm"])
        if norm == _GENERAL_NORM:
            basis = "general revisit norm"
        elif norm >= 0:
            basis = f"{self.care_intervals.norms[norm].name} norm"
        else:
            basis = "usual interval"
        return (
            f"last visit {details['days_since_last_visit']:.0f} days ago; "
            f"{basis} {details['usual_interval_days']:.0f} days ({_pct(value)})"
        )


@attrs.frozen
class FrequencyDrop(IndicatorBase):
    """Visits in the last 3 months vs the 3 months before; fires at a drop of 30 % or more.

    ``value = 1 - (visits_last_3_months + jitter_visits) / visits_prior_3_months``
    while the patient still came in the last 3 months, and ``1`` (a 100 %
    drop) when they did not come at all; negative when visits rose. Why the
    allowance: a patient who keeps a perfectly regular rhythm still has one
    visit more or less in a 3-month window depending on where their visits
    fall (every 45 days gives 2 visits in one window and 1 or 3 in the next),
    so a one-visit dip is no evidence of drifting away. Measured on synthetic
    cohorts, drops that leave the patient at one or more visits were mostly
    such phase jitter (patients who kept coming), while "no visit at all in 3
    months" is the strong signal; ``jitter_visits=0`` gives the plain ratio.
    Needs at least one visit in the prior 3 months, otherwise no signal
    (nothing to drop from). Severity: 0 at no drop, 1 at twice the threshold
    (a 60 % drop). Rules may also compare ``visits_last_3_months`` and
    ``visits_prior_3_months`` (defined for everyone with a visit).

    Example:
        >>> FrequencyDrop().threshold
        0.3
    """

    name: ClassVar[str] = "frequency_drop"
    dimension: ClassVar[Dimension] = Dimension.BEHAVIOUR
    sources: ClassVar[frozenset[str]] = frozenset({"visits"})
    reason: ClassVar[ReasonCode] = ReasonCode.BEHAVIOUR_ONLY
    trigger: ClassVar[str] = ">="
    measures: ClassVar[tuple[str, ...]] = ("visits_last_3_months", "visits_prior_3_months")

    threshold: float = 0.3
    jitter_visits: int = 1

    def __attrs_post_init__(self) -> None:
        require(0 < self.threshold <= 1, f"{self.name}: threshold must be in (0, 1]")
        require(self.jitter_visits >= 0, f"{self.name}: jitter_visits must be >= 0")

    def measure(self, data: PatientData, instant: np.datetime64) -> Measurement:
        f, where = visit_features(data, instant)
        last = f.visits_last_3_months.astype(np.float64)
        prior = f.visits_prior_3_months.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            kept = np.where(last > 0, last + self.jitter_visits, 0.0)
            value = np.where(prior > 0, 1.0 - kept / prior, np.nan)
        return _of_visited(
            data,
            where,
            value,
            signal=prior > 0,
            visits_last_3_months=last,
            visits_prior_3_months=prior,
        )

    def limit(self) -> float:
        return self.threshold

    def explain_row(self, row: int, value: float, details: Mapping[str, float]) -> str:
        last, prior = details["visits_last_3_months"], details["visits_prior_3_months"]
        text = f"{last:.0f} visit(s) in the last 3 months vs {prior:.0f} in the 3 before"
        if last > 0 and self.jitter_visits:
            plain = _pct(last / prior - 1.0)
            return f"{text} ({plain}; {_pct(-value)} beyond one visit's variation)"
        return f"{text} ({_pct(-value)})"


@attrs.frozen
class NoShows(IndicatorBase):
    """Consecutive missed appointments; fires at 2 or more in a row.

    ``value`` = how many of the patient's most recent appointments (attended or
    no-show, scheduled on or before ``as_of``; cancelled and still-booked ones
    are skipped) were missed in a row. Needs the appointments source; a patient
    with no attended or missed appointment has no signal. Severity: 0 at none,
    1 at twice the threshold (4 in a row).

    Example:
        >>> NoShows(consecutive=3).consecutive
        3
    """

    name: ClassVar[str] = "no_shows"
    dimension: ClassVar[Dimension] = Dimension.BEHAVIOUR
    sources: ClassVar[frozenset[str]] = frozenset({"appointments"})
    reason: ClassVar[ReasonCode] = ReasonCode.BEHAVIOUR_ONLY
    trigger: ClassVar[str] = ">="
    measures: ClassVar[tuple[str, ...]] = ("appointments",)

    consecutive: int = 2

    def __attrs_post_init__(self) -> None:
        require(self.consecutive >= 1, f"{self.name}: consecutive must be at least 1")

    def measure(self, data: PatientData, instant: np.datetime64) -> Measurement:
        appointments = present(data.appointments, "appointments")
        rows = SourceRows.of(data, "appointments", instant, tiebreak=("status",))
        # Compare the text column once in place (no copy of the strings).
        missed_all = appointments.status == "no_show"
        attended_all = appointments.status == "attended"
        resolved = rows.subset(rows.column(missed_all | attended_all))
        missed = resolved.column(missed_all)
        run = resolved.trailing_run(missed).astype(np.float64)
        has = resolved.has_rows()
        return Measurement(
            value=np.where(has, run, np.nan),
            signal=has,
            details={"appointments": resolved.count().astype(np.float64)},
        )

    def limit(self) -> float:
        return float(self.consecutive)

    def explain_row(self, row: int, value: float, details: Mapping[str, float]) -> str:
        return (
            f"{value:.0f} missed appointment(s) in a row "
            f"(of {details['appointments']:.0f} attended or missed)"
        )


SpendBasis = Literal["per_visit", "monthly", "either"]


@attrs.frozen
class SpendDrop(IndicatorBase):
    """Spend in the last 3 months vs the 3 before; fires at a drop of 40 % or more.

    Two readings, as the documents allow either: *monthly* (total spend, needs
    spend in the prior window; a patient who stopped coming is a 100 % drop)
    and *per visit* (mean amount per visit, needs a visit in both windows).
    ``basis="monthly"`` (default) judges the monthly reading;
    ``"per_visit"`` the other; ``"either"`` the larger drop. Monthly is the
    default because the per-visit reading compares the price of one or two
    visits with one or two others: charges for the same follow-up vary by
    half or more (tests, drugs), so on synthetic cohorts a 40 % per-visit
    "drop" happened to a quarter of patients by chance and ranked patients who
    stayed above those who left. The monthly reading allows, like
    :class:`FrequencyDrop`, ``jitter_visits`` visits' worth of the prior
    average charge while the patient still comes (a one-visit dip in a
    regular rhythm is no drop). No spend in the prior 3 months: no signal.
    Whatever the basis, the reason is ``price`` when the *per-visit* spend
    dropped past the threshold (the patient still comes, but buys less); a
    monthly drop alone is behaviour (the patient comes less). Severity: 0 at
    no drop, 1 at twice the threshold (an 80 % drop).

    Example:
        >>> SpendDrop(basis="per_visit").basis
        'per_visit'
    """

    name: ClassVar[str] = "spend_drop"
    dimension: ClassVar[Dimension] = Dimension.BEHAVIOUR
    sources: ClassVar[frozenset[str]] = frozenset({"visits"})
    reason: ClassVar[ReasonCode] = ReasonCode.BEHAVIOUR_ONLY
    trigger: ClassVar[str] = ">="
    measures: ClassVar[tuple[str, ...]] = ("per_visit_drop", "monthly_drop")

    threshold: float = 0.4
    basis: SpendBasis = "monthly"
    jitter_visits: int = 1

    def __attrs_post_init__(self) -> None:
        require(0 < self.threshold <= 1, f"{self.name}: threshold must be in (0, 1]")
        require(self.jitter_visits >= 0, f"{self.name}: jitter_visits must be >= 0")
        require(
            self.basis in ("per_visit", "monthly", "either"),
            f"{self.name}: basis must be per_visit, monthly or either, not {self.basis!r}",
        )

    def measure(self, data: PatientData, instant: np.datetime64) -> Measurement:
        f, where = visit_features(data, instant)
        last, prior = f.spend_last_3_months, f.spend_prior_3_months
        v_last = f.visits_last_3_months.astype(np.float64)
        v_prior = f.visits_prior_3_months.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_prior_visit = np.where(v_prior > 0, prior / np.maximum(v_prior, 1.0), 0.0)
            kept = np.where(v_last > 0, last + self.jitter_visits * per_prior_visit, last)
            monthly = np.where(prior > 0, 1.0 - kept / prior, np.nan)
            per_visit = np.where(
                (prior > 0) & (v_last > 0) & (v_prior > 0),
                1.0 - (last / v_last) / (prior / v_prior),
                np.nan,
            )
        if self.basis == "monthly":
            value = monthly
        elif self.basis == "per_visit":
            value = per_visit
        else:
            value = np.fmax(monthly, per_visit)
        with np.errstate(invalid="ignore"):
            price = np.where(
                per_visit >= self.threshold - 1e-12, REASON_CODES.index(ReasonCode.PRICE), -1
            ).astype(np.int8)
        return _of_visited(
            data, where, value, reasons=price, per_visit_drop=per_visit, monthly_drop=monthly
        )

    def limit(self) -> float:
        return self.threshold

    def explain_row(self, row: int, value: float, details: Mapping[str, float]) -> str:
        parts = []
        if not np.isnan(details["per_visit_drop"]):
            parts.append(f"spend per visit {_pct(-details['per_visit_drop'])}")
        if not np.isnan(details["monthly_drop"]):
            net = " net of one visit's variation" if self.jitter_visits else ""
            parts.append(f"monthly spend {_pct(-details['monthly_drop'])}{net}")
        return "; ".join(parts) + " (last 3 months vs the 3 before)"
