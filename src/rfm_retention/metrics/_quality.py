"""Probability and ranking quality beyond AUC: average precision, Brier, log-loss, calibration.

* **Average precision** (area under the precision-recall curve, step form):
  the mean, over positives, of the precision at that positive's rank; tied
  scores count as one block (everyone tied shares the block's precision), so
  the order rows happen to be in never matters. The figure a team working a
  list from the top feels; the base rate for a random order.
* **Brier score**: mean squared difference between the predicted probability
  and the 0/1 outcome. Always predicting the base rate ``r`` scores
  ``r (1 - r)``: a model below that has learned something about *who*.
* **Log-loss**: mean negative log-likelihood (probabilities clipped to
  ``[1e-6, 1 - 1e-6]``).
* **Decile calibration error**: sort by predicted probability, cut into ten
  equal-size groups, and average ``|mean predicted - share who left|`` over
  the groups (weighted by size). 0.03 means the stated odds are three points
  off on average.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from rfm_retention._arrays import FloatArray
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._ranking import paired

__all__ = ["average_precision", "brier_score", "decile_calibration_error", "log_loss"]

_EPS = 1e-6


def _pair(score: Any, outcome: Any) -> tuple[FloatArray, FloatArray]:
    s, y = paired(score, outcome)
    if np.isnan(s).any():
        raise ConfigError("scores must not be NaN")
    return s, y.astype(np.float64)


def _probabilities(probability: Any, outcome: Any) -> tuple[FloatArray, FloatArray]:
    p, y = _pair(probability, outcome)
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ConfigError("probabilities must lie in [0, 1]")
    return p, y


def average_precision(score: Any, outcome: Any) -> float:
    """Area under the precision-recall curve, tie blocks shared (NaN with no positive).

    Examples:
        >>> average_precision([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0])
        0.8333333333333333
    """
    s, y = _pair(score, outcome)
    n_pos = float(y.sum())
    if n_pos == 0:
        return float("nan")
    distinct, inverse = np.unique(-s, return_inverse=True)  # ascending -s: riskiest first
    pos_per = np.bincount(inverse, weights=y, minlength=len(distinct))
    all_per = np.bincount(inverse, minlength=len(distinct)).astype(np.float64)
    precision_at_block = np.cumsum(pos_per) / np.cumsum(all_per)
    return float((pos_per * precision_at_block).sum() / n_pos)


def brier_score(probability: Any, outcome: Any) -> float:
    """Mean squared error of the probabilities (NaN when empty).

    Examples:
        >>> brier_score([0.5, 0.5], [1, 0])
        0.25
    """
    p, y = _probabilities(probability, outcome)
    return float(np.mean((p - y) ** 2)) if p.size else float("nan")


def log_loss(probability: Any, outcome: Any) -> float:
    """Mean negative log-likelihood, probabilities clipped to [1e-6, 1 - 1e-6].

    Examples:
        >>> round(log_loss([0.5, 0.5], [1, 0]), 4)
        0.6931
    """
    p, y = _probabilities(probability, outcome)
    if not p.size:
        return float("nan")
    q = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def decile_calibration_error(probability: Any, outcome: Any, groups: int = 10) -> float:
    """Size-weighted mean ``|predicted - observed|`` over ``groups`` equal-size probability groups.

    Patients are ordered by probability (ties in input order, which does not
    change any group's mean prediction, only which tied patients share it).

    Examples:
        >>> decile_calibration_error([0.1] * 10 + [0.9] * 10, [0] * 9 + [1] + [1] * 9 + [0],
        ...                          groups=2)
        0.0
    """
    p, y = _probabilities(probability, outcome)
    n = p.shape[0]
    if n == 0:
        return float("nan")
    order = np.argsort(p, kind="stable")
    edges = np.linspace(0, n, min(groups, n) + 1).round().astype(np.int64)
    gap = 0.0
    for lo, hi in itertools.pairwise(edges):
        if hi > lo:
            rows = order[lo:hi]
            gap += (hi - lo) * abs(float(p[rows].mean()) - float(y[rows].mean()))
    return float(gap / n)
