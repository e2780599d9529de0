"""``rfm-retention scan``: files in, a spreadsheet-safe warning CSV out, changes day over day."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rfm_retention.cli import main


def write(path: Path, header: list[str], rows: list[list[object]]) -> str:
    """Write a small CSV and return its path."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def read(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV as dicts."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def run(files: dict[str, str], out: Path | None, *extra: str) -> int:
    """``rfm-retention scan`` on the fixture's visits as of 2024-06-30, plus ``extra``."""
    args = ["scan", "--visits", files["visits"], "--as-of", "2024-06-30", *extra]
    return main(args if out is None else [*args, "--out", str(out)])


def rule_table(indicator: str) -> str:
    """A one-rule JSON table: high when the indicator's value is above 0."""
    condition = {"indicator": indicator, "op": ">", "value": 0.0}
    return json.dumps({"rules": [{"level": "high", "conditions": [condition]}]})


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """Visits for three patients (one with a formula-like id) and their ratings."""
    visits = []
    for pid, days in (
        ("=HYPERLINK(1)", (1, 31, 61)),
        ("steady", (60, 90, 120)),
        ("gone", (10, 40, 70)),
    ):
        visits += [
            [pid, f"2024-01-{d:02d}" if d <= 31 else f"2024-0{1 + d // 31}-01", 100] for d in days
        ]
    visits += [["steady", "2024-06-20", 100]]
    return {
        "visits": write(tmp_path / "visits.csv", ["patient_id", "visit_time", "amount"], visits),
        "ratings": write(
            tmp_path / "ratings.csv",
            ["patient_id", "rated_at", "score"],
            [["steady", "2024-06-21", 60]],
        ),
    }


def test_scan_writes_the_warning_csv(
    files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CSV has the documented columns, worst first, and skipped indicators go to stderr."""
    out = tmp_path / "warnings.csv"
    assert run(files, out, "--ratings", files["ratings"]) == 0
    rows = read(out)
    assert list(rows[0]) == [
        "patient_id",
        "level",
        "score",
        "reasons",
        "indicators",
        "evidence",
        "change",
        "p_churn",
        "expected_spend_12m",
        "value_at_risk",
        "odds_evidence",
    ]  # the odds columns: the lifetime model fitted to these visits, the default
    levels = [r["level"] for r in rows]
    assert levels == sorted(levels, key=["high", "medium", "low"].index)
    by_id = {r["patient_id"]: r for r in rows}
    assert by_id["steady"]["reasons"].startswith("service")
    assert "no_shows (no appointments data)" in capsys.readouterr().err
    bare = tmp_path / "bare.csv"
    assert run(files, bare, "--ratings", files["ratings"], "--no-odds") == 0
    assert list(read(bare)[0])[-1] == "change"


def test_formula_like_cells_are_neutralised(files: dict[str, str], tmp_path: Path) -> None:
    """A patient id starting with '=' is written with a leading quote, never as a formula."""
    out = tmp_path / "w.csv"
    run(files, out)
    ids = [r["patient_id"] for r in read(out)]
    assert "'=HYPERLINK(1)" in ids
    assert not any(i.startswith(("=", "+", "-", "@")) for i in ids)


def test_previous_file_marks_changes_and_resolved(files: dict[str, str], tmp_path: Path) -> None:
    """Yesterday's CSV (with its quoted ids) drives the change column; vanished ids resolve."""
    first = tmp_path / "d1.csv"
    run(files, first)
    rows = read(first)
    rows.append({**rows[0], "patient_id": "left-yesterday", "level": "high"})
    previous = tmp_path / "prev.csv"
    with open(previous, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    second = tmp_path / "d2.csv"
    run(files, second, "--previous", str(previous))
    got = {r["patient_id"]: r["change"] for r in read(second)}
    assert got.pop("left-yesterday") == "resolved"
    assert set(got.values()) == {"unchanged"}


def test_policy_choices_and_rule_file(files: dict[str, str], tmp_path: Path) -> None:
    """rules, score, worst and a JSON rule file all run; a bad rule file is a one-line error."""
    for policy in ("rules", "score", "worst"):
        assert run(files, tmp_path / f"{policy}.csv", "--policy", policy) == 0
    rule_file = tmp_path / "rules.json"
    rule_file.write_text(rule_table("interval_extension"))
    out = tmp_path / "custom.csv"
    assert run(files, out, "--policy", str(rule_file)) == 0
    assert {r["level"] for r in read(out)} == {"high"}
    rule_file.write_text(rule_table("gut_feeling"))
    assert run(files, out, "--policy", str(rule_file)) == 2


def test_unknown_policy_name_is_an_error(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A policy that is neither a name nor a file exits 2 with a one-line message."""
    assert run(files, None, "--policy", "strict") == 2
    assert "not rules, score, worst" in capsys.readouterr().err


def test_learned_score_file_as_policy(files: dict[str, str], tmp_path: Path) -> None:
    """A learned score saved with to_mapping() is accepted by --policy; extra keys are refused."""
    learned = {
        "indicators": ["interval_extension"],
        "intercept": -1.0,
        "coefficients": [6.0],
        "missing_coefficients": [0.0, 0.0, 0.0, 0.0],
        "cutoffs": [80, 60, 40],
    }
    path = tmp_path / "learned.json"
    path.write_text(json.dumps(learned))
    out = tmp_path / "w.csv"
    assert run(files, out, "--policy", str(path)) == 0
    assert {r["level"] for r in read(out)} <= {"high", "medium", "low"}
    path.write_text(json.dumps({**learned, "bias": 1}))
    assert run(files, out, "--policy", str(path)) == 2
