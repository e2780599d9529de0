"""Hypothesis strategies: every drawn table is valid and honours the options asked for."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_retention.data import (
    AppointmentTable,
    AssessmentTable,
    ComplaintTable,
    CourseTable,
    PatientData,
    PatientTable,
    RatingTable,
    ReviewTable,
    Visit,
    VisitLog,
)
from rfm_retention.features import FEATURE_COLUMNS, PatientFeatures
from rfm_retention.testing import SyntheticCohort
from rfm_retention.testing import strategies as rs


def _revalidates(table: PatientTable) -> None:
    """Feeding a table's own columns back through validation changes nothing."""
    again = type(table).from_columns(dict(table.columns))
    assert len(again) == len(table)
    assert not table.rejected


@given(rs.visit_logs())
def test_visit_logs_are_valid_and_sorted(log: VisitLog) -> None:
    """Drawn logs pass validation, rows sorted by (patient, time), ids unique."""
    _revalidates(log)
    assert (np.diff(log.patient_index) >= 0).all()
    same = log.patient_index[1:] == log.patient_index[:-1]
    assert (np.diff(log.time.astype(np.int64))[same] >= 0).all()
    assert len(np.unique(log.visit_id)) == len(log)
    assert (log.amount >= 0).all()


@given(rs.visit_logs(min_patients=1, ties=False, single_visit_patients=False))
def test_without_ties_or_single_visits(log: VisitLog) -> None:
    """ties=False: one visit per day per patient; single_visit_patients=False: >= 2 visits."""
    counts = np.diff(log.group_starts)
    assert (counts >= 2).all()
    days = log.time.astype("datetime64[D]").astype(np.int64)
    same = log.patient_index[1:] == log.patient_index[:-1]
    assert (np.diff(days)[same] > 0).all()


def test_ties_and_single_visit_patients_are_drawn() -> None:
    """Across examples, some logs have same-instant visits and some have one-visit patients."""
    seen = {"tie": False, "single": False}

    @settings(max_examples=150, database=None)
    @given(rs.visit_logs(min_patients=1, max_visits_per_patient=5))
    def look(log: VisitLog) -> None:
        same = log.patient_index[1:] == log.patient_index[:-1]
        seen["tie"] |= bool((np.diff(log.time.astype(np.int64))[same] == 0).any())
        seen["single"] |= bool((np.diff(log.group_starts) == 1).any())

    look()
    assert seen == {"tie": True, "single": True}


@given(rs.visit_logs(id_kind="int", min_patients=1))
def test_integer_ids(log: VisitLog) -> None:
    """id_kind='int' gives int64 patient ids."""
    assert log.patient_ids.dtype == np.int64


@given(rs.visit_records())
def test_visit_records_build_a_log(visit: Visit) -> None:
    """A drawn Visit record is accepted by VisitLog.from_records."""
    log = VisitLog.from_records([visit])
    assert len(log) == 1


@given(rs.patient_feature_tables())
def test_patient_features_are_consistent(features: PatientFeatures) -> None:
    """Features from drawn logs have every documented column and sane values."""
    assert set(FEATURE_COLUMNS) <= set(features.to_columns())
    assert (features.days_since_last_visit >= 0).all()
    assert (features.visits_in_window <= features.total_visits).all()


@given(rs.rfm_features())
def test_rfm_features(features: PatientFeatures) -> None:
    """R, F, M-only features have one row per patient, sorted by id."""
    ids = features.patient_id
    assert (ids[1:] > ids[:-1]).all()
    assert (features.visits_in_window >= 1).all()


@pytest.mark.parametrize(
    ("strategy", "table_cls"),
    [
        (rs.rating_tables, RatingTable),
        (rs.complaint_tables, ComplaintTable),
        (rs.appointment_tables, AppointmentTable),
        (rs.course_tables, CourseTable),
        (rs.assessment_tables, AssessmentTable),
        (rs.review_tables, ReviewTable),
    ],
)
def test_source_tables_are_valid(strategy: object, table_cls: type[PatientTable]) -> None:
    """Each source strategy draws valid tables over the given patients."""
    patients = ["P000001", "P000002", "P000003"]

    @settings(max_examples=30)
    @given(strategy(patients=patients))  # type: ignore[operator]
    def check(table: PatientTable) -> None:
        assert isinstance(table, table_cls)
        _revalidates(table)
        assert set(table.patient_ids.tolist()) <= set(patients)

    check()


@given(rs.course_tables())
def test_courses_agree_with_their_status(table: CourseTable) -> None:
    """Completed courses did every session; no course did more than prescribed."""
    assert (table.completed_sessions <= table.prescribed_sessions).all()
    done = table.status == "completed"
    assert (table.completed_sessions[done] == table.prescribed_sessions[done]).all()


@given(rs.patient_data(min_patients=1))
def test_patient_data_shares_one_patient_universe(data: PatientData) -> None:
    """Every source covers only visit-log patients; absent sources are None."""
    visit_patients = set(data.visits.patient_ids.tolist())
    assert set(data.patients.tolist()) == visit_patients
    assert "visits" in data.available
    for name in ("ratings", "complaints", "appointments", "courses", "outcomes", "reviews"):
        assert (getattr(data, name) is None) == (name not in data.available)


@settings(max_examples=10)
@given(rs.synthetic_cohorts(max_patients=40))
def test_synthetic_cohorts(cohort: SyntheticCohort) -> None:
    """Drawn cohorts have the drawn size and their truth matches their patients."""
    assert np.array_equal(cohort.truth.patient_id, cohort.data.patients)


@given(st.data())
def test_bad_options_are_refused(data: st.DataObject) -> None:
    """Impossible options fail loudly instead of drawing nonsense."""
    with pytest.raises(ValueError, match="max_visits_per_patient"):
        data.draw(rs.visit_logs(max_visits_per_patient=1, single_visit_patients=False))
    with pytest.raises(ValueError, match="kind"):
        data.draw(rs.patient_id_lists(kind="uuid"))  # type: ignore[arg-type]
