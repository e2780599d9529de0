"""The scan's early-warning window: patients last seen too long ago go to win-back, not the list."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from rfm_retention.cli import main
from rfm_retention.data import Rating
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._scorers import ScanScorer
from rfm_retention.risk import (
    DEFAULT_LAPSED_AFTER_DAYS,
    RiskLevel,
    default_policy,
    evaluate,
    scan,
    warnings_from_panel,
)
from rfm_retention.testing import sample_cohort
from test_risk_support import AS_OF, bundle, visits_every


def window_data(window: int):  # type: ignore[no-untyped-def]
    """Monthly patients last seen ``window`` days ago (edge), one day earlier (out), 10 (recent),
    and a patient known only from a low rating (no visit at all)."""
    return bundle(
        visits_every("edge", 30, 4, last_ago=window)
        + visits_every("out", 30, 4, last_ago=window + 1)
        + visits_every("recent", 30, 4, last_ago=100),
        ratings=[Rating("rated-only", AS_OF, 40), Rating("rated-only", AS_OF, 30)],
    )


def test_exactly_n_days_is_inside_and_one_more_is_outside() -> None:
    """Last visit exactly N days before as_of is warned about; N + 1 days is lapsed."""
    warnings = scan(window_data(200), AS_OF, lapsed_after_days=200)
    assert warnings.get("edge") is not None
    assert warnings.get("out") is None
    assert warnings.lapsed.tolist() == ["out"]
    assert warnings.lapsed_after_days == 200


def test_default_window_is_a_year() -> None:
    """By default a patient seen 365 days ago is on the list and one seen 366 days ago is not."""
    warnings = scan(window_data(365), AS_OF)
    assert DEFAULT_LAPSED_AFTER_DAYS == 365
    assert warnings.lapsed_after_days == 365
    assert warnings.get("edge") is not None
    assert warnings.lapsed.tolist() == ["out"]
    assert warnings.explain("out").level == RiskLevel.HIGH  # graded, just not listed


def test_none_disables_the_window() -> None:
    """lapsed_after_days=None grades everyone, however long ago they were seen."""
    warnings = scan(window_data(365), AS_OF, lapsed_after_days=None)
    assert {"edge", "out", "recent"} <= set(warnings.patient_id.tolist())
    assert len(warnings.lapsed) == 0
    assert warnings.lapsed_after_days is None


def test_patient_with_no_visit_is_inside_the_window() -> None:
    """A patient known only from other sources has no silence to measure and is graded."""
    warnings = scan(window_data(365), AS_OF, lapsed_after_days=30)
    assert warnings.get("rated-only") is not None
    assert not warnings.is_lapsed("rated-only")
    assert warnings.explain("rated-only").days_since_last_visit is None
    assert set(warnings.lapsed.tolist()) == {"edge", "out", "recent"}


def test_explain_says_a_patient_is_beyond_the_window() -> None:
    """explain() works for a lapsed patient and says it is beyond the window."""
    warnings = scan(window_data(200), AS_OF, lapsed_after_days=200)
    out = warnings.explain("out")
    assert out.beyond_window
    assert out.days_since_last_visit == 201
    assert "beyond the 200-day early-warning window (hand to win-back)" in str(out)
    inside = warnings.explain("edge")
    assert not inside.beyond_window
    assert inside.days_since_last_visit == 200
    assert "beyond" not in str(inside)


def test_warnings_from_panel_applies_the_same_window() -> None:
    """Grading an evaluated panel gives the same list and lapsed patients as the scan."""
    data = window_data(200)
    panel = evaluate(data, AS_OF)
    for window in (None, 150, 200, 365):
        direct = scan(data, AS_OF, lapsed_after_days=window)
        graded = warnings_from_panel(panel, default_policy(), lapsed_after_days=window)
        assert graded.patient_id.tolist() == direct.patient_id.tolist()
        assert graded.lapsed.tolist() == direct.lapsed.tolist()


@pytest.mark.parametrize("bad", [0, -5, True, 1.5, "365"])
def test_window_must_be_a_positive_whole_number(bad: object) -> None:
    """A window that is not a whole number of days >= 1 is a ConfigError naming it."""
    with pytest.raises(ConfigError, match="lapsed_after_days"):
        scan(window_data(200), AS_OF, lapsed_after_days=bad)  # type: ignore[arg-type]


def test_patient_crossing_the_window_resolves_as_win_back() -> None:
    """Warned yesterday, beyond the window today: resolved, and the CSV row says why."""
    warnings = scan(window_data(200), AS_OF, lapsed_after_days=200, previous={"out": "high"})
    assert [r.patient_id for r in warnings.resolved] == ["out"]
    cols = {name: column.tolist() for name, column in warnings.to_columns().items()}
    at = cols["patient_id"].index("out")
    assert cols["change"][at] == "resolved"
    assert "beyond the 200-day early-warning window" in cols["evidence"][at]


def test_sample_cohort_list_is_early_warning_only() -> None:
    """On the sample at 2024-12-31 the window keeps the long-gone patients off the list."""
    cohort = sample_cohort()
    everyone = scan(cohort.data, "2024-12-31", lapsed_after_days=None)
    listed = scan(cohort.data, "2024-12-31")
    days = listed.panel.days_since_last_visit()
    on_list = np.isin(listed.panel.patients, listed.patient_id)
    assert np.all(days[on_list] <= 365)
    beyond = set(listed.lapsed.tolist())
    assert beyond == set(listed.panel.patients[days > 365].tolist())
    kept = [p for p in everyone.patient_id.tolist() if p not in beyond]
    assert listed.patient_id.tolist() == kept  # same order, lapsed ones removed
    assert listed.counts()[RiskLevel.HIGH] < everyone.counts()[RiskLevel.HIGH] / 2


def test_backtest_scorer_scores_patients_beyond_the_window() -> None:
    """The scan scorer scores every patient, ranking a lapsed one by its own verdict."""
    data = window_data(400)
    scores = ScanScorer().score(data, AS_OF)
    assert scores.patient_id.tolist() == ["edge", "out", "rated-only", "recent"]
    level = dict(zip(scores.patient_id.tolist(), scores.level.tolist(), strict=True))
    assert level["out"] == level["edge"] == RiskLevel.HIGH


def _cli(tmp_path: Path, *extra: str) -> tuple[list[str], int]:
    """``rfm-retention scan`` on a patient seen 90 days ago and one 400 days ago: ids, exit code."""
    visits = tmp_path / "visits.csv"
    with open(visits, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient_id", "visit_time", "amount"])
        for v in visits_every("old", 30, 3, last_ago=400) + visits_every("new", 30, 3, last_ago=90):
            writer.writerow([v.patient_id, v.visit_time.isoformat(), v.amount])
    out = tmp_path / "w.csv"
    code = main(
        ["scan", "--visits", str(visits), "--as-of", AS_OF.isoformat(), "--out", str(out), *extra]
    )
    with open(out, newline="") as handle:
        return [r["patient_id"] for r in csv.DictReader(handle)], code


def test_cli_window_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--lapsed-after-days sets the window (default 365); 0 and none turn it off."""
    ids, code = _cli(tmp_path)
    assert code == 0
    assert ids == ["new"]
    assert "1 lapsed (last visit over 365 days ago: hand to win-back)" in capsys.readouterr().err
    ids, _ = _cli(tmp_path, "--lapsed-after-days", "60")
    assert ids == []
    assert "2 lapsed (last visit over 60 days ago" in capsys.readouterr().err
    for off in ("0", "none"):
        ids, _ = _cli(tmp_path, "--lapsed-after-days", off)
        assert sorted(ids) == ["new", "old"]
        assert "lapsed" not in capsys.readouterr().err


def test_cli_rejects_a_bad_window(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A negative or non-numeric window is a usage error (exit 2) naming the option."""
    for bad in ("-1", "a year"):
        with pytest.raises(SystemExit) as exc:
            _cli(tmp_path, "--lapsed-after-days", bad)
        assert exc.value.code == 2
        assert "--lapsed-after-days" in capsys.readouterr().err
