"""Loaders: records, arrays, columns and CSV files build the same validated tables."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from rfm_retention.data import PatientTable, Visit, VisitLog
from rfm_retention.errors import ConfigError, InputFileError, ValidationError
from rfm_retention.features import patient_features

SYNTHEA = Path("/work/shared/data/synthea/encounters.csv")
SYNTHEA_MAPPING = {
    "patient_id": "PATIENT",
    "visit_time": "START",
    "amount": "TOTAL_CLAIM_COST",
    "visit_id": "Id",
    "department": "ENCOUNTERCLASS",
    "diagnosis": "REASONDESCRIPTION",
}

ROWS = [
    ("p2", "2024-03-05T10:00:00", 50.0, "cardiology", "I10", "v3"),
    ("p1", "2024-01-05", 100.0, "orthopaedics", "M17", "v1"),
    ("p2", "2024-01-20", 80.5, "cardiology", "", "v2"),
    ("p1", "2024-01-05", 20.0, "", "M17", ""),
]


def _write_csv(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def assert_same_table(a: PatientTable, b: PatientTable) -> None:
    """Two tables hold the same rows in the same order with the same metadata."""
    assert a.patient_ids.tolist() == b.patient_ids.tolist()
    assert a.patient_index.tolist() == b.patient_index.tolist()
    assert a.group_starts.tolist() == b.group_starts.tolist()
    assert a.source_row.tolist() == b.source_row.tolist()
    assert set(a.columns) == set(b.columns)
    for name in a.columns:
        np.testing.assert_array_equal(a.columns[name], b.columns[name], err_msg=name)
        assert a.columns[name].dtype.kind == b.columns[name].dtype.kind, name


def test_records_arrays_and_csv_give_identical_tables(tmp_path: Path) -> None:
    """The same visits as records, dict records, arrays and a CSV file give equal tables."""
    names = ["patient_id", "visit_time", "amount", "department", "diagnosis", "visit_id"]
    by_records = VisitLog.from_records(Visit(*r) for r in ROWS)
    by_dicts = VisitLog.from_records(dict(zip(names, r, strict=True)) for r in ROWS)
    by_arrays = VisitLog.from_arrays(**{n: [r[i] for r in ROWS] for i, n in enumerate(names)})
    by_csv = VisitLog.from_csv(_write_csv(tmp_path / "visits.csv", names, ROWS))
    for other in (by_dicts, by_arrays, by_csv):
        assert_same_table(by_records, other)


def test_rows_are_sorted_by_patient_then_time_then_content() -> None:
    """Sorting is by (patient, time); same-time rows are ordered by their other columns."""
    log = VisitLog.from_records(Visit(*r) for r in ROWS)
    assert log.row_patient_ids().tolist() == ["p1", "p1", "p2", "p2"]
    assert log.source_row.tolist() == [3, 1, 2, 0]  # p1's two 5 January visits: 20 before 100
    assert log.amount.tolist() == [20.0, 100.0, 80.5, 50.0]
    assert log.group_starts.tolist() == [0, 2, 4]
    assert log.visit_id.tolist() == ["", "v1", "v2", "v3"]


def test_same_time_rows_do_not_depend_on_input_order() -> None:
    """Reversing same-time rows gives the same table, so 'the last visit' is well defined."""
    rows = [("a", "2024-01-01", 10.0, "lab", "", ""),
            ("a", "2024-01-01", 10.0, "cardiology", "", ""),
            ("a", "2024-01-01", 5.0, "x-ray", "", "")]
    forward = VisitLog.from_records(Visit(*r) for r in rows)
    backward = VisitLog.from_records(Visit(*r) for r in reversed(rows))
    assert forward.department.tolist() == backward.department.tolist() == [
        "x-ray", "cardiology", "lab"
    ]
    assert patient_features(forward, "2024-01-31").last_department.tolist() == ["lab"]


def test_dates_and_datetimes_mix_freely_in_records() -> None:
    """A date is midnight of that day; datetime64 values are accepted as they are."""
    log = VisitLog.from_records([
        Visit("a", dt.date(2024, 1, 2), 1.0),
        Visit("a", dt.datetime(2024, 1, 1, 12, 30), 1.0),
        {"patient_id": "a", "visit_time": np.datetime64("2024-01-03T01:00"), "amount": 1},
    ])
    assert log.time.astype(str).tolist() == [
        "2024-01-01T12:30:00", "2024-01-02T00:00:00", "2024-01-03T01:00:00",
    ]


def test_csv_mapping_renames_columns_and_ignores_others(tmp_path: Path) -> None:
    """--map style mappings read the library's fields from the file's own columns."""
    path = _write_csv(tmp_path / "export.csv", ["WHO", "WHEN", "COST", "NOTE"],
                      [("a", "2024-01-01", "5", "x"), ("b", "2024-01-02", "7.5", "y")])
    log = VisitLog.from_csv(path, mapping={"patient_id": "WHO", "visit_time": "WHEN",
                                           "amount": "COST"})
    assert log.patient_ids.tolist() == ["a", "b"]
    assert log.amount.tolist() == [5.0, 7.5]


def test_csv_semicolon_bom_and_short_rows(tmp_path: Path) -> None:
    """A BOM, another delimiter and rows missing trailing cells are read correctly."""
    path = tmp_path / "v.csv"
    path.write_text("\ufeffpatient_id;visit_time;amount;department\n"
                    "a;2024-01-01;5;icu\nb;2024-01-02;6\n\n", encoding="utf-8")
    log = VisitLog.from_csv(path, delimiter=";")
    assert log.department.tolist() == ["icu", ""]


def test_csv_errors_name_the_column_and_hint_at_map(tmp_path: Path) -> None:
    """A missing column or a mapping to a missing column is a ConfigError with a hint."""
    path = _write_csv(tmp_path / "v.csv", ["id", "visit_time", "amount"], [("a", "2024-01-01", 1)])
    with pytest.raises(ConfigError, match=r"'patient_id'.*mapping=\{'patient_id': 'COLUMN'\}"):
        VisitLog.from_csv(path)
    with pytest.raises(ConfigError, match="no column 'PATIENT'"):
        VisitLog.from_csv(path, mapping={"patient_id": "PATIENT"})
    with pytest.raises(ConfigError, match="unknown field"):
        VisitLog.from_csv(path, mapping={"patient": "id"})
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ConfigError, match="empty"):
        VisitLog.from_csv(empty)
    with pytest.raises(InputFileError, match=r"absent\.csv: no such file"):
        VisitLog.from_csv(tmp_path / "absent.csv")


def test_csv_row_numbers_count_data_rows(tmp_path: Path) -> None:
    """Errors from a CSV give the data row (from 0) and the file line it is on."""
    path = _write_csv(tmp_path / "v.csv", ["patient_id", "visit_time", "amount"],
                      [("a", "2024-01-01", 1), ("b", "2024-01-01", -1)])
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_csv(path)
    assert caught.value.rows == (1,)
    assert [i.line for i in caught.value.issues] == [3]


def test_header_only_csv_is_an_empty_table(tmp_path: Path) -> None:
    """A file with a header and no rows is a valid empty table."""
    path = _write_csv(tmp_path / "v.csv", ["patient_id", "visit_time", "amount"], [])
    assert len(VisitLog.from_csv(path)) == 0


@pytest.mark.skipif(not SYNTHEA.exists(), reason="Synthea sample export not available")
def test_synthea_encounters_load_with_a_mapping_and_no_editing() -> None:
    """A real Synthea encounters.csv loads through a column mapping alone."""
    log = VisitLog.from_csv(SYNTHEA, mapping=SYNTHEA_MAPPING)
    with open(SYNTHEA, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(log) == len(rows)
    assert not log.rejected
    assert log.n_patients == len({r["PATIENT"] for r in rows})
    assert float(log.amount.sum()) == pytest.approx(sum(float(r["TOTAL_CLAIM_COST"]) for r in rows))
    first = rows[0]
    at = int(np.flatnonzero(log.visit_id == first["Id"])[0])
    assert log.row_patient_ids()[at] == first["PATIENT"]
    stamp = dt.datetime.fromisoformat(first["START"]).replace(tzinfo=None)
    assert log.time[at] == np.datetime64(stamp, "s")
    assert log.department[at] == first["ENCOUNTERCLASS"]
    features = patient_features(log, "2020-01-01")
    assert 0 < len(features) <= log.n_patients


def test_pandas_columns_with_gaps_load_like_everything_else() -> None:
    """DataFrame columns (nullable ints, NaT, tz-aware times) validate like any other input."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({
        "patient_id": pd.array([1, 2, None], dtype="Int64"),
        "visit_time": pd.to_datetime(["2024-01-01T10:00Z", "2024-01-02T00:00+08:00", None],
                                     utc=True, format="ISO8601"),
        "amount": [1.0, 2.0, 3.0],
        "department": pd.array(["icu", None, "er"], dtype="string"),
    })
    columns = {name: frame[name].to_numpy() for name in frame}
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_columns(columns)
    assert [(i.row, i.field, i.patient_id) for i in caught.value.issues] == [
        (2, "patient_id", ""), (2, "visit_time", ""),
    ]
    log = VisitLog.from_columns(columns, on_error="quarantine")
    assert log.patient_ids.tolist() == [1, 2]
    assert log.patient_ids.dtype == np.int64
    assert log.department.tolist() == ["icu", ""]
    assert log.time.astype(str).tolist() == ["2024-01-01T10:00:00", "2024-01-01T16:00:00"]
