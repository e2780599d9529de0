"""Case book: intake episodes, deadlines, contacts, outcomes, reopening, overdue, escalation."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from rfm_retention.errors import CaseError, ConfigError
from rfm_retention.interventions import (
    SPEC_PLAYBOOK,
    CallbackNotifier,
    CaseBook,
    CaseStatus,
    Channel,
    ContactResult,
    DeadlineUnit,
    InMemoryCaseStore,
    IntakeAction,
    NoticeKind,
    Outcome,
    WorkingCalendar,
)
from rfm_retention.risk import WarningRecord
from rfm_retention.vocabulary import ReasonCode, RiskLevel

T0 = dt.datetime(2024, 5, 6, 9, 0)  # a Monday
H = dt.timedelta(hours=1)


@pytest.fixture
def book():
    return CaseBook(InMemoryCaseStore())


def test_high_warning_opens_case_with_spec_deadlines(book):
    """High risk: first contact due 24 h and plan 48 h after the warning, owners from SPEC."""
    intake = book.intake(
        WarningRecord(
            "p1", RiskLevel.HIGH, ReasonCode.PRICE, score=88.5, evidence="no visit 3 months"
        ),
        T0,
    )
    case = intake.case
    assert intake.action is IntakeAction.OPENED
    assert case.case_id == "p1#1"
    assert case.status is CaseStatus.OPEN
    assert {d.name: d.due_at for d in case.deadlines} == {
        "first_contact": T0 + 24 * H,
        "retention_plan": T0 + 48 * H,
    }
    assert case.owners == ("customer_service_manager", "attending_doctor")


def test_same_warning_twice_is_idempotent(book):
    """Tomorrow's scan for the same ongoing warning opens no second case."""
    book.intake(WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.SERVICE), T0)
    again = book.intake(WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.SERVICE), T0 + 24 * H)
    lower = book.intake(WarningRecord("p1", RiskLevel.LOW, ReasonCode.SERVICE), T0 + 48 * H)
    assert again.action is IntakeAction.UNCHANGED
    assert lower.action is IntakeAction.UNCHANGED
    assert len(book.cases()) == 1
    assert len(book.history("p1#1")) == 1


def test_escalation_updates_open_case_and_replaces_unmet_deadlines(book):
    """Medium to high raises the level on the same case; high's deadlines count from then."""
    book.intake(WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.SERVICE), T0)
    later = T0 + 72 * H
    result = book.intake(
        WarningRecord("p1", RiskLevel.HIGH, ReasonCode.EFFICACY, evidence="course"), later
    )
    case = result.case
    assert result.action is IntakeAction.ESCALATED
    assert case.case_id == "p1#1"
    assert case.level is RiskLevel.HIGH
    assert case.reason is ReasonCode.EFFICACY
    assert case.escalated_at == later
    assert sorted(d.name for d in case.deadlines) == ["first_contact", "retention_plan"]
    assert min(d.due_at for d in case.deadlines) == later + 24 * H


def test_closed_case_suppresses_same_warning_but_new_episode_opens(book):
    """After an outcome, the same ongoing warning is suppressed; a new one opens episode 2."""
    book.intake(WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.SERVICE), T0)
    book.record_contact("p1#1", at=T0 + H, actor="amy", channel=Channel.PHONE,
                        result=ContactResult.REACHED)
    book.close("p1#1", at=T0 + 2 * H, actor="amy", outcome=Outcome.DECLINED)
    assert (
        book.intake(WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.SERVICE), T0 + 24 * H).action
        is IntakeAction.SUPPRESSED
    )
    reopened = book.intake(
        WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.SERVICE, change="new"), T0 + 30 * 24 * H
    )
    assert reopened.action is IntakeAction.OPENED
    assert reopened.case.case_id == "p1#2"
    higher = CaseBook(book.store).intake(
        WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0 + 31 * 24 * H
    )
    assert higher.action is IntakeAction.ESCALATED


def test_level_without_case_is_ignored():
    """A playbook level that opens no case (and NONE) records nothing."""
    playbook = SPEC_PLAYBOOK.with_level(
        SPEC_PLAYBOOK.level_plan(RiskLevel.LOW).__class__(level=RiskLevel.LOW, opens_case=False)
    )
    book = CaseBook(InMemoryCaseStore(), playbook=playbook)
    for level in (RiskLevel.LOW, RiskLevel.NONE):
        warning = WarningRecord("p1", level, ReasonCode.PRICE)
        assert book.intake(warning, T0).action is IntakeAction.IGNORED
    assert book.cases() == []


def test_contacts_meet_deadlines_in_order(book):
    """An unanswered call meets first contact; the plan meets the plan deadline."""
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    case = book.record_contact("p1#1", at=T0 + 30 * H, actor="amy", channel=Channel.PHONE,
                               result=ContactResult.NO_ANSWER)
    dues = {d.name: d for d in case.deadlines}
    assert dues["first_contact"].met_at == T0 + 30 * H
    assert dues["first_contact"].met_in_time is False
    assert dues["retention_plan"].met_at is None
    case = book.record_plan("p1#1", at=T0 + 40 * H, actor="amy")
    assert case.plan.code == "offer"
    assert case.plan.purpose.value == "marketing"
    assert {d.name: d for d in case.deadlines}["retention_plan"].met_in_time is True
    assert case.status is CaseStatus.IN_PROGRESS


def test_reason_plans_follow_spec(book):
    """Service gets a dedicated follow-up, efficacy a second treatment plan."""
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.SERVICE), T0)
    book.intake(WarningRecord("p2", RiskLevel.HIGH, ReasonCode.EFFICACY), T0)
    assert book.record_plan("p1#1", at=T0 + H, actor="a").plan.code == "dedicated_follow_up"
    assert book.record_plan("p2#1", at=T0 + H, actor="a").plan.code == "second_treatment_plan"


@pytest.mark.parametrize(
    "outcome", [Outcome.WON_BACK, Outcome.DECLINED, Outcome.LOST, Outcome.UNREACHABLE]
)
def test_no_outcome_before_a_contact(book, outcome):
    """Closing without any contact is refused for every outcome but not_needed."""
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    with pytest.raises(CaseError, match="contact"):
        book.close("p1#1", at=T0 + H, actor="amy", outcome=outcome)
    assert book.get("p1#1").version == 1


def test_won_back_needs_patient_reached(book):
    """An unanswered call allows unreachable but not won_back."""
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    book.record_contact("p1#1", at=T0 + H, actor="amy", channel=Channel.PHONE,
                        result=ContactResult.NO_ANSWER)
    with pytest.raises(CaseError, match="reached"):
        book.close("p1#1", at=T0 + 2 * H, actor="amy", outcome=Outcome.WON_BACK)
    case = book.close("p1#1", at=T0 + 2 * H, actor="amy", outcome=Outcome.UNREACHABLE)
    assert case.outcome is Outcome.UNREACHABLE
    assert case.closed_at == T0 + 2 * H


def test_not_needed_without_contact_needs_a_note(book):
    """A patient who came back on their own may close as not_needed, with a reason."""
    book.intake(WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.BEHAVIOUR_ONLY), T0)
    with pytest.raises(CaseError, match="note"):
        book.close("p1#1", at=T0 + H, actor="amy", outcome=Outcome.NOT_NEEDED)
    case = book.close("p1#1", at=T0 + H, actor="amy", outcome=Outcome.NOT_NEEDED,
                      note="revisited on 7 May")
    assert case.is_closed


def test_closed_case_refuses_changes_and_reopens_only_with_reason(book):
    """Nothing but a reasoned reopening touches a closed case; reopening clears the outcome."""
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    book.record_contact("p1#1", at=T0 + H, actor="amy", channel=Channel.PHONE,
                        result=ContactResult.REACHED)
    book.close("p1#1", at=T0 + 2 * H, actor="amy", outcome=Outcome.WON_BACK)
    with pytest.raises(CaseError, match="closed"):
        book.record_contact("p1#1", at=T0 + 3 * H, actor="amy", channel=Channel.SMS,
                            result=ContactResult.MESSAGE_SENT)
    with pytest.raises(CaseError, match="reason"):
        book.reopen("p1#1", at=T0 + 3 * H, actor="amy", reason="  ")
    with pytest.raises(CaseError, match="before it was closed"):
        book.reopen("p1#1", at=T0 + H, actor="amy", reason="mistake")
    case = book.reopen("p1#1", at=T0 + 3 * H, actor="lead", reason="did not come after all")
    assert case.outcome is None
    assert case.status is CaseStatus.IN_PROGRESS
    assert case.reopen_count == 1
    kinds = [type(e).__name__ for e in book.history("p1#1")]
    assert kinds == ["CaseOpened", "ContactRecorded", "CaseClosed", "CaseReopened"]


def test_times_before_warning_or_last_activity_are_refused(book):
    """No contact before the warning; no closing before the latest contact."""
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    with pytest.raises(CaseError, match="before the warning"):
        book.record_contact("p1#1", at=T0 - H, actor="amy", channel=Channel.PHONE,
                            result=ContactResult.REACHED)
    book.record_contact("p1#1", at=T0 + 5 * H, actor="amy", channel=Channel.PHONE,
                        result=ContactResult.REACHED)
    with pytest.raises(CaseError, match="before the latest"):
        book.close("p1#1", at=T0 + 4 * H, actor="amy", outcome=Outcome.WON_BACK)


def test_bad_arguments_are_named(book):
    """Unknown case, empty patient id, unknown level or reason: clear errors."""
    with pytest.raises(CaseError, match="no case"):
        book.get("nobody#1")
    with pytest.raises(ConfigError, match="patient_id"):
        book.intake(WarningRecord("  ", RiskLevel.HIGH, ReasonCode.PRICE), T0)



def test_intake_takes_typed_warnings_only(book):
    """Text levels, reasons or ids are refused with a hint; a bad list item changes nothing."""
    with pytest.raises(ConfigError, match=r"level must be a RiskLevel, got 'severe'"):
        WarningRecord("p1", "severe", ReasonCode.PRICE)
    with pytest.raises(ConfigError, match=r"reason must be a ReasonCode, got 'weather'"):
        WarningRecord("p1", RiskLevel.HIGH, "weather")
    with pytest.raises(ConfigError, match=r"change must be one of .*got 'fresh'"):
        WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE, change="fresh")
    with pytest.raises(ConfigError, match=r"not the text 'p1'\nHint: WarningRecord\("):
        book.intake("p1", T0)
    with pytest.raises(TypeError):
        book.intake("p1", "high", "price", T0)
    fine = WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE)
    loose = SimpleNamespace(patient_id="p2", level="high", reason="price")
    with pytest.raises(ConfigError, match=r"warning 1: intake takes WarningRecords, got "
                       r"SimpleNamespace\nHint: WarningList.to_records\(\)"):
        book.intake([fine, loose], T0)
    assert book.cases() == []
    with pytest.raises(ConfigError, match="give warned_at="):
        book.intake(fine)


def test_intake_of_a_list_reports_each_warning_in_order(book):
    """A list of records gives one result per record; change 'new' starts a new episode."""
    day = [WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE, 90.0, "x" * 400),
           WarningRecord("p2", RiskLevel.LOW, ReasonCode.SERVICE),
           WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.PRICE, change="new")]
    report = book.intake(day, T0, summary_chars=10)
    assert [r.action for r in report.results] == [
        IntakeAction.OPENED, IntakeAction.OPENED, IntakeAction.UNCHANGED]
    assert report.results[0].case.summary == "x" * 9 + "…"
    assert report.results[0].case.score == 90.0
    assert report.counts[IntakeAction.OPENED] == 2


def test_overdue_lists_breaches_with_roles(book):
    """A high case with no contact after 24 h is overdue; after 48 h more roles are told."""
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    book.intake(WarningRecord("p2", RiskLevel.HIGH, ReasonCode.SERVICE), T0)
    book.record_contact("p2#1", at=T0 + H, actor="amy", channel=Channel.PHONE,
                        result=ContactResult.REACHED)
    assert book.overdue(T0 + 24 * H) == []
    breaches = book.overdue(T0 + 25 * H)
    assert [(b.case.case_id, b.deadline.name) for b in breaches] == [("p1#1", "first_contact")]
    assert breaches[0].notify == (
        "customer_service_manager", "attending_doctor", "retention_supervisor"
    )
    late = book.overdue(T0 + 49 * H)
    assert {(b.case.case_id, b.deadline.name) for b in late} == {
        ("p1#1", "first_contact"), ("p1#1", "retention_plan"), ("p2#1", "retention_plan")
    }
    assert "department_head" in late[0].notify  # 25 h overdue for first contact


def test_overdue_with_a_date_means_end_of_day(book):
    """``as_of`` given as a date is the end of that day."""
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    assert book.overdue(dt.date(2024, 5, 6)) == []
    assert len(book.overdue(dt.date(2024, 5, 7))) == 1


def test_working_hours_playbook_moves_deadline_past_weekend():
    """With 24 working hours, a Friday evening warning is due the next Wednesday."""
    book = CaseBook(
        InMemoryCaseStore(),
        playbook=SPEC_PLAYBOOK.with_deadline_unit(DeadlineUnit.WORKING_HOURS),
        calendar=WorkingCalendar(hours=((dt.time(8), dt.time(16)),)),
    )
    warning = WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE)
    case = book.intake(warning, dt.datetime(2024, 5, 10, 19)).case
    first = {d.name: d for d in case.deadlines}["first_contact"]
    assert first.due_at == dt.datetime(2024, 5, 15, 16)


def test_escalate_overdue_tells_each_tier_once():
    """Repeated checks send one notice per breach and tier, and record it on the case."""
    inbox = []
    book = CaseBook(InMemoryCaseStore(), notifier=CallbackNotifier(inbox.append))
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    assert [n.kind for n in inbox] == [NoticeKind.NEW_CASE]
    inbox.clear()
    first = book.escalate_overdue(T0 + 25 * H)
    again = book.escalate_overdue(T0 + 26 * H)
    assert len(first) == 1
    assert again == []
    assert first[0].deadline == "first_contact"
    assert first[0].due_at == T0 + 24 * H
    tier2 = book.escalate_overdue(T0 + 49 * H)
    assert {(n.deadline, "department_head" in n.roles) for n in tier2} == {
        ("first_contact", True), ("retention_plan", False)
    }
    assert len(inbox) == 3
    assert len(book.get("p1#1").notified) == 4  # the new-case notice and three breaches


def test_new_case_notice_only_for_high_levels():
    """Medium cases are not announced; a medium case escalated to high is."""
    inbox = []
    book = CaseBook(InMemoryCaseStore(), notifier=CallbackNotifier(inbox.append))
    book.intake(WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.PRICE), T0)
    assert inbox == []
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0 + H)
    assert [(n.kind, n.level) for n in inbox] == [(NoticeKind.ESCALATED, RiskLevel.HIGH)]
