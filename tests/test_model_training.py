"""The trained risk model: fit, honesty about dates, errors, explanations and JSON files."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache

import numpy as np
import pytest

from rfm_retention.data import PatientData, VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.metrics import backtest
from rfm_retention.metrics._scorers import ScanScorer, fit_learned_score
from rfm_retention.model import (
    SCHEMA_VERSION,
    ModelScorer,
    RiskModel,
    model_inputs,
    train_risk_model,
)
from rfm_retention.testing import SyntheticCohort, synthetic_cohort

TRAIN = ["2023-03-31", "2023-06-30"]


@cache
def cohort() -> SyntheticCohort:
    return synthetic_cohort(3000, seed=11)


@cache
def model() -> RiskModel:
    return train_risk_model(cohort().data, TRAIN, horizon_days=90)


def test_model_ranks_leavers_well_and_beats_the_baseline() -> None:
    """On a later, unseen date the model's AUC is high and above days-since-last-visit."""
    bt = backtest(cohort().data, ["2024-03-31"], scorer=ModelScorer(model()))
    trained, baseline = bt.results
    assert trained.auc > 0.88
    assert trained.auc > baseline.auc + 0.1
    assert trained.brier < trained.base_rate_brier
    assert trained.states_probability
    assert not baseline.states_probability


def test_training_record_says_what_the_model_saw() -> None:
    """Train dates, both horizons and the last day the labels read are recorded."""
    m = train_risk_model(cohort().data, TRAIN, horizon_days=90, train_horizon_days=60)
    t = m.training
    assert t.train_dates == (dt.date(2023, 3, 31), dt.date(2023, 6, 30))
    assert (t.horizon_days, t.train_horizon_days) == (90, 60)
    assert t.labels_until == dt.date(2023, 8, 29)
    assert 0 < t.positives < t.rows
    assert t.holdout_rows > 0


def test_model_refuses_to_score_before_its_labels_end() -> None:
    """Scoring or backtesting a date inside the training labels is a ConfigError."""
    with pytest.raises(ConfigError, match="2023-09-28"):
        model().predict(cohort().data, "2023-09-01")
    with pytest.raises(ConfigError, match="cannot be backtested"):
        backtest(cohort().data, ["2023-09-01"], scorer=ModelScorer(model()))


def test_fit_learned_score_cannot_be_judged_on_its_own_labels() -> None:
    """A later evaluate_from no longer lets the backtest judge the score on its training labels."""
    learned = fit_learned_score(cohort().data, "2023-06-30", evaluate_from="2024-01-31")
    assert learned.labels_until == dt.date(2023, 9, 28)
    with pytest.raises(ConfigError, match="cannot be backtested"):
        backtest(cohort().data, ["2023-07-31"], scorer=ScanScorer(learned))
    bt = backtest(cohort().data, ["2023-09-30"], scorer=ScanScorer(learned))
    assert bt.results[0].states_probability


def test_single_class_training_is_a_clear_error() -> None:
    """Labels that are all one class raise instead of fitting an intercept."""
    log = VisitLog.from_arrays(
        patient_id=["a", "b", "a", "b"], amount=[1.0] * 4,
        visit_time=["2024-01-01", "2024-01-02", "2024-02-01", "2024-02-02"],
    )
    with pytest.raises(ConfigError, match="all 2 training patients stayed"):
        train_risk_model(PatientData(visits=log), ["2024-01-15"], horizon_days=18,
                         calibration="none", holdout=0.0)


def test_constant_inputs_are_a_clear_error() -> None:
    """Training where every input is the same for every patient raises ConfigError."""
    ids = [f"p{k}" for k in range(6)]
    log = VisitLog.from_arrays(
        patient_id=ids + ids[:3], amount=[10.0] * 9,
        visit_time=["2024-01-01"] * 6 + ["2024-03-01"] * 3,
    )
    with pytest.raises(ConfigError, match="every input is constant"):
        train_risk_model(PatientData(visits=log), ["2024-01-31"], horizon_days=30,
                         calibration="none", holdout=0.0)


def test_horizon_past_the_data_is_refused() -> None:
    """A training date whose label horizon runs past the last visit is a ConfigError."""
    with pytest.raises(ConfigError, match="shorter train horizon"):
        train_risk_model(cohort().data, ["2024-12-01"], horizon_days=90)


def test_fit_is_deterministic_and_round_trips_through_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two fits are identical; save/load gives the same probabilities; the file is plain JSON."""
    again = train_risk_model(cohort().data, TRAIN, horizon_days=90)
    assert again.to_json() == model().to_json()
    path = tmp_path / "model.json"
    model().save(path)
    loaded = RiskModel.load(path)
    a = model().predict(cohort().data, "2024-01-31").probability
    b = loaded.predict(cohort().data, "2024-01-31").probability
    np.testing.assert_array_equal(a, b)
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def test_other_schema_versions_are_refused() -> None:
    """A model file of another schema version (or not a model file) is a ConfigError."""
    m = model().to_mapping()
    m["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ConfigError, match="schema version"):
        RiskModel.from_mapping(m)
    with pytest.raises(ConfigError, match="not a rfm_retention risk model"):
        RiskModel.from_json("{}")
    with pytest.raises(ConfigError, match="not JSON"):
        RiskModel.from_json("pickle?")


def test_every_patient_gets_term_contributions_in_words() -> None:
    """Explanations name the figure, its value and its log-odds; they sum to the score."""
    p = model().predict(cohort().data, "2024-01-31")
    row = int(np.argmax(p.probability))
    parts = p.explain(row)
    assert len(parts) == len(model().terms)
    assert abs(sum(c.log_odds for c in parts) + model().intercept - p.log_odds[row]) < 1e-9
    assert abs(parts[0].log_odds) >= abs(parts[-1].log_odds)
    text = str(parts[0])
    assert ": +" in text or ": -" in text


def test_missing_signals_get_their_own_effect_and_curves_may_fall() -> None:
    """Inputs with gaps carry a learned no-data effect; some curves go down (no sign rule)."""
    m = model()
    assert any(t.has_missing and t.missing_coefficient != 0 for t in m.terms)
    falling = [t for t in m.terms if t.curve()[-1][1] < t.curve()[0][1] - 0.1]
    assert falling


def test_inputs_flag_sources_without_rows() -> None:
    """Each extra source adds a 'nothing in it' flag; indicators give uncapped measurements."""
    x = model_inputs(cohort().data, "2024-01-31")
    names = [s.name for s in x.specs]
    assert "no_rows:complaints" in names
    interval = x.column("indicator:interval_extension")
    assert np.nanmax(np.sign(interval) * np.expm1(np.abs(interval))) > 1.0  # beyond +100 %


def test_isotonic_and_uncalibrated_models_train() -> None:
    """Every calibration method gives probabilities in (0, 1) that keep the ranking."""
    for method in ("isotonic", "none"):
        m = train_risk_model(cohort().data, TRAIN[:1], calibration=method)
        p = m.predict(cohort().data, "2024-01-31")
        assert ((p.probability > 0) & (p.probability < 1)).all()
        assert m.calibration.method == method
