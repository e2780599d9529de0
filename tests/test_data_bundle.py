"""PatientData: whichever sources a host has, keyed by one set of patient ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rfm_retention.data import (
    SOURCE_FILES,
    ComplaintTable,
    PatientData,
    RatingTable,
    Visit,
    VisitLog,
)
from rfm_retention.errors import ConfigError, InputFileError, ValidationError


def _visits(*ids: str) -> VisitLog:
    return VisitLog.from_records(Visit(p, "2024-01-01", 1.0) for p in ids)


def test_absent_sources_are_none_and_not_available() -> None:
    """A source the host lacks is None (no signal), unlike an empty table (no events)."""
    data = PatientData(visits=_visits("a"), complaints=ComplaintTable.empty())
    assert data.ratings is None
    assert data.available == frozenset({"visits", "complaints"})
    assert [name for name, _ in data.sources()] == ["visits", "complaints"]
    with pytest.raises(KeyError, match="ratings"):
        data.rows_of("ratings")
    assert data.rows_of("complaints").tolist() == []


def test_patients_is_the_sorted_union_and_rows_map_into_it() -> None:
    """patients unites every source's ids; rows_of maps each row to its patient's position."""
    ratings = RatingTable.from_arrays(patient_id=["z", "a", "z"], rated_at=["2024-01-01"] * 3,
                                      score=[1, 2, 3])
    data = PatientData(visits=_visits("m", "a"), ratings=ratings)
    assert data.patients.tolist() == ["a", "m", "z"]
    assert data.rows_of("visits").tolist() == [0, 1]
    assert data.rows_of("ratings").tolist() == [0, 2, 2]
    np.testing.assert_array_equal(data.patients[data.rows_of("ratings")],
                                  ratings.row_patient_ids())


def test_mixed_id_types_across_sources_are_refused() -> None:
    """Integer ids in one source and text ids in another cannot be matched: ConfigError."""
    ratings = RatingTable.from_arrays(patient_id=np.array([1]), rated_at=["2024-01-01"], score=[1])
    with pytest.raises(ConfigError, match="integers in some sources"):
        PatientData(visits=_visits("a"), ratings=ratings)


def test_empty_bundle_is_valid() -> None:
    """Empty visits and no other source is a valid bundle with no patients."""
    data = PatientData(visits=VisitLog.empty())
    assert len(data.patients) == 0
    assert data.available == frozenset({"visits"})


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def test_from_directory_reads_the_default_files_that_exist(tmp_path: Path) -> None:
    """visits.csv is required; every other default file is read when present."""
    _write(tmp_path, "visits.csv",
           "patient_id,visit_time,amount\na,2024-01-01,10\nb,2024-01-02,5\n")
    _write(tmp_path, "ratings.csv", "patient_id,rated_at,score\nc,2024-01-03,80\n")
    _write(tmp_path, "reviews.csv", "patient_id,posted_at,stars\na,2024-01-04,5\n")
    data = PatientData.from_directory(tmp_path)
    assert data.available == frozenset({"visits", "ratings", "reviews"})
    assert data.patients.tolist() == ["a", "b", "c"]
    assert data.reviews is not None
    assert data.reviews.score.tolist() == [100.0]
    assert set(SOURCE_FILES) == {"visits", "ratings", "complaints", "appointments", "courses",
                                 "outcomes", "reviews", "registry"}


def test_from_directory_mappings_and_validation(tmp_path: Path) -> None:
    """Per-source mappings apply; a bad row in any file raises, or is quarantined."""
    _write(tmp_path, "visits.csv", "PID,visit_time,amount\na,2024-01-01,10\nb,2024-01-02,-5\n")
    mappings = {"visits": {"patient_id": "PID"}}
    with pytest.raises(ValidationError):
        PatientData.from_directory(tmp_path, mappings=mappings)
    data = PatientData.from_directory(tmp_path, mappings=mappings, on_error="quarantine")
    assert data.patients.tolist() == ["a"]
    assert data.visits.rejected.rows == (1,)


def test_from_directory_without_visits_fails(tmp_path: Path) -> None:
    """A folder without visits.csv is an InputFileError naming the file."""
    with pytest.raises(InputFileError, match=r"visits\.csv: no such file"):
        PatientData.from_directory(tmp_path)
