"""The commands chain on files: sample -> features/segment/scan -> cases -> points -> report."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rfm_retention.cli import main

AS_OF = "2024-12-31"


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    assert main(["sample", "--out", str(folder), "--patients", "200", "--seed", "7"]) == 0
    return folder


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_scan_output_opens_cases_and_lists_overdue(sample_dir: Path, tmp_path: Path) -> None:
    """The scan's CSV is what ``cases open`` reads; every high warning gets a deadline."""
    signals = [f"--{name}={sample_dir / (name + '.csv')}" for name in
               ("ratings", "complaints", "appointments", "courses", "outcomes", "reviews")]
    warnings = tmp_path / "warnings.csv"
    assert main(["scan", "--visits", str(sample_dir / "visits.csv"), *signals,
                 "--as-of", AS_OF, "--out", str(warnings)]) == 0
    listed = _rows(warnings)
    assert listed, "the sample cohort always has warnings"
    db = tmp_path / "cases.sqlite"
    assert main(["cases", "open", "--warnings", str(warnings), "--db", str(db),
                 "--at", "2025-01-01T07:00"]) == 0
    overdue = tmp_path / "overdue.csv"
    assert main(["cases", "overdue", "--db", str(db), "--as-of", "2025-01-05",
                 "--out", str(overdue)]) == 0
    breached = {row["patient_id"] for row in _rows(overdue)}
    high = {row["patient_id"] for row in listed if row["level"] == "high"}
    assert high
    assert high <= breached


def test_segments_points_and_report_run_on_the_same_files(
    sample_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Segment, award points and report KPIs from the one visits file."""
    visits = str(sample_dir / "visits.csv")
    segments = tmp_path / "segments.csv"
    assert main(["segment", "--visits", visits, "--as-of", AS_OF, "--out", str(segments)]) == 0
    assert len(_rows(segments)) == len({r["patient_id"] for r in _rows(sample_dir / "visits.csv")})
    db = str(tmp_path / "points.sqlite")
    assert main(["points", "award", "--visits", visits, "--db", db]) == 0
    assert main(["points", "verify", "--db", db]) == 0
    capsys.readouterr()
    assert main(["report", "--visits", visits, "--from", "2024-01-01", "--to", AS_OF]) == 0
    assert "2024-06" in capsys.readouterr().out
