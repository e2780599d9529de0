"""KPIs and a backtest on a hospital-sized synthetic cohort (slow: run with -m slow)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from rfm_retention.metrics import backtest, kpi_report
from rfm_retention.metrics._backtest import DaysSinceLastVisit
from rfm_retention.metrics._scorers import ScanScorer
from rfm_retention.testing import synthetic_cohort


@pytest.mark.slow
def test_kpis_and_backtest_on_100k_patients() -> None:
    """A 100k-patient, ~750k-visit log: 36 monthly KPI rows in seconds, sane figures."""
    cohort = synthetic_cohort(100_000, seed=1)
    visits = cohort.data.visits
    start = time.perf_counter()
    report = kpi_report(visits, "2022-01-01", "2024-12-31", as_of="2024-12-31",
                        ratings=cohort.data.ratings)
    elapsed = time.perf_counter() - start
    assert elapsed < 10.0
    assert len(report.months) == 36
    for m in report.months[1:]:
        assert 0 < m.churn.active_at_start <= visits.n_patients
        assert 0.0 <= m.churn.rate <= 1.0
        assert m.revisit_3m.revisited <= m.revisit_3m.eligible
        if not math.isnan(m.revisit_6m.rate):
            assert m.revisit_6m.rate >= m.revisit_3m.rate - 0.05
    bt = backtest(cohort.data, ["2023-06-30", "2024-06-30"], scorer=ScanScorer(), k=500)
    base = [r for r in bt.results if r.method == DaysSinceLastVisit.name]
    assert all(r.patients > 10_000 for r in base)
    assert all(r.auc > 0.6 for r in base)
    lead = bt.lead_time_of(DaysSinceLastVisit.name)
    assert 0 < lead.warned <= lead.lapses
    assert np.all(lead.days > 0)
