"""Synthetic cohorts for this library's tests and for yours.

:func:`synthetic_cohort` draws a realistic hospital population with a hidden
churn process and returns its data tables together with the ground truth;
:func:`sample_cohort` is the small fixed-seed cohort the demo runs on.
Hypothesis strategies live in :mod:`rfm_retention.testing.strategies`, which
is the only module here that imports hypothesis (a test extra).
:func:`parametrize_with_checks`, :func:`run_checks` and :func:`expect` are the
one shape of every conformance kit (segmenter, indicator, risk policy,
backtest scorer, ledger store, case store): named checks raising
:class:`~rfm_retention.errors.ConformanceError`.
"""

from rfm_retention._conformance import expect, parametrize_with_checks, run_checks
from rfm_retention.testing._cohort import (
    SAMPLE_END,
    SAMPLE_PATIENTS,
    SAMPLE_SEED,
    SAMPLE_START,
    ChurnTruth,
    SyntheticCohort,
    sample_cohort,
    synthetic_cohort,
)
from rfm_retention.testing._presets import (
    DEFAULT_SETTINGS,
    ChurnHazards,
    CohortCondition,
    CohortSettings,
    SignalRates,
)

__all__ = [
    "DEFAULT_SETTINGS",
    "SAMPLE_END",
    "SAMPLE_PATIENTS",
    "SAMPLE_SEED",
    "SAMPLE_START",
    "ChurnHazards",
    "ChurnTruth",
    "CohortCondition",
    "CohortSettings",
    "SignalRates",
    "SyntheticCohort",
    "expect",
    "parametrize_with_checks",
    "run_checks",
    "sample_cohort",
    "synthetic_cohort",
]
