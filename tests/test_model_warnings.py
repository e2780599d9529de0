"""Warnings ordered by the trained model's P(churn), with value at risk, and the train command."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from rfm_retention.cli import main
from rfm_retention.errors import ConfigError
from rfm_retention.model import RiskModel, train_risk_model
from rfm_retention.risk import RiskLevel, scan
from rfm_retention.testing import SyntheticCohort, synthetic_cohort

AS_OF = "2024-06-30"


@cache
def cohort() -> SyntheticCohort:
    return synthetic_cohort(3000, seed=5)


@cache
def model() -> RiskModel:
    return train_risk_model(cohort().data, ["2023-06-30", "2023-09-30"])


def test_levels_stay_the_policys_and_each_level_is_ordered_by_probability() -> None:
    """The model changes the order within a level, never the levels themselves."""
    plain = scan(cohort().data, AS_OF)
    ranked = scan(cohort().data, AS_OF, model=model())
    assert plain.counts() == ranked.counts()
    assert ranked.probability is not None
    for level in (RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW):
        p = ranked.probability[ranked.level == level]
        assert (np.diff(p) <= 0).all()
    assert (np.diff(ranked.level.astype(int)) <= 0).all()


def test_hardly_any_warnings_share_an_ordering_value() -> None:
    """At most 1 % of warned patients share one P(churn): the list is not ordered by id."""
    ranked = scan(cohort().data, AS_OF, model=model())
    assert ranked.probability is not None
    _, counts = np.unique(ranked.probability, return_counts=True)
    assert counts.max() <= max(1, 0.01 * len(ranked))


def test_each_warning_carries_value_at_risk_and_the_terms_behind_it() -> None:
    """P(churn) x expected 12-month spend is the value at risk; the odds' evidence is in words."""
    ranked = scan(cohort().data, AS_OF, model=model())
    w = ranked[0]
    assert w.probability is not None
    assert w.expected_spend_12m is not None
    assert w.value_at_risk == pytest.approx(w.probability * w.expected_spend_12m)
    assert w.source == "trained model"
    assert w.odds_evidence.count(";") == 2
    by_value = ranked.by_value_at_risk()
    assert by_value.value_at_risk is not None
    assert (np.diff(by_value.value_at_risk) <= 0).all()
    assert sorted(by_value.patient_id.tolist()) == sorted(ranked.patient_id.tolist())


def test_a_list_without_odds_cannot_be_sorted_by_value() -> None:
    """Sorting by value at risk without any churn odds is a ConfigError."""
    plain = scan(cohort().data, AS_OF)
    if plain.odds is None:
        with pytest.raises(ConfigError, match="no churn odds"):
            plain.by_value_at_risk()


def test_train_then_scan_and_backtest_from_the_command_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """train writes a model and prints its terms; scan --model and backtest --model use it."""
    assert main(["sample", "--out", str(tmp_path)]) == 0
    visits = str(tmp_path / "visits.csv")
    model_file = tmp_path / "model.json"
    code = main(["train", "--visits", visits, "--ratings", str(tmp_path / "ratings.csv"),
                 "--at", "2023-06-30", "--at", "2023-09-30", "--horizon", "90",
                 "--train-horizon", "60", "--out", str(model_file)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "labels: no_visit within 60 days (scoring horizon 90)" in printed
    assert "days since the last visit" in printed
    out = tmp_path / "warnings.csv"
    assert main(["scan", "--visits", visits, "--ratings", str(tmp_path / "ratings.csv"),
                 "--as-of", "2024-06-30", "--model", str(model_file), "--sort", "value",
                 "--out", str(out)]) == 0
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    values = [float(r["value_at_risk"]) for r in rows]
    assert values == sorted(values, reverse=True)
    assert all(r["odds_evidence"] for r in rows)
    assert main(["backtest", "--visits", visits, "--ratings", str(tmp_path / "ratings.csv"),
                 "--at", "2024-03-31", "--model", str(model_file)]) == 0
    table = capsys.readouterr().out
    assert "trained model (2023-06-30, 2023-09-30)" in table
    assert "base-rate Brier" in table
    assert main(["backtest", "--visits", visits, "--at", "2023-10-31",
                 "--model", str(model_file)]) == 2
    assert "cannot be backtested" in capsys.readouterr().err


def test_a_source_missing_at_scoring_time_reads_as_no_data() -> None:
    """A model trained with every source still scores a bundle with visits only."""
    from rfm_retention.data import PatientData

    visits_only = PatientData(visits=cohort().data.visits)
    p = model().predict(visits_only, AS_OF).probability
    assert np.isfinite(p).all()
    assert ((p > 0) & (p < 1)).all()
