"""The case state machine: which change is allowed when, and what a history adds up to.

Rules (each refused with :class:`~rfm_retention.errors.CaseError`, the case unchanged):

* a case starts with exactly one ``opened`` event; events are numbered 1, 2, ...
  without gaps, and none happens before the warning that opened the case;
* an escalation must raise the level;
* nothing but a reopening happens to a closed case, and a reopening needs a
  reason;
* an outcome needs a contact first: ``won_back`` and ``declined`` need a
  contact in which the patient was reached, ``lost`` and ``unreachable`` at
  least one contact or message; only ``not_needed`` may close a case nobody
  contacted, and then a note must say why (the patient came back on their own);
* a case cannot be closed before its latest contact, plan or escalation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import attrs

from rfm_retention.errors import CaseError
from rfm_retention.interventions import _events as case_events
from rfm_retention.interventions._records import Case, Contact, Due, PlanRecord
from rfm_retention.interventions._vocabulary import CaseStatus, Milestone, Outcome

__all__ = ["apply", "replay"]

_NEEDS_REACHED = (Outcome.WON_BACK, Outcome.DECLINED)
_NEEDS_CONTACT = (Outcome.LOST, Outcome.UNREACHABLE)


def _refuse(case_id: str, message: str) -> CaseError:
    return CaseError(f"case {case_id}: {message}")


def _open(event: case_events.CaseOpened) -> Case:
    if event.seq != 1:
        raise _refuse(event.case_id, f"a history starts with event 1, not {event.seq}")
    for due in event.deadlines:
        if due.start < event.at or due.due_at < due.start:
            raise _refuse(event.case_id, f"deadline {due.name} falls before the warning")
    return Case(
        case_id=event.case_id,
        patient_id=event.patient_id,
        episode=event.episode,
        level=event.level,
        reason=event.reason,
        score=event.score,
        summary=event.summary,
        warned_at=event.at,
        escalated_at=None,
        owners=event.owners,
        status=CaseStatus.OPEN,
        deadlines=event.deadlines,
        contacts=(),
        plans=(),
        outcome=None,
        closed_at=None,
        close_note="",
        reopen_count=0,
        notified=(),
        version=1,
    )


_StaffWork = case_events.ContactRecorded | case_events.PlanRecorded
"""The events that can meet a deadline."""


def _milestones(event: _StaffWork) -> set[Milestone]:
    if isinstance(event, case_events.PlanRecorded):
        return {Milestone.PLAN}
    if event.result.is_message:
        return {Milestone.MESSAGE} if event.result.value == "message_sent" else set()
    return {Milestone.ATTEMPT, Milestone.REACHED} if event.result.reached else {Milestone.ATTEMPT}


def _meet(deadlines: tuple[Due, ...], event: _StaffWork) -> tuple[Due, ...]:
    reached = _milestones(event)
    return tuple(
        attrs.evolve(d, met_at=event.at)
        if d.met_by in reached and event.at >= d.start and (d.met_at is None or event.at < d.met_at)
        else d
        for d in deadlines
    )


def _check_close(case: Case, event: case_events.CaseClosed) -> None:
    outcome = event.outcome
    if outcome in _NEEDS_REACHED and not any(c.result.reached for c in case.contacts):
        raise _refuse(case.case_id, f"outcome {outcome} needs a contact in which the patient "
                      "was reached.\nHint: record the contact first.")
    if outcome in _NEEDS_CONTACT and not case.contacts:
        raise _refuse(case.case_id, f"outcome {outcome} needs at least one recorded contact "
                      "attempt.\nHint: record the contact attempts first.")
    if outcome is Outcome.NOT_NEEDED and not case.contacts and not event.note.strip():
        raise _refuse(case.case_id, "closing as not_needed without any contact needs a note "
                      "saying why")
    latest = latest_activity(case)
    if event.at < latest:
        raise _refuse(case.case_id, f"cannot close at {event.at} before the latest recorded "
                      f"activity at {latest}")


def apply(case: Case | None, event: case_events.CaseEvent) -> Case:
    """The case after ``event``, or CaseError when the change is not allowed.

    Example:
        >>> import datetime as dt
        >>> from rfm_retention.interventions import CaseClosed, CaseOpened
        >>> opened = CaseOpened(case_id="p1#1", seq=1, at=dt.datetime(2024, 1, 1, 9),
        ...                     actor="scan", patient_id="p1", episode=1, level="high",
        ...                     reason="price")
        >>> closing = CaseClosed(case_id="p1#1", seq=2, at=dt.datetime(2024, 1, 2),
        ...                      actor="lee", outcome="won_back")
        >>> apply(apply(None, opened), closing)
        Traceback (most recent call last):
        ...
        rfm_retention.errors.CaseError: case p1#1: outcome won_back needs a contact in which the patient was reached.
        Hint: record the contact first.
    """  # noqa: E501
    if case is None:
        if not isinstance(event, case_events.CaseOpened):
            raise _refuse(event.case_id, "does not exist; a case starts with an opening")
        return _open(event)
    if event.case_id != case.case_id:
        raise _refuse(case.case_id, f"event belongs to case {event.case_id}")
    if isinstance(event, case_events.CaseOpened):
        raise _refuse(case.case_id, "is already open")
    if event.seq != case.version + 1:
        raise _refuse(case.case_id, f"event {event.seq} does not follow event {case.version}"
                      ".\nHint: the case changed meanwhile; reload it and retry.")
    if event.at < case.warned_at:
        raise _refuse(case.case_id, f"{event.at} is before the warning at {case.warned_at}")
    if case.is_closed and not isinstance(event, case_events.CaseReopened):
        kind = case_events.kind_of(event)
        raise _refuse(case.case_id, f"is closed ({case.outcome}): no {kind} on a closed case; "
                      "reopen it with a reason first")
    step = attrs.evolve(case, version=event.seq)
    if isinstance(event, case_events.CaseEscalated):
        return _escalate(step, event)
    if isinstance(event, case_events.ContactRecorded):
        contact = Contact(at=event.at, actor=event.actor, channel=event.channel,
                          result=event.result, purpose=event.purpose, note=event.note,
                          inbound=event.inbound)
        return attrs.evolve(step, contacts=(*case.contacts, contact),
                            deadlines=_meet(case.deadlines, event),
                            status=CaseStatus.IN_PROGRESS)
    if isinstance(event, case_events.PlanRecorded):
        plan = PlanRecord(at=event.at, actor=event.actor, code=event.code,
                          description=event.description, purpose=event.purpose)
        return attrs.evolve(step, plans=(*case.plans, plan), deadlines=_meet(case.deadlines, event))
    if isinstance(event, case_events.CaseClosed):
        _check_close(case, event)
        return attrs.evolve(step, status=CaseStatus.CLOSED, outcome=event.outcome,
                            closed_at=event.at, close_note=event.note)
    if isinstance(event, case_events.CaseReopened):
        if not case.is_closed:
            raise _refuse(case.case_id, "is not closed; only a closed case can be reopened")
        if not event.reason.strip():
            raise _refuse(case.case_id, "reopening a closed case needs a reason")
        if case.closed_at is not None and event.at < case.closed_at:
            raise _refuse(case.case_id, f"cannot reopen at {event.at}, before it was closed")
        status = CaseStatus.IN_PROGRESS if case.contacts else CaseStatus.OPEN
        return attrs.evolve(step, status=status, outcome=None, closed_at=None, close_note="",
                            reopen_count=case.reopen_count + 1)
    if isinstance(event, case_events.StaffNotified):
        return attrs.evolve(step, notified=(*case.notified, event.key))
    raise _refuse(case.case_id, f"unknown event {type(event).__name__}")  # pragma: no cover


def _escalate(case: Case, event: case_events.CaseEscalated) -> Case:
    if event.level <= case.level:
        raise _refuse(case.case_id, f"escalation must raise the level above {case.level.label}, "
                      f"got {event.level.label}")
    for due in event.deadlines:
        if due.start < event.at or due.due_at < due.start:
            raise _refuse(case.case_id, f"deadline {due.name} falls before the escalation")
    kept = tuple(d for d in case.deadlines if d.met_at is not None)
    names = {d.name for d in event.deadlines}
    kept = tuple(d for d in kept if d.name not in names)
    return attrs.evolve(
        case, level=event.level, reason=event.reason, score=event.score,
        summary=event.summary or case.summary, owners=event.owners or case.owners,
        escalated_at=event.at, deadlines=(*kept, *event.deadlines),
    )


def replay(events: Iterable[case_events.CaseEvent]) -> Case:
    """The case a history adds up to; CaseError when the history is empty or breaks a rule."""
    case: Case | None = None
    for event in events:
        case = apply(case, event)
    if case is None:
        raise CaseError("an empty history is not a case")
    return case


def latest_activity(case: Case) -> dt.datetime:
    """The time of the latest thing that happened on the case."""
    times = [case.warned_at, *(c.at for c in case.contacts), *(p.at for p in case.plans)]
    for extra in (case.escalated_at, case.closed_at):
        if extra is not None:
            times.append(extra)
    return max(times)
