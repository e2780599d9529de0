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


SYNTHEA_CUT = Path(__file__).parent / "fixtures" / "synthea_cut"
SYNTHEA_MAPPINGS = {
    "visits": {"patient_id": "PATIENT", "visit_time": "START", "amount": "TOTAL_CLAIM_COST",
               "visit_id": "Id", "department": "ENCOUNTERCLASS"},
    "registry": {"patient_id": "Id", "first_contact": "BIRTHDATE", "deceased_at": "DEATHDATE"},
}


def test_from_directory_loads_a_synthea_export_by_file_name() -> None:
    """files= names each source's file: a Synthea folder loads from encounters/patients.csv."""
    data = PatientData.from_directory(
        SYNTHEA_CUT, files={"visits": "encounters.csv", "registry": "patients.csv"},
        mappings=SYNTHEA_MAPPINGS,
    )
    assert data.available == frozenset({"visits", "registry"})
    assert len(data.visits) == 127
    assert data.registry is not None
    assert len(data.patients) == 6
    assert data.patients.tolist() == sorted(data.registry.patient_ids.tolist())
    assert {"wellness", "ambulatory", "snf"} <= set(data.visits.department.tolist())
    assert int(np.sum(~np.isnat(data.registry.columns["deceased_at"]))) == 1


def test_from_directory_files_load_only_the_named_sources(tmp_path: Path) -> None:
    """With files=, a default-named file that is not named is not loaded; visits.csv is default."""
    _write(tmp_path, "visits.csv", "patient_id,visit_time,amount\na,2024-01-01,10\n")
    _write(tmp_path, "patients.csv", "Id,BIRTHDATE\na,1990-01-01\n")  # not a registry
    _write(tmp_path, "scores.csv", "patient_id,rated_at,score\nb,2024-01-03,80\n")
    data = PatientData.from_directory(tmp_path, files={"ratings": tmp_path / "scores.csv"})
    assert data.available == frozenset({"visits", "ratings"})
    assert data.patients.tolist() == ["a", "b"]


def test_from_directory_files_refuse_unknown_sources_and_missing_files(tmp_path: Path) -> None:
    """An unknown source name or a named file that is absent is a ConfigError naming it."""
    _write(tmp_path, "encounters.csv", "patient_id,visit_time,amount\na,2024-01-01,10\n")
    with pytest.raises(ConfigError, match=r"unknown source\(s\) \['encounters'\]"):
        PatientData.from_directory(tmp_path, files={"encounters": "encounters.csv"})
    with pytest.raises(ConfigError, match=r"ratings: .*ratings_2024\.csv"):
        PatientData.from_directory(tmp_path, files={"visits": "encounters.csv",
                                                    "ratings": "ratings_2024.csv"})
    with pytest.raises(ConfigError, match=r"mappings= names source\(s\) \['ratings'\]"):
        PatientData.from_directory(tmp_path, files={"visits": "encounters.csv"},
                                   mappings={"ratings": {"score": "S"}})
    with pytest.raises(ConfigError, match=r"mappings= names source\(s\) \['rating'\]"):
        PatientData.from_directory(tmp_path, mappings={"rating": {"score": "S"}})
