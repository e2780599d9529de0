"""Lifetime models: lifetimes' fits reproduced, honest probabilities, clear errors."""

from __future__ import annotations

import json
import math
import pathlib
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.btyd import (
    BGNBDModel,
    GammaGammaModel,
    MBGNBDModel,
    ParetoNBDModel,
    VisitModel,
)
from rfm_retention.btyd._special import digamma, gammaln, log_hyp2f1
from rfm_retention.errors import ConfigError, NotFittedError, ValidationError

REFERENCE = json.loads(
    (pathlib.Path(__file__).parent / "fixtures" / "btyd_reference.json").read_text()
)
SUMMARY = {k: np.asarray(v, dtype=np.float64) for k, v in REFERENCE["summary"].items()}
HEAD = {k: v[: REFERENCE["prediction_rows"]] for k, v in SUMMARY.items()}
HORIZON = REFERENCE["horizon"]
VISIT_MODELS: dict[str, type[VisitModel]] = {
    "bgnbd": BGNBDModel,
    "mbgnbd": MBGNBDModel,
    "paretonbd": ParetoNBDModel,
}
_FITTED: dict[str, Any] = {}


def _fitted(name: str) -> Any:
    if name not in _FITTED:
        model = GammaGammaModel() if name == "gammagamma" else VISIT_MODELS[name]()
        _FITTED[name] = model.fit(SUMMARY)
    return _FITTED[name]


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "paretonbd", "gammagamma"])
def test_parameters_equal_lifetimes_on_cdnow(name: str) -> None:
    """Each fit on lifetimes' CDNOW summary gives lifetimes' parameters to 1e-3 relative."""
    expected = REFERENCE["models"][name]["params"]
    fitted = _fitted(name).params_
    assert set(fitted) == set(expected)
    for key, value in expected.items():
        assert fitted[key] == pytest.approx(value, rel=1e-3), key


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "paretonbd"])
def test_predictions_equal_lifetimes_on_cdnow(name: str) -> None:
    """P(alive) and expected purchases match lifetimes' for the same customers."""
    model = _fitted(name)
    reference = REFERENCE["models"][name]
    np.testing.assert_allclose(model.p_active(HEAD), reference["p_alive"], rtol=2e-3, atol=1e-4)
    np.testing.assert_allclose(
        model.expected_visits(HEAD, HORIZON), reference["expected_purchases"], rtol=2e-3
    )
    if "p_no_purchase" in reference:
        np.testing.assert_allclose(
            model.p_no_visit(HEAD, HORIZON), reference["p_no_purchase"], rtol=2e-3, atol=1e-4
        )


def test_expected_spend_equals_lifetimes_on_cdnow() -> None:
    """Gamma-Gamma's expected spend per visit matches lifetimes' expected average profit."""
    model = _fitted("gammagamma")
    np.testing.assert_allclose(
        model.expected_mean_spend(HEAD),
        REFERENCE["models"]["gammagamma"]["expected_mean_spend"],
        rtol=1e-3,
    )


def test_one_visit_patients_can_be_gone_only_in_mbgnbd() -> None:
    """BG/NBD keeps every one-visit customer active; MBG/NBD lets them age out."""
    once = SUMMARY["frequency"] == 0
    assert np.all(_fitted("bgnbd").p_active(SUMMARY)[once] == 1.0)
    mbg = _fitted("mbgnbd").p_active(SUMMARY)[once]
    assert np.all(mbg < 1.0)
    assert float(mbg.mean()) < 0.7


def _simulate_mbgnbd(
    n: int, params: tuple[float, float, float, float], age: float, horizon: float, seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Histories up to ``age`` and whether each customer bought in (age, age + horizon]."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    alive = rng.random(n) >= drop  # MBG/NBD: a chance to leave right after the first purchase
    now = np.zeros(n)
    count = np.zeros(n)
    last = np.zeros(n)
    later = np.zeros(n, bool)
    while alive.any():
        now = np.where(alive, now + rng.exponential(1.0, n) / rate, now)
        bought = alive & (now <= age + horizon)
        in_history = bought & (now <= age)
        count += in_history
        last = np.where(in_history, now, last)
        later |= bought & (now > age)
        alive = bought & (rng.random(n) >= drop)
    summary = {"frequency": count, "recency": last, "T": np.full(n, age)}
    return summary, ~later


def test_mbgnbd_recovers_simulated_parameters_and_is_calibrated() -> None:
    """On data drawn from MBG/NBD, the fit finds the truth and P(no visit) matches what happens."""
    truth = (0.8, 6.0, 1.2, 4.0)
    summary, quiet = _simulate_mbgnbd(40_000, truth, age=52.0, horizon=26.0, seed=7)
    model = MBGNBDModel().fit(summary)
    for key, value in zip(("r", "alpha", "a", "b"), truth, strict=True):
        assert model.params_[key] == pytest.approx(value, rel=0.2), key
    predicted = model.p_no_visit(summary, 26.0)
    assert abs(float(predicted.mean()) - float(quiet.mean())) < 0.01
    deciles = np.quantile(predicted, np.linspace(0, 1, 11))
    which = np.clip(np.searchsorted(deciles, predicted, side="right") - 1, 0, 9)
    for k in range(10):
        chosen = which == k
        if chosen.sum() > 500:
            assert abs(float(predicted[chosen].mean()) - float(quiet[chosen].mean())) < 0.03


@given(
    row=st.integers(0, len(SUMMARY["frequency"]) - 1),
    short=st.floats(0.5, 50.0),
    extra=st.floats(0.5, 200.0),
    name=st.sampled_from(["bgnbd", "mbgnbd", "paretonbd"]),
)
def test_predictions_are_probabilities_that_move_with_the_horizon(
    row: int, short: float, extra: float, name: str
) -> None:
    """Probabilities stay in [0, 1]; a longer horizon means more visits and less chance of none."""
    model = _fitted(name)
    one = {k: v[row : row + 1] for k, v in SUMMARY.items()}
    p = float(model.p_active(one)[0])
    assert 0.0 <= p <= 1.0
    near, far = (float(model.p_no_visit(one, t)[0]) for t in (short, short + extra))
    assert 0.0 <= far <= near + 1e-12 <= 1.0 + 1e-12
    assert far >= 1.0 - p - 1e-9  # a patient who is gone never visits
    few, many = (float(model.expected_visits(one, t)[0]) for t in (short, short + extra))
    assert 0.0 <= few <= many + 1e-12


@pytest.mark.parametrize("model", [BGNBDModel(), MBGNBDModel(), ParetoNBDModel()])
def test_using_a_model_before_fit_raises_not_fitted(model: VisitModel) -> None:
    """Predicting before fit is a NotFittedError that says to call fit."""
    with pytest.raises(NotFittedError, match="fit"):
        model.p_active(HEAD)
    with pytest.raises(NotFittedError, match="fit"):
        GammaGammaModel().expected_mean_spend(HEAD)
    assert "not fitted" in repr(model)


def test_bad_summary_rows_are_named() -> None:
    """Negative, fractional or inconsistent rows are a ValidationError naming each row."""
    bad = {
        "frequency": np.array([1.0, 2.5, 0.0, 3.0]),
        "recency": np.array([5.0, 4.0, 2.0, 9.0]),
        "T": np.array([10.0, 10.0, 10.0, 8.0]),
    }
    with pytest.raises(ValidationError) as caught:
        BGNBDModel().fit(bad)
    assert caught.value.rows == (1, 2, 3)
    assert {i.field for i in caught.value.issues} == {"frequency", "recency", "T"}


def test_summary_without_repeat_visits_is_refused() -> None:
    """Without any repeat visit there is nothing to learn, and the error says so."""
    once = {"frequency": np.zeros(5), "recency": np.zeros(5), "T": np.arange(5.0) + 1}
    with pytest.raises(ConfigError, match="repeat visit"):
        MBGNBDModel().fit(once)


def test_missing_column_and_bad_horizon_are_config_errors() -> None:
    """A summary without T, or a horizon that is not a positive number, is a ConfigError."""
    with pytest.raises(ConfigError, match="'T'"):
        BGNBDModel().fit({"frequency": [1], "recency": [1]})
    with pytest.raises(ConfigError, match="positive"):
        _fitted("bgnbd").p_no_visit(HEAD, -1.0)


def test_special_functions_match_closed_forms() -> None:
    """log-gamma, digamma and 2F1 agree with the standard library and closed forms."""
    x = np.geomspace(1e-3, 1e4, 200)
    np.testing.assert_allclose(gammaln(x), [math.lgamma(v) for v in x], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(digamma(x + 1.0), digamma(x) + 1.0 / x, rtol=1e-12, atol=1e-12)
    euler_gamma = 0.5772156649015329
    np.testing.assert_allclose(
        digamma([1.0, 0.5]), [-euler_gamma, -euler_gamma - 2 * math.log(2)], rtol=1e-13
    )
    z = np.linspace(0.0, 0.99, 50)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_form = np.where(z > 0, np.log(-np.log1p(-z) / np.where(z > 0, z, 1.0)), 0.0)
    np.testing.assert_allclose(log_hyp2f1(1.0, 1.0, 2.0, z), log_form, atol=1e-13)
    np.testing.assert_allclose(
        log_hyp2f1(3.5, 40.0, 40.0, z), -3.5 * np.log1p(-z), rtol=1e-12, atol=1e-12
    )
