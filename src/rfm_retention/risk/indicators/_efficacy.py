"""Efficacy indicators: treatment courses, rehabilitation progress, outcome scores.

Efficacy below expectation is the documents' largest cause of churn (45 %).
Courses come from doctor's orders (HIS); progress and outcome scores from the
follow-up system (the ``outcomes`` source).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import attrs
import numpy as np

from rfm_retention._arrays import FloatArray
from rfm_retention.data import PatientData
from rfm_retention.risk._indicator import (
    IndicatorBase,
    Measurement,
    check_score_threshold,
    present,
    require,
)
from rfm_retention.risk._rows import SourceRows
from rfm_retention.time import day_of
from rfm_retention.vocabulary import Dimension, ReasonCode

__all__ = ["CourseNotCompleted", "PoorOutcome", "RehabilitationLag"]


def _day(number: float) -> str:
    return str(np.datetime64(int(number), "D"))


def _assessments(data: PatientData, instant: np.datetime64) -> SourceRows:
    """The outcome/rehabilitation assessments up to ``instant``, ties ordered by value."""
    return SourceRows.of(
        data,
        "outcomes",
        instant,
        tiebreak=("outcome_score", "expected_progress", "actual_progress"),
    )


@attrs.frozen
class CourseNotCompleted(IndicatorBase):
    """A prescribed treatment course not completed as prescribed; fires on any shortfall.

    A course (prescribed on or before ``as_of``) is *not completed* when it is
    ``abandoned``, or when it is not ``completed`` and its ``expected_end`` plus
    ``grace_days`` has passed with fewer sessions done than prescribed. Its
    shortfall is ``1 - completed / prescribed``. ``value`` = the largest
    shortfall over the patient's courses (0 when every course is on track or
    done). A patient with no course has no signal. Fires when ``value >
    min_shortfall`` (default 0: any missed session). Severity: 0 at no
    shortfall, 1 at ``full_shortfall`` (half the sessions missed).

    Example:
        >>> CourseNotCompleted(grace_days=14).grace_days
        14
    """

    name: ClassVar[str] = "course_not_completed"
    dimension: ClassVar[Dimension] = Dimension.EFFICACY
    sources: ClassVar[frozenset[str]] = frozenset({"courses"})
    reason: ClassVar[ReasonCode] = ReasonCode.EFFICACY
    trigger: ClassVar[str] = ">"
    measures: ClassVar[tuple[str, ...]] = ("incomplete_courses",)

    grace_days: int = 0
    min_shortfall: float = 0.0
    full_shortfall: float = 0.5

    def __attrs_post_init__(self) -> None:
        require(self.grace_days >= 0, f"{self.name}: grace_days must be >= 0")
        require(
            0 <= self.min_shortfall < self.full_shortfall <= 1,
            f"{self.name}: need 0 <= min_shortfall < full_shortfall <= 1",
        )

    def measure(self, data: PatientData, instant: np.datetime64) -> Measurement:
        table = present(data.courses, "courses")
        rows = SourceRows.of(
            data,
            "courses",
            instant,
            tiebreak=("prescribed_sessions", "completed_sessions", "status", "expected_end"),
        )
        status = rows.column(table.status)
        prescribed = rows.column(table.prescribed_sessions).astype(np.float64)
        done = rows.column(table.completed_sessions).astype(np.float64)
        end = rows.column(table.expected_end)
        deadline = end + np.timedelta64(self.grace_days, "D")
        overdue = ~np.isnat(end) & (deadline <= instant)
        incomplete = (status == "abandoned") | ((status != "completed") & overdue)
        with np.errstate(invalid="ignore", divide="ignore"):
            shortfall = np.where(
                incomplete & (prescribed > 0), np.clip(1.0 - done / prescribed, 0.0, 1.0), 0.0
            )
        worst = rows.argmax(shortfall)
        has = worst >= 0
        pick = np.maximum(worst, 0)
        value = np.where(has, shortfall[pick] if len(shortfall) else 0.0, np.nan)
        counted = rows.subset(incomplete & (shortfall > 0)).count().astype(np.float64)

        def at(column: FloatArray) -> FloatArray:
            return np.where(has, column[pick] if len(column) else np.nan, np.nan)

        day = day_of(rows.column(table.time)).astype(np.float64)
        return Measurement(
            value=value,
            signal=has,
            details={
                "incomplete_courses": counted,
                "sessions_done": at(done),
                "sessions_prescribed": at(prescribed),
                "prescribed_day": at(day),
                "abandoned": at((status == "abandoned").astype(np.float64)),
            },
        )

    def limit(self) -> float:
        return self.min_shortfall

    def severity_bounds(self) -> tuple[float, float]:
        return 0.0, self.full_shortfall

    def explain_row(self, row: int, value: float, details: Mapping[str, float]) -> str:
        if value <= 0:
            return "every treatment course on track or completed"
        state = "abandoned" if details["abandoned"] else "overdue"
        return (
            f"course prescribed {_day(details['prescribed_day'])}: "
            f"{details['sessions_done']:.0f} of {details['sessions_prescribed']:.0f} sessions "
            f"done ({state}); {details['incomplete_courses']:.0f} course(s) not completed"
        )


@attrs.frozen
class RehabilitationLag(IndicatorBase):
    """Rehabilitation progress slower than expected; fires when behind by more than ``tolerance``.

    Reads the latest assessment (on or before ``as_of``) that has both
    ``expected_progress`` and ``actual_progress``. ``value = (expected -
    actual) / expected``: the fraction of the expected progress not reached
    (0 or less = on track; expected 0 counts as on track). No such assessment:
    no signal. Severity: 0 on track, 1 at ``full_lag`` (half the expected
    progress missing).

    Example:
        >>> RehabilitationLag(tolerance=0.1).tolerance
        0.1
    """

    name: ClassVar[str] = "rehabilitation_lag"
    dimension: ClassVar[Dimension] = Dimension.EFFICACY
    sources: ClassVar[frozenset[str]] = frozenset({"outcomes"})
    reason: ClassVar[ReasonCode] = ReasonCode.EFFICACY
    trigger: ClassVar[str] = ">"
    measures: ClassVar[tuple[str, ...]] = ()

    tolerance: float = 0.0
    full_lag: float = 0.5

    def __attrs_post_init__(self) -> None:
        require(
            0 <= self.tolerance < self.full_lag <= 1,
            f"{self.name}: need 0 <= tolerance < full_lag <= 1",
        )

    def measure(self, data: PatientData, instant: np.datetime64) -> Measurement:
        table = present(data.outcomes, "outcomes")
        rows = _assessments(data, instant)
        exp = rows.column(table.expected_progress)
        act = rows.column(table.actual_progress)
        both = rows.subset(~np.isnan(exp) & ~np.isnan(act))
        exp_b = both.column(table.expected_progress)
        act_b = both.column(table.actual_progress)
        with np.errstate(invalid="ignore", divide="ignore"):
            lag = np.where(exp_b > 0, (exp_b - act_b) / exp_b, 0.0)
        has = both.has_rows()
        return Measurement(
            value=np.where(has, both.last(lag, np.nan), np.nan),
            signal=has,
            details={
                "expected_progress": both.last(exp_b, np.nan),
                "actual_progress": both.last(act_b, np.nan),
            },
        )

    def limit(self) -> float:
        return self.tolerance

    def severity_bounds(self) -> tuple[float, float]:
        return 0.0, self.full_lag

    def explain_row(self, row: int, value: float, details: Mapping[str, float]) -> str:
        return (
            f"recovery progress {details['actual_progress']:.0f}% vs "
            f"{details['expected_progress']:.0f}% expected ({value:.0%} behind)"
        )


@attrs.frozen
class PoorOutcome(IndicatorBase):
    """Treatment outcome score below 80; fires below the threshold.

    ``value`` = the latest outcome score (0-100) on or before ``as_of``. No
    score: no signal. Severity: 0 at 80 or above, 0.5 just below 80, 1 at
    twice the shortfall (100 - 2 x 20 = 60).

    Example:
        >>> PoorOutcome(below=70).below
        70.0
    """

    name: ClassVar[str] = "poor_outcome"
    dimension: ClassVar[Dimension] = Dimension.EFFICACY
    sources: ClassVar[frozenset[str]] = frozenset({"outcomes"})
    reason: ClassVar[ReasonCode] = ReasonCode.EFFICACY
    trigger: ClassVar[str] = "<"
    measures: ClassVar[tuple[str, ...]] = ()

    below: float = attrs.field(default=80.0, converter=float)

    def __attrs_post_init__(self) -> None:
        check_score_threshold(self.name, self.below)

    def measure(self, data: PatientData, instant: np.datetime64) -> Measurement:
        table = present(data.outcomes, "outcomes")
        rows = _assessments(data, instant)
        scored = rows.subset(~np.isnan(rows.column(table.outcome_score)))
        value = scored.last(scored.column(table.outcome_score), np.nan)
        return Measurement(value=value, signal=~np.isnan(value))

    def limit(self) -> float:
        return self.below

    def explain_row(self, row: int, value: float, details: Mapping[str, float]) -> str:
        return f"latest treatment outcome score {value:.0f} (below {self.below:.0f} fires)"
