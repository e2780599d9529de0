"""Consent and do-not-contact: who may be contacted, on which channel, for what.

Care messages (revisit reminders, follow-ups, health advice) and marketing
messages (offers, packages) are consented to separately, per patient and per
channel. The defaults follow the usual reading of health-privacy law: care
contact is part of the treatment relationship (allowed unless refused),
marketing needs an opt-in. Both defaults are parameters.

Precedence, strongest first: a do-not-contact flag (for the patient, or for one
channel) refuses everything; then the patient's statement for that channel;
then their statement for all channels; then the default.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from rfm_retention.errors import ContactRefused
from rfm_retention.interventions._vocabulary import Channel, Purpose, member

__all__ = ["Consent", "ContactRules"]


@attrs.frozen
class Consent:
    """One patient's statement about being contacted (``None`` = said nothing about it).

    Example:
        >>> Consent("p1", marketing=False)               # opted out of marketing everywhere
        Consent(patient_id='p1', channel=None, care=None, marketing=False, do_not_contact=False)
        >>> never_text = Consent("p1", channel="sms", do_not_contact=True)

    Attributes:
        patient_id: The patient, as text.
        channel: The channel it is about; ``None`` for every channel.
        care: Agrees (``True``) or refuses (``False``) care messages.
        marketing: Agrees or refuses marketing messages.
        do_not_contact: No contact of any kind (on ``channel``, or at all).
    """

    patient_id: str = attrs.field(converter=str)
    channel: Channel | None = attrs.field(
        default=None, converter=attrs.converters.optional(Channel)
    )
    care: bool | None = None
    marketing: bool | None = None
    do_not_contact: bool = False


class ContactRules:
    """Answers "may we contact this patient on this channel for this purpose?".

    Later statements for the same patient and channel replace earlier ones.

    The questions take the vocabulary's members (``Channel.SMS``,
    ``Purpose.CARE``); text is refused with the member to pass, as the case
    book refuses it (parse text from a file once, with ``Channel(text)``).

    Example:
        >>> rules = ContactRules([Consent("p1", marketing=False)])
        >>> rules.allows("p1", Channel.SMS, Purpose.CARE)
        True
        >>> rules.check("p1", Channel.SMS, Purpose.MARKETING)
        Traceback (most recent call last):
        ...
        rfm_retention.errors.ContactRefused: patient p1 opted out of marketing messages (all channels)

    Args:
        consents: Statements, oldest first.
        care_default: Whether care contact is allowed when the patient said nothing.
        marketing_default: Whether marketing is allowed when the patient said nothing.
    """  # noqa: E501

    def __init__(
        self,
        consents: Iterable[Consent] = (),
        *,
        care_default: bool = True,
        marketing_default: bool = False,
    ) -> None:
        self.care_default = care_default
        self.marketing_default = marketing_default
        self._by_key: dict[tuple[str, Channel | None], Consent] = {}
        for consent in consents:
            self.record(consent)

    def record(self, consent: Consent) -> None:
        """Add a statement (it replaces the patient's earlier one for that channel)."""
        self._by_key[(consent.patient_id, consent.channel)] = consent

    def why_not(self, patient_id: object, channel: Channel, purpose: Purpose) -> str:
        """Why the contact is refused, or ``""`` when it is allowed."""
        pid = str(patient_id)
        channel = member(Channel, channel, "channel")
        purpose = member(Purpose, purpose, "purpose")
        specific = self._by_key.get((pid, channel))
        general = self._by_key.get((pid, None))
        if general is not None and general.do_not_contact:
            return f"patient {pid} is marked do-not-contact"
        if specific is not None and specific.do_not_contact:
            return f"patient {pid} is marked do-not-contact on {channel}"
        for statement, scope in ((specific, channel.value), (general, "all channels")):
            if statement is None:
                continue
            said = statement.care if purpose is Purpose.CARE else statement.marketing
            if said is not None:
                return "" if said else f"patient {pid} opted out of {purpose} messages ({scope})"
        default = self.care_default if purpose is Purpose.CARE else self.marketing_default
        return "" if default else f"patient {pid} has not agreed to {purpose} messages"

    def allows(self, patient_id: object, channel: Channel, purpose: Purpose) -> bool:
        """Whether the contact is allowed."""
        return not self.why_not(patient_id, channel, purpose)

    def check(self, patient_id: object, channel: Channel, purpose: Purpose) -> None:
        """Raise :class:`~rfm_retention.errors.ContactRefused` unless the contact is allowed."""
        reason = self.why_not(patient_id, channel, purpose)
        if reason:
            raise ContactRefused(reason)
