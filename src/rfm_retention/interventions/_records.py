"""What a case is: deadlines, contacts, plans and the case itself (immutable records)."""

from __future__ import annotations

import datetime as dt

import attrs

from rfm_retention.interventions._convert import (
    moment,
    optional_moment,
    risk_level,
    text_tuple,
)
from rfm_retention.interventions._vocabulary import (
    CaseStatus,
    Channel,
    ContactResult,
    Milestone,
    Outcome,
    Purpose,
)
from rfm_retention.vocabulary import ReasonCode, RiskLevel

__all__ = ["Case", "Contact", "Due", "PlanRecord"]


@attrs.frozen
class Due:
    """One deadline of one case, fixed when it was set (later playbook edits do not move it).

    Example:
        >>> import datetime as dt
        >>> d = Due("first_contact", start=dt.datetime(2024, 1, 1, 9),
        ...         due_at=dt.datetime(2024, 1, 2, 9), met_by="attempt")
        >>> d.breached(dt.datetime(2024, 1, 2, 10))
        True

    Attributes:
        name: What is due.
        start: When its clock started (the warning, or the escalation).
        due_at: When it falls due.
        met_by: What meets it.
        met_at: When it was met (first qualifying event at or after ``start``).
    """

    name: str
    start: dt.datetime = attrs.field(converter=moment)
    due_at: dt.datetime = attrs.field(converter=moment)
    met_by: Milestone = attrs.field(converter=Milestone)
    met_at: dt.datetime | None = attrs.field(default=None, converter=optional_moment)

    def breached(self, as_of: dt.datetime) -> bool:
        """Unmet and past due at ``as_of``."""
        return self.met_at is None and as_of > self.due_at

    @property
    def met_in_time(self) -> bool | None:
        """``True``/``False`` once met; ``None`` while unmet (for compliance KPIs)."""
        return None if self.met_at is None else self.met_at <= self.due_at


@attrs.frozen
class Contact:
    """One contact with the patient: who reached out, how, when, and what came of it.

    ``inbound`` marks a contact the patient started (consent rules do not apply).
    """

    at: dt.datetime = attrs.field(converter=moment)
    actor: str
    channel: Channel = attrs.field(converter=Channel)
    result: ContactResult = attrs.field(converter=ContactResult)
    purpose: Purpose = attrs.field(default=Purpose.CARE, converter=Purpose)
    note: str = ""
    inbound: bool = False


@attrs.frozen
class PlanRecord:
    """A retention plan recorded on a case (the latest one is the case's plan)."""

    at: dt.datetime = attrs.field(converter=moment)
    actor: str
    code: str
    description: str = ""
    purpose: Purpose = attrs.field(default=Purpose.CARE, converter=Purpose)


@attrs.frozen
class Case:
    """One patient's intervention case: the current state, rebuilt from its history.

    Cases are never edited in place: every change is an event appended to the
    case's history, and this record is what the history adds up to
    (see :func:`~rfm_retention.interventions.replay`).

    Attributes:
        case_id: ``"<patient_id>#<episode>"``.
        patient_id: The patient, as text.
        episode: 1 for the patient's first case, 2 for the next, ...
        level: Current risk level (raised by escalations, never lowered).
        reason: Current churn reason.
        score: Risk score of the latest warning, if the policy gives one.
        summary: One line saying why the patient was warned.
        warned_at: When the warning that opened the case was raised.
        escalated_at: When the case was last escalated, if ever.
        owners: Staff roles responsible.
        status: ``open`` / ``in_progress`` / ``closed``.
        deadlines: Current deadlines (met ones stay; unmet ones are replaced
            on escalation).
        contacts: Every contact, in the order recorded.
        plans: Every retention plan recorded; the last one is current.
        outcome: Set when closed.
        closed_at: When it was closed (``None`` while not closed).
        close_note: Why, in staff's words.
        reopen_count: How many times it was reopened.
        notified: Keys of breach notifications already sent (no repeats).
        version: Number of events in its history.
    """

    case_id: str
    patient_id: str
    episode: int
    level: RiskLevel = attrs.field(converter=risk_level)
    reason: ReasonCode = attrs.field(converter=ReasonCode)
    score: float | None
    summary: str
    warned_at: dt.datetime
    escalated_at: dt.datetime | None
    owners: tuple[str, ...] = attrs.field(converter=text_tuple)
    status: CaseStatus
    deadlines: tuple[Due, ...]
    contacts: tuple[Contact, ...]
    plans: tuple[PlanRecord, ...]
    outcome: Outcome | None
    closed_at: dt.datetime | None
    close_note: str
    reopen_count: int
    notified: tuple[str, ...]
    version: int

    @property
    def is_closed(self) -> bool:
        """Whether the case has an outcome."""
        return self.status is CaseStatus.CLOSED

    @property
    def plan(self) -> PlanRecord | None:
        """The current retention plan, if one was recorded."""
        return self.plans[-1] if self.plans else None

    @property
    def first_contact_at(self) -> dt.datetime | None:
        """Time of the earliest contact (attempt or message), if any."""
        return min((c.at for c in self.contacts), default=None)

    def breaches(self, as_of: dt.datetime) -> tuple[Due, ...]:
        """Deadlines unmet and past due at ``as_of`` (none once the case is closed)."""
        if self.is_closed:
            return ()
        return tuple(d for d in self.deadlines if d.breached(as_of))
