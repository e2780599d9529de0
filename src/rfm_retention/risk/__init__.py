"""Churn early warning: indicators, risk-level policies, the trainable score and the scan.

The flow: :func:`scan` runs every :class:`Indicator` on a
:class:`~rfm_retention.data.PatientData` bundle as of a date, a
:class:`RiskPolicy` grades each patient, and the result is a
:class:`WarningList` sorted worst first, each :class:`PatientWarning`
carrying its level, score, primary reason and the evidence behind it.
"""

from rfm_retention.risk._odds import ChurnEstimator, ChurnOdds, trailing_year_spend
from rfm_retention.risk._rows import SourceRows, months_before
from rfm_retention.risk.care_intervals import (
    DIABETES,
    HYPERTENSION,
    SPEC_CARE_INTERVALS,
    CareIntervals,
    CareNorm,
)
from rfm_retention.risk.indicator import (
    Indicator,
    IndicatorBase,
    IndicatorResult,
    Measurement,
)
from rfm_retention.risk.indicators import (
    ComplaintHandling,
    Complaints,
    CourseNotCompleted,
    FrequencyDrop,
    IntervalExtension,
    LowReputation,
    LowSatisfaction,
    NoShows,
    PoorOutcome,
    RehabilitationLag,
    SpendDrop,
)
from rfm_retention.risk.levels import Dimension, ReasonCode, RiskLevel
from rfm_retention.risk.panel import IndicatorPanel, SkippedIndicator, evaluate
from rfm_retention.risk.policy import SPEC_CUTOFFS, Assessment, RiskPolicy, WorstOf
from rfm_retention.risk.registry import IndicatorSet, default_indicators
from rfm_retention.risk.rules import SPEC_RULE_TABLE, Condition, Rule, RulePolicy
from rfm_retention.risk.scan import (
    DEFAULT_LAPSED_AFTER_DAYS,
    default_policy,
    scan,
    warnings_from_panel,
)
from rfm_retention.risk.score import SPEC_WEIGHTS, ScorePolicy
from rfm_retention.risk.warnings import (
    Change,
    IndicatorReading,
    PatientExplanation,
    PatientWarning,
    ResolvedWarning,
    WarningList,
)

__all__ = [
    "DEFAULT_LAPSED_AFTER_DAYS",
    "DIABETES",
    "HYPERTENSION",
    "SPEC_CARE_INTERVALS",
    "SPEC_CUTOFFS",
    "SPEC_RULE_TABLE",
    "SPEC_WEIGHTS",
    "Assessment",
    "CareIntervals",
    "CareNorm",
    "Change",
    "ChurnEstimator",
    "ChurnOdds",
    "ComplaintHandling",
    "Complaints",
    "Condition",
    "CourseNotCompleted",
    "Dimension",
    "FrequencyDrop",
    "Indicator",
    "IndicatorBase",
    "IndicatorPanel",
    "IndicatorReading",
    "IndicatorResult",
    "IndicatorSet",
    "IntervalExtension",
    "LowReputation",
    "LowSatisfaction",
    "Measurement",
    "NoShows",
    "PatientExplanation",
    "PatientWarning",
    "PoorOutcome",
    "ReasonCode",
    "RehabilitationLag",
    "ResolvedWarning",
    "RiskLevel",
    "RiskPolicy",
    "Rule",
    "RulePolicy",
    "ScorePolicy",
    "SkippedIndicator",
    "SourceRows",
    "SpendDrop",
    "WarningList",
    "WorstOf",
    "default_indicators",
    "default_policy",
    "evaluate",
    "months_before",
    "scan",
    "trailing_year_spend",
    "warnings_from_panel",
]
