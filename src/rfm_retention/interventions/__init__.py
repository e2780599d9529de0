"""Interventions: what staff do about a warning, by when, and what came of it.

* :class:`Playbook` / :data:`SPEC_PLAYBOOK` - actions and deadlines per risk
  level, retention plans per churn reason, escalation rules (SPEC section 5);
* :class:`WorkingCalendar` - opening hours, weekends, host-supplied holidays;
* :func:`intake_warnings` - the day's warning list into cases;
* :class:`CaseBook` - warnings in, cases out: contacts, plans, outcomes,
  ``overdue(as_of)``, breach escalation; every change validated and kept in an
  append-only history (:class:`InMemoryCaseStore`, :class:`SQLiteCaseStore`);
  :class:`CaseList` - its cases as a sequence and a table (``to_pandas()``,
  ``to_polars()``, ``to_arrow()``);
* :class:`ContactRules` - per-patient, per-channel consent and do-not-contact;
* :func:`compose_care_batch` - caring batch messages for the host to send;
* :class:`Notifier` - staff notices (:class:`CallbackNotifier`,
  :class:`JsonLinesNotifier`).
"""

from rfm_retention.interventions._case_list import CaseList
from rfm_retention.interventions._casebook import Breach, CaseBook
from rfm_retention.interventions._contact_rules import Consent, ContactRules
from rfm_retention.interventions._events import (
    CaseClosed,
    CaseEscalated,
    CaseEvent,
    CaseOpened,
    CaseReopened,
    ContactRecorded,
    PlanRecorded,
    StaffNotified,
    decode_event,
    encode_event,
)
from rfm_retention.interventions._from_warnings import intake_warnings
from rfm_retention.interventions._intake import Intake, IntakeAction, IntakeReport
from rfm_retention.interventions._lifecycle import apply, replay
from rfm_retention.interventions._messages import (
    CARE_TEMPLATES,
    MessageBatch,
    MessageTemplate,
    OutgoingMessage,
    SkippedRecipient,
    compose_care_batch,
)
from rfm_retention.interventions._notify import (
    CallbackNotifier,
    JsonLinesNotifier,
    NoticeKind,
    Notifier,
    StaffNotice,
)
from rfm_retention.interventions._playbook import (
    SPEC_PLAYBOOK,
    Action,
    DeadlineRule,
    DeadlineUnit,
    EscalationRule,
    LevelPlan,
    Playbook,
    RetentionPlan,
)
from rfm_retention.interventions._postgres_store import PostgresCaseStore
from rfm_retention.interventions._records import Case, Contact, Due, PlanRecord
from rfm_retention.interventions._sqlite_store import SQLiteCaseStore
from rfm_retention.interventions._store import CaseStore, InMemoryCaseStore
from rfm_retention.interventions._vocabulary import (
    CaseStatus,
    Channel,
    ContactResult,
    Milestone,
    Outcome,
    Purpose,
)
from rfm_retention.interventions._working_calendar import WorkingCalendar, read_holidays
from rfm_retention.interventions.conformance import check_case_store

__all__ = [
    "CARE_TEMPLATES",
    "SPEC_PLAYBOOK",
    "Action",
    "Breach",
    "CallbackNotifier",
    "Case",
    "CaseBook",
    "CaseClosed",
    "CaseEscalated",
    "CaseEvent",
    "CaseList",
    "CaseOpened",
    "CaseReopened",
    "CaseStatus",
    "CaseStore",
    "Channel",
    "Consent",
    "Contact",
    "ContactRecorded",
    "ContactResult",
    "ContactRules",
    "DeadlineRule",
    "DeadlineUnit",
    "Due",
    "EscalationRule",
    "InMemoryCaseStore",
    "Intake",
    "IntakeAction",
    "IntakeReport",
    "JsonLinesNotifier",
    "LevelPlan",
    "MessageBatch",
    "MessageTemplate",
    "Milestone",
    "NoticeKind",
    "Notifier",
    "Outcome",
    "OutgoingMessage",
    "PlanRecord",
    "PlanRecorded",
    "Playbook",
    "PostgresCaseStore",
    "Purpose",
    "RetentionPlan",
    "SQLiteCaseStore",
    "SkippedRecipient",
    "StaffNotice",
    "StaffNotified",
    "WorkingCalendar",
    "apply",
    "check_case_store",
    "compose_care_batch",
    "decode_event",
    "encode_event",
    "intake_warnings",
    "read_holidays",
    "replay",
]
