"""The trained risk model on the backtest bench (a :class:`~rfm_retention.metrics.Scorer`)."""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np

from rfm_retention.data import PatientData
from rfm_retention.metrics._backtest import Scores
from rfm_retention.model._risk_model import RiskModel
from rfm_retention.risk._policy import SPEC_CUTOFFS, levels_from_scores

__all__ = ["ModelScorer"]


@attrs.frozen
class ModelScorer:
    """Scores patients by the model's P(churn); levels from ``100 x P`` and the usual cut-offs.

    The backtest refuses dates before :attr:`labels_until` (and so does the
    model itself), so a model cannot be judged on outcomes it learned from.

    Example:
        >>> from rfm_retention.testing import synthetic_cohort
        >>> from rfm_retention.metrics import backtest
        >>> from rfm_retention.model import train_risk_model
        >>> cohort = synthetic_cohort(600, seed=6)
        >>> model = train_risk_model(cohort.data, ["2023-03-31"])
        >>> bt = backtest(cohort.data, ["2023-09-30"], scorer=ModelScorer(model))
        >>> bt.results[0].method, bool(bt.results[0].auc > 0.6)
        ('trained model', True)
    """

    model: RiskModel
    label: str = ""

    @property
    def name(self) -> str:
        """Label in reports."""
        return self.label or "trained model"

    @property
    def labels_until(self) -> dt.date:
        """The last day the model's labels read: the earliest date it may be judged."""
        return self.model.training.labels_until

    def score(self, data: PatientData, at: dt.date) -> Scores:
        """P(churn) of the visit log's patients as of ``at``."""
        prediction = self.model.predict(data, at)
        seen = np.isin(prediction.patient_id, data.visits.patient_ids)
        p = prediction.probability[seen]
        level = levels_from_scores(100.0 * p, SPEC_CUTOFFS)
        return Scores.of(prediction.patient_id[seen], p, level, probability=p)

