"""The weighted score policy: behaviour 40 %, experience 30 %, efficacy 20 %, reputation 10 %.

How the score is built, exactly:

1. **Dimension score.** For each patient and dimension, the *largest* severity
   among that dimension's indicators that have a signal for the patient (0-1).
   The maximum, not a sum, because indicators of one dimension are different
   views of the same thing (an interval extension and a frequency drop are
   usually the same lapse): two correlated signals should not count twice.
   A dimension where *no* indicator has a signal has **no data** (NaN).
2. **Re-weighting.** The score is the weighted mean over the dimensions that
   have data: ``100 * sum(w_d * D_d) / sum(w_d)`` with both sums over those
   dimensions only. A hospital without a follow-up system is not given a
   silent 0 for efficacy (which would pull every score down); its 20 % is
   shared out in proportion among the dimensions it does have. A patient with
   no data in any dimension scores 0.
3. **Level.** 80 and above high, 60-80 medium, 40-60 low (the cut-offs are a
   parameter).

Each step is monotone, so a worse signal never lowers the score.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._frozen import frozen_mapping
from rfm_retention.errors import ConfigError
from rfm_retention.risk._panel import IndicatorPanel
from rfm_retention.risk._policy import (
    SPEC_CUTOFFS,
    RiskAssessment,
    check_cutoffs,
    levels_from_scores,
)
from rfm_retention.risk._registry import IndicatorSet
from rfm_retention.vocabulary import Dimension

__all__ = ["SPEC_WEIGHTS", "ScorePolicy", "dimension_scores"]

SPEC_WEIGHTS: Mapping[Dimension, float] = frozen_mapping({
    Dimension.BEHAVIOUR: 0.4,
    Dimension.EXPERIENCE: 0.3,
    Dimension.EFFICACY: 0.2,
    Dimension.REPUTATION: 0.1,
})
"""The documents' weights: behaviour 40 %, experience 30 %, efficacy 20 %, reputation 10 %."""

DIMENSIONS: tuple[Dimension, ...] = tuple(Dimension)


def dimension_scores(panel: IndicatorPanel) -> npt.NDArray[np.float64]:
    """Per dimension (rows, in :class:`Dimension` order) and patient: max severity, NaN = no data.

    Example:
        >>> from rfm_retention.data import PatientData, VisitLog
        >>> log = VisitLog.from_arrays(patient_id=[1, 1], amount=[10, 10],
        ...     visit_time=["2024-01-01", "2024-02-01"])
        >>> from rfm_retention.risk._panel import evaluate
        >>> dimension_scores(evaluate(PatientData(visits=log), "2024-03-01"))[:, 0].tolist()
        [0.0, nan, nan, nan]
    """
    return panel.remember("dimension_scores", lambda: _dimension_scores(panel))


def _dimension_scores(panel: IndicatorPanel) -> npt.NDArray[np.float64]:
    out = np.empty((len(DIMENSIONS), len(panel)))
    for d, dim in enumerate(DIMENSIONS):
        rows = panel.dimension_rows(dim)
        best = out[d]  # each row is written once, in place (no full-matrix fill first)
        if not rows:
            best.fill(np.nan)
            continue
        best.fill(-1.0)
        for k in rows:
            r = panel.results[k]
            np.maximum(best, np.where(r.signal, r.severity, -1.0), out=best)
        best[best < 0] = np.nan
    out.flags.writeable = False
    return out


def _normalised(
    weights: Mapping[Dimension, float] | Mapping[str, float],
) -> Mapping[Dimension, float]:
    out: dict[Dimension, float] = {}
    for key, w in weights.items():
        try:
            dim = Dimension(key)
        except ValueError:
            known = ", ".join(d.value for d in Dimension)
            raise ConfigError(f"unknown dimension {key!r} in weights; known: {known}") from None
        if not np.isfinite(w) or w < 0:
            raise ConfigError(f"weight of {dim.value} must be a finite number >= 0, got {w!r}")
        out[dim] = float(w)
    total = sum(out.values())
    if total <= 0:
        raise ConfigError("at least one dimension weight must be > 0")
    return frozen_mapping({d: out.get(d, 0.0) / total for d in DIMENSIONS})


@attrs.frozen
class ScorePolicy:
    """Weighted 0-100 risk score over the four dimensions, graded by cut-offs.

    See the module docstring for the exact combination and the re-weighting
    of dimensions without data.

    Attributes:
        weights: weight per dimension (>= 0, normalised to sum 1; a dimension
            left out weighs 0).
        cutoffs: (high, medium, low) score thresholds.

    Example:
        >>> policy = ScorePolicy(weights={"behaviour": 0.5, "experience": 0.5})
        >>> round(policy.weights[Dimension.BEHAVIOUR], 2)
        0.5
    """

    name: ClassVar[str] = "score"

    weights: Mapping[Dimension, float] = attrs.field(default=SPEC_WEIGHTS, converter=_normalised)
    cutoffs: tuple[float, float, float] = attrs.field(default=SPEC_CUTOFFS, converter=check_cutoffs)

    def validate(self, indicators: IndicatorSet) -> None:
        """Any indicator set will do: dimensions without indicators are "no data"."""

    def scores(self, panel: IndicatorPanel) -> npt.NDArray[np.float64]:
        """0-100 score of every patient of ``panel`` (remembered per panel and weights)."""
        key = tuple(self.weights.get(d, 0.0) for d in DIMENSIONS)
        return panel.remember(("scores", key), lambda: self._scores(panel))

    def _scores(self, panel: IndicatorPanel) -> npt.NDArray[np.float64]:
        dims = dimension_scores(panel)
        covered = np.zeros(dims.shape[1])
        total = np.zeros(dims.shape[1])
        # Dimension by dimension: the same additions in the same order as summing
        # the weighted (dimension, patient) matrix down its columns, without
        # building weighted copies of the whole matrix.
        for d, dim in enumerate(DIMENSIONS):
            w = float(self.weights.get(dim, 0.0))
            if not w > 0:
                continue
            has = ~np.isnan(dims[d])
            covered += np.where(has, w, 0.0)
            total += np.where(has, w * dims[d], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(covered > 0, 100.0 * total / covered, 0.0)
        out: npt.NDArray[np.float64] = np.clip(score, 0.0, 100.0)
        out.flags.writeable = False
        return out

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """Score every patient and grade the scores by :attr:`cutoffs`."""
        score = self.scores(panel)
        return RiskAssessment(levels_from_scores(score, self.cutoffs), score,
                              patients=panel.patients)
