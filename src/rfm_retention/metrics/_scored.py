"""Every method's scores beside what happened, at one scan date: the input of the curves.

:func:`~rfm_retention.metrics._backtest` reduces each method to a few numbers
(AUC, precision at ``k``, lift). A picture needs the whole ranking: the ROC
curve, precision at every ``k``, and the observed leaving rate per score
decile. :func:`scored_outcomes` replays the methods and the baseline at one
date under the same no-peeking rules as the backtest (data cut at the scan
date, population and outcome from :func:`~rfm_retention.metrics.outcome_labels`)
and keeps each method's score of every judged patient.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Literal

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray
from rfm_retention.data import PatientData
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._backtest import DaysSinceLastVisit, Scorer, _aligned
from rfm_retention.metrics._replay import ChurnOutcome, data_until, outcome_labels
from rfm_retention.time import TimeLike, day_end, day_number, to_date

__all__ = ["ScoredOutcomes", "scored_outcomes"]


@attrs.frozen(eq=False)
class ScoredOutcomes:
    """Each method's score of every judged patient at ``at``, and who left.

    Attributes:
        at: the scan date.
        patient_id: the judged population (sorted ids).
        positive: True for a patient who left within the outcome's horizon.
        scores: method name -> score per patient (higher = riskier); a patient a
            method did not score gets ``-inf`` (ranked last).
        baseline: the name of the comparison method among ``scores``.
        probabilities: method name -> stated P(churn) per patient, for the
            methods whose :class:`~rfm_retention.metrics.Scores` carry a
            ``probability`` (a patient it did not score gets its lowest one).

    Examples:
        >>> s = ScoredOutcomes(dt.date(2024, 1, 1), np.array(["a", "b", "c", "d"]),
        ...     np.array([True, False, True, False]),
        ...     {"m": np.array([0.9, 0.1, 0.8, 0.3]), "b": np.array([1.0, 2.0, 3.0, 4.0])}, "b")
        >>> s.precision_at("m", [1, 2, 4]).tolist()
        [1.0, 1.0, 0.5]
        >>> fpr, tpr = s.roc("m")
        >>> fpr.tolist(), tpr.tolist()
        ([0.0, 0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0, 1.0])
    """

    at: dt.date
    patient_id: IdArray
    positive: npt.NDArray[np.bool_]
    scores: Mapping[str, FloatArray]
    baseline: str
    probabilities: Mapping[str, FloatArray] = attrs.field(factory=dict)

    @property
    def methods(self) -> tuple[str, ...]:
        """Method names, the baseline last."""
        return (*(m for m in self.scores if m != self.baseline), self.baseline)

    @property
    def base_rate(self) -> float:
        """Share of the population that left: the precision of calling at random."""
        return float(self.positive.mean()) if len(self.positive) else float("nan")

    def _ranked(self, method: str) -> npt.NDArray[np.bool_]:
        if method not in self.scores:
            raise KeyError(f"no method {method!r}; known: {list(self.scores)}")
        order = np.lexsort((self.patient_id, -self.scores[method]))
        ranked: npt.NDArray[np.bool_] = self.positive[order]
        return ranked

    def roc(self, method: str) -> tuple[FloatArray, FloatArray]:
        """False- and true-positive rates at every distinct score threshold, from (0, 0) to (1, 1).

        Tied scores move together (one step, diagonal), so the curve does not
        depend on the order of equal scores.
        """
        score = self.scores[method]
        order = np.argsort(-score, kind="stable")
        s, y = score[order], self.positive[order]
        last_of_tie = np.append(s[1:] != s[:-1], True)
        tp = np.cumsum(y)[last_of_tie]
        fp = np.cumsum(~y)[last_of_tie]
        pos, neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
        fpr = np.concatenate(([0.0], fp / neg)).astype(np.float64)
        tpr = np.concatenate(([0.0], tp / pos)).astype(np.float64)
        return fpr, tpr

    def precision_at(self, method: str, ks: Sequence[int] | npt.NDArray[np.int64]) -> FloatArray:
        """Precision among the top ``k`` patients, for each ``k`` (capped at the population)."""
        hits = np.cumsum(self._ranked(method))
        k = np.clip(np.asarray(ks, np.int64), 1, max(len(hits), 1))
        if not len(hits):
            return np.full(len(k), np.nan)
        out: FloatArray = hits[k - 1] / k
        return out

    def by_decile(self, method: str, bins: int = 10) -> tuple[FloatArray, FloatArray]:
        """Mean score and observed leaving rate of each score bin (equal-size bins, riskiest last).

        With probability scores (every score in ``[0, 1]``) the two should
        agree: that is the calibration curve.
        """
        order = np.lexsort((self.patient_id, self.scores[method]))
        parts = np.array_split(order, bins)
        keep = [p for p in parts if len(p)]
        mean_score = np.array([self.scores[method][p].mean() for p in keep], np.float64)
        observed = np.array([self.positive[p].mean() for p in keep], np.float64)
        return mean_score, observed

    def predicted_by_decile(self, method: str, bins: int = 10) -> FloatArray | None:
        """Mean predicted P(churn) of each score bin (the bins of :meth:`by_decile`), or None.

        The method's stated ``probability`` when it gave one; else its scores
        when they all lie in ``[0, 1]``; else None (a ranking states no
        probability).
        """
        if method in self.probabilities:
            predicted = self.probabilities[method]
        elif self.is_probability(method):
            predicted = self.scores[method]
        else:
            return None
        order = np.lexsort((self.patient_id, self.scores[method]))
        parts = [p for p in np.array_split(order, bins) if len(p)]
        return np.array([predicted[p].mean() for p in parts], np.float64)

    def is_probability(self, method: str) -> bool:
        """Whether every finite score of ``method`` lies in ``[0, 1]``."""
        s = self.scores[method]
        s = s[np.isfinite(s)]
        return bool(len(s)) and bool((s >= 0).all() and (s <= 1).all())


def scored_outcomes(
    data: PatientData,
    at: TimeLike,
    *,
    scorer: Scorer | Sequence[Scorer],
    baseline: Scorer | None = None,
    outcome: ChurnOutcome | None = None,
    population: Literal["active", "all"] = "active",
    observed_until: TimeLike | None = None,
) -> ScoredOutcomes:
    """Replay the methods and the baseline at ``at`` and keep every score beside the outcome.

    Same rules as :func:`~rfm_retention.metrics._backtest` for one date: the
    methods see the data cut at the end of ``at``; the population and who left
    come from :func:`~rfm_retention.metrics.outcome_labels`.

    Examples:
        >>> from rfm_retention.metrics import Scores
        >>> from rfm_retention.testing import synthetic_cohort
        >>> cohort = synthetic_cohort(300, seed=3)
        >>> class Rare:
        ...     name = "rare visitors"
        ...     def score(self, data, at):
        ...         f = data.visits.features(at)
        ...         return Scores.of(f.patient_id, -f.visits_per_year)
        >>> s = scored_outcomes(cohort.data, "2023-06-30", scorer=Rare())
        >>> s.methods
        ('rare visitors', 'baseline: days since last visit')
        >>> len(s.patient_id) == len(s.positive) == len(s.scores["rare visitors"])
        True
    """
    methods = [scorer] if isinstance(scorer, Scorer) else list(scorer)
    base = baseline if baseline is not None else DaysSinceLastVisit()
    names = [m.name for m in methods] + [base.name]
    if not methods or len(set(names)) != len(names):
        raise ConfigError(f"give one or more methods with distinct names, got {names}")
    visits = data.visits
    if len(visits) == 0:
        raise ConfigError("the visit log is empty: nothing to score")
    day = day_number(at)
    last_day = int(visits.time.max().astype("datetime64[D]").astype(np.int64))
    observed = last_day if observed_until is None else day_number(observed_until)
    labels = outcome_labels(visits, day, outcome or ChurnOutcome(),
                            observed_until_day=observed, population=population)
    when = to_date(day)
    past = data_until(data, day_end(day))
    scores: dict[str, FloatArray] = {}
    probabilities: dict[str, FloatArray] = {}
    for m in [*methods, base]:
        score, _, probability = _aligned(m.score(past, when), labels.patient_id)
        scores[m.name] = score
        if probability is not None:
            probabilities[m.name] = probability
    return ScoredOutcomes(when, labels.patient_id, labels.positive, scores, base.name,
                          probabilities)
