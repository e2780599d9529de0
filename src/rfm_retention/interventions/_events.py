"""A case's history: one immutable event per change, and their JSON form.

Stores keep these events append-only; a case is what its events add up to.
Every event carries the case, its place in the history (``seq``, from 1), the
time the change happened in the world (``at``, given by the host) and who made
it (``actor``).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any, TypeAlias

import attrs

from rfm_retention.errors import StoreIntegrityError
from rfm_retention.interventions._convert import moment, risk_level, text_tuple
from rfm_retention.interventions._records import Due
from rfm_retention.interventions._vocabulary import Channel, ContactResult, Outcome, Purpose
from rfm_retention.time import iso
from rfm_retention.vocabulary import ReasonCode, RiskLevel

__all__ = [
    "CaseClosed",
    "CaseEscalated",
    "CaseEvent",
    "CaseOpened",
    "CaseReopened",
    "ContactRecorded",
    "PlanRecorded",
    "StaffNotified",
    "decode_event",
    "encode_event",
    "kind_of",
]


def _dues(value: Any) -> tuple[Due, ...]:
    return tuple(d if isinstance(d, Due) else Due(**d) for d in value)


def _score(value: Any) -> float | None:
    return None if value is None else float(value)


@attrs.frozen(kw_only=True)
class _Event:
    case_id: str
    seq: int
    at: dt.datetime = attrs.field(converter=moment)
    actor: str


@attrs.frozen(kw_only=True)
class _WarningEvent(_Event):
    level: RiskLevel = attrs.field(converter=risk_level)
    reason: ReasonCode = attrs.field(converter=ReasonCode)
    score: float | None = attrs.field(default=None, converter=_score)
    summary: str = ""
    owners: tuple[str, ...] = attrs.field(default=(), converter=text_tuple)
    deadlines: tuple[Due, ...] = attrs.field(default=(), converter=_dues)


@attrs.frozen(kw_only=True)
class CaseOpened(_WarningEvent):
    """A warning opened the case; ``at`` is the warning time, when deadlines start."""

    patient_id: str
    episode: int


@attrs.frozen(kw_only=True)
class CaseEscalated(_WarningEvent):
    """A later warning raised the level; unmet deadlines give way to the new level's."""


@attrs.frozen(kw_only=True)
class ContactRecorded(_Event):
    """Staff contacted (or tried to contact, or messaged) the patient."""

    channel: Channel = attrs.field(converter=Channel)
    result: ContactResult = attrs.field(converter=ContactResult)
    purpose: Purpose = attrs.field(default=Purpose.CARE, converter=Purpose)
    note: str = ""
    inbound: bool = False


@attrs.frozen(kw_only=True)
class PlanRecorded(_Event):
    """A retention plan was agreed for the patient."""

    code: str
    description: str = ""
    purpose: Purpose = attrs.field(default=Purpose.CARE, converter=Purpose)


@attrs.frozen(kw_only=True)
class CaseClosed(_Event):
    """The case ended with an outcome."""

    outcome: Outcome = attrs.field(converter=Outcome)
    note: str = ""


@attrs.frozen(kw_only=True)
class CaseReopened(_Event):
    """A closed case was reopened; ``reason`` is required."""

    reason: str


@attrs.frozen(kw_only=True)
class StaffNotified(_Event):
    """Staff were told about a breached deadline (recorded so they are told once per tier)."""

    key: str
    roles: tuple[str, ...] = attrs.field(converter=text_tuple)
    deadline: str = ""


CaseEvent: TypeAlias = (
    CaseOpened
    | CaseEscalated
    | ContactRecorded
    | PlanRecorded
    | CaseClosed
    | CaseReopened
    | StaffNotified
)
"""Any one event of a case's history."""

_KINDS: dict[str, type[CaseEvent]] = {
    "opened": CaseOpened,
    "escalated": CaseEscalated,
    "contact": ContactRecorded,
    "plan": PlanRecorded,
    "closed": CaseClosed,
    "reopened": CaseReopened,
    "notified": StaffNotified,
}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}


def kind_of(event: CaseEvent) -> str:
    """The short kind name an event is stored under (``"contact"``)."""
    return _KIND_OF[type(event)]


def _plain(_inst: Any, _field: Any, value: Any) -> Any:
    if isinstance(value, RiskLevel):
        return value.label
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return iso(value)
    return value


def encode_event(event: CaseEvent) -> str:
    """The event as one line of JSON text, its kind included.

    Example:
        >>> import datetime as dt
        >>> e = CaseReopened(case_id="p1#1", seq=5, at=dt.datetime(2024, 3, 1, 9), actor="lee",
        ...                  reason="patient called back")
        >>> decode_event(encode_event(e)) == e
        True
    """
    data = attrs.asdict(event, value_serializer=_plain)
    data["kind"] = kind_of(event)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def decode_event(text: str) -> CaseEvent:
    """Rebuild an event from :func:`encode_event` text; StoreIntegrityError when it is not one."""
    try:
        data = json.loads(text)
        cls = _KINDS[data.pop("kind")]
        return cls(**data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreIntegrityError(
            f"stored case event cannot be read: {exc}: {text[:200]}"
        ) from None
