"""The conformance kit for risk policies: the promises of :class:`RiskPolicy`, as named checks.

Each check takes the policy and an evaluated panel
(:func:`~rfm_retention.risk.evaluate` of the host's sample data: use one
with patients at every level and patients without data) and raises
:class:`~rfm_retention.errors.ConformanceError` naming the first patient
that breaks the promise, never a bare ``assert``. :data:`POLICY_CHECKS`
lists them by name for :func:`~rfm_retention.testing.run_checks`,
:func:`~rfm_retention.testing.parametrize_with_checks` and the pytest
plugin's ``policy_check`` argument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from rfm_retention._conformance import (
    equal_or_both_nan,
    expect,
    expect_no_error,
    expect_nobody,
    unknown_levels,
)
from rfm_retention._frozen import frozen_mapping
from rfm_retention.risk._indicator import IndicatorResult
from rfm_retention.risk._panel import IndicatorPanel
from rfm_retention.risk._policy import RiskAssessment, RiskPolicy, explanations
from rfm_retention.vocabulary import RiskLevel

__all__ = [
    "POLICY_CHECKS",
    "check_empty_panel",
    "check_explanations",
    "check_one_level_per_patient",
    "check_patients_graded_alone",
    "check_policy_deterministic",
    "check_policy_protocol",
    "check_worse_signals_never_lower_risk",
    "worse_signals",
]

def _assess(policy: RiskPolicy, panel: IndicatorPanel, check: str) -> RiskAssessment:
    """``policy.assess(panel)``, required to be a well-formed verdict for ``panel``."""
    verdict = expect_no_error(lambda: policy.assess(panel), check, "assess(panel)")
    expect(isinstance(verdict, RiskAssessment), check,
           f"assess() must return a RiskAssessment, got {type(verdict).__name__}")
    n = len(panel)
    expect(np.shape(verdict.level) == (n,) and np.shape(verdict.score) == (n,), check,
           f"one level and one score per patient are needed ({n} patients), got "
           f"{np.shape(verdict.level)} levels and {np.shape(verdict.score)} scores")
    return verdict


def check_policy_protocol(policy: Any, panel: IndicatorPanel) -> None:
    """The policy has the :class:`RiskPolicy` members and a non-empty text name."""
    name = "check_policy_protocol"
    expect(isinstance(policy, RiskPolicy), name,
           f"{policy!r} needs name, validate(indicators) and assess(panel)")
    expect(isinstance(policy.name, str) and policy.name.strip() != "", name,
           f"name must be non-empty text, got {policy.name!r}")


def check_one_level_per_patient(policy: RiskPolicy, panel: IndicatorPanel) -> None:
    """One risk level from the vocabulary and one finite 0-100 score per patient."""
    name = "check_one_level_per_patient"
    verdict = _assess(policy, panel, name)
    level, score = np.asarray(verdict.level), np.asarray(verdict.score, np.float64)
    expect(level.dtype.kind in "iu", name, f"levels must be integers, got {level.dtype}")
    unknown = unknown_levels(level)
    expect_nobody(unknown, panel.patients, name,
                  f"has a level outside {', '.join(lv.label for lv in RiskLevel)}")
    outside = ~(np.isfinite(score) & (score >= 0.0) & (score <= 100.0))
    expect_nobody(outside, panel.patients, name, "has a score outside 0-100 or not finite")


def check_policy_deterministic(policy: RiskPolicy, panel: IndicatorPanel) -> None:
    """Grading the same panel twice gives the same levels, scores and explanations."""
    name = "check_policy_deterministic"
    a, b = _assess(policy, panel, name), _assess(policy, panel, name)
    differs = (np.asarray(a.level) != np.asarray(b.level)) | ~equal_or_both_nan(a.score, b.score)
    expect_nobody(differs, panel.patients, name, "is graded differently the second time")
    expect(explanations(policy, panel) == explanations(policy, panel), name,
           "explain() says something different the second time")


def check_patients_graded_alone(policy: RiskPolicy, panel: IndicatorPanel, *,
                                seed: int = 0) -> None:
    """A patient's verdict is the same in a shuffled half of the panel: graded on their own."""
    name = "check_patients_graded_alone"
    rows = np.random.default_rng(seed).permutation(len(panel))[: max(1, len(panel) // 2)]
    rows = rows.astype(np.int64)
    whole = _assess(policy, panel, name)
    part = _assess(policy, panel.subset(rows), name)
    differs = (np.asarray(part.level) != np.asarray(whole.level)[rows]) | ~equal_or_both_nan(
        part.score, np.asarray(whole.score)[rows])
    expect_nobody(differs, panel.patients[rows], name,
                  "is graded differently beside other patients")


def worse_signals(panel: IndicatorPanel) -> IndicatorPanel:
    """The panel with every signal worse: each severity halfway up to 1 (values unchanged).

    Example:
        >>> from rfm_retention.risk import default_indicators
        >>> from rfm_retention.risk._panel import evaluate
        >>> from rfm_retention.data import PatientData, VisitLog
        >>> log = VisitLog.from_arrays(patient_id=[1, 1], amount=[10, 10],
        ...     visit_time=["2024-01-01", "2024-02-01"])
        >>> panel = evaluate(PatientData(visits=log), "2024-03-01")
        >>> float(worse_signals(panel)["interval_extension"].severity[0])
        0.5
    """

    def worse(r: IndicatorResult) -> IndicatorResult:
        severity = np.where(r.signal, r.severity + (1.0 - r.severity) / 2.0, r.severity)
        return attrs.evolve(r, severity=severity)

    return attrs.evolve(panel, results=tuple(worse(r) for r in panel.results))


def check_worse_signals_never_lower_risk(policy: RiskPolicy, panel: IndicatorPanel) -> None:
    """Raising every signal's severity never lowers a patient's level or score."""
    name = "check_worse_signals_never_lower_risk"
    before = _assess(policy, panel, name)
    after = _assess(policy, worse_signals(panel), name)
    lower = np.asarray(after.level) < np.asarray(before.level)
    expect_nobody(lower, panel.patients, name, "gets a lower level when their signals get worse")
    with np.errstate(invalid="ignore"):
        lower = np.asarray(after.score) < np.asarray(before.score) - 1e-9
    expect_nobody(lower, panel.patients, name, "gets a lower score when their signals get worse")


def check_empty_panel(policy: RiskPolicy, panel: IndicatorPanel) -> None:
    """A panel with no patients gets an empty verdict (no error)."""
    _assess(policy, panel.subset(np.empty(0, np.int64)), "check_empty_panel")


def check_explanations(policy: RiskPolicy, panel: IndicatorPanel, *, seed: int = 0) -> None:
    """``explain`` (when the policy has it) says something per patient, the same graded alone."""
    name = "check_explanations"
    said = expect_no_error(lambda: explanations(policy, panel), name, "explain(panel)")
    rows = np.random.default_rng(seed).permutation(len(panel))[: max(1, len(panel) // 2)]
    part = expect_no_error(lambda: explanations(policy, panel.subset(rows.astype(np.int64))),
                           name, "explain(panel)")
    for pos, row in enumerate(rows.tolist()):
        expect(part[pos] == said[row], name,
               f"patient {panel.patients[row].item()!r} is explained differently beside "
               f"other patients: {said[row]} vs {part[pos]}")


POLICY_CHECKS: Mapping[str, Callable[[RiskPolicy, IndicatorPanel], None]] = frozen_mapping({
    check.__name__: check
    for check in (
        check_policy_protocol,
        check_one_level_per_patient,
        check_policy_deterministic,
        check_patients_graded_alone,
        check_worse_signals_never_lower_risk,
        check_empty_panel,
        check_explanations,
    )
})
"""Every policy check by name, each called as ``check(policy, panel)``."""
