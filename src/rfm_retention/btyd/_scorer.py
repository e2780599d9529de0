"""The untrained lifetime model as a backtest method.

:class:`LifetimeScorer` plugs :func:`~rfm_retention.btyd.lifetime_scores` into
:func:`rfm_retention.metrics._backtest`: at each scan date it fits the model to
the visits up to that day (no labels) and scores each patient with
P(no visit in the horizon), which is also its stated churn probability.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import attrs

from rfm_retention.btyd._scores import LIFETIME_MODELS, lifetime_scores
from rfm_retention.errors import ConfigError
from rfm_retention.time import day_end

if TYPE_CHECKING:
    from rfm_retention.data import PatientData
    from rfm_retention.metrics import Scores

__all__ = ["LifetimeScorer"]


def _known_model(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in LIFETIME_MODELS:
        raise ConfigError(f"model must be one of {', '.join(LIFETIME_MODELS)}, not {value!r}")


@attrs.frozen
class LifetimeScorer:
    """Backtest method: a lifetime model fitted at each date, scoring P(no visit in the horizon).

    Use the outcome's horizon so the probability answers the backtest's question.

    Example:
        >>> from rfm_retention.metrics import backtest
        >>> from rfm_retention.testing import synthetic_cohort
        >>> cohort = synthetic_cohort(400, seed=3)
        >>> bt = backtest(cohort.data, ["2023-09-30"], scorer=LifetimeScorer(horizon_days=90))
        >>> print(" | ".join(r.method for r in bt.results))
        lifetime model (mbgnbd) | baseline: days since last visit
        >>> bt.results[0].auc > 0.5
        True
    """

    horizon_days: int = 90
    model: str = attrs.field(default="mbgnbd", validator=_known_model)

    @property
    def name(self) -> str:
        """Label in reports: ``lifetime model (<model>)``."""
        return f"lifetime model ({self.model})"

    def score(self, data: PatientData, at: dt.date) -> Scores:
        """Fit on the visits up to ``at`` and score P(no visit in ``horizon_days``)."""
        from rfm_retention.metrics import Scores

        s = lifetime_scores(data.visits, day_end(at), horizon_days=self.horizon_days,
                            model=self.model)  # the day's instant, not a conversion
        return Scores.of(s.patient_id, s.p_no_visit, probability=s.p_no_visit)
