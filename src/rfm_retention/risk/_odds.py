"""Churn odds and value at risk per patient: what orders the warning list within a level.

Levels come from the documents' rule table and weighted score; within a
level the list is worked by the **best available churn probability**:

1. a trained risk model's calibrated P(churn) (``scan(..., model=model)``);
2. otherwise a patient-lifetime model's P(no visit within the horizon),
   which needs no labelled history;

never by patient id. Each patient also gets an **expected 12-month spend**
(the lifetime model's, when there is one; otherwise the spend of the last 12
months, the run rate if nothing changes) and the **value at risk**, their
product: what the hospital stands to lose. Sorting the list by value at risk
puts the documents' "valuable but absent" patients first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import attrs
import numpy as np

from rfm_retention._arrays import FloatArray
from rfm_retention.data import PatientData
from rfm_retention.errors import ConfigError, ConvergenceError
from rfm_retention.features import patient_features
from rfm_retention.risk._panel import IndicatorPanel
from rfm_retention.time import TimeLike, as_instant

__all__ = [
    "ChurnEstimator",
    "ChurnOdds",
    "LifetimeOdds",
    "lifetime_odds",
    "trailing_year_spend",
]


LIFETIME_HORIZON_DAYS = 90
YEAR_DAYS = 365


def _nothing(row: int) -> str:
    return ""


@attrs.frozen(eq=False)
class ChurnOdds:
    """P(churn) and expected 12-month spend of every patient of a panel (its row order).

    Example:
        >>> odds = ChurnOdds(np.array([0.2, 0.5]), np.array([1000.0, 100.0]), "example")
        >>> odds.value_at_risk.tolist()
        [200.0, 50.0]
    """

    probability: FloatArray
    expected_spend_12m: FloatArray
    source: str
    explain_row: Callable[[int], str] = attrs.field(default=_nothing, repr=False)
    """``row -> text``: why the model gives that row its odds (each term's log-odds in words)."""
    value_at_risk: FloatArray = attrs.field(init=False, repr=False)
    """``probability x expected_spend_12m`` (NaN spend counts as 0), computed once:
    every warning of a list reads its row."""

    def __attrs_post_init__(self) -> None:
        p = self.probability
        if p.shape != self.expected_spend_12m.shape:
            raise ConfigError("churn odds: one probability and one spend per patient")
        if p.size and not (np.nanmin(p) >= 0 and np.nanmax(p) <= 1):
            raise ConfigError(f"churn odds from {self.source}: probabilities must lie in [0, 1]")
        value = p * np.nan_to_num(self.expected_spend_12m, nan=0.0)
        object.__setattr__(self, "value_at_risk", value)


@runtime_checkable
class ChurnEstimator(Protocol):
    """Anything giving churn odds to a scan (a trained :class:`~rfm_retention.model.RiskModel`).

    ``churn_odds`` returns one probability and one expected spend per
    patient of ``panel`` (``data.patients`` order), or None when it has no
    odds for this data.
    """

    def churn_odds(
        self, data: PatientData, as_of: TimeLike, panel: IndicatorPanel
    ) -> ChurnOdds | None:
        """The odds of every patient of ``panel`` as of ``as_of``."""
        ...


@attrs.frozen
class LifetimeOdds:
    """The patient-lifetime (BTYD) model as a churn estimator: what a plain scan uses.

    ``scan(data, as_of)`` (``model="auto"``) fits it to the visits up to
    ``as_of`` at every scan. The fit reads only the per-patient summary
    (visit days, last visit, first visit, spend), which is the same whatever
    the order of the input rows, so the scan stays deterministic and
    row-order invariant; a patient's odds do depend on the population it was
    fitted on. ``scan(..., model=None)`` leaves the odds out.

    Example:
        >>> LifetimeOdds()
        LifetimeOdds()
    """

    def churn_odds(
        self, data: PatientData, as_of: TimeLike, panel: IndicatorPanel
    ) -> ChurnOdds | None:
        """:func:`lifetime_odds` of ``data`` (``panel`` is not needed)."""
        return lifetime_odds(data, as_of)


def trailing_year_spend(data: PatientData, as_of: TimeLike) -> FloatArray:
    """Each patient's spend in the 365 days up to ``as_of`` (0 without a visit), in patient order.

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "a"], amount=[10.0, 5.0],
        ...     visit_time=["2023-01-01", "2024-05-01"])
        >>> trailing_year_spend(PatientData(visits=log), "2024-06-30").tolist()
        [5.0]
    """
    f = patient_features(data.visits, as_of, window=YEAR_DAYS)
    out = np.zeros(len(data.patients))
    out[np.searchsorted(data.patients, f.patient_id)] = f.spend_in_window
    return out


def lifetime_odds(data: PatientData, as_of: TimeLike) -> ChurnOdds | None:
    """The lifetime model's odds (P(no visit in 90 days), 12-month spend), or None without one.

    None also when the history cannot identify a lifetime model (no patient
    with a repeat visit, or a fit that does not converge, as on a handful of
    patients): the warnings then keep their order by score instead of
    failing the scan.
    """
    try:
        from rfm_retention.btyd import lifetime_scores
    except ImportError:
        return None
    visits = data.visits
    as_of = as_instant(as_of)  # converted once, for the fit and the features alike
    try:
        scores = lifetime_scores(visits, as_of, horizon_days=LIFETIME_HORIZON_DAYS)
    except (ConvergenceError, ConfigError):  # the history cannot identify the model
        return None
    f = patient_features(visits, as_of)
    n = len(data.patients)
    rows = np.searchsorted(data.patients, f.patient_id)
    p = np.zeros(n)
    spend = np.zeros(n)
    p[rows] = np.clip(np.asarray(scores.p_no_visit, np.float64), 0.0, 1.0)
    spend[rows] = np.asarray(scores.expected_spend_12m, np.float64)
    return ChurnOdds(p, spend, "lifetime model")
