"""Programme KPIs and backtesting of the warning system.

KPIs (each module's docstring holds the exact definition):

* :func:`revisit_rate` / :func:`revisit_rates_by_month`: revisit at 3 and 6
  calendar months, right-censored.
* :func:`monthly_churn`: patients lapsing during a month ÷ active at its
  start, under a :class:`LapseRule`.
* :func:`win_back_rate`, :func:`draw_control_group`, :class:`ControlGroup`,
  :func:`control_win_back`, :func:`win_back_uplift`.
* :func:`satisfaction_trend`, :func:`followup_coverage`,
  :func:`deadline_compliance`.
* :func:`kpi_report`: all of them, month by month; :func:`kpi_report_by`: the
  same per department, team, segment, level or channel, adding up to the whole;
  :func:`causes_by_group`: reasons and complaint categories over-represented where;
  :func:`before_after`: churn and revisit before vs after the programme start;
  :func:`programme_review`: all of them as one :class:`ProgrammeReview`.
* :func:`acquisition_report`, :func:`referral_tree`: new patients per channel,
  their return and cost; who referred whom.

Backtesting: :func:`backtest` replays a :class:`Scorer` (the risk scan, a
trained score, a host's model) at past dates beside the naive
:class:`DaysSinceLastVisit` baseline; :mod:`~rfm_retention.metrics._ranking`
holds the plain-array metrics (AUC, precision at k, lift);
:func:`scored_outcomes` keeps every score of one date for the curves
(ROC, precision at every k, observed rate by score decile).
"""

from rfm_retention.metrics._acquisition import (
    AcquisitionReport,
    ChannelCosts,
    ChannelMonth,
    ReferralTree,
    acquisition_report,
    channel_groups,
    referral_tree,
)
from rfm_retention.metrics._backtest import (
    DEFAULT_K,
    Backtest,
    DaysSinceLastVisit,
    Departures,
    LeadTimes,
    LevelResult,
    MethodResult,
    Scorer,
    Scores,
    backtest,
    departures,
    match_levels,
)
from rfm_retention.metrics._before_after import BeforeAfter, PeriodRate, RateChange, before_after
from rfm_retention.metrics._cases import (
    CaseColumns,
    CaseRecord,
    Compliance,
    Coverage,
    deadline_compliance,
    followup_coverage,
)
from rfm_retention.metrics._causes import (
    NOT_WARNED,
    CauseReport,
    CauseShare,
    GroupCauses,
    causes_by_group,
)
from rfm_retention.metrics._churn import MonthlyChurn, monthly_churn
from rfm_retention.metrics._exclusions import Exclusion, Exclusions
from rfm_retention.metrics._groups import (
    DIMENSIONS,
    MIN_GROUP_SIZE,
    NO_GROUP,
    GroupedKPIReport,
    GroupKPIs,
    PatientGroups,
    kpi_report_by,
    segment_groups,
)
from rfm_retention.metrics._lapse import LapseEvents, LapseRule, lapse_events
from rfm_retention.metrics._quality import (
    average_precision,
    brier_score,
    decile_calibration_error,
    log_loss,
)
from rfm_retention.metrics._ranking import (
    auc,
    lift_at,
    precision_at_k,
    precision_recall,
    recall_at_k,
)
from rfm_retention.metrics._replay import ChurnOutcome, data_until, outcome_labels
from rfm_retention.metrics._report import KPIReport, MonthlyKPIs, kpi_report
from rfm_retention.metrics._review import ProgrammeReview, control_arm, programme_review
from rfm_retention.metrics._revisit import (
    REVISIT_MONTHS,
    RevisitRate,
    revisit_rate,
    revisit_rates_by_month,
)
from rfm_retention.metrics._satisfaction import MonthlySatisfaction, satisfaction_trend
from rfm_retention.metrics._scored import ScoredOutcomes, scored_outcomes
from rfm_retention.metrics._scorers import ScanScorer, fit_learned_score
from rfm_retention.metrics._winback import (
    WIN_BACK_DAYS,
    WIN_BACK_LEVELS,
    ControlGroup,
    Uplift,
    WinBackRate,
    control_win_back,
    difference_interval,
    draw_control_group,
    win_back_rate,
    win_back_uplift,
)

__all__ = [
    "DEFAULT_K",
    "DIMENSIONS",
    "MIN_GROUP_SIZE",
    "NOT_WARNED",
    "NO_GROUP",
    "REVISIT_MONTHS",
    "WIN_BACK_DAYS",
    "WIN_BACK_LEVELS",
    "AcquisitionReport",
    "Backtest",
    "BeforeAfter",
    "CaseColumns",
    "CaseRecord",
    "CauseReport",
    "CauseShare",
    "ChannelCosts",
    "ChannelMonth",
    "ChurnOutcome",
    "Compliance",
    "ControlGroup",
    "Coverage",
    "DaysSinceLastVisit",
    "Departures",
    "Exclusion",
    "Exclusions",
    "GroupCauses",
    "GroupKPIs",
    "GroupedKPIReport",
    "KPIReport",
    "LapseEvents",
    "LapseRule",
    "LeadTimes",
    "LevelResult",
    "MethodResult",
    "MonthlyChurn",
    "MonthlyKPIs",
    "MonthlySatisfaction",
    "PatientGroups",
    "PeriodRate",
    "ProgrammeReview",
    "RateChange",
    "ReferralTree",
    "RevisitRate",
    "ScanScorer",
    "ScoredOutcomes",
    "Scorer",
    "Scores",
    "Uplift",
    "WinBackRate",
    "acquisition_report",
    "auc",
    "average_precision",
    "backtest",
    "before_after",
    "brier_score",
    "causes_by_group",
    "channel_groups",
    "control_arm",
    "control_win_back",
    "data_until",
    "deadline_compliance",
    "decile_calibration_error",
    "departures",
    "difference_interval",
    "draw_control_group",
    "fit_learned_score",
    "followup_coverage",
    "kpi_report",
    "kpi_report_by",
    "lapse_events",
    "lift_at",
    "log_loss",
    "match_levels",
    "monthly_churn",
    "outcome_labels",
    "precision_at_k",
    "precision_recall",
    "programme_review",
    "recall_at_k",
    "referral_tree",
    "revisit_rate",
    "revisit_rates_by_month",
    "satisfaction_trend",
    "scored_outcomes",
    "segment_groups",
    "win_back_rate",
    "win_back_uplift",
]
