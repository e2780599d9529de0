"""Warnings cross to cases as typed records, through one reader, with reversible escaping."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention._cells import escape_cell, unescape_cell
from rfm_retention.cli import main
from rfm_retention.data import PatientData, VisitLog
from rfm_retention.errors import ConfigError, ValidationError
from rfm_retention.risk import ReasonCode, RiskLevel, WarningRecord, read_warnings_csv, scan


@given(st.text())
def test_escaping_round_trips_any_text(text: str) -> None:
    """unescape(escape(x)) == x for every text, and no escaped cell starts like a formula."""
    cell = escape_cell(text)
    assert unescape_cell(cell) == text
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        float(cell)  # only plain numbers are left unquoted


def test_quote_and_formula_ids_stay_distinct() -> None:
    """The ids '=x' and =x are written differently and read back as given."""
    assert escape_cell("=x") != escape_cell("'=x")
    assert [unescape_cell(escape_cell(v)) for v in ("=x", "'=x")] == ["=x", "'=x"]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_reader_gives_typed_records(tmp_path: Path) -> None:
    """Levels, reasons, scores and escaped ids come back typed and as written."""
    path = _write(tmp_path / "w.csv", [
        ["patient_id", "level", "score", "reasons", "evidence", "change"],
        ["'=p1", "high", "80.5", "price;trust", "why", "new"],
        ["p2", "none", "", "", "", "resolved"],
    ])
    first, second = read_warnings_csv(path)
    assert first == WarningRecord("=p1", RiskLevel.HIGH, ReasonCode.PRICE, 80.5, "why", "new")
    assert (second.level, second.change, second.score) == (RiskLevel.NONE, "resolved", None)


def test_reader_names_every_bad_row(tmp_path: Path) -> None:
    """Every bad row and field is one ValidationError; missing columns are a ConfigError."""
    path = _write(tmp_path / "bad.csv", [
        ["patient_id", "level", "reason", "score"],
        ["", "severe", "weather", "x"], ["9", "high", "price", "1"], ["p3", "low", "price", "2"],
    ])
    with pytest.raises(ValidationError) as caught:
        read_warnings_csv(path, integer_ids=True)
    assert caught.value.rows == (0, 2)
    assert {i.field for i in caught.value.issues} == {"patient_id", "level", "reason", "score"}
    assert "quarantine" not in str(caught.value)  # the reader has no such option
    with pytest.raises(ConfigError, match="missing column"):
        read_warnings_csv(_write(tmp_path / "short.csv", [["patient_id"], ["p1"]]))


def test_scan_records_equal_what_the_csv_reads_back(tmp_path: Path) -> None:
    """to_records() and the CSV the CLI writes give the same records (ids like =p1 included)."""
    ids = ["=p1", "'=p1", "p3"]
    log = VisitLog.from_arrays(
        patient_id=[i for i in ids for _ in range(3)],
        visit_time=["2024-01-01", "2024-02-01", "2024-03-01"] * 3, amount=[50.0] * 9,
    )
    warnings = scan(PatientData(visits=log), "2024-08-01")
    visits = tmp_path / "visits.csv"
    _write(visits, [["patient_id", "visit_time", "amount"]]
           + [[i, t, "50"] for i in ids
              for t in ("2024-01-01", "2024-02-01", "2024-03-01")])
    out = tmp_path / "warnings.csv"
    assert main(["scan", "--visits", str(visits), "--as-of", "2024-08-01", "--out", str(out)]) == 0
    read = [r for r in read_warnings_csv(out) if r.change != "resolved"]
    assert sorted(r.patient_id for r in read) == sorted(r.patient_id for r in warnings.to_records())
    assert {r.patient_id for r in read} == set(ids)
