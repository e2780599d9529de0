"""The scorer conformance kit: every built-in scorer passes it, a broken one fails each check."""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pytest

from kit_support import checks_failing_under_python_o
from rfm_retention.btyd import LifetimeScorer
from rfm_retention.data import PatientData
from rfm_retention.errors import ConformanceError
from rfm_retention.features import patient_features
from rfm_retention.metrics import DaysSinceLastVisit, ScanScorer, Scores
from rfm_retention.metrics.conformance import SCORER_CHECKS
from rfm_retention.model import ModelScorer, train_risk_model
from rfm_retention.risk import LearnedScorePolicy, RulePolicy
from rfm_retention.testing import SyntheticCohort, parametrize_with_checks, synthetic_cohort

AT = dt.date(2023, 9, 30)


@functools.cache
def cohort() -> SyntheticCohort:
    """A small synthetic hospital with every source."""
    return synthetic_cohort(300, seed=21)


@functools.cache
def model_scorer() -> ModelScorer:
    """The trained risk model, trained before the scan date."""
    return ModelScorer(train_risk_model(cohort().data, ["2023-03-31"]))


BUILT_IN = {
    "days_since_last_visit": DaysSinceLastVisit,
    "scan_default": ScanScorer,
    "scan_rules": lambda: ScanScorer(RulePolicy.spec()),
    "scan_learned": lambda: ScanScorer(LearnedScorePolicy(
        ("interval_extension", "no_shows"), -2.0, (3.0, 1.0), (0.0,) * 4,
        labels_until="2023-06-30")),
    "lifetime": lambda: LifetimeScorer(horizon_days=90),
    "trained_model": model_scorer,
}


@pytest.mark.parametrize("make", list(BUILT_IN.values()), ids=list(BUILT_IN))
@parametrize_with_checks(SCORER_CHECKS)
def test_built_in_scorers_pass_every_check(make, check) -> None:  # type: ignore[no-untyped-def]
    """Each built-in backtest scorer keeps every promise of the scorer kit."""
    check(make(), cohort().data, AT)


# ------------------------------------------------------------- broken scorers
def _silence(data: PatientData, at: dt.date) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    f = patient_features(data.visits, at)
    return f.patient_id, f.days_since_last_visit.astype(np.float64)


class Nameless:
    """Scores like the baseline but has no name to report under."""

    def score(self, data: PatientData, at: dt.date) -> Scores:
        """Days since the last visit."""
        return Scores.of(*_silence(data, at))


class DropsTheFirst:
    """Loses the first patient of the visit log."""

    name = "drops the first"

    def score(self, data: PatientData, at: dt.date) -> Scores:
        """Days since the last visit, without the first patient."""
        ids, days = _silence(data, at)
        return Scores.of(ids[1:], days[1:])


class NanForNewcomers:
    """Gives NaN to patients seen once (no interval to judge)."""

    name = "nan for newcomers"

    def score(self, data: PatientData, at: dt.date) -> Scores:
        """Days since the last visit, NaN after a single visit."""
        f = patient_features(data.visits, at)
        days = np.where(f.total_visits > 1, f.days_since_last_visit, np.nan)
        return Scores.of(f.patient_id, days)


class Jittered:
    """Adds fresh noise at every call."""

    name = "jittered"

    def __init__(self) -> None:
        self.rng = np.random.default_rng(3)

    def score(self, data: PatientData, at: dt.date) -> Scores:
        """Days since the last visit plus noise."""
        ids, days = _silence(data, at)
        return Scores.of(ids, days + self.rng.random(len(ids)))


class RecencyScore:
    """Scores recency (higher = seen more recently) but flags the long-silent as high."""

    name = "recency"

    def score(self, data: PatientData, at: dt.date) -> Scores:
        """Minus the days since the last visit; HIGH after 180 days."""
        ids, days = _silence(data, at)
        level = np.where(days > 180, 3, 0)
        return Scores.of(ids, -days, level)


BROKEN = {
    "check_scorer_protocol": (Nameless, "needs name"),
    "check_scores_each_patient_once": (DropsTheFirst, "is not scored"),
    "check_finite_scores": (NanForNewcomers, "not finite"),
    "check_scores_deterministic": (Jittered, "scored differently the second time"),
    "check_higher_is_riskier": (RecencyScore, "higher scores must be the riskier"),
}
"""For each check, a scorer that breaks its promise and what the error says."""


def test_every_check_has_a_broken_scorer() -> None:
    """The broken scorers cover the whole kit."""
    assert list(BROKEN) == list(SCORER_CHECKS)


@pytest.mark.parametrize("check_name", list(BROKEN))
def test_a_broken_scorer_fails_the_check(check_name: str) -> None:
    """Each check raises ConformanceError, naming itself, on the scorer that breaks it."""
    make, says = BROKEN[check_name]
    with pytest.raises(ConformanceError, match=says) as caught:
        SCORER_CHECKS[check_name](make(), cohort().data, AT)
    assert caught.value.check == check_name


def test_broken_scorers_fail_under_python_o() -> None:
    """With assertions stripped (python -O) every check still catches its broken scorer."""
    failing = checks_failing_under_python_o(__name__, "SCORER_CHECKS", "cohort().data, AT")
    assert failing == list(BROKEN)
