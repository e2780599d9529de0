"""The synthetic cohort looks like a hospital: cadences, spend, signals, churn with lead time."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import numpy.typing as npt
import pytest

from rfm_retention.data import PatientTable
from rfm_retention.features import patient_features
from rfm_retention.testing import ChurnTruth, SyntheticCohort, synthetic_cohort
from rfm_retention.testing._presets import DEFAULT_CONDITIONS

END = dt.date(2024, 12, 31)


@pytest.fixture(scope="module")
def cohort() -> SyntheticCohort:
    return synthetic_cohort(4000, seed=2024, start=dt.date(2022, 1, 1), end=END)


def _truth_rows(truth: ChurnTruth, table: PatientTable) -> npt.NDArray[np.intp]:
    """For each row of ``table``, its patient's row in the truth."""
    rows: npt.NDArray[np.intp] = np.searchsorted(truth.patient_id, table.row_patient_ids())
    return rows


def _in_lead_time(truth: ChurnTruth, table: PatientTable) -> npt.NDArray[np.bool_]:
    rows = _truth_rows(truth, table)
    start = truth.degrading_from[rows].astype("datetime64[s]")
    end = truth.churned_from[rows].astype("datetime64[s]")
    result: npt.NDArray[np.bool_] = ~np.isnat(start) & (table.time >= start) & (table.time < end)
    return result


def _planned_gaps(cohort: SyntheticCohort, code: str) -> npt.NDArray[np.float64]:
    """Days between consecutive visits of a condition in its own department, stayers only."""
    visits = cohort.data.visits
    department = next(c.department for c in DEFAULT_CONDITIONS if c.code == code)
    mine = (visits.diagnosis == code) & (visits.department == department)
    stayer = ~cohort.truth.churned[_truth_rows(cohort.truth, visits)]
    keep = np.flatnonzero(mine & stayer)
    same_patient = visits.patient_index[keep[1:]] == visits.patient_index[keep[:-1]]
    seconds = np.diff(visits.time[keep].astype(np.int64))[same_patient]
    gaps: npt.NDArray[np.float64] = seconds / 86400.0
    return gaps


@pytest.mark.parametrize(("code", "low", "high"), [("I10", 30, 60), ("E11", 60, 90)])
def test_chronic_revisits_follow_the_care_cadence(
    cohort: SyntheticCohort, code: str, low: int, high: int
) -> None:
    """Hypertension patients come back every 1-2 months, diabetes patients every 2-3 months."""
    gaps = _planned_gaps(cohort, code)
    assert len(gaps) > 500
    inside = (gaps >= low - 1) & (gaps <= high + 1)
    assert inside.mean() > 0.97
    assert low + 5 < np.median(gaps) < high - 5


def test_acute_patients_mostly_come_once(cohort: SyntheticCohort) -> None:
    """Most acute-only patients have a single visit; none has a chronic diagnosis."""
    truth, visits = cohort.truth, cohort.data.visits
    acute_only = truth.primary_diagnosis == ""
    n_visits = np.diff(visits.group_starts)
    assert (n_visits[acute_only] == 1).mean() > 0.5
    chronic_codes = {c.code for c in DEFAULT_CONDITIONS if c.kind != "acute"}
    acute_rows = acute_only[visits.patient_index]
    assert not set(visits.diagnosis[acute_rows].tolist()) & chronic_codes


def test_diagnoses_are_icd10_codes_with_their_departments(cohort: SyntheticCohort) -> None:
    """Every visit carries an ICD-10-like code and a department; codes are the presets'."""
    visits = cohort.data.visits
    codes = set(visits.diagnosis.tolist())
    assert codes <= {c.code for c in DEFAULT_CONDITIONS}
    assert {"I10", "E11"} <= codes
    assert all(len(c) == 3 and c[0].isalpha() and c[1:].isdigit() for c in codes)
    assert (visits.department != "").all()
    assert len(set(visits.department.tolist())) >= 8


def test_spend_is_log_normal_per_condition(cohort: SyntheticCohort) -> None:
    """Log charges are symmetric around the preset median (log-normal amounts)."""
    visits = cohort.data.visits
    for condition in DEFAULT_CONDITIONS:
        if condition.code not in ("I10", "J06"):
            continue
        own = (visits.diagnosis == condition.code) & (visits.department == condition.department)
        logs = np.log(visits.amount[own])
        z = (logs - logs.mean()) / logs.std()
        assert abs(float((z**3).mean())) < 0.3
        assert 0.6 < np.median(visits.amount[own]) / condition.median_amount < 1.6
    assert (visits.amount > 0).all()


def test_churned_patients_stop_visiting_from_their_churn_date(cohort: SyntheticCohort) -> None:
    """No visit on or after churned_from; a real share of patients churn."""
    truth, visits = cohort.truth, cohort.data.visits
    churned_from = truth.churned_from[_truth_rows(truth, visits)].astype("datetime64[s]")
    assert not (~np.isnat(churned_from) & (visits.time >= churned_from)).any()
    assert 0.15 < truth.churned.mean() < 0.6


def test_churn_reasons_follow_the_reported_root_causes(cohort: SyntheticCohort) -> None:
    """Efficacy and service lead (about 45 % and 37 %); every reason occurs."""
    truth = cohort.truth
    shares = Counter(truth.reason[truth.churned].tolist())
    total = sum(shares.values())
    assert 0.3 < shares["efficacy"] / total < 0.6
    assert 0.2 < shares["service"] / total < 0.5
    assert set(shares) == {"efficacy", "service", "price", "competition", "trust", "behaviour_only"}


def test_service_churners_rate_lower_before_leaving(cohort: SyntheticCohort) -> None:
    """In their lead time, service churners' ratings fall below 80; stayers' mostly do not."""
    truth, ratings = cohort.truth, cohort.data.ratings
    rows = _truth_rows(truth, ratings)
    lead = _in_lead_time(truth, ratings) & (truth.reason[rows] == "service")
    stayers = ~truth.churned[rows]
    assert (ratings.score[lead] < 80).mean() > 0.7
    assert (ratings.score[stayers] < 80).mean() < 0.3
    assert (ratings.score >= 0).all()
    assert (ratings.score <= 100).all()


def test_efficacy_churners_have_poor_outcomes_and_lagging_rehab(cohort: SyntheticCohort) -> None:
    """Outcome scores drop below 80 and actual progress lags expected progress."""
    truth, outcomes = cohort.truth, cohort.data.outcomes
    rows = _truth_rows(truth, outcomes)
    lead = _in_lead_time(truth, outcomes) & (truth.reason[rows] == "efficacy")
    stayers = ~truth.churned[rows]
    assert np.nanmean(outcomes.outcome_score[lead]) < 75
    assert np.nanmean(outcomes.outcome_score[stayers]) > 82
    progress = ~np.isnan(outcomes.expected_progress) & (outcomes.expected_progress > 20)
    ratio = outcomes.actual_progress / np.where(progress, outcomes.expected_progress, 1.0)
    assert np.mean(ratio[lead & progress]) < 0.8
    assert np.mean(ratio[stayers & progress]) > 0.9


def test_courses_are_completed_or_abandoned(cohort: SyntheticCohort) -> None:
    """Courses are mostly completed; efficacy churners abandon theirs far more often."""
    truth, courses = cohort.truth, cohort.data.courses
    rows = _truth_rows(truth, courses)
    assert set(courses.status.tolist()) <= {"completed", "abandoned", "active"}
    done = courses.status == "completed"
    assert (courses.completed_sessions[done] == courses.prescribed_sessions[done]).all()
    assert (courses.completed_sessions <= courses.prescribed_sessions).all()
    abandoned = courses.status == "abandoned"
    efficacy = truth.reason[rows] == "efficacy"
    stayers = ~truth.churned[rows]
    assert abandoned[efficacy].mean() > 2 * abandoned[stayers].mean()
    assert done[stayers].mean() > 0.75


def test_no_shows_cluster_before_churn(cohort: SyntheticCohort) -> None:
    """Missed appointments are rare for stayers and common in a churner's lead time."""
    truth, appointments = cohort.truth, cohort.data.appointments
    rows = _truth_rows(truth, appointments)
    no_show = appointments.status == "no_show"
    lead = _in_lead_time(truth, appointments)
    assert no_show[~truth.churned[rows]].mean() < 0.08
    assert no_show[lead].mean() > 0.2
    assert {"attended", "no_show", "cancelled", "booked"} == set(appointments.status.tolist())


def test_complaints_and_reviews_worsen_with_churn(cohort: SyntheticCohort) -> None:
    """Churners complain more, with worse handling scores, and post lower reviews."""
    truth = cohort.truth
    complaints, reviews = cohort.data.complaints, cohort.data.reviews
    per_patient = np.bincount(_truth_rows(truth, complaints), minlength=len(truth))
    assert per_patient[truth.churned].mean() > 1.5 * per_patient[~truth.churned].mean()
    lead = _in_lead_time(truth, complaints)
    handling = complaints.handling_satisfaction
    assert np.nanmean(handling[lead]) < np.nanmean(handling[~lead]) - 10
    assert np.isnan(handling).any()
    review_rows = _truth_rows(truth, reviews)
    assert reviews.score[truth.churned[review_rows]].mean() < reviews.score[
        ~truth.churned[review_rows]
    ].mean() - 10


def test_revisit_intervals_stretch_before_churn(cohort: SyntheticCohort) -> None:
    """Seen the day before they churn, chronic churners are overdue against their own rhythm.

    This is the lead time a warning uses: the gap since the last visit exceeds
    the patient's mean interval far more often than for stayers seen on the
    same dates.
    """
    truth, visits = cohort.truth, cohort.data.visits
    chronic = truth.primary_diagnosis != ""
    churners = np.flatnonzero(truth.churned & chronic & (truth.churned_from > np.datetime64(
        "2023-01-01")))
    as_of = dt.date(2024, 3, 31)
    overdue_churners = []
    for row in churners[:300]:
        day = (truth.churned_from[row] - np.timedelta64(1, "D")).astype(dt.date)
        f = patient_features(visits, day)
        i = f.index_of(str(truth.patient_id[row]))
        if f.total_visits[i] >= 3:
            overdue_churners.append(f.days_since_last_visit[i] > 1.5 * f.mean_interval_days[i])
    f = patient_features(visits, as_of)
    stay = np.isin(f.patient_id, truth.patient_id[~truth.churned & chronic]) & (f.total_visits >= 3)
    overdue_stayers = f.days_since_last_visit[stay] > 1.5 * f.mean_interval_days[stay]
    assert len(overdue_churners) > 100
    assert np.mean(overdue_churners) > 2 * overdue_stayers.mean()
