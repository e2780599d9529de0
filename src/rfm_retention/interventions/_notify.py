"""Telling staff: the notifier protocol and its built-ins (a callback, a JSON-lines file).

The library never sends anything to patients or staff by itself; a notifier is
the host's hook. New high-risk cases, escalations to high risk and breached
deadlines become :class:`StaffNotice` records handed to the notifier.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import attrs

from rfm_retention.interventions._convert import (
    moment,
    optional_moment,
    risk_level,
    text_tuple,
)
from rfm_retention.time import iso
from rfm_retention.vocabulary import ReasonCode, RiskLevel

__all__ = ["CallbackNotifier", "JsonLinesNotifier", "NoticeKind", "Notifier", "StaffNotice"]


class NoticeKind(enum.StrEnum):
    """What a notice is about."""

    NEW_CASE = "new_case"
    ESCALATED = "escalated"
    DEADLINE_BREACHED = "deadline_breached"


@attrs.frozen
class StaffNotice:
    """One message for staff about one case.

    Attributes:
        kind: New case, escalation, or breached deadline.
        at: When it happened (the warning, escalation or check time).
        case_id: The case.
        patient_id: The patient.
        level: The case's risk level.
        reason: The churn reason.
        roles: Who should be told.
        summary: Why the patient was warned.
        deadline: The breached deadline's name (breaches only).
        due_at: When it was due (breaches only).
    """

    kind: NoticeKind = attrs.field(converter=NoticeKind)
    at: dt.datetime = attrs.field(converter=moment)
    case_id: str
    patient_id: str
    level: RiskLevel = attrs.field(converter=risk_level)
    reason: ReasonCode = attrs.field(converter=ReasonCode)
    roles: tuple[str, ...] = attrs.field(converter=text_tuple)
    summary: str = ""
    deadline: str = ""
    due_at: dt.datetime | None = attrs.field(default=None, converter=optional_moment)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (times as ISO text, the level as its label).

        Example:
            >>> import datetime as dt
            >>> StaffNotice("new_case", dt.datetime(2024, 5, 1, 9), "p7#1", "p7", "high",
            ...             "price", ("attending_doctor",)).to_dict()["level"]
            'high'
        """
        return {
            "kind": self.kind.value,
            "at": iso(self.at),
            "case_id": self.case_id,
            "patient_id": self.patient_id,
            "level": self.level.label,
            "reason": self.reason.value,
            "roles": list(self.roles),
            "summary": self.summary,
            "deadline": self.deadline,
            "due_at": None if self.due_at is None else iso(self.due_at),
        }


@runtime_checkable
class Notifier(Protocol):
    """Routes staff notices somewhere (pager, e-mail, work chat, a queue table ...)."""

    def notify(self, notice: StaffNotice) -> None:
        """Deliver one notice; raising makes the calling operation report the failure."""
        ...


class CallbackNotifier:
    """Hands every notice to a function.

    Example:
        >>> inbox = []
        >>> notifier = CallbackNotifier(inbox.append)
    """

    def __init__(self, callback: Callable[[StaffNotice], object]) -> None:
        self.callback = callback

    def notify(self, notice: StaffNotice) -> None:
        """Call the callback with ``notice``."""
        self.callback(notice)


class JsonLinesNotifier:
    """Appends every notice to a file as one JSON object per line (flushed and fsynced).

    Another process (a mailer, a chat bot) can tail the file.

    Example:
        >>> notifier = JsonLinesNotifier("notices.jsonl")  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = os.fspath(path)
        self.fsync = fsync
        self._lock = threading.Lock()

    def notify(self, notice: StaffNotice) -> None:
        """Append ``notice`` as one line."""
        line = json.dumps(notice.to_dict(), ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            if self.fsync:
                os.fsync(handle.fileno())
