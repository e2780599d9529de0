"""Replaying one account's events into lots, a debt and a balance.

This is the single definition of what events *mean*. The built-in stores keep
each account's state (open lots, balance, debt) up to date by applying every
event as it is appended, in the same transaction, so an operation costs the
lots it touches, not the account's history; ``verify`` replays every account
from scratch with the same rules and compares. Where an account's lots live is
an :class:`AccountBook`: :class:`MemoryBook` for replays and the in-memory
store, a table-backed book for the database stores.

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
import heapq
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._display import Display
from rfm_retention._frames import FrameViews
from rfm_retention.loyalty._columns import instants, texts
from rfm_retention.loyalty._events import MAX_POINTS, Event, EventKind

__all__ = [
    "AccountBook",
    "AccountState",
    "Balance",
    "InvariantViolation",
    "Lot",
    "MemoryBook",
    "replay",
]

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
class Balance(FrameViews):
    """A patient's points in one branch, derived from the events.

    ``balance == available - debt`` always; ``available`` is never negative.
    Its DataFrame views (``to_pandas()``, ``to_polars()``, ``to_arrow()``)
    list the lots, one row each.

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

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """One array per lot field, lots in spending order: ``earned_at`` and ``expires_at``
        ``datetime64[us]`` (NaT without expiry), amounts int64, ``reversed`` bool.

        Example:
            >>> lot = Lot("k", dt.datetime(2024, 1, 1), None, 100, 40)
            >>> b = Balance("main", "p1", balance=40, available=40, debt=0, lots=(lot,),
            ...             n_events=2)
            >>> b.to_columns()["remaining"].tolist()
            [40]
        """
        lots, n = self.lots, len(self.lots)
        return {
            "key": texts([lot.key for lot in lots]),
            "earned_at": instants([lot.earned_at for lot in lots]),
            "expires_at": instants([lot.expires_at for lot in lots]),
            **{name: np.fromiter((getattr(lot, name) for lot in lots), np.int64, n)
               for name in ("points", "remaining", "expired")},
            "reversed": np.fromiter((lot.reversed for lot in lots), bool, n),
        }


@attrs.define(eq=False)
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


Spend = list[tuple[str, int]]
"""What one redemption took: (lot key, points) in the order taken."""


class AccountBook(Protocol):
    """Where one account's lots, spends and reversals live (memory or database tables).

    The :class:`AccountState` decides; the book only finds and keeps. Every
    ``add``/``touch`` must be visible to later reads in the same transaction.
    """

    def lot(self, key: str) -> _MutableLot | None:
        """The lot opened by event ``key`` (open or not)."""
        ...

    def all_lots(self) -> list[_MutableLot]:
        """Every lot of the account, in spending order."""
        ...

    def open_lots(self) -> Iterator[_MutableLot]:
        """Lots with points left, in spending order; the caller spends from the front."""
        ...

    def due_lots(self, at: dt.datetime) -> list[_MutableLot]:
        """Lots with points left whose expiry is at or before ``at``, in spending order."""
        ...

    def add(self, lot: _MutableLot) -> None:
        """Keep a new lot."""
        ...

    def touch(self, lot: _MutableLot, *, reopened: bool) -> None:
        """Keep a changed lot (``reopened``: it had no points left and has some again)."""
        ...

    def kind_of(self, key: str) -> tuple[EventKind, int] | None:
        """(kind, points) of the account's event ``key``, if it is one."""
        ...

    def spend(self, key: str) -> Spend:
        """What redemption ``key`` took."""
        ...

    def reversal_of(self, key: str) -> str:
        """The key of the event that reversed ``key``, or ``""``."""
        ...

    def redeemed(self, year: int) -> list[tuple[int, str]]:
        """(points, reward) of the live redemptions of ``year``."""
        ...

    def record(self, event: Event, spend: Spend | None) -> None:
        """Keep what the event did besides its lots (its kind, spend, reversal, redemption)."""
        ...


class MemoryBook:
    """An account's book in dicts and a heap: for replays and the in-memory store."""

    def __init__(self) -> None:
        self.lots: dict[str, _MutableLot] = {}
        self._heap: list[tuple[tuple[dt.datetime, dt.datetime, str], str]] = []
        self._kinds: dict[str, tuple[EventKind, int]] = {}
        self.spends: dict[str, Spend] = {}
        self._reversed_by: dict[str, str] = {}
        self._redemptions: dict[int, dict[str, tuple[int, str]]] = {}
        self._years: dict[str, int] = {}

    def lot(self, key: str) -> _MutableLot | None:
        return self.lots.get(key)

    def all_lots(self) -> list[_MutableLot]:
        return sorted(self.lots.values(), key=_MutableLot.order)

    def _top(self) -> _MutableLot | None:
        heap = self._heap
        while heap:
            lot = self.lots.get(heap[0][1])
            if lot is not None and lot.remaining > 0:
                return lot
            heapq.heappop(heap)  # spent, expired or reversed since it was pushed
        return None

    def open_lots(self) -> Iterator[_MutableLot]:
        while (lot := self._top()) is not None:
            yield lot
            if lot.remaining > 0:  # the caller stopped spending
                return

    def due_lots(self, at: dt.datetime) -> list[_MutableLot]:
        heap = self._heap
        due: list[_MutableLot] = []
        taken: list[tuple[tuple[dt.datetime, dt.datetime, str], str]] = []
        while (lot := self._top()) is not None and heap[0][0][0] <= at:
            taken.append(heapq.heappop(heap))
            if all(lot is not other for other in due[-1:]):
                due.append(lot)
        for entry in taken:
            heapq.heappush(heap, entry)
        return due

    def add(self, lot: _MutableLot) -> None:
        self.lots[lot.key] = lot
        if lot.remaining > 0:
            heapq.heappush(self._heap, (lot.order(), lot.key))

    def touch(self, lot: _MutableLot, *, reopened: bool) -> None:
        if reopened:
            heapq.heappush(self._heap, (lot.order(), lot.key))

    def kind_of(self, key: str) -> tuple[EventKind, int] | None:
        return self._kinds.get(key)

    def spend(self, key: str) -> Spend:
        return self.spends.get(key, [])

    def reversal_of(self, key: str) -> str:
        return self._reversed_by.get(key, "")

    def redeemed(self, year: int) -> list[tuple[int, str]]:
        return list(self._redemptions.get(year, {}).values())

    def record(self, event: Event, spend: Spend | None) -> None:
        self._kinds[event.key] = (event.kind, event.points)
        if spend is not None:
            self.spends[event.key] = spend
        if event.kind is EventKind.REDEEM:
            self._years[event.key] = event.at.year
            self._redemptions.setdefault(event.at.year, {})[event.key] = (-event.points,
                                                                          event.reward)
        elif event.kind is EventKind.REVERSE:
            self._reversed_by[event.reverses] = event.key
            year = self._years.pop(event.reverses, None)
            if year is not None:
                self._redemptions[year].pop(event.reverses, None)


@attrs.define
class AccountState:
    """One (branch, patient) account: its figures, kept current event by event, and its book."""

    branch: str
    patient_id: str
    book: AccountBook = attrs.field(factory=MemoryBook)
    total: int = 0
    available: int = 0
    debt: int = 0
    n_events: int = 0

    # ------------------------------------------------------------ reading
    def balance(self) -> Balance:
        """A frozen snapshot (with every lot, in spending order)."""
        lots = tuple(lot.freeze() for lot in self.book.all_lots())
        return Balance(self.branch, self.patient_id, self.total, self.available, self.debt,
                       lots, self.n_events)

    def lot(self, key: str) -> _MutableLot | None:
        """The lot opened by event ``key``, if any."""
        return self.book.lot(key)

    def expired_lots(self, at: dt.datetime) -> list[_MutableLot]:
        """Lots whose expiry is at or before ``at`` and that still hold points."""
        return self.book.due_lots(at)

    def reversal_of(self, key: str) -> str:
        """The key of the event that reversed ``key``, or ``""``."""
        return self.book.reversal_of(key)

    def redeemed(self, year: int) -> list[tuple[int, str]]:
        """(points, reward) of the redemptions of ``year`` that were not cancelled."""
        return self.book.redeemed(year)

    def earn_reversal_amount(self, lot: _MutableLot) -> tuple[int, int]:
        """(points a reversal of this lot removes, of which already spent)."""
        still_there = lot.points - lot.expired
        return still_there, still_there - lot.remaining

    # ------------------------------------------------------------ applying
    def apply(self, event: Event) -> None:
        """Apply one event; raises InvariantViolation (leaving state unusable) if it cannot."""
        if event.branch != self.branch or event.patient_id != self.patient_id:
            raise InvariantViolation(f"event {event.key!r} belongs to another account")
        if self.book.kind_of(event.key) is not None:
            raise InvariantViolation(f"duplicate key {event.key!r}")
        if event.points == 0:
            raise InvariantViolation(f"event {event.key!r} moves zero points")
        kind = event.kind
        spend: Spend | None = None
        if kind is EventKind.EARN or (kind is EventKind.ADJUST and event.points > 0):
            if kind is EventKind.EARN and event.points < 0:
                raise InvariantViolation(f"earn {event.key!r} is negative")
            lot = _MutableLot(event.key, event.at, event.expires_at, event.points, 0)
            self._credit(lot, event.points)
            self.book.add(lot)
        elif kind is EventKind.REDEEM or kind is EventKind.ADJUST:
            if event.points > 0:
                raise InvariantViolation(f"redemption {event.key!r} is positive")
            spend = self._consume(-event.points, event.key)
        elif kind is EventKind.REVERSE:
            self._reverse(event)
        elif kind is EventKind.EXPIRE:
            self._expire(event)
        else:  # pragma: no cover - exhaustive over EventKind
            raise InvariantViolation(f"unknown kind {kind!r}")
        self.book.record(event, spend)
        self.total += event.points
        self.n_events += 1
        self._check(event)

    def _credit(self, lot: _MutableLot, points: int) -> None:
        repay = min(self.debt, points)
        self.debt -= repay
        lot.remaining += points - repay
        self.available += points - repay

    def _consume(self, points: int, key: str) -> Spend:
        if points > self.available:
            raise InvariantViolation(
                f"{key!r} takes {points} point(s) but only {self.available} are available"
            )
        taken: Spend = []
        for lot in self.book.open_lots():
            n = min(lot.remaining, points)
            lot.remaining -= n
            self.available -= n
            points -= n
            taken.append((lot.key, n))
            self.book.touch(lot, reopened=False)
            if points == 0:
                break
        if points:
            raise InvariantViolation(f"{key!r}: the open lots hold less than the available "
                                     "points")
        return taken

    def _reverse(self, event: Event) -> None:
        target = self.book.kind_of(event.reverses)
        if target is None:
            raise InvariantViolation(
                f"reversal {event.key!r} targets {event.reverses!r}, not an event of this account"
            )
        earlier = self.book.reversal_of(event.reverses)
        if earlier:
            raise InvariantViolation(f"{event.reverses!r} was already reversed by {earlier!r}")
        kind, points = target
        if kind is EventKind.REDEEM:
            if event.points != -points:
                raise InvariantViolation(f"reversal {event.key!r} does not return the redemption")
            for lot_key, n in self.book.spend(event.reverses):
                lot = self.book.lot(lot_key)
                if lot is None:
                    raise InvariantViolation(f"redemption {event.reverses!r} names no lot "
                                             f"{lot_key!r}")
                was_open = lot.remaining > 0
                self._credit(lot, n)
                self.book.touch(lot, reopened=not was_open and lot.remaining > 0)
        elif kind is EventKind.EARN:
            lot = self.book.lot(event.reverses)
            if lot is None:
                raise InvariantViolation(f"earn {event.reverses!r} has no lot")
            amount, spent = self.earn_reversal_amount(lot)
            if event.points != -amount:
                raise InvariantViolation(
                    f"reversal {event.key!r} removes {-event.points}, the lot has {amount} left"
                )
            self.available -= lot.remaining
            lot.remaining = 0
            lot.reversed = True
            self.debt += spent
            self.book.touch(lot, reopened=False)
        else:
            raise InvariantViolation(f"{kind.value} events cannot be reversed")

    def _expire(self, event: Event) -> None:
        lot = self.book.lot(event.reverses)
        if lot is None:
            raise InvariantViolation(f"expiry {event.key!r} names no lot of this account")
        if lot.expires_at is None or lot.expires_at > event.at:
            raise InvariantViolation(f"expiry {event.key!r} is before the lot's expiry date")
        if -event.points > lot.remaining or event.points > 0:
            raise InvariantViolation(
                f"expiry {event.key!r} removes {-event.points}, the lot has {lot.remaining} left"
            )
        lot.remaining += event.points
        self.available += event.points
        lot.expired -= event.points
        lot.expire_events += 1
        self.book.touch(lot, reopened=False)

    def _check(self, event: Event) -> None:
        if max(abs(self.total), self.available, self.debt) > MAX_POINTS:
            raise InvariantViolation(
                f"after {event.key!r} the account would hold more than {MAX_POINTS} points "
                "(a signed 64-bit integer)"
            )
        if self.available < 0 or self.debt < 0 or self.available - self.debt != self.total:
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
