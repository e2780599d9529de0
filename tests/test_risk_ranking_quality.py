"""The default warning scan ranks who leaves better than chance on synthetic cohorts.

The synthetic cohorts have a hidden churn process whose signals degrade before
a patient leaves; a default scan that ranked them at or below chance would be
a defect. The figures these tests pin are in docs/guide/warnings.md ("How good
is it?").
"""

from __future__ import annotations

import numpy as np
import pytest

from rfm_retention.metrics import ChurnOutcome, backtest
from rfm_retention.metrics._scorers import ScanScorer
from rfm_retention.risk import IntervalExtension
from rfm_retention.testing import sample_cohort, synthetic_cohort

DATES = ["2024-01-01", "2024-04-01", "2024-07-01"]


@pytest.fixture(scope="module")
def cohort():  # type: ignore[no-untyped-def]
    """The embedded sample cohort (500 patients, 2022-2024)."""
    return sample_cohort()


def scan_aucs(result, method: str) -> list[float]:  # type: ignore[no-untyped-def]
    """AUC of one method at every scan date."""
    return [r.auc for r in result.results if r.method == method]


def test_default_scan_beats_random_no_visit_outcome(cohort) -> None:  # type: ignore[no-untyped-def]
    """Outcome "no visit within 90 days": mean AUC over three dates > 0.6, none below 0.5."""
    scorer = ScanScorer()
    aucs = scan_aucs(backtest(cohort.data, DATES, scorer=scorer), scorer.name)
    assert np.mean(aucs) > 0.6
    assert min(aucs) > 0.5


def test_default_scan_beats_random_on_true_churn(cohort) -> None:  # type: ignore[no-untyped-def]
    """Outcome "really churned within 90 days" (the ground truth): mean AUC > 0.6."""
    truth = cohort.truth
    outcome = ChurnOutcome.known_churn(truth.patient_id, truth.churned_from)
    scorer = ScanScorer()
    aucs = scan_aucs(backtest(cohort.data, DATES, scorer=scorer, outcome=outcome), scorer.name)
    assert np.mean(aucs) > 0.6
    assert min(aucs) > 0.55


def test_rehabilitation_course_is_not_the_usual_interval() -> None:
    """Rehab patients' usual interval is their follow-up rhythm, not the 2-5 day session gap."""
    cohort = synthetic_cohort(400, seed=11)
    result = IntervalExtension().evaluate(cohort.data, "2024-06-30")
    rehab = cohort.truth.primary_diagnosis == "M17"
    own = result.details["norm"] == -1  # judged on their own history
    usual = result.details["usual_interval_days"][rehab & own & result.signal]
    assert usual.size > 5
    assert usual.min() >= 14.0
