"""Satisfaction trend: the monthly mean of satisfaction ratings.

Definition, for each calendar month: ``mean`` = arithmetic mean of every
rating (0-100) given in the month, each rating weighing the same (a patient
who rates twice counts twice, as in the CRM's own reports); ``below`` = how
many of them were under the warning threshold (80 by default, the level
below which a rating starts a warning). A month without ratings has mean NaN.
"""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.data._sources import RatingTable
from rfm_retention.metrics._calendar import month_spans
from rfm_retention.time import TimeLike, to_date

__all__ = ["SATISFACTION_THRESHOLD", "MonthlySatisfaction", "satisfaction_of", "satisfaction_trend"]

SATISFACTION_THRESHOLD = 80.0
"""Ratings below this start a satisfaction warning (SPEC section 4)."""


@attrs.frozen
class MonthlySatisfaction:
    """Ratings of one calendar month: count, mean score and how many were low.

    ``mean = sum of the month's scores / ratings`` (NaN without ratings);
    ``below`` = ratings with ``score < threshold``.
    """

    month: dt.date
    ratings: int
    mean: float
    below: int


def satisfaction_trend(
    ratings: RatingTable,
    start: TimeLike,
    end: TimeLike,
    *,
    threshold: float = SATISFACTION_THRESHOLD,
) -> list[MonthlySatisfaction]:
    """One :class:`MonthlySatisfaction` per calendar month touching ``[start, end]``.

    Examples:
        >>> from rfm_retention.data import RatingTable
        >>> r = RatingTable.from_arrays(patient_id=["a", "b", "a"],
        ...     rated_at=["2024-01-03", "2024-01-20", "2024-02-01"], score=[90, 70, 85])
        >>> trend = satisfaction_trend(r, "2024-01-01", "2024-03-31")
        >>> [(m.ratings, m.mean, m.below) for m in trend]
        [(2, 80.0, 1), (1, 85.0, 0), (0, nan, 0)]
    """
    return satisfaction_of(ratings.time, ratings.score, start, end, threshold=threshold)


def satisfaction_of(
    time: npt.NDArray[np.datetime64],
    score: npt.NDArray[np.float64],
    start: TimeLike,
    end: TimeLike,
    *,
    threshold: float = SATISFACTION_THRESHOLD,
) -> list[MonthlySatisfaction]:
    """:func:`satisfaction_trend` of rating times and scores given as arrays (a subset).

    Examples:
        >>> t = np.array(["2024-01-03", "2024-01-20"], dtype="datetime64[s]")
        >>> [m.mean for m in satisfaction_of(t, np.array([90.0, 70.0]), "2024-01-01", "2024-01-31")]
        [80.0]
    """
    months, bounds = month_spans(start, end)
    n = len(months)
    days = time.astype("datetime64[D]").astype(np.int64)
    month = np.searchsorted(bounds, days, side="right") - 1
    inside = (month >= 0) & (month < n)
    month = month[inside]
    score = score[inside].astype(np.float64)
    count = np.bincount(month, minlength=n)
    total = np.bincount(month, weights=score, minlength=n)
    below = np.bincount(month[score < threshold], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return [
        MonthlySatisfaction(to_date(bounds[i]), int(count[i]), float(mean[i]), int(below[i]))
        for i in range(n)
    ]
