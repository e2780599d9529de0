"""What a risk policy is, what it returns, and the worst-of combinator.

Indicators say *what* is happening; a policy turns their results into one
risk level (and a 0-100 score) per patient. Policies are separate from
indicators so a hospital can change how it grades risk without touching how
signals are measured.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.errors import ConfigError
from rfm_retention.risk._panel import IndicatorPanel
from rfm_retention.risk._registry import IndicatorSet
from rfm_retention.vocabulary import RiskLevel

__all__ = ["SPEC_CUTOFFS", "RiskAssessment", "RiskPolicy", "WorstOf", "levels_from_scores"]

SPEC_CUTOFFS: tuple[float, float, float] = (80.0, 60.0, 40.0)
"""Score cut-offs (high, medium, low): 80 and above high, 60-80 medium, 40-60 low."""


@attrs.frozen(eq=False)
class RiskAssessment:
    """A policy's verdict for every patient of a panel.

    Attributes:
        level: ``RiskLevel`` values (int8), one per patient.
        score: 0-100 per patient (higher is riskier).
    """

    level: npt.NDArray[np.int8]
    score: npt.NDArray[np.float64]

    def __attrs_post_init__(self) -> None:
        if self.level.shape != self.score.shape:
            raise ConfigError("assessment: level and score must have one entry per patient")


@runtime_checkable
class RiskPolicy(Protocol):
    """The plug-in contract for grading risk.

    ``validate(indicators)`` is called once before a scan with the indicator
    set it will see, so a policy can refuse to run on indicators it does not
    know (raise ConfigError); ``assess(panel)`` grades every patient.

    Example:
        A policy that only trusts fired efficacy signals::

            class EfficacyFirst:
                name = "efficacy_first"
                def validate(self, indicators): ...
                def assess(self, panel):
                    fired = panel.matrix("fired")[panel.dimension_rows(Dimension.EFFICACY)]
                    level = np.where(fired.any(axis=0), RiskLevel.HIGH, RiskLevel.NONE)
                    return RiskAssessment(level.astype(np.int8), 100.0 * fired.mean(axis=0))
    """

    @property
    def name(self) -> str:
        """Short name for output ("rules", "score")."""
        ...

    def validate(self, indicators: IndicatorSet) -> None:
        """Raise ConfigError if this policy cannot grade with ``indicators``."""
        ...

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """Level and score of every patient of ``panel``."""
        ...


def levels_from_scores(
    score: npt.NDArray[np.float64], cutoffs: tuple[float, float, float] = SPEC_CUTOFFS
) -> npt.NDArray[np.int8]:
    """Risk levels from 0-100 scores: ``score >= high`` -> HIGH, and so on down.

    Example:
        >>> levels_from_scores(np.array([85.0, 60.0, 59.9, 10.0])).tolist()
        [3, 2, 1, 0]
    """
    high, medium, low = cutoffs
    level = np.full(score.shape, RiskLevel.NONE, np.int8)
    level[score >= low] = RiskLevel.LOW
    level[score >= medium] = RiskLevel.MEDIUM
    level[score >= high] = RiskLevel.HIGH
    return level


def check_cutoffs(cutoffs: tuple[float, float, float]) -> tuple[float, float, float]:
    """Validate (high, medium, low) cut-offs: 0 <= low <= medium <= high <= 100."""
    if len(cutoffs) != 3:
        raise ConfigError(f"cut-offs must be (high, medium, low), got {cutoffs!r}")
    high, medium, low = (float(c) for c in cutoffs)
    if not (0 <= low <= medium <= high <= 100):
        raise ConfigError(f"cut-offs must satisfy 0 <= low <= medium <= high <= 100: {cutoffs}")
    return high, medium, low


def _policies(items: Iterable[RiskPolicy]) -> tuple[RiskPolicy, ...]:
    return tuple(items)


@attrs.frozen
class WorstOf:
    """The worse verdict of several policies: highest level, highest score.

    Example:
        >>> from rfm_retention.risk._rules import RulePolicy
        >>> from rfm_retention.risk._score import ScorePolicy
        >>> WorstOf((RulePolicy.spec(), ScorePolicy())).name
        'worst(rules, score)'
    """

    policies: tuple[RiskPolicy, ...] = attrs.field(converter=_policies)

    def __attrs_post_init__(self) -> None:
        if not self.policies:
            raise ConfigError("WorstOf needs at least one policy")

    @property
    def name(self) -> str:
        """``worst(a, b)``."""
        return f"worst({', '.join(p.name for p in self.policies)})"

    def validate(self, indicators: IndicatorSet) -> None:
        """Every combined policy must accept ``indicators``."""
        for p in self.policies:
            p.validate(indicators)

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """Element-wise maximum of the policies' levels and scores."""
        verdicts = [p.assess(panel) for p in self.policies]
        level = np.max(np.vstack([v.level for v in verdicts]), axis=0).astype(np.int8)
        score = np.max(np.vstack([v.score for v in verdicts]), axis=0)
        return RiskAssessment(level, score)
