"""KPIs on a small visit log whose every number is computed by hand in the comments."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from rfm_retention.data import RatingTable, VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.metrics import (
    CaseColumns,
    CaseRecord,
    Compliance,
    Coverage,
    Exclusion,
    Exclusions,
    LapseRule,
    deadline_compliance,
    followup_coverage,
    kpi_report,
    lapse_events,
    monthly_churn,
    revisit_rate,
    revisit_rates_by_month,
    satisfaction_trend,
)
from rfm_retention.risk._care_intervals import CareIntervals, CareNorm

AS_OF = "2024-06-30"
# A: three visits; B: a long gap; C: once; D: twice on one day, then after as_of; E: once.
VISITS = [
    ("A", "2024-01-10"), ("A", "2024-02-15"), ("A", "2024-03-20"),
    ("B", "2024-01-31"), ("B", "2024-05-15"),
    ("C", "2024-01-05"),
    ("D", "2024-02-29T09:00:00"), ("D", "2024-02-29T15:00:00"), ("D", "2024-08-01"),
    ("E", "2024-03-31"),
]
# grace 0, 40 days for anyone with fewer than 2 intervals, own mean interval otherwise
RULE = LapseRule(grace_days=0, default_interval_days=40, min_intervals=2, norms=CareIntervals())


@pytest.fixture
def log() -> VisitLog:
    ids, times = zip(*VISITS, strict=True)
    return VisitLog.from_arrays(patient_id=list(ids), visit_time=list(times), amount=[10.0] * 10)


def test_revisit_3_months_by_month_matches_hand_count(log: VisitLog) -> None:
    """Each month's cohort: first visit day in the month, revisit on a later day within 3 months."""
    labels, rates = revisit_rates_by_month(log, "2024-01-01", "2024-05-31", as_of=AS_OF)
    assert labels[0] == dt.date(2024, 1, 1)
    assert len(rates) == 5
    got = [(r.index_patients, r.censored, r.excluded, r.revisited) for r in rates]
    # Jan: A (back 02-15), B (back only 05-15 > 04-30), C (never) -> 1 of 3.
    # Feb: A (back 03-20), D (same-day visit is not a revisit; 08-01 after as_of) -> 1 of 2.
    # Mar: A (window to 06-20, no visit), E (window ends 06-30 = as_of: closed) -> 0 of 2.
    # Apr: nobody. May: B, window ends 08-15 > as_of -> censored.
    assert got == [(3, 0, 0, 1), (2, 0, 0, 1), (2, 0, 0, 0), (0, 0, 0, 0), (1, 1, 0, 0)]
    assert rates[0].rate == pytest.approx(1 / 3)
    assert rates[1].rate == 0.5
    assert math.isnan(rates[3].rate)
    assert math.isnan(rates[4].rate)


def test_revisit_window_censoring_edge(log: VisitLog) -> None:
    """A window ending on as_of is closed; ending one day later it is censored."""
    closed = revisit_rate(log, "2024-03-31", "2024-03-31", as_of="2024-06-30")
    open_ = revisit_rate(log, "2024-03-31", "2024-03-31", as_of="2024-06-29")
    assert (closed.index_patients, closed.censored, closed.eligible) == (1, 0, 1)
    assert (open_.index_patients, open_.censored, open_.eligible) == (1, 1, 0)


def test_revisit_censoring_drops_known_returners_too(log: VisitLog) -> None:
    """A censored patient who already came back is still left out (no early-returner bias)."""
    six = revisit_rate(log, "2024-01-01", "2024-01-31", as_of=AS_OF, months=6)
    # A came back on 02-15, but A's 6-month window (to 07-10) is open on 06-30.
    assert (six.index_patients, six.censored, six.revisited) == (3, 3, 0)


def test_revisit_month_end_clipping() -> None:
    """31 Jan + 1 month is 29 Feb in a leap year: a visit on 29 Feb is inside, 1 Mar is not."""
    log = VisitLog.from_arrays(
        patient_id=["x", "x", "y", "y"],
        visit_time=["2024-01-31", "2024-02-29", "2024-01-31", "2024-03-01"],
        amount=[1.0] * 4,
    )
    r = revisit_rate(log, "2024-01-31", "2024-01-31", as_of="2024-12-31", months=1)
    assert (r.index_patients, r.revisited) == (2, 1)


def test_revisit_period_uses_first_visit_in_period(log: VisitLog) -> None:
    """Over a whole quarter, each patient has one index visit: their first in the period."""
    r = revisit_rate(log, "2024-01-01", "2024-03-31", as_of=AS_OF)
    # A 01-10 (yes), B 01-31 (no), C (no), D 02-29 (no), E 03-31 (no)
    assert (r.index_patients, r.censored, r.revisited) == (5, 0, 1)


def test_revisit_exclusion_only_without_revisit(log: VisitLog) -> None:
    """Deceased before the window closed without returning leaves the cohort; returners stay."""
    ex = Exclusions.from_records([("C", "2024-02-01", "deceased"), ("A", "2024-03-01")])
    r = revisit_rate(log, "2024-01-01", "2024-01-31", as_of=AS_OF, exclusions=ex)
    # A came back 02-15 before being excluded on 03-01: still a revisit. C leaves.
    assert (r.index_patients, r.excluded, r.revisited, r.eligible) == (3, 1, 1, 2)


def test_lapse_events_match_hand_count(log: VisitLog) -> None:
    """Lapse day = last visit + floor(expected + grace) + 1, own mean interval from 2 intervals."""
    ev = lapse_events(log, as_of=AS_OF, rule=RULE)
    got = {
        (str(log.patient_ids[p]), str(np.datetime64(int(d), "D")))
        for p, d in zip(ev.patient, ev.lapse_day, strict=True)
    }
    # A after 03-20: own mean (70 days / 2) = 35 -> 04-25. B after 01-31 -> 03-12 and
    # after 05-15 -> 06-25. C -> 02-15. D -> 04-10. E -> 05-11.
    assert got == {
        ("A", "2024-04-25"), ("B", "2024-03-12"), ("B", "2024-06-25"),
        ("C", "2024-02-15"), ("D", "2024-04-10"), ("E", "2024-05-11"),
    }
    a = int(np.flatnonzero(log.patient_ids[ev.patient] == "A")[0])
    assert ev.expected_days[a] == 35.0


def test_lapse_on_the_day_of_return() -> None:
    """A return on the first day past the limit still counts as a lapse (the gap exceeded it)."""
    rule = LapseRule(grace_days=10, default_interval_days=30, norms=CareIntervals())
    log = VisitLog.from_arrays(
        patient_id=["a", "a", "b", "b"],
        visit_time=["2024-01-01", "2024-02-11", "2024-01-01", "2024-02-10"],
        amount=[1.0] * 4,
    )
    ev = lapse_events(log, as_of="2024-02-20", rule=rule)
    # gap limit 40 days: a returns after 41 (lapsed on 02-11), b after 40 (not lapsed)
    assert log.patient_ids[ev.patient].tolist() == ["a"]


def test_diagnosis_norm_applies_before_own_history() -> None:
    """With too little history the diagnosis norm sets the expected interval."""
    norms = CareIntervals((CareNorm("hypertension", 30, 60, prefixes=("I10",)),))
    rule = LapseRule(grace_days=0, norms=norms, default_interval_days=200)
    log = VisitLog.from_arrays(
        patient_id=["a", "b"], visit_time=["2024-01-01", "2024-01-01"], amount=[1.0, 1.0],
        diagnosis=["I10.9", "J06"],
    )
    ev = lapse_events(log, as_of="2024-12-31", rule=rule)
    assert sorted(ev.expected_days.tolist()) == [60.0, 200.0]


def test_monthly_churn_matches_hand_count(log: VisitLog) -> None:
    """Active at the month's first day, lapsed inside the month, per the hand-worked events."""
    months = monthly_churn(log, "2024-01-01", "2024-06-30", as_of=AS_OF, rule=RULE)
    got = [(m.month.month, m.active_at_start, m.lapsed) for m in months]
    # Feb: A, B, C active, C lapses 02-15. Mar: A, B, D active, B lapses 03-12.
    # Apr: A, D, E active, A and D lapse. May: E (B lapsed in March), E lapses 05-11.
    # Jun: B (back 05-15) lapses 06-25.
    assert got == [(1, 0, 0), (2, 3, 1), (3, 3, 1), (4, 3, 2), (5, 1, 1), (6, 1, 1)]
    assert all(m.complete for m in months)
    assert months[3].rate == pytest.approx(2 / 3)


def test_monthly_churn_excludes_marked_patients(log: VisitLog) -> None:
    """A patient marked deceased leaves the month of the mark and every later one."""
    ex = Exclusions.from_records([Exclusion("B", "2024-06-10", "deceased")])
    months = monthly_churn(log, "2024-03-01", "2024-06-30", as_of=AS_OF, rule=RULE, exclusions=ex)
    assert [(m.active_at_start, m.lapsed) for m in months] == [(3, 1), (3, 2), (1, 1), (0, 0)]


def test_monthly_churn_incomplete_month(log: VisitLog) -> None:
    """A month running past as_of is flagged and only counts lapses seen by then."""
    months = monthly_churn(log, "2024-06-01", "2024-06-30", as_of="2024-06-20", rule=RULE)
    assert (months[0].active_at_start, months[0].lapsed, months[0].complete) == (1, 0, False)


def test_monthly_churn_lapse_twice_in_a_month_counts_once() -> None:
    """A patient who lapses, returns and lapses again in one month is one lapsed patient."""
    rule = LapseRule(grace_days=0, default_interval_days=5, norms=CareIntervals())
    log = VisitLog.from_arrays(
        patient_id=["a", "a", "a"], visit_time=["2024-02-28", "2024-03-10", "2024-03-12"],
        amount=[1.0] * 3,
    )
    months = monthly_churn(log, "2024-03-01", "2024-03-31", as_of="2024-12-31", rule=rule)
    # lapse 03-05 (active on 03-01), return 03-10, lapse again 03-16
    assert (months[0].active_at_start, months[0].lapsed) == (1, 1)


def test_satisfaction_trend_by_hand() -> None:
    """Monthly mean of every rating, and how many were under 80."""
    ratings = RatingTable.from_arrays(
        patient_id=["a", "b", "c", "a"],
        rated_at=["2024-01-31T23:00:00", "2024-01-02", "2024-02-01", "2024-03-15"],
        score=[90, 60, 79.5, 100],
    )
    trend = satisfaction_trend(ratings, "2024-01-01", "2024-02-29")
    assert [(m.ratings, m.mean, m.below) for m in trend] == [(2, 75.0, 1), (1, 79.5, 1)]


def test_coverage_and_compliance_by_hand() -> None:
    """Coverage counts contacts by as_of; compliance counts met vs breached, pending aside."""
    cases = CaseColumns.from_records([
        CaseRecord("p1", "high", "2024-03-01T08:00:00", "2024-03-01T20:00:00",
                   "2024-03-02T08:00:00", "2024-03-03T10:00:00", "2024-03-03T08:00:00"),
        CaseRecord("p2", "high", "2024-03-30T08:00:00", None, "2024-03-31T08:00:00"),
        CaseRecord("p3", "medium", "2024-03-31T12:00:00", None, "2024-04-01T12:00:00"),
        CaseRecord("p4", "medium", "2024-04-02T12:00:00"),
    ])
    assert followup_coverage(cases, as_of="2024-03-31") == Coverage(opened=3, contacted=1)
    first = deadline_compliance(cases.first_contact_due, cases.first_contact_at, as_of="2024-03-31")
    assert first == Compliance(met=1, breached=1, pending=1)
    plan = deadline_compliance(cases.plan_due, cases.plan_at, as_of="2024-03-31")
    assert plan == Compliance(met=0, breached=1, pending=0)
    assert first.rate == 0.5
    assert math.isnan(Compliance(0, 0, 3).rate)


def test_kpi_report_rows_and_columns(log: VisitLog) -> None:
    """The report has one row per month with churn, revisit and the optional sections."""
    cases = CaseColumns.from_arrays(
        patient_id=["B", "C"], level=["high", "medium"],
        opened_at=["2024-03-01", "2024-03-05"],
        first_contact_at=["2024-03-01T12:00:00", None],
        first_contact_due=["2024-03-02T00:00:00", "2024-03-06T00:00:00"],
    )
    ratings = RatingTable.from_arrays(patient_id=["A"], rated_at=["2024-03-02"], score=[70])
    report = kpi_report(log, "2024-02-01", "2024-04-30", as_of=AS_OF, ratings=ratings,
                        cases=cases, lapse_rule=RULE)
    cols = {name: column.tolist() for name, column in report.to_columns().items()}
    assert [str(m) for m in report.to_columns()["month"]] == ["2024-02", "2024-03", "2024-04"]
    assert cols["lapsed"] == [1, 1, 2]
    assert cols["revisit_3m_revisited"] == [1, 0, 0]
    assert cols["ratings"] == [0, 1, 0]
    assert cols["cases_opened"] == [0, 2, 0]
    assert cols["coverage"][1] == 0.5
    assert cols["contact_compliance"][1] == 0.5
    # B contacted 03-01, next visit 05-15: not within 30 days
    assert cols["win_back_contacted"] == [0, 1, 0]
    assert cols["win_back_won"] == [0, 0, 0]
    assert all(len(v) == 3 for v in cols.values())


def test_bad_inputs_raise_clear_errors(log: VisitLog) -> None:
    """Reversed periods, bad windows, unknown levels and reasons are refused by name."""
    with pytest.raises(ConfigError, match="before it starts"):
        revisit_rate(log, "2024-03-01", "2024-02-01", as_of=AS_OF)
    with pytest.raises(ConfigError, match="months"):
        revisit_rate(log, "2024-01-01", "2024-02-01", as_of=AS_OF, months=0)
    with pytest.raises(ConfigError, match="row 1"):
        CaseColumns.from_arrays(patient_id=["a", "b"], level=["high", "urgent"])
    with pytest.raises(ConfigError, match="reason"):
        Exclusions.from_records([("a", "2024-01-01", "moved")])
    with pytest.raises(ConfigError, match="grace"):
        LapseRule(grace_days=-1)


def test_integer_ids_and_type_mismatch() -> None:
    """Integer patient ids work; mixing them with text ids is refused."""
    log = VisitLog.from_arrays(patient_id=[1, 1], visit_time=["2024-01-01", "2024-01-20"],
                               amount=[1.0, 1.0])
    assert revisit_rate(log, "2024-01-01", "2024-01-01", as_of="2024-12-31").revisited == 1
    with pytest.raises(ConfigError, match="id type"):
        revisit_rate(log, "2024-01-01", "2024-01-01", as_of="2024-12-31",
                     exclusions=Exclusions.from_records([("1", "2024-02-01")]))


def test_every_public_function_has_an_example() -> None:
    """Each function the metrics package exports shows a runnable example in its docstring."""
    import inspect

    import rfm_retention.metrics as metrics

    missing = [
        name for name in metrics.__all__
        if inspect.isfunction(getattr(metrics, name))
        and ">>>" not in (inspect.getdoc(getattr(metrics, name)) or "")
    ]
    assert missing == []
