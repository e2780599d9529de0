"""Before and after the programme: which months count, pooled rates, intervals, control."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from rfm_retention.metrics import (
    BeforeAfter,
    PatientGroups,
    PeriodRate,
    RateChange,
    before_after,
    kpi_report,
    kpi_report_by,
)
from rfm_retention.testing import synthetic_cohort


@pytest.fixture(scope="module")
def cohort():  # type: ignore[no-untyped-def]
    return synthetic_cohort(n_patients=400, seed=11)


def test_months_split_at_the_start_and_the_transition_month_is_left_out(cohort) -> None:  # type: ignore[no-untyped-def]
    """Before ends by the start, after begins on it; the month straddling it counts in neither."""
    report = kpi_report(cohort.data.visits, "2023-01-01", "2024-06-30", as_of="2024-12-31")
    ba = before_after(report, "2023-10-15")
    churn = ba.change("churn")
    assert churn.before.months == 9
    assert churn.after.months == 8
    by_month = {m.month.isoformat(): m for m in report.months}
    expected = sum(by_month[f"2023-{k:02d}-01"].churn.lapsed for k in range(1, 10))
    assert churn.before.events == expected
    assert math.isclose(churn.difference, churn.after.rate - churn.before.rate)
    low, high = churn.confidence_interval
    assert low <= churn.difference <= high


def test_censored_revisit_months_do_not_count(cohort) -> None:  # type: ignore[no-untyped-def]
    """Revisit months whose windows are still open add nobody to the after side."""
    report = kpi_report(cohort.data.visits, "2024-01-01", "2024-12-31", as_of="2024-12-31")
    ba = before_after(report, "2024-07-01")
    assert ba.change("revisit_6m").after.at_risk == 0
    assert math.isnan(ba.change("revisit_6m").difference)


def test_difference_in_differences_with_a_control_arm(cohort) -> None:  # type: ignore[no-untyped-def]
    """With a control report, the programme's change minus the control's, with its interval."""
    ids = cohort.data.visits.patient_ids
    arm = PatientGroups.from_arrays("arm", patient_id=ids,
                                    label=["control" if i % 5 == 0 else "programme"
                                           for i in range(len(ids))])
    by = kpi_report_by(cohort.data.visits, "2023-01-01", "2024-06-30", by=arm,
                       as_of="2024-12-31")
    ba = before_after(by.report_of("programme"), "2023-07-01",
                      control=by.report_of("control"))
    did, (low, high) = ba.difference_in_differences("churn")
    mine, theirs = ba.change("churn"), next(c for c in ba.control or () if c.kpi == "churn")
    assert math.isclose(did, mine.difference - theirs.difference)
    assert low < did < high
    cols = ba.to_columns()
    assert cols["arm"].tolist() == ["programme"] * 3 + ["control"] * 3


def test_without_control_the_did_is_nan() -> None:
    """No control group: the difference in differences is NaN, never a made-up number."""
    ba = BeforeAfter(
        dt.date(2024, 1, 1),
        (RateChange("churn", PeriodRate(1, 1, 10), PeriodRate(1, 1, 10)),),
    )
    assert math.isnan(ba.difference_in_differences("churn")[0])
