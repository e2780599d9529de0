"""The words cases are written in: channels, purposes, contact results, milestones, outcomes.

String enums, so that files, databases and host systems can carry them as
plain text (``Channel("wechat")``) and print them without translation.

The library's verbs (the case book, the contact rules, the care batch) take
the members themselves; text read from a file or a command line is parsed
once where it is read (``Channel(text)``), and text reaching a verb is
refused by :func:`member` with the member to pass instead.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable
from typing import TypeVar

from rfm_retention.errors import ConfigError

__all__ = [
    "CaseStatus", "Channel", "ContactResult", "Milestone", "Outcome", "Purpose", "member",
    "members", "purpose_member",
]

_E = TypeVar("_E", bound=enum.Enum)


def member(kind: type[_E], value: object, field: str) -> _E:
    """``value`` when it is a ``kind`` member, else a ConfigError naming the member to use.

    Text is refused even when it spells a member: the verbs take the
    vocabulary's enums, as intake takes typed warning records; text from a
    file is parsed where it is read, with ``kind(text)``.

    Example:
        >>> member(Channel, Channel.SMS, "channel")
        <Channel.SMS: 'sms'>
        >>> member(Channel, "sms", "channel")
        Traceback (most recent call last):
        ...
        rfm_retention.errors.ConfigError: channel takes a Channel, not the str 'sms'
        Hint: channel=Channel.SMS (from rfm_retention.interventions import Channel); text read from a file parses with Channel(text).
    """  # noqa: E501
    if isinstance(value, kind):
        return value
    name = kind.__name__
    try:
        hint = f"{field}={name}.{kind(value).name}"
    except ValueError:
        hint = f"{field}= takes one of " + ", ".join(f"{name}.{m.name}" for m in kind)
    raise ConfigError(
        f"{field} takes a {name}, not the {type(value).__name__} {value!r}\n"
        f"Hint: {hint} (from {_public_home(kind)} import {name}); "
        f"text read from a file parses with {name}(text)."
    )


def members(kind: type[_E], values: Iterable[_E], field: str) -> tuple[_E, ...]:
    """A tuple of ``kind`` members (a preset's ``channels``, a template's ``reasons``).

    Each item goes through :func:`member`; one text or one member alone is
    refused with the tuple to pass (a string would otherwise be read letter
    by letter).

    Example:
        >>> members(Channel, [Channel.SMS, Channel.APP], "channels")
        (<Channel.SMS: 'sms'>, <Channel.APP: 'app'>)
        >>> members(Channel, Channel.SMS, "channels")
        Traceback (most recent call last):
        ...
        rfm_retention.errors.ConfigError: channels takes a tuple of Channel, not the Channel 'sms'
        Hint: channels=(Channel.SMS,)
    """
    if isinstance(values, str | enum.Enum):
        name = kind.__name__
        try:
            hint = f"({name}.{kind(values).name},)"
        except ValueError:
            hint = f"a tuple of {name} members"
        shown = repr(str(values)) if isinstance(values, str) else repr(values)
        raise ConfigError(f"{field} takes a tuple of {name}, not the "
                          f"{type(values).__name__} {shown}\nHint: {field}={hint}")
    return tuple(member(kind, v, field) for v in values)


def _public_home(kind: type[enum.Enum]) -> str:
    """The public module ``kind`` is imported from: its module up to the first private part."""
    return ".".join(itertools.takewhile(lambda p: not p.startswith("_"),
                                        kind.__module__.split(".")))


class Channel(enum.StrEnum):
    """How staff reach a patient."""

    PHONE = "phone"
    SMS = "sms"
    WECHAT = "wechat"
    EMAIL = "email"
    APP = "app"
    IN_PERSON = "in_person"
    HOME_VISIT = "home_visit"


class Purpose(enum.StrEnum):
    """Why a message is sent; consent is given separately for each.

    Care messages (revisit reminders, follow-ups, health advice) belong to the
    treatment relationship; marketing messages (offers, packages, discounts)
    need the patient's agreement to be marketed to.
    """

    CARE = "care"
    MARKETING = "marketing"


class ContactResult(enum.StrEnum):
    """What came of one contact."""

    REACHED = "reached"
    CALLBACK_REQUESTED = "callback_requested"
    REFUSED = "refused"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"
    MESSAGE_SENT = "message_sent"
    MESSAGE_FAILED = "message_failed"

    @property
    def reached(self) -> bool:
        """Whether staff actually spoke with the patient (even if the patient said no)."""
        return self in (ContactResult.REACHED, ContactResult.CALLBACK_REQUESTED,
                        ContactResult.REFUSED)

    @property
    def is_message(self) -> bool:
        """Whether this was a one-way message rather than a person-to-person attempt."""
        return self in (ContactResult.MESSAGE_SENT, ContactResult.MESSAGE_FAILED)


class Milestone(enum.StrEnum):
    """What meets a deadline: the first such event at or after the deadline's start.

    ``attempt``: staff tried to reach the patient person to person (a call that
    went unanswered counts: the deadline measures staff responsiveness);
    ``reached``: staff spoke with the patient; ``message``: a one-way care
    message went out; ``plan``: a retention plan was recorded.
    """

    ATTEMPT = "attempt"
    REACHED = "reached"
    MESSAGE = "message"
    PLAN = "plan"


class Outcome(enum.StrEnum):
    """How a case ended."""

    WON_BACK = "won_back"
    LOST = "lost"
    UNREACHABLE = "unreachable"
    DECLINED = "declined"
    NOT_NEEDED = "not_needed"


class CaseStatus(enum.StrEnum):
    """Where a case stands: ``open`` (nobody has reached out yet), ``in_progress``, ``closed``."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


def purpose_member(value: Purpose) -> Purpose:
    """A preset's ``purpose`` (a playbook action, a message template): :func:`member` of it.

    Example:
        >>> purpose_member(Purpose.MARKETING)
        <Purpose.MARKETING: 'marketing'>
    """
    return member(Purpose, value, "purpose")
