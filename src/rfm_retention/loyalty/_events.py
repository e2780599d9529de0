"""The ledger's only stored fact: an append-only, immutable event.

Balances, lots, vouchers and debts are all *derived* from the event list; a
store keeps events and nothing it cannot recompute. A correction is a new
event (a reversal or an adjustment), never an edit.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import attrs
import numpy as np

from rfm_retention.errors import LedgerError
from rfm_retention.time import TimeLike, to_datetime

__all__ = ["MAX_POINTS", "Event", "EventKind", "as_points"]

MAX_POINTS = 2**63 - 1
"""The largest points amount or running balance a store can hold (a signed 64-bit integer)."""


class EventKind(enum.StrEnum):
    """What an event did to a patient's points.

    Signs: ``EARN`` is positive; ``REDEEM`` and ``EXPIRE`` are negative;
    ``REVERSE`` has the opposite sign of what it reverses; ``ADJUST`` is
    either (a manual correction with a reason and an actor).
    """

    EARN = "earn"
    REDEEM = "redeem"
    REVERSE = "reverse"
    EXPIRE = "expire"
    ADJUST = "adjust"


def _at(value: TimeLike) -> dt.datetime:
    """An event's time, read as every ledger operation reads one (a date is its last second)."""
    return to_datetime(value, field="at", error=LedgerError)


def _expires_at(value: TimeLike | None) -> dt.datetime | None:
    """A lot's expiry, read like :func:`_at`; ``None`` (never expires) passes through."""
    return None if value is None else to_datetime(value, field="expires_at", error=LedgerError)


@attrs.frozen(slots=True)
class Event:
    """One immutable ledger event.

    Attributes:
        key: the idempotency key, unique in the whole store.
        kind: what happened (see :class:`EventKind`).
        branch: the hospital branch whose points these are; nothing crosses branches.
        patient_id: the host's patient id, as text.
        points: signed integer change to the patient's balance.
        at: when it happened, held as a naive-UTC datetime in whole seconds. Given
            as any :data:`~rfm_retention.time.TimeLike`, it is read once, as the
            ledger's operations read their ``at`` (a date is its last second,
            23:59:59; an aware time is converted to UTC); a naive whole-second
            datetime, the form stores give back, is kept as it is.
        actor: who or what did it (a user name, ``"award_visits"``...).
        reason: why (required for adjustments).
        reverses: for ``REVERSE`` the key of the reversed event; for ``EXPIRE``
            the key of the lot that expired; otherwise ``""``.
        expires_at: for lots (``EARN`` and positive ``ADJUST``), when the points
            expire; read like ``at``.
        reward: for ``REDEEM``, the reward code.
        seq: the store's position of the event (1, 2, ...); 0 before it is stored.

    Example:
        >>> import datetime as dt
        >>> e = Event(key="k1", kind=EventKind.EARN, branch="main", patient_id="p1",
        ...           points=100, at=dt.datetime(2024, 3, 1))
        >>> e.points
        100
        >>> Event(key="k2", kind=EventKind.EARN, branch="main", patient_id="p1",
        ...       points=100, at="2024-03-01", expires_at="2025-03-01T00:00:00+08:00").at
        datetime.datetime(2024, 3, 1, 23, 59, 59)
    """

    key: str
    kind: EventKind
    branch: str
    patient_id: str
    points: int
    at: dt.datetime = attrs.field(converter=_at)
    actor: str = ""
    reason: str = ""
    reverses: str = ""
    expires_at: dt.datetime | None = attrs.field(default=None, converter=_expires_at)
    reward: str = ""
    seq: int = 0

    @property
    def is_lot(self) -> bool:
        """Whether this event creates a lot of points that can later be spent or expire."""
        return self.points > 0 and self.kind in (EventKind.EARN, EventKind.ADJUST)

    def same_request(self, other: Event) -> bool:
        """Whether ``other`` repeats the request that produced this event.

        ``at``, ``actor`` and ``seq`` are left out on purpose: a retry made a
        little later, or by another worker, is still the same operation.
        Reversal and expiry amounts are derived from the ledger, so only
        the target is compared for them.
        """
        return self.key == other.key and self.request_signature() == other.request_signature()

    def request_signature(self) -> tuple[str, str, str, int | None, str, str, str | None, str]:
        """The fields that make a request what it is, as plain values (see :meth:`same_request`).

        ``(kind, branch, patient_id, points, reason, reverses, expires_at, reward)``
        with ``points`` None for reversals and expiries and ``expires_at`` in
        ISO format: what a store can compare without building events.

        Example:
            >>> e = Event(key="k1", kind=EventKind.EARN, branch="main", patient_id="p1",
            ...           points=100, at=dt.datetime(2024, 3, 1))
            >>> e.request_signature()
            ('earn', 'main', 'p1', 100, '', '', None, '')
        """
        derived = self.kind in (EventKind.REVERSE, EventKind.EXPIRE)
        return (self.kind.value, self.branch, self.patient_id, None if derived else self.points,
                self.reason, self.reverses,
                None if self.expires_at is None else self.expires_at.isoformat(), self.reward)

    def describe_difference(self, other: Event) -> str:
        """The first field where ``other`` differs from this event's request (for errors)."""
        for name in ("kind", "branch", "patient_id", "points", "reason", "reverses",
                     "expires_at", "reward"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                return f"{name}: stored {mine!r}, now {theirs!r}"
        return "same content"


def as_points(value: Any, *, what: str = "points", allow_negative: bool = False) -> int:
    """Check and convert a points amount: integers only (no floats, no bools), non-zero.

    Points are integers so that no rounding residue can ever appear; a float
    amount is refused rather than silently rounded.

    Example:
        >>> as_points(100)
        100
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise LedgerError(f"{what} must be an integer, got {value!r}")
    points = int(value)
    if abs(points) > MAX_POINTS:
        raise LedgerError(f"{what} must fit a signed 64-bit integer (at most {MAX_POINTS} "
                          f"in size), got {points}")
    if points == 0 or (points < 0 and not allow_negative):
        sign = "non-zero" if allow_negative else "positive"
        raise LedgerError(f"{what} must be a {sign} integer, got {points}")
    return points
