"""The synthetic cohort at realistic volume: 100,000 patients in a few seconds."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from rfm_retention.cli.sample import write_cohort
from rfm_retention.data import PatientData
from rfm_retention.testing import sample_cohort, synthetic_cohort


def test_sample_cohort_is_fast() -> None:
    """The demo's cohort is drawn well under a second."""
    sample_cohort()  # warm imports
    started = time.perf_counter()
    sample_cohort()
    assert time.perf_counter() - started < 1.0


@pytest.mark.slow
def test_hundred_thousand_patients_in_seconds() -> None:
    """100,000 patients over three years: vectorised, so seconds, not minutes."""
    started = time.perf_counter()
    cohort = synthetic_cohort(100_000, seed=5)
    elapsed = time.perf_counter() - started
    assert elapsed < 20.0
    assert cohort.data.visits.n_patients == 100_000
    assert len(cohort.data.visits) > 500_000
    truth, visits = cohort.truth, cohort.data.visits
    rows = np.searchsorted(truth.patient_id, visits.row_patient_ids())
    churned_from = truth.churned_from[rows].astype("datetime64[s]")
    assert not (~np.isnat(churned_from) & (visits.time >= churned_from)).any()


@pytest.mark.slow
def test_large_sample_round_trips_through_csv(tmp_path: Path) -> None:
    """20,000 patients written as CSV load back to the same number of rows per source."""
    cohort = synthetic_cohort(20_000, seed=6)
    write_cohort(cohort, tmp_path)
    loaded = PatientData.from_directory(tmp_path)
    for name, table in cohort.data.sources():
        assert len(getattr(loaded, name)) == len(table), name
