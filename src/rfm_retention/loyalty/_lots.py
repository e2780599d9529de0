"""Replaying one account's events into lots, a debt and a balance.

This is the single definition of what events *mean*. The ledger replays an
account before each operation and applies the new event to the replay before
storing it (so an event that would break an invariant is never written);
``verify`` replays every account the same way and compares.

Rules:

* every ``EARN`` (and positive ``ADJUST``) opens a lot; new points first pay
  off any debt;
* ``REDEEM`` and negative ``ADJUST`` consume lots in the total order
  ``(expires_at, earned_at, key)`` (lots without expiry last);
* reversing a redemption returns the points to exactly the lots they came
  from (with those lots' expiry; points past their date expire at the next
  expiry run);
* reversing an earn removes what is left of its lot; the part already spent
  becomes a debt (the ledger only writes such a reversal under the ``debt``
  policy);
* ``EXPIRE`` removes what is left of one lot after its ``expires_at``.

Invariants after every event: each lot's remaining is in ``[0, points]``
(less after a debt-paying credit), ``available = sum(remaining) >= 0``,
``debt >= 0`` and ``balance = available - debt = sum(event points)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import attrs

from rfm_retention._display import Display
from rfm_retention.loyalty._events import MAX_POINTS, Event, EventKind

__all__ = ["AccountState", "Balance", "InvariantViolation", "Lot", "replay"]

_NEVER = dt.datetime.max


class InvariantViolation(Exception):
    """An event that cannot be applied to an account (internal; callers translate it)."""


@attrs.frozen
class Lot:
    """What is left of one earn: the unit that is spent oldest-expiry first and expires.

    Example:
        >>> import datetime as dt
        >>> Lot("k", dt.datetime(2024, 1, 1), None, 100, 40).spent_or_gone
        60
    """

    key: str
    earned_at: dt.datetime
    expires_at: dt.datetime | None
    points: int
    remaining: int
    expired: int = 0
    reversed: bool = False

    @property
    def spent_or_gone(self) -> int:
        """Points of the lot no longer available (spent, expired or reversed)."""
        return self.points - self.remaining


@attrs.frozen
class Balance:
    """A patient's points in one branch, derived from the events.

    ``balance == available - debt`` always; ``available`` is never negative.

    Example:
        >>> b = Balance("main", "p1", balance=100, available=100, debt=0, lots=(), n_events=1)
        >>> b.available
        100
    """

    branch: str
    patient_id: str
    balance: int
    available: int
    debt: int
    lots: tuple[Lot, ...]
    n_events: int

    def __repr__(self) -> str:
        return self._display().text()

    def _repr_html_(self) -> str:
        return self._display().html()

    def _display(self) -> Display:
        lots = {name: [getattr(lot, name) for lot in self.lots] for name in
                ("key", "earned_at", "expires_at", "points", "remaining", "expired", "reversed")}
        figures = {"patient": self.patient_id, "branch": self.branch, "balance": self.balance,
                   "available": self.available, "debt": self.debt, "events": self.n_events}
        return Display("Balance (lots)", lots, figures)


@attrs.define
class _MutableLot:
    key: str
    earned_at: dt.datetime
    expires_at: dt.datetime | None
    points: int
    remaining: int
    expired: int = 0
    expire_events: int = 0
    reversed: bool = False

    def order(self) -> tuple[dt.datetime, dt.datetime, str]:
        return (self.expires_at or _NEVER, self.earned_at, self.key)

    def freeze(self) -> Lot:
        return Lot(self.key, self.earned_at, self.expires_at, self.points, self.remaining,
                   self.expired, self.reversed)


@attrs.define
class AccountState:
    """The mutable replay of one (branch, patient) account."""

    branch: str
    patient_id: str
    lots: dict[str, _MutableLot] = attrs.field(factory=dict)
    events: dict[str, Event] = attrs.field(factory=dict)
    consumed: dict[str, list[tuple[str, int]]] = attrs.field(factory=dict)
    reversed_by: dict[str, str] = attrs.field(factory=dict)
    debt: int = 0
    total: int = 0
    n_events: int = 0

    # ------------------------------------------------------------ reading
    @property
    def available(self) -> int:
        """Spendable points: the sum of the lots' remaining points."""
        return sum(lot.remaining for lot in self.lots.values())

    def balance(self) -> Balance:
        """A frozen snapshot."""
        lots = tuple(lot.freeze() for lot in sorted(self.lots.values(), key=_MutableLot.order))
        return Balance(self.branch, self.patient_id, self.total, self.available, self.debt,
                       lots, self.n_events)

    def lot(self, key: str) -> _MutableLot | None:
        """The lot opened by event ``key``, if any."""
        return self.lots.get(key)

    def expired_lots(self, at: dt.datetime) -> list[_MutableLot]:
        """Lots whose expiry is at or before ``at`` and that still hold points."""
        due = [lot for lot in self.lots.values()
               if lot.expires_at is not None and lot.expires_at <= at and lot.remaining > 0]
        return sorted(due, key=_MutableLot.order)

    def live_redemptions(self) -> list[Event]:
        """Redemptions that have not been reversed, in order."""
        return [e for e in self.events.values()
                if e.kind is EventKind.REDEEM and e.key not in self.reversed_by]

    def earn_reversal_amount(self, lot: _MutableLot) -> tuple[int, int]:
        """(points a reversal of this lot removes, of which already spent)."""
        still_there = lot.points - lot.expired
        return still_there, still_there - lot.remaining

    # ------------------------------------------------------------ applying
    def apply(self, event: Event) -> None:
        """Apply one event; raises InvariantViolation (leaving state unusable) if it cannot."""
        if event.branch != self.branch or event.patient_id != self.patient_id:
            raise InvariantViolation(f"event {event.key!r} belongs to another account")
        if event.key in self.events:
            raise InvariantViolation(f"duplicate key {event.key!r}")
        if event.points == 0:
            raise InvariantViolation(f"event {event.key!r} moves zero points")
        kind = event.kind
        if kind is EventKind.EARN or (kind is EventKind.ADJUST and event.points > 0):
            if kind is EventKind.EARN and event.points < 0:
                raise InvariantViolation(f"earn {event.key!r} is negative")
            lot = _MutableLot(event.key, event.at, event.expires_at, event.points, 0)
            self.lots[event.key] = lot
            self._credit(lot, event.points)
        elif kind is EventKind.REDEEM or kind is EventKind.ADJUST:
            if event.points > 0:
                raise InvariantViolation(f"redemption {event.key!r} is positive")
            self.consumed[event.key] = self._consume(-event.points, event.key)
        elif kind is EventKind.REVERSE:
            self._reverse(event)
        elif kind is EventKind.EXPIRE:
            self._expire(event)
        else:  # pragma: no cover - exhaustive over EventKind
            raise InvariantViolation(f"unknown kind {kind!r}")
        self.events[event.key] = event
        self.total += event.points
        self.n_events += 1
        self._check(event)

    def _credit(self, lot: _MutableLot, points: int) -> None:
        repay = min(self.debt, points)
        self.debt -= repay
        lot.remaining += points - repay

    def _consume(self, points: int, key: str) -> list[tuple[str, int]]:
        if points > self.available:
            raise InvariantViolation(
                f"{key!r} takes {points} point(s) but only {self.available} are available"
            )
        taken: list[tuple[str, int]] = []
        for lot in sorted(self.lots.values(), key=_MutableLot.order):
            if points == 0:
                break
            n = min(lot.remaining, points)
            if n:
                lot.remaining -= n
                points -= n
                taken.append((lot.key, n))
        return taken

    def _reverse(self, event: Event) -> None:
        target = self.events.get(event.reverses)
        if target is None:
            raise InvariantViolation(
                f"reversal {event.key!r} targets {event.reverses!r}, not an event of this account"
            )
        if target.key in self.reversed_by:
            raise InvariantViolation(
                f"{target.key!r} was already reversed by {self.reversed_by[target.key]!r}"
            )
        if target.kind is EventKind.REDEEM:
            if event.points != -target.points:
                raise InvariantViolation(f"reversal {event.key!r} does not return the redemption")
            for lot_key, n in self.consumed[target.key]:
                self._credit(self.lots[lot_key], n)
        elif target.kind is EventKind.EARN:
            lot = self.lots[target.key]
            amount, spent = self.earn_reversal_amount(lot)
            if event.points != -amount:
                raise InvariantViolation(
                    f"reversal {event.key!r} removes {-event.points}, the lot has {amount} left"
                )
            lot.remaining = 0
            lot.reversed = True
            self.debt += spent
        else:
            raise InvariantViolation(f"{target.kind.value} events cannot be reversed")
        self.reversed_by[target.key] = event.key

    def _expire(self, event: Event) -> None:
        lot = self.lots.get(event.reverses)
        if lot is None:
            raise InvariantViolation(f"expiry {event.key!r} names no lot of this account")
        if lot.expires_at is None or lot.expires_at > event.at:
            raise InvariantViolation(f"expiry {event.key!r} is before the lot's expiry date")
        if -event.points > lot.remaining or event.points > 0:
            raise InvariantViolation(
                f"expiry {event.key!r} removes {-event.points}, the lot has {lot.remaining} left"
            )
        lot.remaining += event.points
        lot.expired -= event.points
        lot.expire_events += 1

    def _check(self, event: Event) -> None:
        for lot in self.lots.values():
            if lot.remaining < 0:
                raise InvariantViolation(f"after {event.key!r} lot {lot.key!r} is negative")
        if max(abs(self.total), self.available, self.debt) > MAX_POINTS:
            raise InvariantViolation(
                f"after {event.key!r} the account would hold more than {MAX_POINTS} points "
                "(a signed 64-bit integer)"
            )
        if self.debt < 0 or self.available - self.debt != self.total:
            raise InvariantViolation(
                f"after {event.key!r}: lots {self.available} - debt {self.debt} != "
                f"sum of events {self.total}"
            )


def replay(branch: str, patient_id: str, events: Iterable[Event]) -> AccountState:
    """Replay an account's events (in store order); raises InvariantViolation on a bad one.

    Example:
        >>> import datetime as dt
        >>> e = Event("k", EventKind.EARN, "main", "p1", 100, dt.datetime(2024, 1, 1))
        >>> replay("main", "p1", [e]).available
        100
    """
    state = AccountState(branch, patient_id)
    for event in events:
        state.apply(event)
    return state
