"""Scorers that put the library's own warning system on the backtest bench.

:class:`ScanScorer` runs :func:`rfm_retention.risk._scan` at each scan date and
ranks patients the way staff work the warning list: by level first, then by
score within a level (``rank key = 1000 * level + score``). Its flags are the
policy's levels. It scores every patient the backtest ranks, with the scan's
early-warning window off: a patient last seen more than a year before is
ranked by what the indicators say about them (usually high: a long silence),
not dropped or pushed to the bottom, because the window decides who goes on
the staff's list, not how likely a patient is to leave. (The backtest's
``"active"`` population already leaves out patients who have lapsed.)

:func:`fit_learned_score` trains the risk package's trainable score with the
backtest's own labels, without leakage: it learns from the indicators as of
a training date and the outcomes of the horizon after it (read from visits up
to the horizon's end and no further). The policy records that last day
(``labels_until``) and :class:`ScanScorer` exposes it, so the backtest
refuses to judge the policy at any earlier date, whatever the caller passed
as ``evaluate_from``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import attrs
import numpy as np

from rfm_retention.data._bundle import PatientData
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._backtest import Scores
from rfm_retention.metrics._replay import ChurnOutcome, data_until, outcome_labels
from rfm_retention.risk._policy import RiskPolicy
from rfm_retention.risk._registry import IndicatorSet
from rfm_retention.risk._scan import default_policy, scan
from rfm_retention.risk._training import LearnedScorePolicy, ScoreTrainer
from rfm_retention.time import TimeLike, day_end, day_number, to_date

__all__ = ["ScanScorer", "fit_learned_score"]

_LEVEL_WEIGHT = 1000.0


@attrs.frozen
class ScanScorer:
    """The risk scan as a backtest :class:`~rfm_retention.metrics.Scorer`.

    Attributes:
        policy: the risk policy (default: the scan's default, the worse of the
            rule table and the weighted score).
        indicators: the indicators (default: every built-in).
        label: the name in reports (default ``"scan: <policy name>"``).

    Examples:
        >>> from rfm_retention.testing import synthetic_cohort
        >>> from rfm_retention.metrics import backtest
        >>> cohort = synthetic_cohort(300, seed=5)
        >>> bt = backtest(cohort.data, ["2023-06-30"], scorer=ScanScorer())
        >>> bt.results[0].method
        'scan: worst(rules, score)'
    """

    policy: RiskPolicy | None = None
    indicators: IndicatorSet | None = None
    label: str = ""

    @property
    def labels_until(self) -> dt.date | None:
        """The last day a trained policy's labels read (None for hand-set policies)."""
        until = getattr(self.policy, "labels_until", None)
        return until if isinstance(until, dt.date) else None

    @property
    def name(self) -> str:
        """Label in reports."""
        if self.label:
            return self.label
        return f"scan: {(self.policy or default_policy(self.indicators)).name}"

    def score(self, data: PatientData, at: dt.date) -> Scores:
        """Scan ``data`` as of ``at``; every patient of the panel gets a level and a score."""
        warnings = scan(data, day_end(at), self.indicators, self.policy, lapsed_after_days=None)
        assessment = warnings.assessment
        level = assessment.level.astype(np.int64)
        score = np.nan_to_num(assessment.score, nan=0.0)
        key = _LEVEL_WEIGHT * level + score
        # A trained score's 0-100 is 100 x P(churn): it states a probability.
        stated = np.clip(score / 100.0, 0.0, 1.0) if self.labels_until is not None else None
        return Scores.of(warnings.panel.patients, key, level, probability=stated)


def fit_learned_score(
    data: PatientData,
    train_at: TimeLike,
    *,
    evaluate_from: TimeLike,
    outcome: ChurnOutcome | None = None,
    trainer: ScoreTrainer | None = None,
    indicators: IndicatorSet | None = None,
    population: Literal["active", "all"] = "active",
) -> LearnedScorePolicy:
    """Fit the trainable score at ``train_at`` for evaluation from ``evaluate_from`` on.

    The training population and labels are those a backtest at ``train_at``
    would use (same :class:`~rfm_retention.metrics.ChurnOutcome`, same
    population), read only from visits up to the horizon's end; the indicators
    see the data cut at ``train_at``. The policy records that last day as
    ``labels_until`` and the backtest will not judge it earlier. Raises
    ConfigError when the training horizon would run past ``evaluate_from``
    (the labels would leak into the evaluation period).

    Examples:
        >>> from rfm_retention.testing import synthetic_cohort
        >>> from rfm_retention.metrics import backtest
        >>> cohort = synthetic_cohort(400, seed=8)
        >>> learned = fit_learned_score(cohort.data, "2023-03-31", evaluate_from="2023-09-30")
        >>> learned.name
        'learned'
        >>> bt = backtest(cohort.data, ["2023-09-30"], scorer=ScanScorer(learned))
        >>> bt.results[0].method
        'scan: learned'
    """
    outcome = outcome or ChurnOutcome()
    train_day, eval_day = day_number(train_at), day_number(evaluate_from)
    if train_day + outcome.horizon_days > eval_day:
        raise ConfigError(
            f"training at {to_date(train_day)} with a {outcome.horizon_days}-day horizon reads "
            f"outcomes up to {to_date(train_day + outcome.horizon_days)}, after the first "
            f"evaluation date {to_date(eval_day)}; train earlier or shorten the horizon"
        )
    labels_end = train_day + outcome.horizon_days
    labels = outcome_labels(
        data.visits, train_day, outcome, observed_until_day=labels_end, population=population
    )
    when = day_end(train_day)  # the day's instant, handed on without converting again
    past = data_until(data, when)
    policy = (trainer or ScoreTrainer()).fit(
        past, when, (labels.patient_id, labels.positive), indicators
    )
    return attrs.evolve(policy, labels_until=to_date(labels_end))
