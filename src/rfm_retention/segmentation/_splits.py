"""Split strategies: how one dimension (R, F or M) is cut into levels.

The source documents split each dimension into high and low without saying
where "high" starts. A strategy answers that question for one dimension, so a
host can compose them freely: recency by a fixed 90 days, frequency by the
median, spend by per-department quintiles.

Every strategy sees values in the dimension's own unit and is told which
direction is better (recency: fewer days is better), so "high" always means
"good for the hospital" and recency is reversed for free.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.errors import ConfigError
from rfm_retention.segmentation._cuts import Cuts
from rfm_retention.segmentation._ties import balanced_starts, distinct_counts

__all__ = [
    "FLAG_LABELS",
    "FixedScores",
    "FixedSplit",
    "MedianSplit",
    "QuantileSplit",
    "ScoreSplit",
    "Split",
    "spread_labels",
]

FLAG_LABELS = (0, 1)
"""Labels of a low/high split: 0 = low, 1 = high."""


@runtime_checkable
class Split(Protocol):
    """A way to cut one dimension into labelled levels.

    ``labels`` lists every label the strategy can produce (so a segment map
    can be checked against it before anything is fitted); ``fit`` learns cut
    points from one population's values.
    """

    @property
    def labels(self) -> tuple[int, ...]:
        """Every label this strategy can give, worst first."""
        ...

    def fit(self, values: npt.NDArray[np.float64], *, higher_is_better: bool) -> Cuts:
        """Cut points learned from ``values`` (finite, at least one)."""
        ...


def _quantile_cut(
    values: npt.NDArray[np.float64], q: float, higher_is_better: bool
) -> Cuts:
    # The share ``q`` of patients at the worse end is low: for recency that is
    # the (1 - q)-quantile of days, with the same linear interpolation.
    cut = float(np.quantile(values, q if higher_is_better else 1.0 - q))
    return Cuts(edges=(cut,), labels=FLAG_LABELS, higher_is_better=higher_is_better, strict=True)


@attrs.frozen
class QuantileSplit:
    """Low/high at a quantile: only values strictly better than the cut are high.

    ``q`` is the share of patients at the worse end that is meant to be low
    (``q=0.8``: the best 20 % are high). For recency the cut is the
    ``(1 - q)``-quantile of days and "better" means fewer days. Values equal to
    the cut are low, so ties never straddle it; with heavy ties the high share
    is smaller than ``1 - q`` rather than arbitrary.

    Example:
        >>> import numpy as np
        >>> cuts = QuantileSplit(0.8).fit(np.arange(1.0, 11.0), higher_is_better=True)
        >>> cuts.edges, cuts.apply(np.array([8.0, 9.0, 10.0])).tolist()
        ((8.2,), [0, 1, 1])
    """

    q: float = attrs.field()

    @q.validator
    def _check(self, _: object, value: float) -> None:
        if not (isinstance(value, int | float) and 0.0 < value < 1.0):
            raise ConfigError(f"a quantile split needs 0 < q < 1, got {value!r}")

    @property
    def labels(self) -> tuple[int, ...]:
        """Low (0) and high (1)."""
        return FLAG_LABELS

    def fit(self, values: npt.NDArray[np.float64], *, higher_is_better: bool) -> Cuts:
        """Cut at the quantile of ``values``."""
        return _quantile_cut(values, self.q, higher_is_better)


@attrs.frozen
class MedianSplit:
    """Low/high at the median: high means strictly better than the median patient.

    The classic split of the source documents' eight segments. Recency:
    days below the median are high. Frequency and spend: values above the
    median are high. A patient exactly at the median is low, so when most
    patients have one visit, one visit is low and two or more are high.

    Example:
        >>> import numpy as np
        >>> visits = np.array([1.0, 1, 1, 1, 2, 3, 5])
        >>> MedianSplit().fit(visits, higher_is_better=True).apply(visits).tolist()
        [0, 0, 0, 0, 1, 1, 1]
    """

    @property
    def labels(self) -> tuple[int, ...]:
        """Low (0) and high (1)."""
        return FLAG_LABELS

    def fit(self, values: npt.NDArray[np.float64], *, higher_is_better: bool) -> Cuts:
        """Cut at the median of ``values``."""
        return _quantile_cut(values, 0.5, higher_is_better)


def _threshold(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"a fixed threshold must be a finite number, got {value!r}")
    return float(value)


@attrs.frozen
class FixedSplit:
    """Low/high at a threshold the host chooses, in the dimension's unit; nothing to learn.

    Inclusive on the good side: ``FixedSplit(90)`` on recency makes a patient
    seen within the last 90 days (``days <= 90``) high; ``FixedSplit(3)`` on
    visits makes three or more visits high; ``FixedSplit(5000)`` on spend makes
    5,000 or more high.

    Example:
        >>> import numpy as np
        >>> days = np.array([10.0, 90.0, 91.0])
        >>> FixedSplit(90).fit(days, higher_is_better=False).apply(days).tolist()
        [1, 1, 0]
    """

    threshold: float = attrs.field(converter=_threshold)

    @property
    def labels(self) -> tuple[int, ...]:
        """Low (0) and high (1)."""
        return FLAG_LABELS

    def fit(self, values: npt.NDArray[np.float64], *, higher_is_better: bool) -> Cuts:
        """The threshold itself (``values`` only fixes nothing; it is ignored)."""
        return Cuts(edges=(self.threshold,), labels=FLAG_LABELS, higher_is_better=higher_is_better)


def _thresholds(value: Sequence[float]) -> tuple[float, ...]:
    out = tuple(_threshold(v) for v in value)
    if not out:
        raise ConfigError("fixed scores need at least one threshold")
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise ConfigError(f"fixed score thresholds must be strictly ascending, got {out}")
    return out


@attrs.frozen
class FixedScores:
    """Scores 1..len(thresholds)+1 from host-chosen thresholds, best score for the best values.

    Thresholds are ascending in the dimension's unit and inclusive on the good
    side, like :class:`FixedSplit`. For recency, ``FixedScores((30, 90, 180,
    365))`` scores 5 for ``days <= 30``, 4 for ``days <= 90``, ... and 1 beyond
    365 days.

    Example:
        >>> import numpy as np
        >>> days = np.array([0.0, 30, 31, 200, 1000])
        >>> FixedScores((30, 90, 180, 365)).fit(days, higher_is_better=False).apply(days).tolist()
        [5, 5, 4, 2, 1]
    """

    thresholds: tuple[float, ...] = attrs.field(converter=_thresholds)

    @property
    def labels(self) -> tuple[int, ...]:
        """Scores 1 (worst) to ``len(thresholds) + 1`` (best)."""
        return tuple(range(1, len(self.thresholds) + 2))

    def fit(self, values: npt.NDArray[np.float64], *, higher_is_better: bool) -> Cuts:
        """The thresholds themselves; ``values`` is ignored."""
        return Cuts(edges=self.thresholds, labels=self.labels, higher_is_better=higher_is_better)


def spread_labels(levels: int, k: int) -> tuple[int, ...]:
    """Scores for ``levels`` levels on a 1..k scale: 1 and k at the ends, the rest spread evenly.

    When ties leave fewer levels than scores, the best level still scores
    ``k`` and the worst still scores 1, so a score map's "5 = best" stays true.
    A single level (everyone tied) gets the middle score ``(k + 1) // 2``.

    Example:
        >>> spread_labels(5, 5), spread_labels(2, 5), spread_labels(3, 5), spread_labels(1, 5)
        ((1, 2, 3, 4, 5), (1, 5), (1, 3, 5), (3,))
    """
    if levels == 1:
        return ((k + 1) // 2,)
    span = levels - 1
    return tuple(1 + (2 * j * (k - 1) + span) // (2 * span) for j in range(levels))


@attrs.frozen
class ScoreSplit:
    """Classic 1..k scores (k=5: quintiles), best values scoring k, under the tie rule.

    The levels come from :mod:`rfm_retention.segmentation._ties`: equal values
    always share a score, the result does not depend on row order, and when
    ties make k equal bins impossible there are still as many levels as there
    are distinct values (up to k), as balanced as possible (least sum of
    squared level sizes). Fewer levels than ``k`` are labelled with
    :func:`spread_labels`. Recency is reversed: the most recent patients
    score k.

    Example:
        >>> import numpy as np
        >>> visits = np.array([1.0, 1, 1, 1, 1, 1, 2, 2, 3, 4, 7])
        >>> ScoreSplit(5).fit(visits, higher_is_better=True).apply(visits).tolist()
        [1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 5]
    """

    k: int = attrs.field(default=5)

    @k.validator
    def _check(self, _: object, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 9:
            raise ConfigError(f"scores run from 1 to k with 2 <= k <= 9, got k={value!r}")

    @property
    def labels(self) -> tuple[int, ...]:
        """Scores 1..k."""
        return tuple(range(1, self.k + 1))

    def fit(self, values: npt.NDArray[np.float64], *, higher_is_better: bool) -> Cuts:
        """Cut points that put every distinct value in one level, levels balanced."""
        # Work in "better is higher" order so the rule's tie-breaks mean the same
        # thing for every dimension, then express the edges in the natural unit.
        oriented = values if higher_is_better else -values
        distinct, counts = distinct_counts(oriented)
        starts = balanced_starts(distinct, counts, self.k)
        labels = spread_labels(len(starts) + 1, self.k)
        if higher_is_better:
            edges = tuple(float(e) for e in distinct[starts])
        else:
            # level j starts at oriented value distinct[s]: days <= -distinct[s]
            edges = tuple(sorted(float(-e) for e in distinct[starts]))
        return Cuts(edges=edges, labels=labels, higher_is_better=higher_is_better)
