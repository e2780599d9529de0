"""Average precision, Brier, log-loss and decile calibration error, by hand and as properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.errors import ConfigError
from rfm_retention.metrics import (
    average_precision,
    brier_score,
    decile_calibration_error,
    log_loss,
)
from rfm_retention.model import fit_calibration

probabilities = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60)


def test_average_precision_by_hand() -> None:
    """Positives at ranks 1 and 3: (1 + 2/3) / 2; a full tie gives the base rate."""
    assert average_precision([4, 3, 2, 1], [1, 0, 1, 0]) == pytest.approx(5 / 6)
    assert average_precision([1, 1, 1, 1], [1, 0, 0, 0]) == pytest.approx(0.25)
    assert np.isnan(average_precision([1, 2], [0, 0]))


def test_brier_and_log_loss_by_hand() -> None:
    """Brier of certain, right answers is 0; log-loss of 0.5 is log 2."""
    assert brier_score([1.0, 0.0], [1, 0]) == 0.0
    assert brier_score([0.2, 0.2], [1, 0]) == pytest.approx((0.64 + 0.04) / 2)
    assert log_loss([0.5], [1]) == pytest.approx(np.log(2))


def test_calibration_error_by_hand() -> None:
    """Predicting 0.5 for two groups that leave at 0 % and 100 % is off by 0.5."""
    p = [0.5] * 4
    assert decile_calibration_error(p, [0, 0, 1, 1], groups=2) == pytest.approx(0.5)


def test_probabilities_outside_0_1_are_refused() -> None:
    """A probability above 1 is a ConfigError, not a silent number."""
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        brier_score([1.2], [1])


@given(probabilities, st.data())
def test_scores_are_bounded(p: list[float], data: st.DataObject) -> None:
    """Brier and calibration error lie in [0, 1]; average precision in (0, 1]."""
    y = data.draw(st.lists(st.integers(0, 1), min_size=len(p), max_size=len(p)))
    assert 0.0 <= brier_score(p, y) <= 1.0
    assert 0.0 <= decile_calibration_error(p, y) <= 1.0
    if sum(y):
        assert 0.0 < average_precision(p, y) <= 1.0 + 1e-12


@given(st.lists(st.integers(-50, 50), min_size=2, max_size=40, unique=True), st.data())
def test_average_precision_depends_on_order_only(z: list[int], data: st.DataObject) -> None:
    """A strictly increasing transform of the score leaves average precision unchanged."""
    y = data.draw(st.lists(st.integers(0, 1), min_size=len(z), max_size=len(z)))
    s = np.array(z)
    assert average_precision(s, y) == pytest.approx(average_precision(np.exp(s / 10) * 3 + 1, y),
                                                    nan_ok=True)


def test_platt_calibration_fixes_overconfident_odds() -> None:
    """Log-odds twice too large are shrunk back: calibration error falls."""
    rng = np.random.default_rng(3)
    z = rng.normal(0, 1.5, 5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-z))).astype(float)
    raw = 1 / (1 + np.exp(-2 * z))
    cal = fit_calibration(2 * z, y, "platt")
    assert cal.slope == pytest.approx(0.5, abs=0.08)
    fixed = cal.probability(2 * z)
    assert decile_calibration_error(fixed, y) < decile_calibration_error(raw, y) / 2


def test_isotonic_calibration_is_non_decreasing() -> None:
    """The isotonic map never lowers the probability of a higher log-odds."""
    rng = np.random.default_rng(4)
    z = rng.normal(0, 1, 800)
    y = (rng.random(800) < 1 / (1 + np.exp(-z))).astype(float)
    cal = fit_calibration(z, y, "isotonic")
    grid = np.linspace(-4, 4, 200)
    assert (np.diff(cal.probability(grid)) >= -1e-12).all()
