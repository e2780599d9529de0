"""lifetime_scores: one call from a visit log to per-patient lifetime-model scores."""

from __future__ import annotations

import pathlib

import attrs
import numpy as np
import pytest

from rfm_retention.btyd import (
    LIFETIME_MODELS,
    GammaGammaModel,
    LifetimeScorer,
    LifetimeScores,
    MBGNBDModel,
    lifetime_scores,
)
from rfm_retention.cli import main
from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.testing import synthetic_cohort

AS_OF = "2024-06-30"


@pytest.fixture(scope="module")
def visits() -> VisitLog:
    return synthetic_cohort(600, seed=3).data.visits


@pytest.mark.parametrize("model", sorted(LIFETIME_MODELS))
def test_scores_are_aligned_with_the_feature_table(visits: VisitLog, model: str) -> None:
    """Every array follows visits.features(as_of).patient_id and holds sensible values."""
    scores = lifetime_scores(visits, AS_OF, horizon_days=90, model=model)
    ids = visits.features(AS_OF).patient_id
    assert scores.patient_id.tolist() == ids.tolist()
    for name in ("p_active", "expected_visits", "p_no_visit", "expected_spend_12m"):
        values = getattr(scores, name)
        assert values.dtype == np.float64, name
        assert values.shape == ids.shape, name
        assert np.all(np.isfinite(values)), name
        assert np.all(values >= 0), name
    assert np.all(scores.p_active <= 1)
    assert np.all(scores.p_no_visit <= 1)
    assert scores.model == model
    assert scores.horizon_days == 90
    assert isinstance(scores.visit_model, LIFETIME_MODELS[model])


def test_scores_are_frozen_and_carry_fitted_models(visits: VisitLog) -> None:
    """The result cannot be changed and its models are fitted, ready to score other summaries."""
    scores = lifetime_scores(visits, AS_OF, horizon_days=30)
    assert isinstance(scores, LifetimeScores)
    assert len(scores) == scores.patient_id.shape[0]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        scores.model = "bgnbd"  # type: ignore[misc]
    assert isinstance(scores.visit_model, MBGNBDModel)
    assert isinstance(scores.spend_model, GammaGammaModel)
    summary = visits.btyd_summary(AS_OF)
    np.testing.assert_allclose(scores.p_no_visit, scores.visit_model.p_no_visit(summary, 30))
    assert list(scores.to_columns()) == [
        "patient_id", "p_active", "expected_visits", "p_no_visit", "expected_spend_12m"
    ]


def test_lapsed_patients_score_higher_than_recent_ones(visits: VisitLog) -> None:
    """Patients quiet for a year are more likely to stay away than patients seen last week."""
    scores = lifetime_scores(visits, AS_OF, horizon_days=90)
    quiet = visits.features(AS_OF).days_since_last_visit
    assert scores.p_no_visit[quiet > 365].mean() > scores.p_no_visit[quiet < 7].mean() + 0.2


def test_spend_without_amounts_is_zero() -> None:
    """A log whose amounts are all zero expects no spend and fits no spend model."""
    log = VisitLog.from_arrays(
        patient_id=["a", "a", "a", "b", "b", "c", "d", "d", "e"],
        visit_time=["2024-01-02", "2024-02-01", "2024-03-01", "2024-01-10", "2024-01-20",
                    "2024-01-05", "2024-02-10", "2024-03-20", "2024-03-25"],
        amount=[0.0] * 9,
    )
    scores = lifetime_scores(log, "2024-03-31", horizon_days=60, model="bgnbd")
    assert scores.spend_model is None
    assert scores.expected_spend_12m.tolist() == [0.0] * 5
    assert np.all((scores.p_no_visit >= 0) & (scores.p_no_visit <= 1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon_days": 90, "model": "weibull"}, "bgnbd, mbgnbd, paretonbd"),
        ({"horizon_days": 0}, "at least 1"),
        ({"horizon_days": 7.5}, "whole number"),
    ],
)
def test_bad_arguments_are_config_errors(visits: VisitLog, kwargs: dict[str, object],
                                         message: str) -> None:
    """An unknown model or a horizon that is not a positive whole number is a ConfigError."""
    with pytest.raises(ConfigError, match=message):
        lifetime_scores(visits, AS_OF, **kwargs)  # type: ignore[arg-type]


def test_no_patient_before_as_of_is_a_config_error(visits: VisitLog) -> None:
    """Scoring before the first visit says there is nothing to fit."""
    with pytest.raises(ConfigError, match="no patient"):
        lifetime_scores(visits, "1990-01-01", horizon_days=90)


def test_backtest_command_lists_the_lifetime_model(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """backtest --lifetime adds the untrained lifetime model beside the scan and the baseline."""
    assert main(["sample", "--out", str(tmp_path), "--patients", "300"]) == 0
    capsys.readouterr()
    assert main(["backtest", "--visits", str(tmp_path / "visits.csv"), "--at", "2024-06-30",
                 "--lifetime", "mbgnbd", "--population", "all", "--out", "-"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "lifetime model (mbgnbd)" in line]
    assert len(rows) == 1
    assert "baseline: days since last visit" in out


def test_lifetime_scorer_refuses_an_unknown_model() -> None:
    """LifetimeScorer names the models it knows when given another."""
    with pytest.raises(ConfigError, match="mbgnbd"):
        LifetimeScorer(model="weibull")
