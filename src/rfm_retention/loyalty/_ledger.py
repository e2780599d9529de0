"""The points ledger: earn, redeem, reverse, expire and adjust, exactly once each.

Every operation runs in one store transaction: read the account's state (kept
current by the built-in stores as events are appended, replayed from the
events for other stores), decide, append (an event that would break an
invariant is never written: the state refuses it and the transaction rolls
back). An idempotency key that is already stored returns the stored result
when the request is the same and raises
:class:`~rfm_retention.errors.IdempotencyConflict` when it is not.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from typing import TypeVar

import attrs

from rfm_retention._display import Display
from rfm_retention._progress import Progress
from rfm_retention._storage import retrying
from rfm_retention.data import VisitLog
from rfm_retention.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    LedgerError,
    StoreIntegrityError,
)
from rfm_retention.loyalty._award import AwardResult, award_visits, reverse_visit, visit_key
from rfm_retention.loyalty._balances import Balances
from rfm_retention.loyalty._events import Event, EventKind, as_points
from rfm_retention.loyalty._history import LedgerHistory
from rfm_retention.loyalty._lots import AccountState, Balance, InvariantViolation, replay
from rfm_retention.loyalty._rewards import (
    NO_CAPS,
    SPEC_REWARDS,
    RedemptionCaps,
    RewardCatalogue,
    Voucher,
    voucher_code,
)
from rfm_retention.loyalty._rules import REVISIT_POINTS, EarningRules
from rfm_retention.loyalty._store import (
    AccountStates,
    DerivedState,
    LedgerStore,
    StoreTransaction,
)
from rfm_retention.time import TimeLike, to_datetime

__all__ = ["PointsLedger", "ReversalPolicy"]

T = TypeVar("T")

Finish = Callable[[AccountState, Event, int], Event]
"""Checks a request on the account (given the points its due expiries remove) and completes it."""


class ReversalPolicy(enum.StrEnum):
    """What reversing an earn does when some of its points were already spent.

    ``REJECT`` (default): the reversal is refused with InsufficientPoints; cancel
    the redemption that used the points first. ``DEBT``: the unspent rest of the
    lot is removed and the spent part becomes a debt that the patient's next
    earned points pay off before they become available.
    """

    REJECT = "reject"
    DEBT = "debt"


def _text(value: str, what: str, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise LedgerError(f"{what} must be text, got {value!r}")
    if required and not value.strip():
        raise LedgerError(f"{what} is required")
    return value


class PointsLedger:
    """Loyalty points of one hospital branch, kept as append-only events in a store.

    Args:
        store: where events live (:class:`MemoryStore`, :class:`SQLiteStore`, or
            the host's own :class:`LedgerStore`).
        branch: the branch whose points this ledger moves; two ledgers on one
            store with different branches never see each other's points.
        rules: earning rules for :meth:`award_visits` (SPEC: 100 per revisit).
        catalogue: rewards for :meth:`redeem` (SPEC: 1,000 and 2,000 points).
        caps: optional per-year redemption caps (off by default).
        reversal_policy: what reversing a partly spent earn does.

    Example:
        >>> import datetime as dt
        >>> from rfm_retention.loyalty import MemoryStore, PointsLedger
        >>> ledger = PointsLedger(MemoryStore())
        >>> _ = ledger.earn("p1", 1200, key="visit-7", at=dt.datetime(2024, 3, 1))
        >>> ledger.redeem("p1", "health_assessment", key="r-1",
        ...               at=dt.datetime(2024, 3, 2)).points
        1000
        >>> ledger.balance("p1").available
        200
    """

    def __init__(
        self,
        store: LedgerStore,
        *,
        branch: str = "main",
        rules: EarningRules = REVISIT_POINTS,
        catalogue: RewardCatalogue = SPEC_REWARDS,
        caps: RedemptionCaps = NO_CAPS,
        reversal_policy: ReversalPolicy | str = ReversalPolicy.REJECT,
    ) -> None:
        self.store = store
        self.branch = _text(branch, "branch", required=True)
        self.rules = rules
        self.catalogue = catalogue
        self.caps = caps
        self.reversal_policy = ReversalPolicy(reversal_policy)

    def __repr__(self) -> str:
        return self._display().text()

    def _repr_html_(self) -> str:
        return self._display().html()

    def _display(self) -> Display:
        """Every patient's points in this branch: the sum of their events, and the event count."""
        points: dict[str, list[int]] = {}
        for e in self.store.events(branch=self.branch):
            row = points.setdefault(e.patient_id, [0, 0])
            row[0] += e.points
            row[1] += 1
        ids = sorted(points)
        columns = {"patient_id": ids, "balance": [points[p][0] for p in ids],
                   "events": [points[p][1] for p in ids]}
        return Display("PointsLedger", columns, {"branch": self.branch, "patients": len(ids)})

    # ------------------------------------------------------------------ reading
    def history(self, patient_id: str | int) -> LedgerHistory:
        """Every event of the patient in this branch, in store order (a tuple shown as a table)."""
        return LedgerHistory(self.store.events(branch=self.branch, patient_id=str(patient_id)))

    def balance(self, patient_id: str | int) -> Balance:
        """The patient's balance, available points, debt and lots.

        Built-in stores keep these current as events are appended; other
        stores' events are replayed.
        """
        pid = str(patient_id)
        return self.in_transaction(lambda tx: self._state(tx, pid).balance())

    def balances(self) -> Balances:
        """Every account of this branch: balance, available, debt and event count.

        Built-in stores read the figures they keep; other stores' events are
        replayed, one account at a time.

        Example:
            >>> from rfm_retention.loyalty import MemoryStore
            >>> ledger = PointsLedger(MemoryStore())
            >>> _ = ledger.earn("p1", 300, key="k1", at=dt.datetime(2024, 3, 1))
            >>> ledger.balances().to_columns()["available"].tolist()
            [300]
        """
        if isinstance(self.store, DerivedState):
            kept = self.store.derived_accounts()
            return Balances.of(self.branch, {p: figures for (b, p), figures in kept.items()
                                             if b == self.branch})
        events: dict[str, list[Event]] = {}
        for event in self.store.events(branch=self.branch):
            events.setdefault(event.patient_id, []).append(event)
        states = {p: self._replay(p, account) for p, account in events.items()}
        return Balances.of(self.branch, {p: (s.total, s.available, s.debt, s.n_events)
                                         for p, s in states.items()})

    def vouchers(self, patient_id: str | int) -> tuple[Voucher, ...]:
        """The patient's redemptions that have not been cancelled."""
        events = self.history(patient_id)
        cancelled = {e.reverses for e in events if e.kind is EventKind.REVERSE}
        return tuple(self._voucher(e) for e in events
                     if e.kind is EventKind.REDEEM and e.key not in cancelled)

    # ------------------------------------------------------------------ operations
    def earn(
        self,
        patient_id: str | int,
        points: int,
        *,
        key: str,
        at: TimeLike,
        expires_at: TimeLike | None = None,
        actor: str = "",
        reason: str = "",
    ) -> Event:
        """Add a lot of ``points`` (a positive integer) for the patient.

        Example:
            >>> ledger.earn("p1", 100, key="visit-8", at=dt.datetime(2024, 3, 5))  # doctest: +SKIP
        """
        request = self._request(EventKind.EARN, patient_id, as_points(points), key=key, at=at,
                                actor=actor, reason=reason, expires_at=expires_at)
        return self._commit(request, lambda state, event, gone: event)

    def adjust(
        self,
        patient_id: str | int,
        points: int,
        *,
        key: str,
        at: TimeLike,
        actor: str,
        reason: str,
        expires_at: TimeLike | None = None,
    ) -> Event:
        """A manual correction (positive opens a lot, negative spends like a redemption).

        ``actor`` and ``reason`` are required: an adjustment is an audited act.
        """
        _text(actor, "actor", required=True)
        _text(reason, "reason", required=True)
        amount = as_points(points, allow_negative=True)
        if amount < 0 and expires_at is not None:
            raise LedgerError("a negative adjustment cannot have expires_at")
        request = self._request(EventKind.ADJUST, patient_id, amount, key=key, at=at,
                                actor=actor, reason=reason, expires_at=expires_at)

        def finish(state: AccountState, event: Event, gone: int) -> Event:
            if event.points < 0:
                self._check_available(state, -event.points, gone)
            return event

        return self._commit(request, finish, expire_first=amount < 0)

    def redeem(
        self,
        patient_id: str | int,
        reward: str,
        *,
        key: str,
        at: TimeLike,
        actor: str = "",
        reason: str = "",
    ) -> Voucher:
        """Spend points on a catalogue reward; returns the voucher.

        Lots due to expire by ``at`` are expired first (in the same transaction),
        so expired points can never be spent.
        """
        item = self.catalogue.get(reward)
        request = self._request(EventKind.REDEEM, patient_id, -item.points, key=key, at=at,
                                actor=actor, reason=reason, reward=item.code)

        def finish(state: AccountState, event: Event, gone: int) -> Event:
            self._check_caps(state, event)
            self._check_available(state, item.points, gone)
            return event

        return self._voucher(self._commit(request, finish, expire_first=True))

    def cancel_voucher(
        self, voucher: Voucher | str, *, at: TimeLike, actor: str = "", reason: str = ""
    ) -> Event:
        """Give a redemption's points back, exactly once (a retry returns the same event)."""
        target = voucher.key if isinstance(voucher, Voucher) else voucher
        return self.reverse(target, at=at, actor=actor, reason=reason or "voucher cancelled")

    def reverse(
        self,
        target_key: str,
        *,
        at: TimeLike,
        key: str | None = None,
        actor: str = "",
        reason: str = "",
    ) -> Event:
        """Reverse an earn or a redemption of this branch (each at most once).

        The default ``key`` is ``"reverse:" + target_key``, so retrying a
        reversal is safe without inventing a key. Reversing a partly spent earn
        follows :attr:`reversal_policy`.
        """
        target_key = _text(target_key, "target_key", required=True)
        key = f"reverse:{target_key}" if key is None else key

        def reverse_in(tx: StoreTransaction) -> Event:
            target = tx.get([target_key]).get(target_key)
            if target is None or target.branch != self.branch:
                raise LedgerError(f"no event {target_key!r} in branch {self.branch!r}")
            request = self._request(EventKind.REVERSE, target.patient_id, 0, key=key, at=at,
                                    actor=actor, reason=reason, reverses=target_key)
            return self._commit_in(
                tx, request, lambda state, event, gone: self._finish_reversal(state, event,
                                                                              target))

        return self.in_transaction(reverse_in)

    def expire(self, *, at: TimeLike, patient_id: str | int | None = None) -> list[Event]:
        """Expire every lot of the branch (or of one patient) due at or before ``at``.

        Idempotent: a second run at the same time finds nothing left to expire.
        One transaction for all patients: either every due lot expires or none.
        """
        when = to_datetime(at, field="at", error=LedgerError)
        return self.in_transaction(lambda tx: self._expire_in(tx, when, patient_id))

    def _expire_in(self, tx: StoreTransaction, when: dt.datetime,
                   patient_id: str | int | None) -> list[Event]:
        if patient_id is None:
            patients = tx.patients_with_lots_due(self.branch, when)
        else:
            patients = [str(patient_id)]
        created: list[Event] = []
        for pid in patients:
            state = self._state(tx, pid)
            due = self._expiries(state, when)
            if not isinstance(tx, AccountStates):
                self._apply(state, due)
            created.extend(due)
        if not created:
            return []
        first = self._append(tx, created)
        return [attrs.evolve(e, seq=first + i) for i, e in enumerate(created)]

    def award_visits(
        self, visits: VisitLog, *, since: TimeLike | None = None, actor: str = "award_visits",
        progress: Progress | None = None,
    ) -> AwardResult:
        """Award :attr:`rules` over a visit log, keyed by visit (a rerun awards nothing twice).

        All or nothing: one transaction. ``visits`` must reach back to each
        patient's first visit (it earns nothing under the SPEC preset);
        ``since`` limits awarding to newer visits. See :mod:`rfm_retention.loyalty._award`
        for how keys are derived when visits have no id. ``progress`` (a
        :data:`~rfm_retention.Progress`) hears of each step (stage ``"award"``).

        Example:
            >>> result = ledger.award_visits(visit_log)  # doctest: +SKIP
            >>> result.awarded, result.points  # doctest: +SKIP
            (4210, 421000)
        """
        return award_visits(self, visits, since=since, actor=actor, progress=progress)

    def reverse_visit(
        self,
        visit_id: str = "",
        *,
        at: TimeLike,
        patient_id: str | int = "",
        visit_time: TimeLike | None = None,
        actor: str = "",
        reason: str = "visit cancelled",
    ) -> Event | None:
        """Take back a cancelled or refunded visit's points (once); None if it earned none.

        Name the visit by ``visit_id``, or by ``patient_id`` and ``visit_time``
        when the log had no visit ids.
        """
        if not visit_id and (not str(patient_id) or visit_time is None):
            raise LedgerError("reverse_visit needs visit_id, or patient_id and visit_time")
        moment = to_datetime(at, field="at", error=LedgerError)  # checked even with no award
        when = (dt.datetime.min if visit_time is None
                else to_datetime(visit_time, field="visit_time", error=LedgerError))
        key = visit_key(self.branch, patient_id, when, visit_id)
        return reverse_visit(self, key, at=moment, actor=actor, reason=reason)

    # ------------------------------------------------------------------ internals
    def _request(self, kind: EventKind, patient_id: str | int, points: int, *, key: str,
                 at: TimeLike, actor: str, reason: str, expires_at: TimeLike | None = None,
                 reverses: str = "", reward: str = "") -> Event:
        """The event an operation asks for, its fields checked (the same for every kind)."""
        pid = str(patient_id)
        if not pid.strip():
            raise LedgerError("patient_id is required")
        return Event(
            key=_text(key, "key", required=True),
            kind=kind,
            branch=self.branch,
            patient_id=pid,
            points=points,
            at=at,  # the event reads its times, once
            actor=_text(actor, "actor"),
            reason=_text(reason, "reason"),
            reverses=reverses,
            expires_at=expires_at,
            reward=reward,
        )

    def _state(self, tx: StoreTransaction, patient_id: str) -> AccountState:
        """The account's current state: kept by the store, or replayed from its events."""
        if isinstance(tx, AccountStates):
            return tx.state(self.branch, patient_id)
        return self._replay(patient_id, tx.account(self.branch, patient_id))

    def _replay(self, patient_id: str, events: Sequence[Event]) -> AccountState:
        try:
            return replay(self.branch, patient_id, events)
        except InvariantViolation as exc:
            raise StoreIntegrityError(
                f"stored events of patient {patient_id!r} (branch {self.branch!r}) do not add "
                f"up: {exc}\nHint: run verify() on the store."
            ) from exc

    def _commit(
        self,
        request: Event,
        finish: Finish,
        *,
        expire_first: bool = False,
    ) -> Event:
        return self.in_transaction(
            lambda tx: self._commit_in(tx, request, finish, expire_first=expire_first))

    def in_transaction(self, body: Callable[[StoreTransaction], T]) -> T:
        """Run ``body`` in one store transaction, again from the start if the store lost a race.

        A database store refuses a transaction it could not serialise (a lock held
        too long, a serialisation failure, a lost connection) before anything of it
        is committed; the whole operation is then run again after a short, growing
        pause, so its decision is taken on fresh data. After the last attempt the
        caller gets a LedgerError with a hint. Every operation of the ledger runs
        through here.

        Example:
            >>> ledger.in_transaction(lambda tx: len(tx.account("main", "p1")))  # doctest: +SKIP
            3
        """
        def once() -> T:
            with self.store.transaction() as tx:
                return body(tx)

        return retrying(once, error=LedgerError)

    def _commit_in(
        self,
        tx: StoreTransaction,
        request: Event,
        finish: Finish,
        *,
        expire_first: bool = False,
    ) -> Event:
        existing = tx.get([request.key]).get(request.key)
        if existing is not None:
            if existing.same_request(request):
                return existing
            raise IdempotencyConflict(request.key, detail=existing.describe_difference(request))
        state = self._state(tx, request.patient_id)
        expired = self._expiries(state, request.at) if expire_first else []
        event = finish(state, request, -sum(e.points for e in expired))
        if not isinstance(tx, AccountStates):  # check on the replay before writing
            self._apply(state, [*expired, event])
        first = self._append(tx, [*expired, event])
        return attrs.evolve(event, seq=first + len(expired))

    @staticmethod
    def _apply(state: AccountState, events: Sequence[Event]) -> None:
        try:
            for event in events:
                state.apply(event)
        except InvariantViolation as exc:  # finish() checks the rules; this catches overflow
            raise LedgerError(f"refused: {exc}") from None

    @staticmethod
    def _append(tx: StoreTransaction, events: Sequence[Event]) -> int:
        try:
            return tx.append(events)
        except InvariantViolation as exc:  # a store keeping account states applies on append
            raise LedgerError(f"refused: {exc}") from None

    def _expiries(self, state: AccountState, at: dt.datetime) -> list[Event]:
        """Expiry events of the account's lots due by ``at`` (not yet applied)."""
        created = []
        for lot in state.expired_lots(at):
            event = Event(
                key=f"expire:{lot.key}#{lot.expire_events + 1}",
                kind=EventKind.EXPIRE,
                branch=self.branch,
                patient_id=state.patient_id,
                points=-lot.remaining,
                at=at,
                actor="expiry",
                reason=f"lot expired at {lot.expires_at}",
                reverses=lot.key,
            )
            created.append(event)
        return created

    def _finish_reversal(self, state: AccountState, request: Event, target: Event) -> Event:
        earlier = state.reversal_of(target.key)
        if earlier:
            raise LedgerError(f"{target.key!r} was already reversed by {earlier!r}")
        if target.kind is EventKind.REDEEM:
            return attrs.evolve(request, points=-target.points)
        if target.kind is not EventKind.EARN:
            raise LedgerError(f"{target.kind.value} event {target.key!r} cannot be reversed; "
                              "make a correcting adjustment instead")
        lot = state.lot(target.key)
        if lot is None:
            raise StoreIntegrityError(f"earn {target.key!r} has no lot in the store's account "
                                      "state.\nHint: run verify() on the store.")
        amount, spent = state.earn_reversal_amount(lot)
        if amount == 0:
            raise LedgerError(f"earn {target.key!r} has nothing left to reverse: it expired")
        if spent > 0 and self.reversal_policy is ReversalPolicy.REJECT:
            raise InsufficientPoints(state.patient_id, available=lot.remaining, requested=amount)
        return attrs.evolve(request, points=-amount)

    def _check_available(self, state: AccountState, points: int, gone: int) -> None:
        available = state.available - gone
        if points > available:
            raise InsufficientPoints(state.patient_id, available=available, requested=points)

    def _check_caps(self, state: AccountState, event: Event) -> None:
        if self.caps.max_points_per_year is None and not self.caps.max_per_reward_per_year:
            return
        year = event.at.year
        this_year = state.redeemed(year)
        limit = self.caps.max_points_per_year
        used = sum(points for points, _ in this_year)
        if limit is not None and used - event.points > limit:
            raise LedgerError(
                f"patient {state.patient_id!r} would redeem {used - event.points} points in "
                f"{year}; the yearly cap is {limit}"
            )
        per_reward = self.caps.max_per_reward_per_year.get(event.reward)
        count = sum(1 for _, reward in this_year if reward == event.reward)
        if per_reward is not None and count + 1 > per_reward:
            raise LedgerError(
                f"patient {state.patient_id!r} already redeemed {event.reward!r} {count} "
                f"time(s) in {year}; the yearly cap is {per_reward}"
            )

    def _voucher(self, event: Event) -> Voucher:
        name = next((r.name for r in self.catalogue.rewards if r.code == event.reward),
                    event.reward)
        return Voucher(code=voucher_code(event.branch, event.key), key=event.key,
                       reward=event.reward, reward_name=name, points=-event.points,
                       issued_at=event.at, patient_id=event.patient_id, branch=event.branch)
