"""The trained churn-risk model: the whole patient picture, additive terms, calibrated odds.

:func:`train_risk_model` learns, from past cut dates and what happened next,
a regularised logistic regression over one piecewise-linear curve per input
(a generalised additive model): the visit features, every indicator's
uncapped measurement with its own "no signal" effect, a "nothing in this
source" flag per source, and optionally a patient-lifetime model's outputs.
The result, a :class:`RiskModel`, gives calibrated P(churn), explains each
patient term by term in log-odds, remembers what it was trained on (and
refuses to score earlier dates), and saves to JSON.

Example:
    >>> from rfm_retention.testing import synthetic_cohort
    >>> cohort = synthetic_cohort(600, seed=1)
    >>> model = train_risk_model(cohort.data, ["2023-03-31"], horizon_days=90)
    >>> prediction = model.predict(cohort.data, "2023-12-31")
    >>> row = int(prediction.probability.argmax())
    >>> len(prediction.explain(row, top=3))
    3
"""

from rfm_retention.model._calibration import CALIBRATIONS, Calibration, fit_calibration
from rfm_retention.model._fit import LogisticFit, fit_logistic
from rfm_retention.model._inputs import LIFETIME_MODELS, ModelInputs, model_inputs
from rfm_retention.model._risk_model import (
    SCHEMA_VERSION,
    RiskModel,
    RiskPrediction,
    TermContribution,
    TrainingRecord,
)
from rfm_retention.model._scorer import ModelScorer
from rfm_retention.model._terms import Term, TermSpec
from rfm_retention.model._train import AUTO_L2_MAX_ROWS, DEFAULT_L2, L2_GRID, train_risk_model

__all__ = [
    "AUTO_L2_MAX_ROWS",
    "CALIBRATIONS",
    "DEFAULT_L2",
    "L2_GRID",
    "LIFETIME_MODELS",
    "SCHEMA_VERSION",
    "Calibration",
    "LogisticFit",
    "ModelInputs",
    "ModelScorer",
    "RiskModel",
    "RiskPrediction",
    "Term",
    "TermContribution",
    "TermSpec",
    "TrainingRecord",
    "fit_calibration",
    "fit_logistic",
    "model_inputs",
    "train_risk_model",
]
