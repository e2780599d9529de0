"""``--map`` on the command line and ``mapping=`` in Python: where each applies, what hints say."""

from __future__ import annotations

from pathlib import Path

import pytest

from rfm_retention.cli import main
from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError

VISITS = ("PATIENT,START,TOTAL,ENCOUNTERCLASS\np1,2024-01-01,10,ambulatory\n"
          "p1,2024-03-01,10,wellness\n")
APPOINTMENTS = "patient_id,scheduled_at,status\np1,2024-04-01,booked\n"
SYNTHEA_MAP = ["--map", "patient_id=PATIENT", "--map", "visit_time=START", "--map",
               "amount=TOTAL", "--map", "department=ENCOUNTERCLASS"]


def _files(tmp_path: Path, appointments: str) -> list[str]:
    (tmp_path / "v.csv").write_text(VISITS)
    (tmp_path / "a.csv").write_text(appointments)
    return ["scan", "--visits", str(tmp_path / "v.csv"), "--appointments",
            str(tmp_path / "a.csv"), "--as-of", "2024-05-01", "--out", str(tmp_path / "w.csv")]


def test_unprefixed_map_applies_only_to_files_with_that_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--map department=ENCOUNTERCLASS` maps the visits, not appointments lacking the column."""
    args = _files(tmp_path, APPOINTMENTS)
    (tmp_path / "a.csv").write_text("PATIENT,scheduled_at,status\np1,2024-04-01,booked\n")
    assert main([*args, *SYNTHEA_MAP]) == 0
    assert "scan 2024-05-01" in capsys.readouterr().err


def test_missing_required_column_names_the_file_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file lacking a mapped column gets a hint with its own prefix, not the failing flag."""
    args = _files(tmp_path, "who,scheduled_at,status\np1,2024-04-01,booked\n")
    assert main([*args, *SYNTHEA_MAP]) == 2
    err = capsys.readouterr().err
    assert "--map appointments.patient_id=COLUMN" in err
    assert "no column 'PATIENT' for field 'patient_id'" in err


def test_python_error_names_the_mapping_keyword(tmp_path: Path) -> None:
    """VisitLog.from_csv's missing-column hint speaks of mapping=, not the CLI's --map."""
    path = tmp_path / "v.csv"
    path.write_text(VISITS)
    with pytest.raises(ConfigError) as info:
        VisitLog.from_csv(path)
    assert "mapping={'patient_id': 'COLUMN'}" in str(info.value)
    assert "--map" not in str(info.value)
    with pytest.raises(ConfigError, match="mapping= names unknown field"):
        VisitLog.from_csv(path, mapping={"nope": "X"})


def test_scan_past_the_end_of_the_data_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scan dated years after the last visit says why it has 0 warnings (API note, CLI stderr)."""
    from rfm_retention.risk import scan

    path = tmp_path / "v.csv"
    path.write_text(VISITS)
    log = VisitLog.from_csv(path, mapping={"patient_id": "PATIENT", "visit_time": "START",
                                           "amount": "TOTAL"})
    late = scan(log, "2026-01-01")
    assert len(late) == 0
    assert late.notes
    assert "671 days after the data's last visit (2024-03-01)" in late.notes[0]
    assert scan(log, "2024-06-01").notes == ()
    args = ["scan", "--visits", str(path), "--as-of", "2026-01-01", "--out",
            str(tmp_path / "w.csv"), *SYNTHEA_MAP]
    assert main(args) == 0
    assert "warning: the scan date 2026-01-01 is 671 days after" in capsys.readouterr().err
