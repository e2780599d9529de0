"""Batch care messages for medium-risk patients, written from templates for the host to send.

The tone follows the source documents (SPEC section 2): ask caringly whether
something got in the way - "we noticed you haven't been back; did something
get in the way?" - rather than a bare "time for your revisit". The library
writes the texts and says who must *not* get one (consent, do-not-contact);
sending is the host's job, and a message that went out is recorded on its
case with :meth:`~rfm_retention.interventions.CaseBook.record_contact`
(``result=ContactResult.MESSAGE_SENT``).
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterable, Mapping

import attrs

from rfm_retention.errors import ConfigError
from rfm_retention.interventions._contact_rules import ContactRules
from rfm_retention.interventions._records import Case
from rfm_retention.interventions._vocabulary import (
    Channel,
    ContactResult,
    Purpose,
    member,
    members,
    purpose_member,
)
from rfm_retention.time import TimeLike, to_datetime
from rfm_retention.vocabulary import ReasonCode, RiskLevel

__all__ = [
    "CARE_TEMPLATES",
    "PLACEHOLDERS",
    "MessageBatch",
    "MessageTemplate",
    "OutgoingMessage",
    "SkippedRecipient",
    "compose_care_batch",
]

PLACEHOLDERS = frozenset({"name", "hospital", "department", "contact_line"})
"""The fields a template may use, filled from per-patient details and batch defaults."""


def _fields(text: str) -> set[str]:
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ConfigError(f"message template {text[:40]!r}...: {exc}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            known = ", ".join(sorted(PLACEHOLDERS))
            raise ConfigError(f"message template uses {{{name}}}; allowed: {known}")
        names.add(name)
    return names


def _reasons(value: Iterable[ReasonCode]) -> tuple[ReasonCode, ...]:
    return members(ReasonCode, value, "reasons")


@attrs.frozen
class MessageTemplate:
    """A message text with ``{placeholders}``, for some churn reasons (empty = any reason).

    ``reasons`` and ``purpose`` take the vocabulary's members
    (``ReasonCode.PRICE``, ``Purpose.MARKETING``); text is refused with the
    member to pass (text read from a file parses with ``ReasonCode(text)``).

    Example:
        >>> t = MessageTemplate("hello", "Dear {name}, how are you?")
        >>> t.render({"name": "Ms Li"})
        'Dear Ms Li, how are you?'
    """

    key: str
    text: str
    reasons: tuple[ReasonCode, ...] = attrs.field(default=(), converter=_reasons)
    purpose: Purpose = attrs.field(default=Purpose.CARE, converter=purpose_member)
    fields: frozenset[str] = attrs.field(init=False)

    @fields.default
    def _parse(self) -> frozenset[str]:
        return frozenset(_fields(self.text))

    def render(self, values: Mapping[str, str]) -> str:
        """The text with every placeholder filled; KeyError names a missing value."""
        return self.text.format_map({k: values[k] for k in self.fields})


CARE_TEMPLATES = (
    MessageTemplate(
        "care_efficacy",
        "Dear {name}, this is {hospital}. We have been thinking of you since your treatment "
        "in {department}. How are you feeling now - is recovery going as you hoped? If "
        "anything worries you, your doctor would be glad to talk it through: {contact_line}.",
        reasons=(ReasonCode.EFFICACY,),
    ),
    MessageTemplate(
        "care_service",
        "Dear {name}, this is {hospital}. We noticed we have not seen you for a while and we "
        "would like to hear how your last visit went for you - did something fall short? "
        "We are listening and have been improving: {contact_line}.",
        reasons=(ReasonCode.SERVICE, ReasonCode.TRUST),
    ),
    MessageTemplate(
        "care_general",
        "Dear {name}, this is {hospital}. We noticed you haven't been back to {department} "
        "for a while - did something get in the way? If we can help in any way, or you "
        "would like us to arrange your next visit, we are here for you: {contact_line}.",
    ),
)
"""Default caring-tone texts: reason-specific first, a general one for every other reason."""


@attrs.frozen
class OutgoingMessage:
    """One message for the host to send (the library sends nothing)."""

    case_id: str
    patient_id: str
    channel: Channel
    purpose: Purpose
    template: str
    text: str


@attrs.frozen
class SkippedRecipient:
    """A patient who gets no message, and why (consent, missing detail, no template)."""

    case_id: str
    patient_id: str
    reason: str


@attrs.frozen
class MessageBatch:
    """Messages to send and patients skipped, both in case order."""

    messages: tuple[OutgoingMessage, ...]
    skipped: tuple[SkippedRecipient, ...]


def _template_for(case: Case, templates: tuple[MessageTemplate, ...]) -> MessageTemplate | None:
    specific = [t for t in templates if case.reason in t.reasons]
    general = [t for t in templates if not t.reasons]
    pool = specific or general
    return pool[0] if pool else None


def compose_care_batch(
    cases: Iterable[Case],
    *,
    channel: Channel,
    hospital: str,
    contact_line: str,
    details: Mapping[str, Mapping[str, str]] | None = None,
    rules: ContactRules | None = None,
    templates: Iterable[MessageTemplate] = CARE_TEMPLATES,
    levels: Iterable[RiskLevel] = (RiskLevel.MEDIUM,),
    default_name: str = "patient",
    default_department: str = "our clinic",
    as_of: TimeLike | None = None,
    resend_after: dt.timedelta | None = None,
) -> MessageBatch:
    """Write the batch of care messages for the non-closed cases at ``levels``.

    Each case gets its reason's template (or the general one). Patients the
    contact rules refuse on ``channel`` are skipped with the rule's reason, as
    are patients whose template needs a detail nobody supplied, and cases that
    already had a message sent (ever, or within ``resend_after`` of ``as_of``):
    running the batch every day does not text the same patient every day.

    Example:
        >>> import datetime as dt
        >>> from rfm_retention.interventions import CaseBook, Channel, InMemoryCaseStore
        >>> from rfm_retention.risk import WarningRecord
        >>> from rfm_retention.vocabulary import ReasonCode, RiskLevel
        >>> book = CaseBook(InMemoryCaseStore())
        >>> warning = WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.BEHAVIOUR_ONLY)
        >>> _ = book.intake(warning, dt.datetime(2024, 5, 6, 8))
        >>> batch = compose_care_batch(book.cases(open_only=True), channel=Channel.SMS,
        ...     hospital="Riverside Hospital", contact_line="call 0571-8888",
        ...     details={"p1": {"name": "Mr Zhang", "department": "cardiology"}})
        >>> print(batch.messages[0].text)  # doctest: +NORMALIZE_WHITESPACE
        Dear Mr Zhang, this is Riverside Hospital. We noticed you haven't been back to
        cardiology for a while - did something get in the way? If we can help in any way,
        or you would like us to arrange your next visit, we are here for you: call 0571-8888.

    Args:
        cases: Cases to consider (closed ones and other levels are left out).
        channel: The channel the host will send on (consent is per channel), a
            :class:`Channel` (text is refused with the member to pass).
        hospital: Signature.
        contact_line: How the patient can reach the hospital.
        details: Per patient id, values for ``name`` and ``department``.
        rules: Consent rules; ``None`` skips nobody.
        templates: Texts to use; reason-specific ones win over general ones.
        levels: Which risk levels get the batch (SPEC: medium).
        default_name: Used when a patient's name is not supplied.
        default_department: Used when a patient's department is not supplied.
        as_of: When the batch is written (needed with ``resend_after``).
        resend_after: Message a case again once its last message is this old;
            ``None`` messages each case once.
    """
    plan = _BatchPlan(
        channel=member(Channel, channel, "channel"),
        templates=tuple(templates),
        rules=rules,
        base={"hospital": hospital, "contact_line": contact_line, "name": default_name,
              "department": default_department},
        details=details or {},
        levels=frozenset(members(RiskLevel, levels, "levels")),
        now=_batch_time(as_of, resend_after),
        resend_after=resend_after,
    )
    messages: list[OutgoingMessage] = []
    skipped: list[SkippedRecipient] = []
    for case in cases:
        if not plan.takes(case):
            continue
        outcome = plan.compose(case)
        if isinstance(outcome, str):
            skipped.append(SkippedRecipient(case.case_id, case.patient_id, outcome))
        else:
            messages.append(outcome)
    return MessageBatch(tuple(messages), tuple(skipped))


def _batch_time(as_of: TimeLike | None, resend_after: dt.timedelta | None) -> dt.datetime | None:
    """When the batch is written (converted once when given); needed to judge ``resend_after``."""
    if as_of is None:
        if resend_after is not None:
            raise ConfigError("compose_care_batch: resend_after needs as_of")
        return None
    return to_datetime(as_of, field="as_of")


@attrs.frozen
class _BatchPlan:
    """One batch's settings, and the steps that turn a case into a message or a skip reason.

    A case goes through :meth:`compose` step by step: already messaged? a
    template for its reason? may it be contacted on the channel for that
    purpose? every field the template needs supplied? The first step that
    says no gives the reason it is skipped; a case through all of them gets
    its text.
    """

    channel: Channel
    templates: tuple[MessageTemplate, ...]
    rules: ContactRules | None
    base: Mapping[str, str]
    details: Mapping[str, Mapping[str, str]]
    levels: frozenset[RiskLevel]
    now: dt.datetime | None
    resend_after: dt.timedelta | None

    def takes(self, case: Case) -> bool:
        """Whether the case belongs in this batch at all: open, at one of the levels."""
        return not case.is_closed and case.level in self.levels

    def compose(self, case: Case) -> OutgoingMessage | str:
        """The case's message, or why it gets none."""
        why = self.already_messaged(case)
        if why:
            return why
        template = _template_for(case, self.templates)
        if template is None:
            return f"no template for reason {case.reason}"
        values = {**self.base, **self.details.get(case.patient_id, {})}
        why = self.refused(case, template) or _missing_fields(template, values)
        if why:
            return why
        return OutgoingMessage(case.case_id, case.patient_id, self.channel,
                               template.purpose, template.key, template.render(values))

    def already_messaged(self, case: Case) -> str:
        """Why not to message the case again (it had one, and not ``resend_after`` ago), or ""."""
        sent = [c.at for c in case.contacts if c.result is ContactResult.MESSAGE_SENT]
        if not sent:
            return ""
        last = max(sent)
        due_again = (self.resend_after is not None and self.now is not None
                     and self.now - last >= self.resend_after)
        return "" if due_again else f"already messaged at {last:%Y-%m-%d %H:%M}"

    def refused(self, case: Case, template: MessageTemplate) -> str:
        """The contact rules' refusal of this patient, channel and purpose, or ""."""
        if self.rules is None:
            return ""
        return self.rules.why_not(case.patient_id, self.channel, template.purpose)


def _missing_fields(template: MessageTemplate, values: Mapping[str, str]) -> str:
    """Which fields the template needs that nobody supplied, or ""."""
    missing = sorted(f for f in template.fields if not str(values.get(f, "")).strip())
    return "missing " + ", ".join(missing) if missing else ""
