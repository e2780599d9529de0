"""The daily scan: ordering, evidence, reasons, day-over-day changes and explanations."""

from __future__ import annotations

import numpy as np
import pytest

from rfm_retention.data import Course, Rating
from rfm_retention.risk import (
    Change,
    ReasonCode,
    RiskLevel,
    RulePolicy,
    ScorePolicy,
    scan,
)
from test_risk_support import AS_OF, bundle, day, lapse, visits_every


def cohort():  # type: ignore[no-untyped-def]
    """Five patients: lapsed, efficacy, service, fine, and a mild lapse."""
    rows = (
        visits_every("lapsed", 30, 4, last_ago=100)
        + visits_every("efficacy", 30, 4, last_ago=100)
        + visits_every("service", 30, 4, last_ago=50)
        + visits_every("fine", 30, 4, last_ago=5)
        + lapse("mild", 55)
    )
    return bundle(
        rows,
        ratings=[Rating("service", day(20), 60), Rating("service", day(10), 50)],
        complaints=[],
        courses=[Course("efficacy", day(150), 10, 2, status="abandoned")],
    )


def test_scan_sorted_by_level_then_score() -> None:
    """Warnings come high first, then by score, and fine patients are not listed."""
    warnings = scan(cohort(), AS_OF)
    keys = [(-int(w.level), -w.score) for w in warnings]
    assert keys == sorted(keys)
    assert "fine" not in [w.patient_id for w in warnings]
    assert warnings.get("mild") is not None
    assert warnings.get("mild").level == RiskLevel.LOW


def test_primary_reasons() -> None:
    """Efficacy beats behaviour, service from ratings, behaviour_only for a plain lapse."""
    warnings = scan(cohort(), AS_OF)
    reason = {w.patient_id: w.reason for w in warnings}
    assert reason["efficacy"] == ReasonCode.EFFICACY
    assert reason["service"] == ReasonCode.SERVICE
    assert reason["lapsed"] == ReasonCode.BEHAVIOUR_ONLY


def test_warning_lists_fired_indicators_with_evidence() -> None:
    """Each warning carries its fired indicators, most severe first, each with evidence."""
    w = scan(cohort(), AS_OF).get("efficacy")
    assert w is not None
    names = [r.name for r in w.indicators]
    assert "course_not_completed" in names
    assert "interval_extension" in names
    assert all(r.fired and r.evidence for r in w.indicators)
    sev = [r.severity for r in w.indicators]
    assert sev == sorted(sev, reverse=True)


def test_subthreshold_level_shows_contributing_signals() -> None:
    """A low level reached below every firing threshold still shows the signals behind it."""
    w = scan(cohort(), AS_OF, policy=RulePolicy.spec()).get("mild")
    assert w is not None
    assert w.level == RiskLevel.LOW
    assert [r.name for r in w.indicators] == ["interval_extension"]
    assert not w.indicators[0].fired


def test_skipped_indicators_are_reported() -> None:
    """Indicators whose source is absent are listed as skipped, with the missing source."""
    skipped = {s.name: s.missing_sources for s in scan(cohort(), AS_OF).skipped}
    assert skipped["no_shows"] == ("appointments",)
    assert "complaints" not in skipped  # present, merely empty


def test_changes_against_previous_list() -> None:
    """New, escalated, unchanged, de-escalated are marked; vanished warnings are resolved."""
    previous = {"lapsed": RiskLevel.MEDIUM, "efficacy": "high", "mild": 3, "fine": "low"}
    warnings = scan(cohort(), AS_OF, previous=previous)
    change = {w.patient_id: w.change for w in warnings}
    assert change["lapsed"] == Change.ESCALATED
    assert change["efficacy"] == Change.UNCHANGED
    assert change["mild"] == Change.DE_ESCALATED
    assert change["service"] == Change.NEW
    assert [(r.patient_id, r.previous_level) for r in warnings.resolved] == [
        ("fine", RiskLevel.LOW)
    ]


def test_compare_with_yesterdays_warning_list() -> None:
    """A WarningList compared with itself is all unchanged, nothing resolved."""
    today = scan(cohort(), AS_OF)
    again = today.compared_with(today)
    assert {w.change for w in again} == {Change.UNCHANGED}
    assert again.resolved == ()


def test_explain_any_patient() -> None:
    """explain() gives every indicator's reading, dimension scores and the verdict."""
    warnings = scan(cohort(), AS_OF, policy=ScorePolicy())
    e = warnings.explain("fine")
    assert e.level == RiskLevel.NONE
    assert e.reason is None
    assert len(e.readings) == 11
    text = str(warnings.explain("efficacy"))
    assert "course_not_completed [efficacy] FIRED" in text
    assert "2 of 10 sessions" in text
    with pytest.raises(KeyError):
        warnings.explain("nobody")


def test_to_columns_for_csv() -> None:
    """to_columns gives one row per warning with level names and joined evidence (and odds)."""
    warnings = scan(cohort(), AS_OF)
    cols = warnings.to_columns()
    odds = {"p_churn", "expected_spend_12m", "value_at_risk", "odds_evidence"}
    assert set(cols) == {
        "patient_id",
        "level",
        "score",
        "reasons",
        "indicators",
        "evidence",
        "change",
    } | (odds if warnings.odds is not None else set())
    assert set(scan(cohort(), AS_OF, model=None).to_columns()).isdisjoint(odds)
    assert len({len(v) for v in cols.values()}) == 1
    assert cols["level"][0] == "high"


def test_empty_data_gives_empty_list() -> None:
    """A bundle with no visits scans to an empty list, not an error."""
    warnings = scan(bundle([]), AS_OF)
    assert len(warnings) == 0
    assert list(warnings) == []


def test_lifetime_odds_are_the_default_and_none_leaves_them_out() -> None:
    """A plain scan carries the lifetime model's P(churn), ordered by it; model=None gives none."""
    from rfm_retention.testing import synthetic_cohort

    cohort = synthetic_cohort(300, seed=1)
    plain = scan(cohort.data, cohort.end)
    assert plain.probability is not None
    assert plain.value_at_risk is not None
    assert ((plain.probability >= 0) & (plain.probability <= 1)).all()
    for level in np.unique(plain.level):
        p = plain.probability[plain.level == level]
        assert (np.diff(p) <= 0).all()  # within a level: highest P(churn) first
    assert plain.odds is not None
    assert plain.odds.source == "lifetime model"
    bare = scan(cohort.data, cohort.end, model=None)
    assert bare.probability is None
    assert sorted(bare.patient_id.tolist()) == sorted(plain.patient_id.tolist())


def test_histories_that_cannot_identify_the_lifetime_model_give_no_odds() -> None:
    """One-visit patients only: the default scan lists them by score, without odds, no error."""
    from rfm_retention.data import PatientData, VisitLog

    log = VisitLog.from_arrays(patient_id=["a", "b"], amount=[50, 80],
                               visit_time=["2023-09-01", "2024-01-01"])
    warnings = scan(PatientData(visits=log), "2024-06-15")
    assert warnings.probability is None


def test_few_warned_patients_share_one_ordering_value() -> None:
    """Within a level the order is P(churn), value at risk, score, silence: ids rarely decide."""
    from rfm_retention.testing import synthetic_cohort

    cohort = synthetic_cohort(3_000, seed=1)
    for as_of in ("2024-01-31", "2024-06-30"):
        w = scan(cohort.data, as_of)
        assert w.probability is not None
        assert w.value_at_risk is not None
        silence = w.panel.days_since_last_visit()[w.rows]
        keys = np.rec.fromarrays([w.level, w.probability, w.value_at_risk, w.score, silence])
        _, counts = np.unique(keys, return_counts=True)
        assert len(w) > 200
        assert counts.max() <= max(2, 0.01 * len(w)), (as_of, counts.max(), len(w))


def test_scan_takes_a_visit_log_or_says_what_it_needs() -> None:
    """A bare VisitLog is scanned as the bundle of visits; anything else is a ConfigError."""
    from rfm_retention.data import PatientData, VisitLog
    from rfm_retention.errors import ConfigError

    log = VisitLog.from_arrays(patient_id=["a", "a", "a"], amount=[50, 50, 50],
                               visit_time=["2024-01-01", "2024-02-01", "2024-03-01"])
    assert scan(log, "2024-06-15").patient_id.tolist() == (
        scan(PatientData(visits=log), "2024-06-15").patient_id.tolist())
    with pytest.raises(ConfigError, match="PatientData"):
        scan({"visits": log}, "2024-06-15")  # type: ignore[arg-type]
