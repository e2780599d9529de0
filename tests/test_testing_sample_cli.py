"""``rfm-retention sample``: files in the loaders' default layout, read back identically."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from rfm_retention.cli import main
from rfm_retention.cli.sample import csv_text, write_cohort
from rfm_retention.data import SOURCE_FILES, PatientData
from rfm_retention.testing import sample_cohort, synthetic_cohort

EXPECTED_FILES = {
    "visits.csv",
    "patients.csv",
    "ratings.csv",
    "complaints.csv",
    "appointments.csv",
    "courses.csv",
    "outcomes.csv",
    "reviews.csv",
    "truth.csv",
}


def _assert_same_bundle(a: PatientData, b: PatientData) -> None:
    assert a.available == b.available
    assert np.array_equal(a.patients, b.patients)
    for name, table in a.sources():
        other = getattr(b, name)
        assert len(table) == len(other), name
        for field, col in table.columns.items():
            back = other.columns[field]
            same_type = col.dtype == back.dtype or col.dtype.kind == back.dtype.kind == "U"
            assert same_type, (name, field)
            assert np.array_equal(col, back, equal_nan=col.dtype.kind in "fM"), (name, field)


def test_sample_writes_every_file_and_loads_back_identically(tmp_path: Path) -> None:
    """The default sample round-trips through CSV: same tables, same values, same order."""
    assert main(["sample", "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == EXPECTED_FILES
    _assert_same_bundle(sample_cohort().data, PatientData.from_directory(tmp_path))


def test_headers_are_the_schema_field_names(tmp_path: Path) -> None:
    """Each file's header is exactly its table's SCHEMA field names, in order."""
    main(["sample", "--out", str(tmp_path), "--patients", "60", "--seed", "2"])
    for filename, table_cls in SOURCE_FILES.values():
        with open(tmp_path / filename, newline="") as handle:
            header = next(csv.reader(handle))
        assert tuple(header) == table_cls.SCHEMA.names, filename


def test_patients_and_seed_options_choose_the_cohort(tmp_path: Path) -> None:
    """--patients and --seed give the cohort synthetic_cohort draws with those arguments."""
    main(["sample", "--out", str(tmp_path), "--patients", "120", "--seed", "9"])
    loaded = PatientData.from_directory(tmp_path)
    _assert_same_bundle(synthetic_cohort(120, 9).data, loaded)


def test_truth_file_matches_the_ground_truth(tmp_path: Path) -> None:
    """truth.csv holds one row per patient with churn flag, dates and reason."""
    cohort = synthetic_cohort(150, seed=4)
    write_cohort(cohort, tmp_path)
    with open(tmp_path / "truth.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["patient_id"] for r in rows] == cohort.truth.patient_id.tolist()
    assert [r["churned"] == "true" for r in rows] == cohort.truth.churned.tolist()
    churned_from = [r["churned_from"] for r in rows]
    expected = [
        "" if np.isnat(d) else str(d) for d in cohort.truth.churned_from
    ]
    assert churned_from == expected
    assert [r["reason"] for r in rows] == cohort.truth.reason.tolist()


def test_csv_text_writes_values_the_loaders_read_back() -> None:
    """NaN/NaT become empty cells, whole floats lose '.0', flags are true/false."""
    assert csv_text(np.array([1.25, 3.0, np.nan])).tolist() == ["1.25", "3", ""]
    times = np.array(["2024-01-02T03:04:05", "NaT"], dtype="datetime64[s]")
    assert csv_text(times).tolist() == ["2024-01-02T03:04:05", ""]
    days = np.array(["2024-01-02", "NaT"], dtype="datetime64[s]")
    assert csv_text(days).tolist() == ["2024-01-02", ""]
    assert csv_text(np.array([True, False])).tolist() == ["true", "false"]


def test_bad_patient_count_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--patients 0 exits 2 with a one-line message, no traceback."""
    assert main(["sample", "--out", str(tmp_path), "--patients", "0"]) == 2
    err = capsys.readouterr().err
    assert "--patients must be at least 1" in err
    assert "Traceback" not in err


def test_bad_date_is_an_argparse_error(tmp_path: Path) -> None:
    """A non-ISO --start is refused by the parser (exit 2)."""
    with pytest.raises(SystemExit) as exc:
        main(["sample", "--out", str(tmp_path), "--start", "01/02/2023"])
    assert exc.value.code == 2


def test_unwritable_folder_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An --out that is a file exits 2 with the OS error, not a traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["sample", "--out", str(blocker / "sub"), "--patients", "5"]) == 2
    assert "error" in capsys.readouterr().err


def test_help_describes_the_files(capsys: pytest.CaptureFixture[str]) -> None:
    """sample --help names the truth file and the options."""
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    out = capsys.readouterr().out
    assert "truth.csv" in out
    assert "--patients" in out
