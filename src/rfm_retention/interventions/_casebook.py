"""The case book: warnings in, cases with deadlines out; contacts, plans and outcomes recorded.

A :class:`CaseBook` ties a :class:`~rfm_retention.interventions.CaseStore`, a
:class:`~rfm_retention.interventions.Playbook` and a
:class:`~rfm_retention.interventions.WorkingCalendar` together. Every change
is validated by the case state machine
(:mod:`rfm_retention.interventions._lifecycle`) *before* it is stored, so a
refused change leaves nothing behind. Times are always arguments: the book
never reads the clock.

Episodes. A warning for a patient with a non-closed case belongs to that
case: the same or a lower level changes nothing (``unchanged``), a higher level
escalates it. A warning for a patient whose latest case is closed opens a new
case only when it starts a new episode - the warning is new (the patient was
not warned in the previous scan; pass ``new_episode=True``) or its level is
above the closed case's - otherwise it is ``suppressed``: the same ongoing
warning already had its case and its outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, overload

import attrs
import numpy.typing as npt

from rfm_retention._frames import FrameViews
from rfm_retention.errors import CaseError, ConfigError, StoreIntegrityError
from rfm_retention.interventions import _events as case_events
from rfm_retention.interventions._case_list import CaseList
from rfm_retention.interventions._contact_rules import ContactRules
from rfm_retention.interventions._intake import Intake, IntakeAction, IntakeReport
from rfm_retention.interventions._lifecycle import apply, replay
from rfm_retention.interventions._notify import NoticeKind, Notifier, StaffNotice
from rfm_retention.interventions._playbook import SPEC_PLAYBOOK, Playbook
from rfm_retention.interventions._records import Case, Due
from rfm_retention.interventions._store import CaseStore
from rfm_retention.interventions._vocabulary import (
    Channel,
    ContactResult,
    Outcome,
    Purpose,
    member,
)
from rfm_retention.interventions._working_calendar import WorkingCalendar
from rfm_retention.risk._records import WarningRecord
from rfm_retention.risk._warnings import WarningList
from rfm_retention.time import TimeLike, to_datetime
from rfm_retention.vocabulary import ReasonCode, RiskLevel

__all__ = ["Breach", "CaseBook"]


@attrs.frozen
class Breach:
    """One unmet, past-due deadline of a non-closed case, and who should hear about it.

    Attributes:
        case: The case.
        deadline: The deadline breached.
        overdue_hours: Clock hours since it fell due.
        notify: Roles the playbook's escalation rules name for this breach.
    """

    case: Case
    deadline: Due
    overdue_hours: float
    notify: tuple[str, ...]

    @property
    def key(self) -> str:
        """Identifies the breach and the escalation tier (so each tier is told once)."""
        return f"{self.deadline.name}@{self.deadline.due_at.isoformat()}>{'|'.join(self.notify)}"


_INTAKE_ATTEMPTS = 3


class _StoreConflict(CaseError):
    """The store refused a write that the state machine accepted: someone else wrote first."""


def _text(value: object, field: str) -> str:
    text = str(value).strip()
    if not text:
        raise ConfigError(f"{field} must not be empty")
    return text


def _record(value: object, position: int) -> WarningRecord:
    """``value`` when it is a WarningRecord, else a ConfigError naming its position."""
    if isinstance(value, WarningRecord):
        return value
    raise ConfigError(
        f"warning {position}: intake takes WarningRecords, got {type(value).__name__}\n"
        "Hint: WarningList.to_records() or read_warnings_csv() give them."
    )


class CaseBook(FrameViews):
    """Opens, escalates, records and closes intervention cases.

    Example:
        >>> import datetime as dt
        >>> from rfm_retention.interventions import (
        ...     Channel, ContactResult, InMemoryCaseStore, Outcome)
        >>> from rfm_retention.risk import WarningRecord
        >>> from rfm_retention.vocabulary import ReasonCode, RiskLevel
        >>> book = CaseBook(InMemoryCaseStore())
        >>> warned = dt.datetime(2024, 5, 6, 9, 0)
        >>> warning = WarningRecord("p42", RiskLevel.HIGH, ReasonCode.PRICE, 85.0, "no visit")
        >>> case = book.intake(warning, warned).case
        >>> {d.name: d.due_at.isoformat() for d in case.deadlines}
        {'first_contact': '2024-05-07T09:00:00', 'retention_plan': '2024-05-08T09:00:00'}
        >>> case = book.record_contact(case.case_id, at=warned + dt.timedelta(hours=3),
        ...                            actor="dr.wang", channel=Channel.PHONE,
        ...                            result=ContactResult.REACHED)
        >>> book.close(case.case_id, at=warned + dt.timedelta(days=9), actor="dr.wang",
        ...            outcome=Outcome.WON_BACK).outcome
        <Outcome.WON_BACK: 'won_back'>

    Args:
        store: Where histories are kept.
        playbook: Levels, deadlines, plans and escalation rules.
        calendar: Working calendar the deadlines are counted in.
        contact_rules: Consent rules checked before every outbound contact and
            every marketing plan; ``None`` checks nothing.
        notifier: Told about new cases and escalations at ``notify_levels``,
            and about breaches by :meth:`escalate_overdue`.
        notify_levels: Levels whose new cases and escalations are announced.
    """

    FRAME_CATEGORIES = CaseList.FRAME_CATEGORIES

    def __init__(
        self,
        store: CaseStore,
        *,
        playbook: Playbook = SPEC_PLAYBOOK,
        calendar: WorkingCalendar | None = None,
        contact_rules: ContactRules | None = None,
        notifier: Notifier | None = None,
        notify_levels: Sequence[RiskLevel] = (RiskLevel.HIGH,),
    ) -> None:
        self.store = store
        self.playbook = playbook
        self.calendar = WorkingCalendar() if calendar is None else calendar
        self.contact_rules = contact_rules
        self.notifier = notifier
        self.notify_levels = frozenset(notify_levels)

    def __repr__(self) -> str:
        return self.cases()._display("CaseBook").text()

    def _repr_html_(self) -> str:
        return self.cases()._display("CaseBook").html()

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """Every stored case as one row (see :meth:`CaseList.to_columns`); the DataFrame
        views ``to_pandas()``, ``to_polars()`` and ``to_arrow()`` read it."""
        return self.cases().to_columns()

    # -- reading ------------------------------------------------------------

    def get(self, case_id: str) -> Case:
        """The case as its history adds up to now; CaseError when there is no such case."""
        events = self.store.history(case_id)
        if not events:
            raise CaseError(f"no case {case_id!r}")
        try:
            return replay(events)
        except CaseError as exc:
            raise StoreIntegrityError(
                f"case {case_id}: the stored history does not add up: {exc}"
            ) from None

    def history(self, case_id: str) -> tuple[case_events.CaseEvent, ...]:
        """Every event of the case, oldest first."""
        return self.store.history(case_id)

    def cases(self, *, patient_id: object | None = None, open_only: bool = False) -> CaseList:
        """Stored cases, by patient then episode (optionally one patient's, or non-closed only).

        A :class:`CaseList`: a sequence of cases and a table with DataFrame views.
        """
        pid = None if patient_id is None else str(patient_id)
        ids = self.store.case_ids(patient_id=pid, open_only=open_only)
        return CaseList(self.get(cid) for cid in ids)

    # -- warnings -----------------------------------------------------------

    def _deadlines(self, level: RiskLevel, start: dt.datetime) -> tuple[Due, ...]:
        plan = self.playbook.level_plan(level)
        if plan is None:
            return ()
        return tuple(
            Due(rule.name, start=start, due_at=rule.due_from(start, self.calendar),
                met_by=rule.met_by)
            for rule in plan.deadlines
        )

    def _owners(self, level: RiskLevel) -> tuple[str, ...]:
        plan = self.playbook.level_plan(level)
        return () if plan is None else plan.owners

    @overload
    def intake(
        self, warnings: WarningRecord, warned_at: TimeLike | None = None, *,
        actor: str = ..., summary_chars: int = ...,
    ) -> Intake: ...

    @overload
    def intake(
        self, warnings: WarningList | Iterable[WarningRecord], warned_at: TimeLike | None = None,
        *, actor: str = ..., summary_chars: int = ...,
    ) -> IntakeReport: ...

    def intake(
        self,
        warnings: WarningRecord | WarningList | Iterable[WarningRecord],
        warned_at: TimeLike | None = None,
        *,
        actor: str = "risk-scan",
        summary_chars: int = 300,
    ) -> Intake | IntakeReport:
        """Take in warnings: open a case, escalate the open one, or leave things be.

        Given one :class:`~rfm_retention.risk.WarningRecord`, returns its
        :class:`Intake`; given a :class:`~rfm_retention.risk.WarningList`
        (read once through ``to_records()``) or any iterable of records (such as
        :func:`~rfm_retention.risk.read_warnings_csv` gives), returns an
        :class:`IntakeReport` with one result per warning, in order. The records
        are typed: levels and reasons are the vocabulary's enums, never text.

        Idempotent: taking in the same warning again changes nothing. A record
        whose ``change`` is ``new`` (the patient was not warned in the previous
        scan) starts a new episode; see the module docstring.

        Args:
            warnings: One record, a warning list, or an iterable of records.
            warned_at: When the warnings were raised; deadlines count from it.
                ``None`` takes a warning list's own ``as_of``.
            actor: Recorded as the author of openings and escalations.
            summary_chars: The evidence is cut to this many characters for the
                case's one-line summary.
        """
        if warned_at is None:
            warned_at = getattr(warnings, "as_of", None)
            if warned_at is None:
                raise ConfigError("intake: give warned_at= (only a WarningList has its own "
                                  "as_of)")
        at = to_datetime(warned_at, field="warned_at")
        if isinstance(warnings, WarningRecord):
            return self._take(warnings, at, actor, summary_chars)
        if isinstance(warnings, str):
            raise ConfigError(
                f"intake takes WarningRecords or a WarningList, not the text {warnings!r}\n"
                "Hint: WarningRecord(patient_id, RiskLevel.HIGH, ReasonCode.PRICE)."
            )
        if isinstance(warnings, WarningList):
            records = warnings.to_records()
        else:  # every item is checked before the first is taken in
            records = tuple(_record(r, n) for n, r in enumerate(warnings))
        return IntakeReport(tuple(self._take(r, at, actor, summary_chars) for r in records))

    def _take(self, warning: WarningRecord, at: dt.datetime, actor: str,
              summary_chars: int) -> Intake:
        """One typed warning in: a case opened, escalated or left as it was."""
        pid = _text(warning.patient_id, "patient_id")
        if not self.playbook.opens_case(warning.level):
            return Intake(IntakeAction.IGNORED, None)
        summary = warning.evidence
        if len(summary) > summary_chars:
            summary = summary[: summary_chars - 1] + "…"
        score = None if warning.score is None else float(warning.score)
        new_episode = warning.change == "new"
        # Another writer (a second scan process) may change the patient's cases
        # between our read and our write; the store refuses the stale write and
        # the decision is simply taken again on fresh data.
        for attempt in range(_INTAKE_ATTEMPTS):
            try:
                return self._intake(pid, warning.level, warning.reason, at, score, summary,
                                    new_episode, actor)
            except _StoreConflict:
                if attempt == _INTAKE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _intake(
        self, pid: str, risk: RiskLevel, why: ReasonCode, at: dt.datetime,
        score: float | None, summary: str, new_episode: bool, actor: str,
    ) -> Intake:
        ids = self.store.case_ids(patient_id=pid)
        latest = self.get(ids[-1]) if ids else None
        if latest is not None and not latest.is_closed:
            if risk <= latest.level:
                kind = NoticeKind.ESCALATED if latest.escalated_at else NoticeKind.NEW_CASE
                since = latest.escalated_at or latest.warned_at
                return Intake(IntakeAction.UNCHANGED, self._announce(kind, latest, since))
            start = max(at, latest.warned_at)
            escalation = case_events.CaseEscalated(
                case_id=latest.case_id, seq=latest.version + 1, at=start, actor=actor,
                level=risk, reason=why, score=score, summary=summary,
                owners=self._owners(risk), deadlines=self._deadlines(risk, start),
            )
            case = self._commit(latest, [escalation])
            return Intake(IntakeAction.ESCALATED,
                          self._announce_committed(NoticeKind.ESCALATED, case, escalation.at))
        if latest is not None and not (new_episode or risk > latest.level):
            return Intake(IntakeAction.SUPPRESSED, latest)
        if latest is not None and latest.closed_at is not None and at < latest.closed_at:
            return Intake(IntakeAction.SUPPRESSED, latest)
        episode = 1 if latest is None else latest.episode + 1
        opening = case_events.CaseOpened(
            case_id=f"{pid}#{episode}", seq=1, at=at, actor=actor, patient_id=pid,
            episode=episode, level=risk, reason=why, score=score, summary=summary,
            owners=self._owners(risk), deadlines=self._deadlines(risk, at),
        )
        case = self._commit(None, [opening])
        return Intake(IntakeAction.OPENED, self._announce_committed(NoticeKind.NEW_CASE, case, at))

    def _announce_committed(self, kind: NoticeKind, case: Case, at: dt.datetime) -> Case:
        """Announce a case this call has just stored; a race on the notice keeps the result.

        The opening (or escalation) is already committed, so this call's action
        stands even when another writer appends to the case before the notice
        is recorded: the case is reloaded and the notice recorded on it (unless
        the other writer already did).
        """
        for _ in range(_INTAKE_ATTEMPTS):
            try:
                return self._announce(kind, case, at)
            except _StoreConflict:
                case = self.get(case.case_id)
        return case

    def _announce(self, kind: NoticeKind, case: Case, at: dt.datetime) -> Case:
        """Tell the owners about a new or escalated case, at least once.

        The notice is recorded on the case (``notified`` event) only after the
        notifier accepted it; a notifier that failed is retried by the next
        intake of the same warning.
        """
        key = f"{kind.value}:{case.level.label}"
        if self.notifier is None or case.level not in self.notify_levels or key in case.notified:
            return case
        self.notifier.notify(StaffNotice(
            kind=kind, at=at, case_id=case.case_id, patient_id=case.patient_id,
            level=case.level, reason=case.reason, roles=case.owners, summary=case.summary,
        ))
        event = case_events.StaffNotified(case_id=case.case_id, seq=case.version + 1, at=at,
                                          actor="notifier", key=key, roles=case.owners)
        return self._commit(case, [event])

    def _commit(self, case: Case | None, events: Sequence[case_events.CaseEvent]) -> Case:
        state = case
        for event in events:
            state = apply(state, event)
        if state is None:
            raise CaseError("nothing to store: no events were given")
        try:
            self.store.append(state, events)
        except _StoreConflict:
            raise
        except CaseError as exc:
            raise _StoreConflict(str(exc)) from exc
        return state

    # -- staff work ---------------------------------------------------------

    def record_contact(
        self,
        case_id: str,
        *,
        at: TimeLike,
        actor: str,
        channel: Channel,
        result: ContactResult,
        purpose: Purpose = Purpose.CARE,
        note: str = "",
        inbound: bool = False,
    ) -> Case:
        """Record a contact with the patient.

        Outbound contacts are checked against the contact rules first
        (:class:`~rfm_retention.errors.ContactRefused`, nothing recorded);
        ``inbound=True`` records a contact the patient started, which no rule
        forbids.
        """
        case = self.get(case_id)
        channel = member(Channel, channel, "channel")
        purpose = member(Purpose, purpose, "purpose")
        if self.contact_rules is not None and not inbound:
            self.contact_rules.check(case.patient_id, channel, purpose)
        event = case_events.ContactRecorded(
            case_id=case.case_id, seq=case.version + 1, at=to_datetime(at, field="at"),
            actor=_text(actor, "actor"), channel=channel,
            result=member(ContactResult, result, "result"), purpose=purpose, note=note,
            inbound=inbound,
        )
        return self._commit(case, [event])

    def record_plan(
        self,
        case_id: str,
        *,
        at: TimeLike,
        actor: str,
        code: str | None = None,
        description: str | None = None,
        purpose: Purpose | None = None,
        channel: Channel | None = None,
    ) -> Case:
        """Record the retention plan; by default the playbook's plan for the case's reason.

        ``code`` may name any playbook plan (its steps and purpose are used) or
        a plan of the host's own (purpose ``care`` unless given).

        A marketing plan (an offer) for a patient who has not agreed to
        marketing is refused with :class:`~rfm_retention.errors.ContactRefused`
        when ``channel`` (how the offer will reach them) is given and the
        contact rules forbid it there, or on every channel when none is given.
        """
        case = self.get(case_id)
        offered_on = None if channel is None else member(Channel, channel, "channel")
        suggested = self.playbook.retention_plan(case.reason)
        plan_code = suggested.code if code is None else _text(code, "code")
        known = next((p for p in self.playbook.plans if p.code == plan_code), None)
        if description is None:
            description = "" if known is None else "; ".join(known.steps)
        plan_purpose = (
            (Purpose.CARE if known is None else known.purpose)
            if purpose is None else member(Purpose, purpose, "purpose")
        )
        if self.contact_rules is not None and plan_purpose is Purpose.MARKETING:
            channels = list(Channel) if offered_on is None else [offered_on]
            reasons = [self.contact_rules.why_not(case.patient_id, c, plan_purpose)
                       for c in channels]
            if all(reasons):
                self.contact_rules.check(case.patient_id, channels[0], plan_purpose)
        event = case_events.PlanRecorded(
            case_id=case.case_id, seq=case.version + 1, at=to_datetime(at, field="at"),
            actor=_text(actor, "actor"), code=plan_code, description=description,
            purpose=plan_purpose,
        )
        return self._commit(case, [event])

    def close(
        self, case_id: str, *, at: TimeLike, actor: str, outcome: Outcome, note: str = ""
    ) -> Case:
        """Close the case with an outcome (see the state machine's rules)."""
        case = self.get(case_id)
        event = case_events.CaseClosed(
            case_id=case.case_id, seq=case.version + 1, at=to_datetime(at, field="at"),
            actor=_text(actor, "actor"), outcome=member(Outcome, outcome, "outcome"), note=note)
        return self._commit(case, [event])

    def reopen(self, case_id: str, *, at: TimeLike, actor: str, reason: str) -> Case:
        """Reopen a closed case; ``reason`` must say why."""
        case = self.get(case_id)
        event = case_events.CaseReopened(
            case_id=case.case_id, seq=case.version + 1, at=to_datetime(at, field="at"),
            actor=_text(actor, "actor"), reason=reason)
        return self._commit(case, [event])

    # -- deadlines ----------------------------------------------------------

    def overdue(self, as_of: TimeLike) -> list[Breach]:
        """Every breached deadline of every non-closed case at ``as_of``, most overdue first.

        A bare date means the end of that day.
        """
        now = to_datetime(as_of, field="as_of")
        breaches = []
        for case in self.cases(open_only=True):
            for due in case.breaches(now):
                hours = (now - due.due_at).total_seconds() / 3600.0
                roles = self.playbook.notify_for(case.level, due.name, overdue_hours=hours,
                                                 owners=case.owners)
                breaches.append(Breach(case, due, hours, roles))
        breaches.sort(key=lambda b: (b.deadline.due_at, b.case.case_id, b.deadline.name))
        return breaches

    def escalate_overdue(
        self, as_of: TimeLike, *, actor: str = "deadline-check"
    ) -> list[StaffNotice]:
        """Tell the escalation rules' roles about each breach, once per breach and tier.

        Each notice sent is recorded on the case (``notified`` event) after the
        notifier accepted it, so running the check every hour does not repeat
        it, and a notice whose delivery failed is sent again next time
        (at-least-once). A new tier (a rule with a later ``after_hours``)
        triggers a new notice. Returns the notices.
        """
        now = to_datetime(as_of, field="as_of")
        sent: list[StaffNotice] = []
        for breach in self.overdue(now):
            if not breach.notify:
                continue
            case = self.get(breach.case.case_id)
            if breach.key in case.notified:
                continue
            notice = StaffNotice(
                kind=NoticeKind.DEADLINE_BREACHED, at=now, case_id=case.case_id,
                patient_id=case.patient_id, level=case.level, reason=case.reason,
                roles=breach.notify, summary=case.summary, deadline=breach.deadline.name,
                due_at=breach.deadline.due_at,
            )
            if self.notifier is not None:
                self.notifier.notify(notice)
            event = case_events.StaffNotified(
                case_id=case.case_id, seq=case.version + 1, at=max(now, case.warned_at),
                actor=actor, key=breach.key, roles=breach.notify, deadline=breach.deadline.name)
            self._commit(case, [event])
            sent.append(notice)
        return sent
