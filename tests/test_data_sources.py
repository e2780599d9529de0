"""The sources beside visits: ratings, complaints, appointments, courses, outcomes, reviews."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rfm_retention.data import (
    Appointment,
    AppointmentTable,
    Assessment,
    AssessmentTable,
    Complaint,
    ComplaintTable,
    Course,
    CourseTable,
    Rating,
    RatingTable,
    Review,
    ReviewTable,
    stars_to_score,
)
from rfm_retention.errors import ConfigError, ValidationError


def test_ratings_are_scores_from_0_to_100() -> None:
    """Ratings outside 0-100 or missing are bad rows; good ones are kept as floats."""
    table = RatingTable.from_records([Rating("a", "2024-01-01", 85, "app"),
                                     Rating("a", "2023-12-01", 0.0)])
    assert table.score.tolist() == [0.0, 85.0]
    assert table.columns["channel"].tolist() == ["", "app"]
    with pytest.raises(ValidationError) as caught:
        RatingTable.from_arrays(patient_id=["a", "b", "c"], rated_at=["2024-01-01"] * 3,
                                score=[101, -1, None])
    assert [(i.row, i.message) for i in caught.value.issues] == [
        (0, "above 100 (scores run 0-100)"), (1, "negative"), (2, "missing or NaN"),
    ]


def test_complaints_flags_default_and_optional_handling_score() -> None:
    """valid reads yes/no words and defaults to true; handling satisfaction is NaN if absent."""
    table = ComplaintTable.from_arrays(
        patient_id=["a", "b", "c", "d"], filed_at=["2024-01-01"] * 4,
        valid=["yes", "False", "", "1"], handling_satisfaction=["40", "", "100", "0"],
    )
    assert table.valid.tolist() == [True, False, True, True]
    np.testing.assert_array_equal(table.handling_satisfaction, [40.0, np.nan, 100.0, 0.0])
    with pytest.raises(ValidationError) as caught:
        ComplaintTable.from_records([Complaint("a", "2024-01-01", valid="maybe"),
                                     Complaint("b", "2024-01-01", handling_satisfaction=120),
                                     Complaint("c", "2024-01-01", complaint_id="k"),
                                     Complaint("d", "2024-01-01", complaint_id="k")])
    assert [(i.row, i.field) for i in caught.value.issues] == [
        (0, "valid"), (1, "handling_satisfaction"), (3, "complaint_id"),
    ]


def test_complaints_without_optional_columns() -> None:
    """A complaints file with only id and time is valid: every complaint upheld, unsurveyed."""
    table = ComplaintTable.from_arrays(patient_id=["a"], filed_at=["2024-01-01"])
    assert table.valid.tolist() == [True]
    assert np.isnan(table.handling_satisfaction).all()


def test_appointment_statuses_are_normalised() -> None:
    """'No-Show', 'no show' and 'NO_SHOW' all read as no_show; unknown words are bad rows."""
    table = AppointmentTable.from_arrays(
        patient_id=["a"] * 4, scheduled_at=["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
        status=["No-Show", "no show", "ATTENDED", "booked"],
    )
    assert table.status.tolist() == ["no_show", "no_show", "attended", "booked"]
    with pytest.raises(ValidationError, match="not one of booked, attended, no_show, cancelled"):
        AppointmentTable.from_records([Appointment("a", "2024-01-01", "skipped"),
                                       Appointment("a", "2024-01-01", "")])


def test_courses_defaults_and_cross_field_rules() -> None:
    """Courses default to active with 0 done; more done than prescribed or an end before the
    start is a bad row."""
    table = CourseTable.from_records([Course("a", "2024-01-01", 10),
                                      Course("b", "2024-01-01", 6, 6, "2024-03-01", "Completed")])
    assert table.status.tolist() == ["active", "completed"]
    assert table.completed_sessions.tolist() == [0, 6]
    assert np.isnat(table.expected_end[0])
    assert str(table.expected_end[1]) == "2024-03-01T00:00:00"
    with pytest.raises(ValidationError) as caught:
        CourseTable.from_records([
            Course("a", "2024-01-01", 5, 7),
            Course("b", "2024-02-01", 5, expected_end="2024-01-01"),
            Course("c", "2024-02-01", 2.5),  # type: ignore[arg-type]
            Course("d", "2024-02-01", 5, status="paused"),
        ])
    assert [(i.row, i.field, i.message) for i in caught.value.issues] == [
        (0, "completed_sessions", "more than prescribed_sessions"),
        (1, "expected_end", "before prescribed_at"),
        (2, "prescribed_sessions", "not whole"),
        (3, "status", "not one of active, completed, abandoned"),
    ]


def test_assessments_need_at_least_one_measure() -> None:
    """An assessment row with no score at all is bad; a file with no score column is refused."""
    table = AssessmentTable.from_records([
        Assessment("a", "2024-01-01", outcome_score=70),
        Assessment("a", "2024-02-01", expected_progress=60, actual_progress=45),
    ])
    np.testing.assert_array_equal(table.outcome_score, [70.0, np.nan])
    np.testing.assert_array_equal(table.actual_progress, [np.nan, 45.0])
    with pytest.raises(ValidationError, match="empty assessment"):
        AssessmentTable.from_arrays(patient_id=["a", "b"], assessed_at=["2024-01-01"] * 2,
                                    outcome_score=[50, None])
    with pytest.raises(ConfigError, match="at least one of"):
        AssessmentTable.from_arrays(patient_id=["a"], assessed_at=["2024-01-01"])


def test_reviews_accept_scores_or_stars() -> None:
    """Stars 1-5 become 0-100 where no score is given; a score wins when both are given."""
    table = ReviewTable.from_records([
        Review("a", "2024-01-01", score=90),
        Review("b", "2024-01-01", stars=1),
        Review("c", "2024-01-01", stars=3.5, platform="maps"),
        Review("d", "2024-01-01", score=10, stars=5),
    ])
    assert table.score.tolist() == [90.0, 0.0, 62.5, 10.0]
    np.testing.assert_array_equal(table.stars, [np.nan, 1.0, 3.5, 5.0])
    stars_only = ReviewTable.from_arrays(patient_id=["a"], posted_at=["2024-01-01"], stars=["4"])
    assert stars_only.score.tolist() == [75.0]


def test_reviews_report_bad_stars_and_rows_without_either() -> None:
    """Stars outside 1-5 and rows with neither score nor stars are reported once each."""
    with pytest.raises(ValidationError) as caught:
        ReviewTable.from_arrays(patient_id=["a", "b", "c"], posted_at=["2024-01-01"] * 3,
                                score=[None, None, 50], stars=[0, None, None])
    assert [(i.row, i.field, i.message) for i in caught.value.issues] == [
        (0, "stars", "not 1-5 stars"),
        (1, "score", "missing: give score (0-100) or stars (1-5)"),
    ]
    with pytest.raises(ConfigError, match="score"):
        ReviewTable.from_arrays(patient_id=["a"], posted_at=["2024-01-01"])


def test_reviews_csv_with_a_stars_column(tmp_path: Path) -> None:
    """A platform export with a star column loads through a mapping."""
    path = tmp_path / "reviews.csv"
    path.write_text("user,date,rating\nu1,2024-02-01,5\nu2,2024-02-03,2\n")
    table = ReviewTable.from_csv(path, mapping={"patient_id": "user", "posted_at": "date",
                                                "stars": "rating"})
    assert table.score.tolist() == [100.0, 25.0]


def test_stars_to_score_scales() -> None:
    """stars_to_score is linear from 1 star (0) to the top star (100); outside is NaN."""
    np.testing.assert_allclose(stars_to_score([1, 6, 10], scale=10), [0.0, 500 / 9, 100.0])
    assert np.isnan(stars_to_score([0, 6, np.nan])).all()
    with pytest.raises(ConfigError):
        stars_to_score([1], scale=1)


@pytest.mark.parametrize(
    "table_cls",
    [RatingTable, ComplaintTable, AppointmentTable, CourseTable, AssessmentTable, ReviewTable],
)
def test_every_source_has_a_valid_empty_table(table_cls: type[RatingTable]) -> None:
    """Every source can be empty (built empty or from no records): no rows yet is valid."""
    assert len(table_cls.from_records([])) == 0
    table = table_cls.empty()
    assert len(table) == 0
    assert table.n_patients == 0
    assert table.time.dtype == "datetime64[s]"


def test_every_source_quarantines_like_visits() -> None:
    """Quarantine works the same for any source."""
    table = RatingTable.from_arrays(patient_id=["a", "b"], rated_at=["2024-01-01", "x"],
                                    score=[50, 50], on_error="quarantine")
    assert len(table) == 1
    assert table.rejected.rows == (1,)
    assert table.rejected.source == "ratings"
