"""Patient-lifetime ("buy 'til you die") models: the BTYD summary and the models fitted to it.

:func:`btyd_summary` turns a visit log into the frequency / recency / T /
monetary summary these models read. The visit models (:class:`BGNBDModel`,
:class:`MBGNBDModel`, :class:`ParetoNBDModel`) are fitted to it by maximum
likelihood, without labels, and give each patient's probability of still being
a patient (``p_active``), expected visits in the next ``t`` periods and
probability of no visit in them; :class:`GammaGammaModel` gives the expected
spend per visit. :func:`lifetime_scores` does all of it for a visit log in one
call, and :class:`LifetimeScorer` makes it a method of
:func:`rfm_retention.metrics._backtest`. See the lifetime-models guide for the
formulas and when to use which.
"""

from rfm_retention.btyd._base import MaximumLikelihoodModel, SummaryInput, VisitModel
from rfm_retention.btyd._bgnbd import BGNBDModel, MBGNBDModel
from rfm_retention.btyd._gamma_gamma import GammaGammaModel
from rfm_retention.btyd._pareto_nbd import ParetoNBDModel
from rfm_retention.btyd._scorer import LifetimeScorer
from rfm_retention.btyd._scores import LIFETIME_MODELS, LifetimeScores, lifetime_scores
from rfm_retention.btyd._summary import (
    BTYD_COLUMNS,
    PERIODS,
    BTYDSummary,
    Period,
    btyd_summary,
    period_numbers,
)

__all__ = [
    "BTYD_COLUMNS",
    "LIFETIME_MODELS",
    "PERIODS",
    "BGNBDModel",
    "BTYDSummary",
    "GammaGammaModel",
    "LifetimeScorer",
    "LifetimeScores",
    "MBGNBDModel",
    "MaximumLikelihoodModel",
    "ParetoNBDModel",
    "Period",
    "SummaryInput",
    "VisitModel",
    "btyd_summary",
    "lifetime_scores",
    "period_numbers",
]
