"""Experience indicators: satisfaction ratings, complaints, complaint handling.

Each needs its CRM source; without it every patient has no signal and the
scan reports the indicator as skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import attrs
import numpy as np

from rfm_retention.data import PatientData
from rfm_retention.risk._indicator import (
    REASON_CODES,
    IndicatorBase,
    Measurement,
    check_score_threshold,
    present,
    reason_codes,
    require,
)
from rfm_retention.risk._rows import SourceRows, months_before
from rfm_retention.vocabulary import Dimension, ReasonCode

__all__ = ["ComplaintHandling", "Complaints", "LowSatisfaction"]


def _complaints_within(data: PatientData, instant: np.datetime64, months: int) -> SourceRows:
    """Complaints filed in ``(instant - months, instant]``, ties ordered by value."""
    return SourceRows.of(
        data,
        "complaints",
        instant,
        since=months_before(instant, months),
        tiebreak=("valid", "category", "handling_satisfaction"),
    )


@attrs.frozen
class LowSatisfaction(IndicatorBase):
    """Consecutive satisfaction ratings below 80; fires at 2 in a row.

    ``value`` = how many of the patient's most recent ratings (on or before
    ``as_of``) are below ``below`` in a row; ``last_rating`` is the latest
    score. No rating: no signal. Severity: 0 at none, 1 at twice
    ``consecutive`` (4 low ratings in a row). The rule preset also raises a
    *single* low rating to medium (the first source document starts a warning
    at any rating below 80): ``low_satisfaction.value >= 1``.

    Example:
        >>> LowSatisfaction(below=70).below
        70.0
    """

    name: ClassVar[str] = "low_satisfaction"
    dimension: ClassVar[Dimension] = Dimension.EXPERIENCE
    sources: ClassVar[frozenset[str]] = frozenset({"ratings"})
    reason: ClassVar[ReasonCode] = ReasonCode.SERVICE
    trigger: ClassVar[str] = ">="
    measures: ClassVar[tuple[str, ...]] = ("last_rating",)

    below: float = attrs.field(default=80.0, converter=float)
    consecutive: int = 2

    def __attrs_post_init__(self) -> None:
        check_score_threshold(self.name, self.below)
        require(self.consecutive >= 1, f"{self.name}: consecutive must be at least 1")

    def measure(self, data: PatientData, instant: np.datetime64) -> Measurement:
        ratings = present(data.ratings, "ratings")
        rows = SourceRows.of(data, "ratings", instant, tiebreak=("score",))
        score = rows.column(ratings.score)
        has = rows.has_rows()
        run = rows.trailing_run(score < self.below).astype(np.float64)
        return Measurement(
            value=np.where(has, run, np.nan),
            signal=has,
            details={"last_rating": rows.last(score, np.nan)},
        )

    def limit(self) -> float:
        return float(self.consecutive)

    def explain_row(self, row: int, value: float, details: Mapping[str, float]) -> str:
        return (
            f"{value:.0f} rating(s) in a row below {self.below:.0f} "
            f"(latest {details['last_rating']:.0f})"
        )


@attrs.frozen
class Complaints(IndicatorBase):
    """Valid complaints within the last 6 months; fires at 2 or more.

    ``value`` = valid (upheld) complaints filed in ``(as_of - months, as_of]``.
    With the complaints source present every patient has a signal (no
    complaint is a genuine 0). The reason is the latest valid complaint's
    category when it names a reason code (``price``, ``service``,
    ``efficacy``, ``competition``, ``trust``), otherwise ``service``.
    Severity: 0 at none, 1 at twice ``at_least`` (4 complaints).

    Example:
        >>> Complaints(at_least=1).at_least
        1
    """

    name: ClassVar[str] = "complaints"
    dimension: ClassVar[Dimension] = Dimension.EXPERIENCE
    sources: ClassVar[frozenset[str]] = frozenset({"complaints"})
    reason: ClassVar[ReasonCode] = ReasonCode.SERVICE
    trigger: ClassVar[str] = ">="
    measures: ClassVar[tuple[str, ...]] = ()

    at_least: int = 2
    months: int = 6

    def __attrs_post_init__(self) -> None:
        require(self.at_least >= 1, f"{self.name}: at_least must be at least 1")
        require(self.months >= 1, f"{self.name}: months must be at least 1")

    def measure(self, data: PatientData, instant: np.datetime64) -> Measurement:
        table = present(data.complaints, "complaints")
        rows = _complaints_within(data, instant, self.months)
        valid = rows.subset(rows.column(table.valid))
        count = valid.count().astype(np.float64)
        service = REASON_CODES.index(ReasonCode.SERVICE)
        codes = reason_codes(valid.column(table.category), default=service)
        codes[codes == REASON_CODES.index(ReasonCode.BEHAVIOUR_ONLY)] = service
        reasons = valid.last(codes, np.int8(-1))
        return Measurement(value=count, signal=np.ones(len(data.patients), bool), reasons=reasons)

    def limit(self) -> float:
        return float(self.at_least)

    def explain_row(self, row: int, value: float, details: Mapping[str, float]) -> str:
        return f"{value:.0f} valid complaint(s) in the last {self.months} months"


@attrs.frozen
class ComplaintHandling(IndicatorBase):
    """Satisfaction with complaint handling below 70; fires below the threshold.

    ``value`` = the lowest handling satisfaction (0-100) of the complaints filed
    in ``(as_of - months, as_of]`` that were surveyed. No surveyed complaint in
    the window: no signal. Severity: 0 at 70 or above, 0.5 just below 70,
    1 at twice the shortfall (100 - 2 x 30 = 40).

    Example:
        >>> ComplaintHandling(below=60).below
        60.0
    """

    name: ClassVar[str] = "complaint_handling"
    dimension: ClassVar[Dimension] = Dimension.EXPERIENCE
    sources: ClassVar[frozenset[str]] = frozenset({"complaints"})
    reason: ClassVar[ReasonCode] = ReasonCode.SERVICE
    trigger: ClassVar[str] = "<"
    measures: ClassVar[tuple[str, ...]] = ()

    below: float = attrs.field(default=70.0, converter=float)
    months: int = 6

    def __attrs_post_init__(self) -> None:
        check_score_threshold(self.name, self.below, self.months)

    def measure(self, data: PatientData, instant: np.datetime64) -> Measurement:
        table = present(data.complaints, "complaints")
        rows = _complaints_within(data, instant, self.months)
        rated = rows.subset(~np.isnan(rows.column(table.handling_satisfaction)))
        value = rated.minimum(rated.column(table.handling_satisfaction))
        return Measurement(value=value, signal=~np.isnan(value))

    def limit(self) -> float:
        return self.below

    def explain_row(self, row: int, value: float, details: Mapping[str, float]) -> str:
        return (
            f"complaint handling rated {value:.0f} (below {self.below:.0f} fires) "
            f"in the last {self.months} months"
        )
