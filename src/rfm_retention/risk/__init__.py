"""Churn early warning: indicators, risk-level policies, the trainable score and the scan.

The flow: :func:`scan` runs every :class:`Indicator` on a
:class:`~rfm_retention.data.PatientData` bundle as of a date, a
:class:`RiskPolicy` grades each patient, and the result is a
:class:`WarningList` sorted worst first, each :class:`PatientWarning`
carrying its level, score, primary reason and the evidence behind it.
"""

from rfm_retention.risk._care_intervals import (
    DIABETES,
    HYPERTENSION,
    SPEC_CARE_INTERVALS,
    CareIntervals,
    CareNorm,
)
from rfm_retention.risk._indicator import (
    Indicator,
    IndicatorBase,
    IndicatorResult,
    Measurement,
)
from rfm_retention.risk._odds import ChurnEstimator, ChurnOdds, LifetimeOdds, trailing_year_spend
from rfm_retention.risk._panel import IndicatorPanel, SkippedIndicator, evaluate
from rfm_retention.risk._policy import (
    SPEC_CUTOFFS,
    ExplainingPolicy,
    RiskAssessment,
    RiskPolicy,
    WorstOf,
)
from rfm_retention.risk._records import WarningRecord, read_warnings_csv
from rfm_retention.risk._registry import IndicatorSet, default_indicators
from rfm_retention.risk._rows import SourceRows, months_before
from rfm_retention.risk._rules import SPEC_RULE_TABLE, Condition, Rule, RulePolicy
from rfm_retention.risk._scan import (
    DEFAULT_LAPSED_AFTER_DAYS,
    default_policy,
    scan,
    warnings_from_panel,
)
from rfm_retention.risk._score import SPEC_WEIGHTS, ScorePolicy
from rfm_retention.risk._snapshot import Snapshot
from rfm_retention.risk._training import CoefficientReport, LearnedScorePolicy, ScoreTrainer
from rfm_retention.risk._warnings import (
    Change,
    IndicatorReading,
    PatientExplanation,
    PatientWarning,
    ResolvedWarning,
    WarningList,
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
from rfm_retention.vocabulary import Dimension, ReasonCode, RiskLevel

__all__ = [
    "DEFAULT_LAPSED_AFTER_DAYS",
    "DIABETES",
    "HYPERTENSION",
    "SPEC_CARE_INTERVALS",
    "SPEC_CUTOFFS",
    "SPEC_RULE_TABLE",
    "SPEC_WEIGHTS",
    "CareIntervals",
    "CareNorm",
    "Change",
    "ChurnEstimator",
    "ChurnOdds",
    "CoefficientReport",
    "ComplaintHandling",
    "Complaints",
    "Condition",
    "CourseNotCompleted",
    "Dimension",
    "ExplainingPolicy",
    "FrequencyDrop",
    "Indicator",
    "IndicatorBase",
    "IndicatorPanel",
    "IndicatorReading",
    "IndicatorResult",
    "IndicatorSet",
    "IntervalExtension",
    "LearnedScorePolicy",
    "LifetimeOdds",
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
    "RiskAssessment",
    "RiskLevel",
    "RiskPolicy",
    "Rule",
    "RulePolicy",
    "ScorePolicy",
    "ScoreTrainer",
    "SkippedIndicator",
    "Snapshot",
    "SourceRows",
    "SpendDrop",
    "WarningList",
    "WarningRecord",
    "WorstOf",
    "default_indicators",
    "default_policy",
    "evaluate",
    "months_before",
    "read_warnings_csv",
    "scan",
    "trailing_year_spend",
    "warnings_from_panel",
]
