"""The ``segment`` command: CSV columns, methods, saved cut points, groups and errors."""

from __future__ import annotations

import csv
import json

import pytest

from rfm_retention.cli import main

VISITS = """patient_id,visit_time,amount,department
a,2024-01-05,100,cardiology
a,2024-03-05,200,cardiology
a,2024-06-20,300,cardiology
b,2024-06-01,40,dermatology
c,2023-02-01,900,cardiology
c,2023-03-01,900,cardiology
c,2023-05-01,900,cardiology
d,2022-12-01,20,dermatology
"""


@pytest.fixture
def visits(tmp_path):
    """A small visits CSV with four patients in two departments."""
    path = tmp_path / "visits.csv"
    path.write_text(VISITS, encoding="utf-8")
    return path


def read(path):
    """Rows of a CSV file as dicts."""
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_default_median_segments_with_actions(visits, tmp_path, capsys):
    """Median splits: a core, b general, c at risk, d inactive; the summary goes to stdout."""
    out = tmp_path / "segments.csv"
    assert main(["segment", "--visits", str(visits), "--as-of", "2024-06-30",
                 "--out", str(out)]) == 0
    rows = read(out)
    assert list(rows[0]) == [
        "patient_id", "days_since_last_visit", "visits", "spend", "visits_per_year", "r_high",
        "f_high", "m_high", "segment", "segment_name", "action"]
    got = {r["patient_id"]: (r["segment"], r["action"]) for r in rows}
    assert got == {
        "a": ("core", "exclusive_service"),
        "b": ("general", "general_maintenance"),
        "c": ("at_risk", "priority_activation"),
        "d": ("inactive", "no_outreach"),
    }
    assert "Segments as of 2024-06-30 (4 patients)" in capsys.readouterr().out


def test_fixed_method_needs_a_money_threshold(visits, capsys):
    """--method fixed without --min-spend is a one-line error, exit 2."""
    assert main(["segment", "--visits", str(visits), "--as-of", "2024-06-30",
                 "--method", "fixed"]) == 2
    assert "--min-spend" in capsys.readouterr().err


def test_fixed_method_in_days_visits_money(visits, tmp_path):
    """Within 30 days, 3+ visits, 500+ spent: a core, b general, c at risk, d inactive."""
    out = tmp_path / "s.csv"
    assert main(["segment", "--visits", str(visits), "--as-of", "2024-06-30", "--method",
                 "fixed", "--recency-days", "30", "--min-frequency", "3", "--min-spend", "500",
                 "--frequency", "visits_in_window", "--out", str(out)]) == 0
    got = {r["patient_id"]: r["segment"] for r in read(out)}
    assert got == {"a": "core", "b": "general", "c": "at_risk", "d": "inactive"}
    assert "visits_per_year" not in read(out)[0]


def test_scores_method_with_ten_map(visits, tmp_path):
    """1-5 scores with the 10-segment map give score columns and ten-map codes."""
    out = tmp_path / "s.csv"
    assert main(["segment", "--visits", str(visits), "--as-of", "2024-06-30", "--method",
                 "scores", "--score-map", "ten", "--out", str(out)]) == 0
    rows = read(out)
    assert {"r_score", "f_score", "m_score"} <= set(rows[0])
    by_id = {r["patient_id"]: r for r in rows}
    assert by_id["a"]["r_score"] == "5"
    assert by_id["d"]["r_score"] == "1"
    assert by_id["d"]["segment"] == "hibernating"


def test_save_then_assign_with_cuts(visits, tmp_path):
    """Cut points saved on one day label another day without refitting."""
    cuts = tmp_path / "cuts.json"
    first, second = tmp_path / "1.csv", tmp_path / "2.csv"
    assert main(["segment", "--visits", str(visits), "--as-of", "2024-06-30",
                 "--save-cuts", str(cuts), "--out", str(first)]) == 0
    assert json.loads(cuts.read_text(encoding="utf-8"))["fitted_patients"] == 4
    assert main(["segment", "--visits", str(visits), "--as-of", "2024-06-30",
                 "--cuts", str(cuts), "--out", str(second)]) == 0
    assert read(first) == read(second)


def test_cuts_and_method_conflict(visits, tmp_path, capsys):
    """--cuts with --method is refused (the file decides the method)."""
    cuts = tmp_path / "cuts.json"
    main(["segment", "--visits", str(visits), "--as-of", "2024-06-30", "--save-cuts",
          str(cuts), "--out", str(tmp_path / "x.csv")])
    assert main(["segment", "--visits", str(visits), "--as-of", "2024-06-30", "--cuts",
                 str(cuts), "--method", "median"]) == 2
    assert "drop --method" in capsys.readouterr().err


def test_by_department_reports_group_and_source(visits, tmp_path):
    """--by department adds group and cut_source; small groups fall back to overall cuts."""
    out = tmp_path / "s.csv"
    assert main(["segment", "--visits", str(visits), "--as-of", "2024-06-30", "--by",
                 "department", "--min-group-size", "2", "--out", str(out)]) == 0
    rows = {r["patient_id"]: r for r in read(out)}
    assert rows["a"]["group"] == "cardiology"
    assert rows["a"]["cut_source"] == "group:cardiology"
    main(["segment", "--visits", str(visits), "--as-of", "2024-06-30", "--by",
          "department", "--out", str(out)])
    assert {r["cut_source"] for r in read(out)} == {"overall"}


def test_demo_section_lists_segments_and_actions():
    """The demo section prints the summary and patients with their recommended action."""
    from rfm_retention.cli.segment import segments_section
    from rfm_retention.testing import sample_cohort

    cohort = sample_cohort()
    text = segments_section(cohort, cohort.end)
    assert "RFM segments as of" in text
    assert "no_outreach" in text
    assert "priority_activation" in text
