"""Patient features checked against values computed by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from dateutil.relativedelta import relativedelta

from rfm_retention.data import Visit, VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.features import FEATURE_COLUMNS, PatientFeatures, patient_features
from rfm_retention.time import to_instant

AS_OF = dt.date(2024, 6, 30)


def _days(a: dt.date, b: dt.date) -> int:
    return (b - a).days


@pytest.fixture
def log() -> VisitLog:
    return VisitLog.from_records([
        Visit("a", "2024-03-05T10:00:00", 50.0, "cardiology", "I11"),
        Visit("a", dt.date(2024, 1, 5), 100.0, "cardiology", "I10"),
        Visit("a", dt.datetime(2024, 6, 20, 16, 45), 30.0, "orthopaedics", "M17"),
        Visit("b", "2023-12-31", 80.0),
        Visit("c", "2024-07-01", 20.0, "emergency"),  # after as_of: not yet a patient
    ])


def test_all_history_features_by_hand(log: VisitLog) -> None:
    """Every column for a three-visit patient and a one-visit patient, all history."""
    f = patient_features(log, AS_OF)
    assert f.patient_id.tolist() == ["a", "b"]
    a, b = f.index_of("a"), f.index_of("b")
    assert f.first_visit[a] == np.datetime64("2024-01-05")
    assert f.last_visit[a] == np.datetime64("2024-06-20")
    assert f.days_since_last_visit.tolist() == [10, _days(dt.date(2023, 12, 31), AS_OF)]
    assert f.days_since_last_visit[b] == 182
    assert f.tenure_days.tolist() == [_days(dt.date(2024, 1, 5), AS_OF), 182]
    assert f.total_visits.tolist() == [3, 1]
    assert f.visits_in_window.tolist() == [3, 1]
    assert f.spend_in_window.tolist() == [180.0, 80.0]
    assert f.spend_per_visit.tolist() == [60.0, 80.0]
    # exposure: tenure + 1 days, but at least min_exposure_days (365)
    np.testing.assert_allclose(f.visits_per_year, [3 * 365.25 / 365, 1 * 365.25 / 365])
    assert f.mean_interval_days[a] == _days(dt.date(2024, 1, 5), dt.date(2024, 6, 20)) / 2
    assert f.last_interval_days[a] == _days(dt.date(2024, 3, 5), dt.date(2024, 6, 20))
    assert np.isnan(f.mean_interval_days[b])
    assert np.isnan(f.last_interval_days[b])
    # last 3 months: (30 Mar, 30 Jun]; the 3 before: (30 Dec 2023, 30 Mar]
    assert f.visits_last_3_months.tolist() == [1, 0]
    assert f.visits_prior_3_months.tolist() == [2, 1]
    assert f.spend_last_3_months.tolist() == [30.0, 0.0]
    assert f.spend_prior_3_months.tolist() == [150.0, 80.0]
    assert f.last_department.tolist() == ["orthopaedics", ""]
    assert f.last_diagnosis.tolist() == ["M17", ""]
    assert f.as_of == to_instant(AS_OF)
    assert f.window_days is None


def test_window_in_days(log: VisitLog) -> None:
    """A 90-day window is (as_of - 90 days, as_of]; rate uses the window cut to tenure."""
    f = patient_features(log, AS_OF, window=90, min_exposure_days=30)
    assert f.window_days == 90
    assert f.visits_in_window.tolist() == [1, 0]
    assert f.spend_in_window.tolist() == [30.0, 0.0]
    assert f.spend_per_visit[0] == 30.0
    assert np.isnan(f.spend_per_visit[1])
    np.testing.assert_allclose(f.visits_per_year, [365.25 / 90, 0.0])
    assert f.total_visits.tolist() == [3, 1]  # the window never limits total_visits


def test_window_as_relativedelta_is_calendar_aware(log: VisitLog) -> None:
    """relativedelta(months=3) from 30 Jun reaches back to 30 Mar exclusive (92 days)."""
    f = patient_features(log, AS_OF, window=relativedelta(months=3))
    assert f.window_days == 92
    assert f.visits_in_window.tolist() == f.visits_last_3_months.tolist()
    year = patient_features(log, AS_OF, window=relativedelta(years=1))
    assert year.window_days == 366  # 30 Jun 2023 -> 30 Jun 2024 spans 29 Feb
    assert year.visits_in_window.tolist() == [3, 1]


def test_window_boundary_day_is_excluded_and_as_of_day_included() -> None:
    """A visit exactly window days before as_of is out; one on the as_of day is in."""
    log = VisitLog.from_records([Visit("a", "2024-06-20", 1.0), Visit("a", "2024-06-30", 2.0),
                                 Visit("a", "2024-06-21", 4.0)])
    f = patient_features(log, AS_OF, window=10)
    assert f.spend_in_window.tolist() == [6.0]
    assert f.days_since_last_visit.tolist() == [0]


def test_month_end_edges_of_the_three_month_spans() -> None:
    """From 31 May, 3 months back is 29 Feb and 6 months back is 30 Nov (clamped month ends)."""
    log = VisitLog.from_records([
        Visit("a", "2023-11-30", 1.0),   # outside both spans
        Visit("a", "2023-12-01", 2.0),   # first day of the prior span
        Visit("a", "2024-02-29", 4.0),   # last day of the prior span
        Visit("a", "2024-03-01", 8.0),   # first day of the last span
        Visit("a", "2024-05-31", 16.0),  # as_of day: last span
    ])
    f = patient_features(log, dt.date(2024, 5, 31))
    assert f.visits_prior_3_months.tolist() == [2]
    assert f.spend_prior_3_months.tolist() == [6.0]
    assert f.visits_last_3_months.tolist() == [2]
    assert f.spend_last_3_months.tolist() == [24.0]


def test_as_of_date_includes_the_whole_day_datetime_cuts_inside_it(log: VisitLog) -> None:
    """as_of as a date counts the whole day; a datetime only visits up to it, and says so."""
    by_date = patient_features(log, dt.date(2024, 6, 20))
    assert by_date.total_visits.tolist() == [3, 1]
    by_time = patient_features(log, dt.datetime(2024, 6, 20, 16, 0))
    assert by_time.total_visits.tolist() == [2, 1]
    assert by_time.as_of == np.datetime64("2024-06-20T16:00:00")
    day = dt.date(2024, 6, 20)
    assert by_time.days_since_last_visit.tolist() == [_days(dt.date(2024, 3, 5), day),
                                                      _days(dt.date(2023, 12, 31), day)]
    assert patient_features(log, "2024-06-20T16:45:00").total_visits.tolist() == [3, 1]
    just_before = np.datetime64("2024-06-20T16:44:59")
    assert patient_features(log, just_before).total_visits.tolist() == [2, 1]
    plus8 = dt.timezone(dt.timedelta(hours=8))
    late = dt.datetime(2024, 6, 21, 0, 50, tzinfo=plus8)  # 16:50 UTC on 20 June
    assert patient_features(log, late).total_visits.tolist() == [3, 1]
    early = dt.datetime(2024, 6, 21, 0, 30, tzinfo=plus8)  # 16:30 UTC, before the 16:45 visit
    assert patient_features(log, early).total_visits.tolist() == [2, 1]


def test_visits_after_as_of_are_ignored(log: VisitLog) -> None:
    """Patient c's only visit is after as_of: c is absent and others are unaffected."""
    f = patient_features(log, AS_OF)
    with pytest.raises(KeyError, match="'c'"):
        f.index_of("c")
    assert "c" in patient_features(log, dt.date(2024, 7, 1)).patient_id.tolist()
    before_everyone = patient_features(log, dt.date(2020, 1, 1))
    assert len(before_everyone) == 0


def test_one_visit_patient() -> None:
    """One visit: first = last, tenure = days since, intervals NaN, rate floored by exposure."""
    log = VisitLog.from_records([Visit(42, "2024-06-01", 70.0)])
    f = patient_features(log, AS_OF, min_exposure_days=1)
    assert f.patient_id.tolist() == [42]
    assert f.first_visit[0] == f.last_visit[0]
    assert f.tenure_days.tolist() == f.days_since_last_visit.tolist() == [29]
    assert np.isnan(f.mean_interval_days[0])
    np.testing.assert_allclose(f.visits_per_year, [365.25 / 30])
    assert f.index_of(42) == 0
    with pytest.raises(KeyError):
        f.index_of("42")


def test_columns_take_and_to_columns(log: VisitLog) -> None:
    """to_columns follows FEATURE_COLUMNS; take selects rows of every column."""
    f = patient_features(log, AS_OF)
    cols = f.to_columns()
    assert list(cols) == list(FEATURE_COLUMNS)
    assert all(len(v) == len(f) for v in cols.values())
    only_b = f.take(np.array([1]))
    assert only_b.patient_id.tolist() == ["b"]
    assert only_b.spend_in_window.tolist() == [80.0]
    assert f.take(f.total_visits > 1).patient_id.tolist() == ["a"]


def test_pandas_frame(log: VisitLog) -> None:
    """to_pandas gives one row per patient with the documented columns."""
    pytest.importorskip("pandas")
    frame = patient_features(log, AS_OF).to_pandas()
    assert list(frame.columns) == list(FEATURE_COLUMNS)
    assert frame["patient_id"].tolist() == ["a", "b"]


@pytest.mark.parametrize("window", [0, -5, True, 2.5, "90", relativedelta(months=-1),
                                    relativedelta()])
def test_bad_windows_are_config_errors(log: VisitLog, window: object) -> None:
    """Windows that do not reach back at least a day are refused."""
    with pytest.raises(ConfigError, match="window"):
        patient_features(log, AS_OF, window=window)  # type: ignore[arg-type]


def test_numpy_integer_window_and_bad_as_of(log: VisitLog) -> None:
    """A numpy integer window is fine; a malformed as_of or exposure is a ConfigError."""
    assert patient_features(log, AS_OF, window=np.int64(90)).window_days == 90
    with pytest.raises(ConfigError):
        patient_features(log, "30/06/2024")
    with pytest.raises(ConfigError):
        patient_features(log, AS_OF, min_exposure_days=0)


def test_from_rfm_builds_sorted_features() -> None:
    """Hosts with their own R, F, M get PatientFeatures sorted by id, other columns blank."""
    f = PatientFeatures.from_rfm(as_of=AS_OF, patient_id=["z", "a"], days_since_last_visit=[5, 9],
                                 visits_in_window=[2, 0], spend_in_window=[10.0, 0.0],
                                 last_department=["icu", "er"])
    assert f.patient_id.tolist() == ["a", "z"]
    assert f.days_since_last_visit.tolist() == [9, 5]
    assert f.last_visit.tolist() == [dt.date(2024, 6, 21), dt.date(2024, 6, 25)]
    assert f.last_department.tolist() == ["er", "icu"]
    assert np.isnan(f.spend_per_visit[0])
    assert f.spend_per_visit[1] == 5.0
    with pytest.raises(ConfigError):
        PatientFeatures.from_rfm(as_of=AS_OF, patient_id=["a"], days_since_last_visit=[1, 2],
                                 visits_in_window=[1], spend_in_window=[1.0])


def test_function_and_method_agree(log: VisitLog) -> None:
    """VisitLog.features is patient_features."""
    a, b = patient_features(log, AS_OF, window=30), patient_features(log, AS_OF, window=30)
    for name in FEATURE_COLUMNS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
