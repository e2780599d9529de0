"""The policy conformance kit: every built-in policy passes it, a broken one fails each check."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pytest

from kit_support import checks_failing_under_python_o
from rfm_retention.errors import ConformanceError
from rfm_retention.risk import (
    IndicatorPanel,
    IndicatorSet,
    LearnedScorePolicy,
    RiskAssessment,
    RulePolicy,
    ScorePolicy,
    ScoreTrainer,
    WorstOf,
    default_policy,
    evaluate,
)
from rfm_retention.risk.conformance import POLICY_CHECKS
from rfm_retention.testing import parametrize_with_checks, run_checks, synthetic_cohort

AS_OF = "2024-06-30"


@functools.cache
def panel() -> IndicatorPanel:
    """Every indicator on a synthetic cohort: patients at every level, some without data."""
    return evaluate(synthetic_cohort(300, seed=11).data, AS_OF)


@functools.cache
def trained() -> LearnedScorePolicy:
    """The trainable score fitted on the cohort's hidden churn."""
    cohort = synthetic_cohort(300, seed=11)
    labels = (cohort.truth.patient_id, cohort.truth.churned_by("2024-12-31"))
    return ScoreTrainer().fit(cohort.data, AS_OF, labels)


BUILT_IN = {
    "rules": RulePolicy.spec(),
    "score": ScorePolicy(),
    "score_two_dimensions": ScorePolicy(weights={"behaviour": 0.7, "experience": 0.3}),
    "default": default_policy(),
    "learned_by_hand": LearnedScorePolicy(("interval_extension", "complaints"), -2.0,
                                          (3.0, 1.5), (0.5, 0.0, 0.0, 0.0)),
    "worst_of_rules_and_learned": WorstOf((RulePolicy.spec(), LearnedScorePolicy(
        ("no_shows",), -1.0, (2.0,), (0.0,) * 4))),
}


@pytest.mark.parametrize("policy", list(BUILT_IN.values()), ids=list(BUILT_IN))
@parametrize_with_checks(POLICY_CHECKS)
def test_built_in_policies_pass_every_check(policy, check) -> None:  # type: ignore[no-untyped-def]
    """Each built-in policy keeps every promise of the policy kit."""
    check(policy, panel())


def test_a_trained_policy_passes_the_whole_kit() -> None:
    """A score trained on history (non-negative weights) passes the kit in one run."""
    run_checks(POLICY_CHECKS, trained(), panel())


# ------------------------------------------------------------- broken policies
class _Base:
    """Shared members of the broken policies below."""

    name = "broken"

    def validate(self, indicators: IndicatorSet) -> None:
        """Any indicator set will do."""


class NoAssess:
    """Forgets assess(): not a policy at all."""

    name = "no_assess"

    def validate(self, indicators: IndicatorSet) -> None:
        """Any indicator set will do."""


class LevelSeven(_Base):
    """Grades fired interval extensions at a level the vocabulary does not have."""

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """Level 7 where the interval extension fired."""
        level = np.where(panel["interval_extension"].fired, 7, 0).astype(np.int8)
        return RiskAssessment(level, np.zeros(len(panel)))


class Noisy(_Base):
    """Adds fresh noise to the score at every call."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(1)

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """The documents' score plus noise."""
        base = ScorePolicy().assess(panel)
        return RiskAssessment(base.level, np.clip(base.score + self.rng.random(len(panel)), 0, 100))


class RankInPanel(_Base):
    """Scores each patient by their rank in the panel: a verdict that depends on the others."""

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """Percentile of the documents' score within this panel."""
        base = ScorePolicy().scores(panel)
        rank = np.argsort(np.argsort(base, kind="stable"), kind="stable")
        score = 100.0 * rank / max(len(panel) - 1, 1)
        return RiskAssessment(np.zeros(len(panel), np.int8), score)


class Inverted(_Base):
    """Reads severity the wrong way round: the worse the signals, the lower the score."""

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """100 minus the documents' score."""
        score = 100.0 - ScorePolicy().scores(panel)
        return RiskAssessment(np.zeros(len(panel), np.int8), score)


class NormalisedByWorst(_Base):
    """Divides by the panel's worst severity, which an empty panel does not have."""

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """Severity sum over the panel's largest sum."""
        total = panel.matrix("severity").sum(axis=0)
        score = 100.0 * total / max(total.max(), 1e-9)
        return RiskAssessment(np.zeros(len(panel), np.int8), score)


class ExplainsByRank(_Base):
    """Grades like the documents' score but explains with the patient's rank in the panel."""

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """The documents' score."""
        return ScorePolicy().assess(panel)

    def explain(self, panel: IndicatorPanel) -> Sequence[tuple[str, ...]]:
        """"row k of n": what the panel looks like, not the patient."""
        return [(f"row {k} of {len(panel)}",) for k in range(len(panel))]


BROKEN = {
    "check_policy_protocol": (NoAssess, "needs name, validate"),
    "check_one_level_per_patient": (LevelSeven, "level outside"),
    "check_policy_deterministic": (Noisy, "graded differently the second time"),
    "check_patients_graded_alone": (RankInPanel, "graded differently beside other patients"),
    "check_worse_signals_never_lower_risk": (Inverted, "lower score"),
    "check_empty_panel": (NormalisedByWorst, "raised ValueError"),
    "check_explanations": (ExplainsByRank, "explained differently"),
}
"""For each check, a policy that breaks its promise and what the error says."""


def test_every_check_has_a_broken_policy() -> None:
    """The broken policies cover the whole kit."""
    assert list(BROKEN) == list(POLICY_CHECKS)


@pytest.mark.parametrize("check_name", list(BROKEN))
def test_a_broken_policy_fails_the_check(check_name: str) -> None:
    """Each check raises ConformanceError, naming itself, on the policy that breaks it."""
    make, says = BROKEN[check_name]
    with pytest.raises(ConformanceError, match=says) as caught:
        POLICY_CHECKS[check_name](make(), panel())
    assert caught.value.check == check_name


def test_broken_policies_fail_under_python_o() -> None:
    """With assertions stripped (python -O) every check still catches its broken policy."""
    assert checks_failing_under_python_o(__name__, "POLICY_CHECKS", "panel()") == list(BROKEN)
