"""Validation of input rows: every bad row reported at once, or quarantined."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rfm_retention.data import DateParsing, RejectedRows, Visit, VisitLog
from rfm_retention.errors import ConfigError, RFMRetentionError, ValidationError
from rfm_retention.features import patient_features

GOOD = {"patient_id": "p1", "visit_time": "2024-01-05", "amount": 10.0}


def _columns(*rows: dict[str, object]) -> dict[str, list[object]]:
    names = sorted({k for r in rows for k in r})
    return {n: [r.get(n) for r in rows] for n in names}


def test_every_bad_row_is_reported_in_one_error() -> None:
    """One ValidationError lists every rule broken, on every row, not just the first."""
    cols = {
        "patient_id": ["a", "", "c", "d", "e", "f", "g"],
        "visit_time": ["2024-01-01", "2024-02-30", "soon", "2024-01-02", "2024-01-03",
                       "2024-01-04", "2024-01-05"],
        "amount": [1.0, 2.0, float("nan"), -1.0, float("inf"), 3.0, 4.0],
        "visit_id": ["v1", "v2", "v3", "v4", "v5", "v1", ""],
    }
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_arrays(**cols)
    err = caught.value
    found = {(i.row, i.field, i.message.split(" (")[0]) for i in err.issues}
    assert found == {
        (1, "patient_id", "missing"),
        (1, "visit_time", "not a valid date or time"),
        (2, "visit_time", "not a valid date or time"),
        (2, "amount", "missing or NaN"),
        (3, "amount", "negative"),
        (4, "amount", "not finite"),
        (5, "visit_id", "duplicate"),
    }
    assert err.rows == (1, 2, 3, 4, 5)
    assert err.source == "visits"
    assert isinstance(err, RFMRetentionError)


def test_issue_names_row_patient_field_and_value() -> None:
    """Each issue says which row, which patient, which field and what value."""
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_arrays(patient_id=["a", "b"], visit_time=["2024-01-01"] * 2,
                             amount=[1.0, -5.0])
    (issue,) = caught.value.issues
    assert (issue.row, issue.patient_id, issue.field, issue.value) == (1, "b", "amount", "-5.0")
    assert "row 1 (patient b): amount '-5.0': negative" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["2023-02-29", "2024-13-01", "2024-04-31", "2024-00-10", "31/12/2024", "yesterday", "2024-1"],
)
def test_impossible_or_unparseable_dates_are_rejected(text: str) -> None:
    """Impossible calendar dates and non-dates are bad rows under ISO parsing."""
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_arrays(patient_id=["a"], visit_time=[text], amount=[1.0])
    assert caught.value.issues[0].field == "visit_time"
    assert caught.value.issues[0].value == text


def test_missing_dates_are_rejected_whatever_their_form() -> None:
    """Empty text, None and NaT are all 'missing' times."""
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_arrays(patient_id=["a", "b", "c"],
                             visit_time=np.array(["", None, "2024-01-01"], dtype=object),
                             amount=[1.0, 1.0, 1.0])
    assert [(i.row, i.message) for i in caught.value.issues] == [(0, "missing"), (1, "missing")]
    with pytest.raises(ValidationError):
        VisitLog.from_arrays(patient_id=["a"], visit_time=np.array(["NaT"], "datetime64[s]"),
                             amount=[1.0])


def test_mixed_naive_and_aware_times_are_rejected() -> None:
    """A column mixing naive and timezone-aware times flags the minority rows."""
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_arrays(
            patient_id=["a", "b", "c"],
            visit_time=["2024-01-01T08:00:00", "2024-01-01T09:00:00", "2024-01-01T08:00:00+08:00"],
            amount=[1.0, 1.0, 1.0],
        )
    (issue,) = caught.value.issues
    assert issue.row == 2
    assert "naive and timezone-aware" in issue.message


def test_aware_datetimes_objects_mixed_with_naive_are_rejected() -> None:
    """Mixed naive/aware datetime objects from records are reported, not compared wrongly."""
    records = [
        Visit("a", dt.datetime(2024, 1, 1, 8, tzinfo=dt.UTC), 1.0),
        Visit("a", dt.datetime(2024, 1, 2, 8), 1.0),
        Visit("a", dt.datetime(2024, 1, 3, 8, tzinfo=dt.UTC), 1.0),
    ]
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_records(records)
    assert caught.value.rows == (1,)


def test_aware_times_are_stored_as_naive_utc() -> None:
    """Offsets are applied: every stored time is UTC without a zone."""
    log = VisitLog.from_arrays(
        patient_id=["a", "a"],
        visit_time=["2024-01-01T08:00:00+08:00", "2024-01-01T03:00:00Z"],
        amount=[1.0, 1.0],
    )
    assert log.time.tolist() == [dt.datetime(2024, 1, 1, 0), dt.datetime(2024, 1, 1, 3)]


def test_quarantine_keeps_good_rows_and_reports_bad_ones() -> None:
    """on_error='quarantine' sets bad rows aside with every reason; nothing is lost."""
    log = VisitLog.from_arrays(
        patient_id=["a", "", "b", "c"],
        visit_time=["2024-01-01", "2024-02-30", "2024-01-03", "nope"],
        amount=[1.0, 2.0, 3.0, -4.0],
        on_error="quarantine",
    )
    assert log.row_patient_ids().tolist() == ["a", "b"]
    assert log.source_row.tolist() == [0, 2]
    rejected = log.rejected
    assert isinstance(rejected, RejectedRows)
    assert rejected.rows == (1, 3)
    assert len(rejected) == 2
    assert rejected
    assert [(r["row"], r["field"]) for r in rejected.to_records()] == [
        (1, "patient_id"), (1, "visit_time"), (3, "amount"), (3, "visit_time"),
    ]
    assert set(log.source_row.tolist()) | set(rejected.rows) == {0, 1, 2, 3}


def test_clean_input_has_an_empty_rejected_report() -> None:
    """A table built from clean rows carries an empty, falsy RejectedRows."""
    log = VisitLog.from_records([Visit("a", "2024-01-01", 1.0)], on_error="quarantine")
    assert not log.rejected
    assert len(log.rejected) == 0


def test_unknown_on_error_is_a_config_error() -> None:
    """A misspelt on_error value is refused up front."""
    with pytest.raises(ConfigError):
        VisitLog.from_arrays(on_error="ignore", **_columns(GOOD))  # type: ignore[arg-type]


@pytest.mark.parametrize("builder", ["empty", "records", "arrays"])
def test_empty_input_gives_a_valid_empty_table(builder: str) -> None:
    """No rows is a valid, empty table with empty features, never a crash."""
    if builder == "empty":
        log = VisitLog.empty()
    elif builder == "records":
        log = VisitLog.from_records([])
    else:
        log = VisitLog.from_arrays(patient_id=[], visit_time=[], amount=[])
    assert len(log) == 0
    assert log.n_patients == 0
    assert log.group_starts.tolist() == [0]
    features = patient_features(log, "2024-01-01")
    assert len(features) == 0
    assert set(features.to_columns()) >= {"patient_id", "days_since_last_visit"}


def test_missing_required_column_and_unknown_column_are_config_errors() -> None:
    """Structural problems (a whole column) are ConfigErrors naming the column."""
    with pytest.raises(ConfigError, match="amount"):
        VisitLog.from_arrays(patient_id=["a"], visit_time=["2024-01-01"])
    with pytest.raises(ConfigError, match="colour"):
        VisitLog.from_arrays(colour=["red"], **_columns(GOOD))
    with pytest.raises(ConfigError, match="different lengths"):
        VisitLog.from_arrays(patient_id=["a", "b"], visit_time=["2024-01-01"], amount=[1.0])
    with pytest.raises(ConfigError, match="one-dimensional"):
        VisitLog.from_arrays(patient_id=[["a"]], visit_time=[["2024-01-01"]], amount=[[1.0]])


def test_amount_text_that_is_not_a_number_is_reported() -> None:
    """Text amounts are parsed; unparseable ones are bad rows."""
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_arrays(patient_id=["a", "b"], visit_time=["2024-01-01"] * 2,
                             amount=["12.5", "12,5"])
    assert [(i.row, i.message) for i in caught.value.issues] == [(1, "not a number")]


def test_duplicate_visit_ids_name_the_first_occurrence() -> None:
    """Every repeat of a visit id is reported with the row it repeats; empty ids never clash."""
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_arrays(
            patient_id=["a"] * 5, visit_time=["2024-01-01"] * 5, amount=[1.0] * 5,
            visit_id=["x", "", "x", "", "x"],
        )
    assert [(i.row, i.message) for i in caught.value.issues] == [
        (2, "duplicate (first seen in row 0)"),
        (4, "duplicate (first seen in row 0)"),
    ]


def test_error_message_is_capped_but_issues_are_complete() -> None:
    """A huge bad file gives a readable message and the full issue list."""
    n = 500
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_arrays(patient_id=["a"] * n, visit_time=["bad"] * n, amount=[1.0] * n)
    assert len(caught.value.issues) == n
    assert "... and 480 more" in str(caught.value)


def test_dayfirst_and_format_options() -> None:
    """ISO by default; dayfirst and an explicit format read other layouts."""
    day_first = VisitLog.from_arrays(
        patient_id=["a", "a"], visit_time=["03/01/2024", "2024-03-01"], amount=[1.0, 1.0],
        parsing=DateParsing(dayfirst=True),
    )
    assert day_first.time.astype("datetime64[D]").astype(str).tolist() == [
        "2024-01-03", "2024-03-01"
    ]
    month_first = VisitLog.from_arrays(
        patient_id=["a"], visit_time=["03/01/2024"], amount=[1.0],
        parsing=DateParsing(fuzzy=True),
    )
    assert str(month_first.time[0]) == "2024-03-01T00:00:00"
    fixed = VisitLog.from_arrays(
        patient_id=["a"], visit_time=["03.01.2024 14:30"], amount=[1.0],
        parsing=DateParsing(format="%d.%m.%Y %H:%M"),
    )
    assert str(fixed.time[0]) == "2024-01-03T14:30:00"
    with pytest.raises(ValidationError):
        VisitLog.from_arrays(patient_id=["a"], visit_time=["03/01/2024"], amount=[1.0])


def test_free_form_parsing_never_fills_gaps_from_today() -> None:
    """A partial date ('March 2024') is a bad row, not a date completed from the clock."""
    with pytest.raises(ValidationError, match="incomplete date"):
        VisitLog.from_arrays(patient_id=["a"], visit_time=["March 2024"], amount=[1.0],
                             parsing=DateParsing(dayfirst=True))


def test_format_and_dayfirst_together_are_refused() -> None:
    """Two contradicting parsing instructions are a ConfigError."""
    with pytest.raises(ConfigError):
        DateParsing(format="%Y", dayfirst=True)


def test_integer_ids_stay_integers_from_every_path() -> None:
    """int arrays, Python ints in records and pandas-style float ids all give int64 ids."""
    by_array = VisitLog.from_arrays(patient_id=np.array([7, 3]), visit_time=["2024-01-01"] * 2,
                                    amount=[1.0, 2.0])
    by_records = VisitLog.from_records([Visit(7, "2024-01-01", 1.0), Visit(3, "2024-01-01", 2.0)])
    by_float = VisitLog.from_arrays(patient_id=np.array([7.0, 3.0]),
                                    visit_time=["2024-01-01"] * 2, amount=[1.0, 2.0])
    for log in (by_array, by_records, by_float):
        assert log.patient_ids.dtype == np.int64
        assert log.patient_ids.tolist() == [3, 7]


def test_float_ids_with_gaps_report_the_gaps() -> None:
    """A NaN id in a float id column is a missing patient id."""
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_arrays(patient_id=np.array([1.0, np.nan]), visit_time=["2024-01-01"] * 2,
                             amount=[1.0, 1.0])
    assert [(i.row, i.field) for i in caught.value.issues] == [(1, "patient_id")]
