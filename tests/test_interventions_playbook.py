"""The playbook as data: SPEC defaults, validation, edits, escalation roles."""

from __future__ import annotations

import attrs
import pytest

from rfm_retention.errors import ConfigError
from rfm_retention.interventions import (
    SPEC_PLAYBOOK,
    DeadlineRule,
    DeadlineUnit,
    EscalationRule,
    LevelPlan,
    Milestone,
    Playbook,
    Purpose,
    RetentionPlan,
)
from rfm_retention.vocabulary import ReasonCode, RiskLevel


def test_spec_high_risk_plan():
    """High: manager or attending doctor, contact within 24 h, plan within 48 h."""
    high = SPEC_PLAYBOOK.level_plan(RiskLevel.HIGH)
    assert high.owners == ("customer_service_manager", "attending_doctor")
    rules = {d.name: (d.amount, d.unit, d.met_by) for d in high.deadlines}
    assert rules == {
        "first_contact": (24, DeadlineUnit.CLOCK_HOURS, Milestone.ATTEMPT),
        "retention_plan": (48, DeadlineUnit.CLOCK_HOURS, Milestone.PLAN),
    }


def test_spec_medium_and_low_plans():
    """Medium: batch care message + monthly follow-up; low: everyday care, membership, referrals."""
    medium = SPEC_PLAYBOOK.level_plan(RiskLevel.MEDIUM)
    assert medium.batch_message
    assert [a.code for a in medium.actions] == [
        "care_message", "monthly_follow_up", "service_feedback"
    ]
    assert [(d.name, d.amount, d.unit) for d in medium.deadlines] == [
        ("follow_up", 1, DeadlineUnit.CALENDAR_MONTHS)
    ]
    low = SPEC_PLAYBOOK.level_plan(RiskLevel.LOW)
    assert [a.code for a in low.actions] == ["everyday_care", "membership", "word_of_mouth"]
    assert low.deadlines == ()
    assert SPEC_PLAYBOOK.level_plan(RiskLevel.NONE) is None
    assert not SPEC_PLAYBOOK.opens_case(RiskLevel.NONE)


def test_spec_reason_plans():
    """Price gets an offer (marketing), service a dedicated follow-up, efficacy a second plan."""
    plans = {r: SPEC_PLAYBOOK.retention_plan(r) for r in ReasonCode}
    assert plans[ReasonCode.PRICE].code == "offer"
    assert plans[ReasonCode.PRICE].purpose is Purpose.MARKETING
    assert plans[ReasonCode.SERVICE].code == "dedicated_follow_up"
    assert plans[ReasonCode.EFFICACY].code == "second_treatment_plan"
    assert all(p.steps for p in plans.values())


def test_working_hours_variant_keeps_month_deadlines():
    """Switching hour deadlines to working hours leaves the monthly follow-up alone."""
    playbook = SPEC_PLAYBOOK.with_deadline_unit(DeadlineUnit.WORKING_HOURS)
    units = {d.name: d.unit for p in playbook.levels for d in p.deadlines}
    assert units == {
        "follow_up": DeadlineUnit.CALENDAR_MONTHS,
        "first_contact": DeadlineUnit.WORKING_HOURS,
        "retention_plan": DeadlineUnit.WORKING_HOURS,
    }
    assert SPEC_PLAYBOOK.level_plan(RiskLevel.HIGH).deadlines[0].unit is DeadlineUnit.CLOCK_HOURS
    with pytest.raises(ConfigError, match="months"):
        SPEC_PLAYBOOK.with_deadline_unit(DeadlineUnit.CALENDAR_MONTHS)


def test_with_level_replaces_one_level():
    """A host's own high-risk plan replaces the preset's; other levels stay."""
    mine = LevelPlan(RiskLevel.HIGH, owners=("nurse_lead",),
                     deadlines=(DeadlineRule("first_contact", 4),))
    playbook = SPEC_PLAYBOOK.with_level(mine)
    assert playbook.level_plan(RiskLevel.HIGH) == mine
    assert playbook.level_plan(RiskLevel.MEDIUM) == SPEC_PLAYBOOK.level_plan(RiskLevel.MEDIUM)
    assert [p.level for p in playbook.levels] == [RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DeadlineRule("x", 0), "positive"),
        (lambda: DeadlineRule("x", 1.5), "positive"),
        (lambda: DeadlineRule(" ", 1), "empty"),
        (lambda: LevelPlan(RiskLevel.NONE), "NONE"),
        (lambda: LevelPlan(RiskLevel.HIGH, deadlines=(DeadlineRule("a", 1),
                                                       DeadlineRule("a", 2))), "twice"),
        (lambda: attrs.evolve(SPEC_PLAYBOOK, plans=SPEC_PLAYBOOK.plans[:-1]), "behaviour_only"),
        (lambda: attrs.evolve(SPEC_PLAYBOOK, plans=(*SPEC_PLAYBOOK.plans,
                                                    RetentionPlan("price", "x", "y"))), "twice"),
        (lambda: EscalationRule(notify=()), "at least one"),
        (lambda: EscalationRule(notify=("x",), after_hours=-1), ">= 0"),
    ],
)
def test_nonsense_is_refused(build, message):
    """Each broken playbook piece is a ConfigError naming what is wrong."""
    with pytest.raises(ConfigError, match=message):
        build()


def test_escalation_roles_expand_owners_and_add_tiers():
    """Owners plus supervisor at once; the department head joins 24 h into a high breach."""
    owners = ("customer_service_manager", "attending_doctor")
    early = SPEC_PLAYBOOK.notify_for(RiskLevel.HIGH, "first_contact", overdue_hours=1,
                                     owners=owners)
    late = SPEC_PLAYBOOK.notify_for(RiskLevel.HIGH, "first_contact", overdue_hours=24,
                                    owners=owners)
    medium = SPEC_PLAYBOOK.notify_for(RiskLevel.MEDIUM, "follow_up", overdue_hours=500,
                                      owners=("care_team",))
    assert early == (*owners, "retention_supervisor")
    assert late == (*owners, "retention_supervisor", "department_head")
    assert medium == ("care_team", "retention_supervisor")
    silent = Playbook(levels=SPEC_PLAYBOOK.levels, plans=SPEC_PLAYBOOK.plans)
    assert silent.notify_for(RiskLevel.HIGH, "first_contact", overdue_hours=99, owners=owners) == ()
