"""Scorers that put the library's own warning system on the backtest bench.

:class:`ScanScorer` runs :func:`rfm_retention.risk.scan` at each scan date and
ranks patients the way staff work the warning list: by level first, then by
score within a level (``rank key = 1000 * level + score``). Its flags are the
list's levels.
"""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np

from rfm_retention.data.bundle import PatientData
from rfm_retention.metrics.backtest import Scores
from rfm_retention.risk.policy import RiskPolicy
from rfm_retention.risk.registry import IndicatorSet
from rfm_retention.risk.scan import default_policy, scan

__all__ = ["ScanScorer"]

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
    def name(self) -> str:
        """Label in reports."""
        if self.label:
            return self.label
        return f"scan: {(self.policy or default_policy(self.indicators)).name}"

    def score(self, data: PatientData, at: dt.date) -> Scores:
        """Scan ``data`` as of ``at``; every patient of the panel gets a level and a score."""
        warnings = scan(data, at, self.indicators, self.policy)
        assessment = warnings.assessment
        level = assessment.level.astype(np.int64)
        key = _LEVEL_WEIGHT * level + np.nan_to_num(assessment.score, nan=0.0)
        return Scores.of(warnings.panel.patients, key, level)
