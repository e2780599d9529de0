"""Programme KPIs and backtesting of the warning system.

KPIs (each module's docstring holds the exact definition):

* :func:`revisit_rate` / :func:`revisit_rates_by_month`: revisit at 3 and 6
  calendar months, right-censored.
* :func:`monthly_churn`: patients lapsing during a month ÷ active at its
  start, under a :class:`LapseRule`.
* :func:`win_back_rate`, :func:`draw_control_group`, :func:`win_back_uplift`.
* :func:`satisfaction_trend`, :func:`followup_coverage`,
  :func:`deadline_compliance`.
* :func:`kpi_report`: all of them, month by month.
"""

from rfm_retention.metrics.cases import (
    CaseColumns,
    CaseRecord,
    Compliance,
    Coverage,
    deadline_compliance,
    followup_coverage,
)
from rfm_retention.metrics.churn import MonthlyChurn, monthly_churn
from rfm_retention.metrics.exclusions import Exclusion, Exclusions
from rfm_retention.metrics.lapse import DIAGNOSIS_NORM_DAYS, LapseEvents, LapseRule, lapse_events
from rfm_retention.metrics.report import KPIReport, MonthlyKPIs, kpi_report
from rfm_retention.metrics.revisit import (
    REVISIT_MONTHS,
    RevisitRate,
    revisit_rate,
    revisit_rates_by_month,
)
from rfm_retention.metrics.satisfaction import MonthlySatisfaction, satisfaction_trend
from rfm_retention.metrics.winback import (
    WIN_BACK_DAYS,
    WIN_BACK_LEVELS,
    Uplift,
    WinBackRate,
    draw_control_group,
    win_back_rate,
    win_back_uplift,
)

__all__ = [
    "DIAGNOSIS_NORM_DAYS",
    "REVISIT_MONTHS",
    "WIN_BACK_DAYS",
    "WIN_BACK_LEVELS",
    "CaseColumns",
    "CaseRecord",
    "Compliance",
    "Coverage",
    "Exclusion",
    "Exclusions",
    "KPIReport",
    "LapseEvents",
    "LapseRule",
    "MonthlyChurn",
    "MonthlyKPIs",
    "MonthlySatisfaction",
    "RevisitRate",
    "Uplift",
    "WinBackRate",
    "deadline_compliance",
    "draw_control_group",
    "followup_coverage",
    "kpi_report",
    "lapse_events",
    "monthly_churn",
    "revisit_rate",
    "revisit_rates_by_month",
    "satisfaction_trend",
    "win_back_rate",
    "win_back_uplift",
]
