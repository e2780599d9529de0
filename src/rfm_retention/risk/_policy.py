"""What a risk policy is, what it returns, and the worst-of combinator.

Indicators say *what* is happening; a policy turns their results into one
risk level (and a 0-100 score) per patient. Policies are separate from
indicators so a hospital can change how it grades risk without touching how
signals are measured.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._display import Display
from rfm_retention._tabular import Tabular, row_position
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.risk._panel import IndicatorPanel
from rfm_retention.risk._registry import IndicatorSet
from rfm_retention.vocabulary import RiskLevel

__all__ = [
    "SPEC_CUTOFFS",
    "ExplainingPolicy",
    "RiskAssessment",
    "RiskPolicy",
    "WorstOf",
    "explanations",
    "levels_from_scores",
]

Explanations = tuple[tuple[str, ...], ...]
"""Per patient of a panel (in panel order), the plain-words reasons behind their level."""

SPEC_CUTOFFS: tuple[float, float, float] = (80.0, 60.0, 40.0)
"""Score cut-offs (high, medium, low): 80 and above high, 60-80 medium, 40-60 low."""


@attrs.frozen(eq=False, repr=False)
class RiskAssessment(Tabular):
    """A policy's verdict for every patient of a panel.

    It follows the library's result convention: ``to_columns()`` typed
    arrays (one row per patient), ``to_rows()`` display strings, and, when
    the verdict names its patients (the built-in policies do),
    ``row_of(patient_id)`` (``KeyError`` for an unknown patient) and
    ``get(patient_id)`` (``None`` for an unknown patient).

    Attributes:
        level: ``RiskLevel`` values (int8), one per patient.
        score: 0-100 per patient (higher is riskier).
        patients: the panel's patient ids, one per entry, or None when the
            policy did not say (then no patient can be looked up).

    Example:
        >>> verdict = RiskAssessment(np.array([3, 0], np.int8), np.array([85.0, 10.0]),
        ...                          patients=np.array(["a", "b"]))
        >>> verdict.to_columns()["level"].tolist(), verdict.get("a"), verdict.get("zz")
        (['high', 'none'], {'patient_id': 'a', 'level': 'high', 'score': 85.0}, None)
    """

    level: npt.NDArray[np.int8]
    score: npt.NDArray[np.float64]
    patients: IdArray | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.level.shape != self.score.shape:
            raise ConfigError("assessment: level and score must have one entry per patient")
        if self.patients is not None and self.patients.shape != self.level.shape:
            raise ConfigError("assessment: patients must have one entry per level and score")

    def _display(self) -> Display:
        """Patient, level and score; how many patients each level holds."""
        levels = np.bincount(np.clip(self.level, 0, 3).astype(np.int64), minlength=4)
        figures = {level.label: int(levels[level]) for level in reversed(RiskLevel)}
        return Display(type(self).__name__, self.to_columns(), figures)

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """``patient_id`` (when known), ``level`` (label text) and ``score``."""
        labels = np.array([level.label for level in RiskLevel])
        out: dict[str, npt.NDArray[Any]] = {} if self.patients is None else {
            "patient_id": self.patients}
        out["level"] = labels[np.clip(self.level, 0, len(labels) - 1)]
        out["score"] = self.score
        return out

    def row_of(self, patient_id: Any) -> int:
        """Row of one patient; KeyError when absent or when the verdict names no patients."""
        if self.patients is None:
            raise KeyError(f"this {type(self).__name__} does not name its patients")
        return row_position(self.patients, patient_id,
                            f"patient {patient_id!r} is not in this {type(self).__name__}")


@runtime_checkable
class RiskPolicy(Protocol):
    """The plug-in contract for grading risk.

    ``validate(indicators)`` is called once before a scan with the indicator
    set it will see, so a policy can refuse to run on indicators it does not
    know (raise ConfigError); ``assess(panel)`` grades every patient.

    What ``assess`` promises (the policy conformance kit,
    :data:`~rfm_retention.risk.conformance.POLICY_CHECKS`, checks each):
    one :class:`~rfm_retention.vocabulary.RiskLevel` value and one finite
    0-100 score per patient of the panel, in panel order; the same verdict for
    the same panel; each patient graded on their own column alone (their
    verdict does not depend on who else is in the panel); a worse signal
    (a higher severity) never lowers a level or a score; an empty panel gives
    empty arrays.

    A policy may also say *why* a patient got their level: an optional
    ``explain(panel)`` method (see :class:`ExplainingPolicy`) returning, per
    patient, the rules or evidence behind the verdict. Warnings list it in
    :meth:`~rfm_retention.risk.WarningList.explain`; a policy without it
    works the same, its explanations are simply empty.

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


@runtime_checkable
class ExplainingPolicy(RiskPolicy, Protocol):
    """A :class:`RiskPolicy` that can also say why each patient got their level.

    ``explain(panel)`` receives the same panel as ``assess`` and returns one
    tuple of plain-words reasons per patient of the panel, in panel order:
    the rules a patient satisfies, or the evidence that set their level;
    an empty tuple for a patient the policy has nothing to say about.

    Example:
        A third-party policy that names the signal it grades on::

            class SilenceOnly:
                name = "silence"
                def validate(self, indicators): ...
                def assess(self, panel):
                    fired = panel["interval_extension"].fired
                    level = np.where(fired, RiskLevel.MEDIUM, RiskLevel.NONE)
                    return RiskAssessment(level.astype(np.int8), 60.0 * fired)
                def explain(self, panel):
                    fired = panel["interval_extension"].fired
                    return tuple(("long silence",) if f else () for f in fired)
    """

    def explain(self, panel: IndicatorPanel) -> Sequence[tuple[str, ...]]:
        """Per patient of ``panel``, the reasons behind their level (may be empty)."""
        ...


def explanations(policy: RiskPolicy, panel: IndicatorPanel) -> Explanations:
    """What ``policy`` says about each patient of ``panel``; empty tuples without ``explain``.

    Example:
        >>> from rfm_retention.risk._score import ScorePolicy
        >>> from rfm_retention.risk._panel import IndicatorPanel
        >>> panel = IndicatorPanel(np.datetime64("2024-06-30T23:59:59"), np.array(["a"]), ())
        >>> explanations(ScorePolicy(), panel)
        ((),)
    """
    if not isinstance(policy, ExplainingPolicy):
        return tuple(() for _ in range(len(panel)))
    said = tuple(tuple(str(reason) for reason in why) for why in policy.explain(panel))
    if len(said) != len(panel):
        raise ConfigError(
            f"policy {policy.name!r}: explain() must give one entry per patient "
            f"({len(panel)}), gave {len(said)}"
        )
    return said


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

    def explain(self, panel: IndicatorPanel) -> Explanations:
        """Each member's explanations, in member order, each reason once."""
        said = [explanations(p, panel) for p in self.policies]
        return tuple(
            tuple(dict.fromkeys(reason for member in row for reason in member))
            for row in zip(*said, strict=True)
        )

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """Element-wise maximum of the policies' levels and scores."""
        verdicts = [p.assess(panel) for p in self.policies]
        level = np.max(np.vstack([v.level for v in verdicts]), axis=0).astype(np.int8)
        score = np.max(np.vstack([v.score for v in verdicts]), axis=0)
        return RiskAssessment(level, score, patients=panel.patients)
