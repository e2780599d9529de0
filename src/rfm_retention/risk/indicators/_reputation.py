"""Reputation indicator: what the patient says about the hospital in public."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import attrs
import numpy as np

from rfm_retention.data import PatientData
from rfm_retention.risk._indicator import (
    IndicatorBase,
    Measurement,
    check_score_threshold,
    present,
)
from rfm_retention.risk._rows import SourceRows, months_before
from rfm_retention.vocabulary import Dimension, ReasonCode

__all__ = ["LowReputation"]


@attrs.frozen
class LowReputation(IndicatorBase):
    """The patient's own external reviews (0-100) average below 60; fires below the threshold.

    ``value`` = mean score of the patient's reviews posted in ``(as_of -
    months, as_of]`` (default 12 months). The documents name the signal
    (social media, third-party platforms) but give no number: 60 is the
    default because it puts 3 of 5 stars (50) below it and 4 stars (75) above.
    No review in the window: no signal. Severity: 0 at 60 or above, 0.5 just
    below 60, 1 at twice the shortfall (100 - 2 x 40 = 20). Reason: trust.

    Example:
        >>> LowReputation(below=50).below
        50.0
    """

    name: ClassVar[str] = "low_reputation"
    dimension: ClassVar[Dimension] = Dimension.REPUTATION
    sources: ClassVar[frozenset[str]] = frozenset({"reviews"})
    reason: ClassVar[ReasonCode] = ReasonCode.TRUST
    trigger: ClassVar[str] = "<"
    measures: ClassVar[tuple[str, ...]] = ("reviews",)

    below: float = attrs.field(default=60.0, converter=float)
    months: int = 12

    def __attrs_post_init__(self) -> None:
        check_score_threshold(self.name, self.below, self.months)

    def measure(self, data: PatientData, instant: np.datetime64) -> Measurement:
        table = present(data.reviews, "reviews")
        rows = SourceRows.of(data, "reviews", instant, since=months_before(instant, self.months))
        value = rows.mean(rows.column(table.score))
        return Measurement(
            value=value,
            signal=~np.isnan(value),
            details={"reviews": rows.count().astype(np.float64)},
        )

    def limit(self) -> float:
        return self.below

    def explain_row(self, row: int, value: float, details: Mapping[str, float]) -> str:
        return (
            f"{details['reviews']:.0f} external review(s) in {self.months} months, "
            f"mean {value:.0f} (below {self.below:.0f} fires)"
        )
