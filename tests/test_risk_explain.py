"""The optional explain hook: host policies with and without it, and the worst-of combinator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rfm_retention.risk import (
    ExplainingPolicy,
    IndicatorPanel,
    IndicatorSet,
    RiskAssessment,
    RiskLevel,
    RiskPolicy,
    RulePolicy,
    ScorePolicy,
    WorstOf,
    scan,
)
from test_risk_support import AS_OF, bundle, lapse, visits_every

EXTENSION_RULES = (
    "interval extension over 100%",
    "interval extension 50-100%",
    "interval extension 30-50%",
)
"""The rule table's bands a patient silent for twice their usual interval satisfies."""


class SilencePolicy:
    """A host's policy with no explain hook: medium for a fired interval extension."""

    name = "silence"

    def validate(self, indicators: IndicatorSet) -> None:
        """Needs the interval extension only, which every scan runs."""

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """Medium (score 60) where the interval extension fired, none elsewhere."""
        fired = panel["interval_extension"].fired
        level = np.where(fired, RiskLevel.MEDIUM, RiskLevel.NONE).astype(np.int8)
        return RiskAssessment(level, 60.0 * fired)


class ExplainedSilencePolicy(SilencePolicy):
    """The same policy, saying in words why a patient is at medium."""

    name = "explained_silence"

    def explain(self, panel: IndicatorPanel) -> Sequence[tuple[str, ...]]:
        """"long silence" for each patient whose interval extension fired."""
        fired = panel["interval_extension"].fired
        return [("long silence",) if f else () for f in fired.tolist()]


def data():  # type: ignore[no-untyped-def]
    """One patient silent twice their usual interval, one visiting on schedule."""
    return bundle(lapse("late", 84) + visits_every("steady", 30, 6, last_ago=5))


def test_policy_without_explain_warns_with_no_rule_explanations() -> None:
    """A host policy without explain() grades and lists as usual; explain() names no rule."""
    policy = SilencePolicy()
    assert isinstance(policy, RiskPolicy)
    assert not isinstance(policy, ExplainingPolicy)
    warnings = scan(data(), AS_OF, policy=policy, model=None)
    assert warnings.patient_id.tolist() == ["late"]
    explained = warnings.explain("late")
    assert explained.level == RiskLevel.MEDIUM
    assert explained.rules_matched == ()
    assert "rules matched" not in str(explained)


def test_policy_with_explain_has_its_reasons_listed() -> None:
    """A host policy's explain() reasons reach the patient's explanation and its text."""
    warnings = scan(data(), AS_OF, policy=ExplainedSilencePolicy(), model=None)
    assert isinstance(ExplainedSilencePolicy(), ExplainingPolicy)
    assert warnings.explain("late").rules_matched == ("long silence",)
    assert "rules matched: long silence" in str(warnings.explain("late"))
    assert warnings.explain("steady").rules_matched == ()


def test_worst_of_mixed_policies_delegates_to_members_that_explain() -> None:
    """WorstOf lists each explaining member's reasons in member order; silent members add none."""
    rules = RulePolicy.spec()
    combined = WorstOf((SilencePolicy(), rules, ScorePolicy(), ExplainedSilencePolicy()))
    warnings = scan(data(), AS_OF, policy=combined, model=None)
    alone = scan(data(), AS_OF, policy=rules, model=None).explain("late").rules_matched
    assert alone == EXTENSION_RULES
    assert warnings.explain("late").rules_matched == (*alone, "long silence")
    assert warnings.explain("steady").rules_matched == ()


def test_worst_of_says_each_reason_once() -> None:
    """The same rule table twice in a WorstOf lists each matched rule once."""
    rules = RulePolicy.spec()
    warnings = scan(data(), AS_OF, policy=WorstOf((rules, rules)), model=None)
    assert warnings.explain("late").rules_matched == EXTENSION_RULES


def test_rule_policy_explains_every_patient_of_a_panel() -> None:
    """RulePolicy.explain gives one tuple per patient, the satisfied rules in table order."""
    warnings = scan(data(), AS_OF, policy=RulePolicy.spec(), model=None)
    said = RulePolicy.spec().explain(warnings.panel)
    assert len(said) == len(warnings.panel)
    by_patient = dict(zip(warnings.panel.patients.tolist(), said, strict=True))
    assert by_patient == {"late": EXTENSION_RULES, "steady": ()}
