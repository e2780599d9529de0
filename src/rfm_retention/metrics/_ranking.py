"""How well a risk score ranks patients who then left: AUC, precision at k, lift, lead time.

Plain functions over arrays (a score per patient, a 0/1 outcome per patient),
so they score the library's warning list, a host's own model or the naive
baseline alike. Higher score = more at risk.

Ties are handled exactly, never by the order rows happen to be in:

* **AUC** is the Mann-Whitney statistic with mid-ranks: the probability that
  a random positive scores above a random negative, a tie counting one half.
  ``AUC = (R+ - n+(n+ + 1)/2) / (n+ * n-)``, ``R+`` the sum of the positives'
  mid-ranks. NaN when either class is empty.
* **Precision at k** is the *expected* share of positives among the top
  ``k`` when ties straddling the cut are broken at random: patients strictly
  above the cut count fully, the tied group at the cut contributes its
  positive share times the places left.
* **Lift at a fraction** (top decile by default) is the precision in the top
  ``ceil(fraction * n)`` patients divided by the base rate (positives / n).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray
from rfm_retention.errors import ConfigError

__all__ = ["auc", "lift_at", "median_or_nan", "precision_at_k", "precision_recall", "recall_at_k"]


def paired(score: Any, outcome: Any) -> tuple[FloatArray, npt.NDArray[Any]]:
    """Scores as floats beside the outcomes as given; ConfigError unless one of each per patient."""
    s = np.asarray(score, np.float64)
    y = np.asarray(outcome)
    if s.ndim != 1 or s.shape != y.shape:
        raise ConfigError(f"score and outcome need one value per patient ({s.shape} vs {y.shape})")
    return s, y


def _check(score: Any, outcome: Any) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    s, y = paired(score, outcome)
    if np.isnan(s).any():
        raise ConfigError(f"{int(np.isnan(s).sum())} score(s) are NaN; rank needs a number each")
    return s, y.astype(bool)


def auc(score: Any, outcome: Any) -> float:
    """Area under the ROC curve, ties counting one half (see the module docstring).

    Examples:
        >>> auc([0.9, 0.8, 0.8, 0.1], [1, 1, 0, 0])
        0.875
    """
    s, y = _check(score, outcome)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mid_ranks = ends - (counts - 1) / 2.0  # 1-based mid-rank of each distinct value
    rank_sum = float(mid_ranks[inverse.reshape(-1)][y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def _expected_hits_top(s: FloatArray, y: npt.NDArray[np.bool_], k: int) -> float:
    """Expected positives among the top ``k`` with random tie-breaking at the cut."""
    if k <= 0:
        return 0.0
    if k >= len(s):
        return float(y.sum())
    cut = np.sort(s)[::-1][k - 1]
    above = s > cut
    tied = s == cut
    places = k - int(above.sum())
    return float(y[above].sum()) + places * float(y[tied].sum()) / float(tied.sum())


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k must be a positive whole number, got {k!r}")


def precision_at_k(score: Any, outcome: Any, k: int) -> float:
    """Expected share of positives among the ``k`` highest scores (``k`` capped at n).

    Examples:
        >>> precision_at_k([5, 4, 4, 1], [1, 1, 0, 0], k=2)
        0.75
    """
    _check_k(k)
    s, y = _check(score, outcome)
    if len(s) == 0:
        return float("nan")
    top = min(int(k), len(s))
    return _expected_hits_top(s, y, top) / top


def recall_at_k(score: Any, outcome: Any, k: int) -> float:
    """Expected share of all positives found among the ``k`` highest scores.

    ``recall = expected positives in the top k / all positives`` (ties at the
    cut broken at random, as for :func:`precision_at_k`); NaN without positives.

    Examples:
        >>> recall_at_k([5, 4, 3, 1], [1, 0, 1, 1], k=2)
        0.3333333333333333
    """
    _check_k(k)
    s, y = _check(score, outcome)
    positives = int(y.sum())
    if positives == 0:
        return float("nan")
    return _expected_hits_top(s, y, min(int(k), len(s))) / positives


def lift_at(score: Any, outcome: Any, fraction: float = 0.1) -> float:
    """Precision in the top ``fraction`` of patients ÷ the base rate (top decile by default).

    Examples:
        >>> lift_at([9, 8, 7, 6, 5, 4, 3, 2, 1, 0], [1, 0, 0, 0, 1, 0, 0, 0, 0, 0], 0.1)
        5.0
    """
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction!r}")
    s, y = _check(score, outcome)
    positives = int(y.sum())
    if len(s) == 0 or positives == 0:
        return float("nan")
    top = max(1, math.ceil(fraction * len(s)))
    return (_expected_hits_top(s, y, top) / top) / (positives / len(s))


def precision_recall(flagged: Any, outcome: Any) -> tuple[float, float]:
    """(precision, recall) of a yes/no flag: ``TP / flagged``, ``TP / positives`` (NaN if 0/0).

    Examples:
        >>> precision_recall([True, True, False, False], [1, 0, 1, 0])
        (0.5, 0.5)
    """
    f = np.asarray(flagged, bool)
    y = np.asarray(outcome, bool)
    if f.shape != y.shape:
        raise ConfigError("flagged and outcome need one value per patient")
    tp = int((f & y).sum())
    n_flag, n_pos = int(f.sum()), int(y.sum())
    return (
        tp / n_flag if n_flag else float("nan"),
        tp / n_pos if n_pos else float("nan"),
    )


def median_or_nan(values: Any) -> float:
    """Median of the values, NaN when there are none."""
    arr = np.asarray(values, np.float64)
    return float(np.median(arr)) if arr.size else float("nan")
