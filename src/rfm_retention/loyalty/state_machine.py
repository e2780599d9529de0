"""A randomised state machine for ledger stores: subclass it with your store factory.

The machine drives two ledgers (branches ``main`` and ``east``) on one store
with earns, redemptions, adjustments, reversals of earns and of redemptions,
expiry, retries with the same key and reuse of a key for a different request,
and after every step compares every account with :class:`LedgerModel`, a
deliberately plain re-statement of the ledger's rules, and runs
:func:`~rfm_retention.loyalty._verify` on the store. It needs hypothesis (the
``test`` extra); nothing else in the package imports this module.

Example:
    In a host's test suite (pytest or unittest collect ``TestCase``)::

        from rfm_retention.loyalty.state_machine import LedgerStateMachine

        class PostgresLedgerMachine(LedgerStateMachine):
            def make_store(self):
                return PostgresStore(fresh_test_database())

        TestPostgresLedger = PostgresLedgerMachine.TestCase

The fixed checks of :mod:`rfm_retention.loyalty.conformance` are the quick
companion: run both.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from rfm_retention._conformance import expect
from rfm_retention.errors import (
    ConformanceError,
    IdempotencyConflict,
    InsufficientPoints,
    LedgerError,
)
from rfm_retention.loyalty._ledger import PointsLedger
from rfm_retention.loyalty._rewards import Reward, RewardCatalogue
from rfm_retention.loyalty._store import LedgerStore
from rfm_retention.loyalty._verify import verify

__all__ = ["ACCOUNTS", "CATALOGUE", "LedgerModel", "LedgerStateMachine"]

START = dt.datetime(2024, 1, 1, 9, 0)
CATALOGUE = RewardCatalogue((Reward("small", "Small", 50), Reward("mid", "Mid", 120),
                             Reward("big", "Big", 300)))
"""Small rewards, so that redemptions succeed and fail often in short runs."""
ACCOUNTS = (("main", "p0"), ("main", "p1"), ("east", "p0"))
"""The (branch, patient) accounts the machine moves points in."""
NEVER = dt.datetime.max
"""Sort key standing in for "no expiry" (such lots are spent last)."""


class LedgerModel:
    """The ledger's rules written as plainly as possible, one dict per lot.

    ``policy`` is the reversal policy (``"reject"`` or ``"debt"``).
    """

    def __init__(self, policy: str) -> None:
        self.policy = policy
        self.lots: dict[str, dict[str, Any]] = {}
        self.redemptions: dict[str, dict[str, Any]] = {}
        self.debt: dict[tuple[str, str], int] = defaultdict(int)
        self.balance: dict[tuple[str, str], int] = defaultdict(int)
        self.n_events = 0

    def account_lots(self, account: tuple[str, str]) -> list[dict[str, Any]]:
        """The account's lots in spending order (expires_at, earned_at, key)."""
        mine = [lot for lot in self.lots.values() if lot["account"] == account]
        return sorted(mine, key=lambda lot: (lot["expires"] or NEVER, lot["earned"], lot["key"]))

    def available(self, account: tuple[str, str]) -> int:
        """Spendable points: what the lots still hold."""
        return sum(lot["remaining"] for lot in self.account_lots(account))

    def credit(self, account: tuple[str, str], lot: dict[str, Any], n: int) -> None:
        """Put ``n`` points into ``lot``, paying off the account's debt first."""
        pay = min(self.debt[account], n)
        self.debt[account] -= pay
        lot["remaining"] += n - pay

    def earn(self, account: tuple[str, str], key: str, points: int, at: dt.datetime,
             expires: dt.datetime | None) -> None:
        """Open a lot (paying off debt first)."""
        lot = {"account": account, "key": key, "points": points, "remaining": 0,
               "expires": expires, "earned": at, "expired": 0, "reversed": False}
        self.lots[key] = lot
        self.credit(account, lot, points)
        self.balance[account] += points
        self.n_events += 1

    def due(self, account: tuple[str, str], at: dt.datetime) -> list[dict[str, Any]]:
        """Lots past their expiry at ``at`` that still hold points."""
        return [lot for lot in self.account_lots(account)
                if lot["expires"] is not None and lot["expires"] <= at and lot["remaining"] > 0]

    def expire(self, account: tuple[str, str], at: dt.datetime) -> None:
        """Empty every due lot."""
        for lot in self.due(account, at):
            lot["expired"] += lot["remaining"]
            self.balance[account] -= lot["remaining"]
            lot["remaining"] = 0
            self.n_events += 1

    def redeem(self, account: tuple[str, str], key: str, points: int, at: dt.datetime) -> bool:
        """Spend ``points`` (after expiring due lots); False when there are not enough."""
        after_expiry = self.available(account) - sum(lot["remaining"]
                                                     for lot in self.due(account, at))
        if after_expiry < points:
            return False
        self.expire(account, at)
        taken, left = [], points
        for lot in self.account_lots(account):
            n = min(left, lot["remaining"])
            if n:
                lot["remaining"] -= n
                left -= n
                taken.append((lot["key"], n))
        self.redemptions[key] = {"account": account, "points": points, "taken": taken,
                                 "reversed": False}
        self.balance[account] -= points
        self.n_events += 1
        return True

    def reverse_earn(self, key: str) -> str:
        """Reverse an earn: ``ok``, ``already``, ``nothing`` (expired) or ``insufficient``."""
        lot = self.lots[key]
        if lot["reversed"]:
            return "already"
        amount = lot["points"] - lot["expired"]
        spent = amount - lot["remaining"]
        if amount == 0:
            return "nothing"
        if spent and self.policy == "reject":
            return "insufficient"
        lot["remaining"] = 0
        lot["reversed"] = True
        self.debt[lot["account"]] += spent
        self.balance[lot["account"]] -= amount
        self.n_events += 1
        return "ok"

    def reverse_redemption(self, key: str) -> str:
        """Give a redemption's points back to the lots they came from."""
        red = self.redemptions[key]
        if red["reversed"]:
            return "already"
        for lot_key, n in red["taken"]:
            self.credit(red["account"], self.lots[lot_key], n)
        red["reversed"] = True
        self.balance[red["account"]] += red["points"]
        self.n_events += 1
        return "ok"


class LedgerStateMachine(RuleBasedStateMachine):
    """Drives ledgers on one store against :class:`LedgerModel`; subclasses give the store.

    Override :meth:`make_store` (a fresh, empty store per run) and, if the
    store needs more than ``close()``, :meth:`teardown`.
    """

    earns = Bundle("earns")
    redemptions = Bundle("redemptions")

    def make_store(self) -> LedgerStore:
        """A fresh, empty store for one run (override this)."""
        raise NotImplementedError("subclass LedgerStateMachine and define make_store()")

    def teardown(self) -> None:
        """Close the store when it has a ``close()`` method."""
        close = getattr(getattr(self, "store", None), "close", None)
        if callable(close):
            close()

    def __init__(self) -> None:
        super().__init__()
        self.store = self.make_store()
        self.now = START
        self.counter = 0
        self.calls: list[tuple[str, dict[str, Any], Any]] = []

    @initialize(policy=st.sampled_from(["reject", "debt"]))
    def setup(self, policy: str) -> None:
        """Open one ledger per branch with the drawn reversal policy."""
        self.model = LedgerModel(policy)
        self.ledgers = {b: PointsLedger(self.store, branch=b, catalogue=CATALOGUE,
                                        reversal_policy=policy) for b in ("main", "east")}

    def new_key(self, prefix: str) -> str:
        """A key never used before in this run."""
        self.counter += 1
        return f"{prefix}-{self.counter}"

    @rule(days=st.integers(0, 20), hours=st.integers(0, 23))
    def tick(self, days: int, hours: int) -> None:
        """Let time pass."""
        self.now += dt.timedelta(days=days, hours=hours)

    @rule(target=earns, account=st.sampled_from(ACCOUNTS), points=st.integers(1, 400),
          expires_in=st.one_of(st.none(), st.integers(1, 40)))
    def earn(self, account: tuple[str, str], points: int, expires_in: int | None) -> Any:
        """Earn a lot, with or without expiry."""
        key = self.new_key("earn")
        expires = None if expires_in is None else self.now + dt.timedelta(days=expires_in)
        kwargs: dict[str, Any] = {"key": key, "at": self.now, "expires_at": expires}
        result = self.ledgers[account[0]].earn(account[1], points, **kwargs)
        self.model.earn(account, key, points, self.now, expires)
        self.calls.append(("earn", {"branch": account[0], "patient_id": account[1],
                                    "points": points, **kwargs}, result))
        return key

    @rule(target=redemptions, account=st.sampled_from(ACCOUNTS),
          reward=st.sampled_from(CATALOGUE.rewards))
    def redeem(self, account: tuple[str, str], reward: Reward) -> Any:
        """Redeem a reward; refused exactly when the model has too few points."""
        key = self.new_key("redeem")
        ledger = self.ledgers[account[0]]
        try:
            voucher = ledger.redeem(account[1], reward.code, key=key, at=self.now)
        except InsufficientPoints:
            refused = not self.model.redeem(account, key, reward.points, self.now)
            _expect(refused,
                    "a refused redemption has too few points in the model")
            return multiple()
        accepted = self.model.redeem(account, key, reward.points, self.now)
        _expect(accepted,
                "an accepted redemption has enough points in the model")
        _expect(voucher.points == reward.points, "voucher.points == reward.points")
        self.calls.append(("redeem", {"branch": account[0], "patient_id": account[1],
                                      "reward": reward.code, "key": key, "at": self.now},
                           voucher))
        return key

    @rule(account=st.sampled_from(ACCOUNTS), points=st.integers(-300, 300).filter(bool))
    def adjust(self, account: tuple[str, str], points: int) -> None:
        """A manual adjustment, positive (a lot) or negative (spent like a redemption)."""
        key = self.new_key("adjust")
        ledger = self.ledgers[account[0]]
        try:
            ledger.adjust(account[1], points, key=key, at=self.now, actor="admin",
                          reason="correction")
        except InsufficientPoints:
            refused = not self.model.redeem(account, key, -points, self.now)
            _expect(refused,
                    "a refused adjustment has too few points in the model")
            return
        if points > 0:
            self.model.earn(account, key, points, self.now, None)
        else:
            accepted = self.model.redeem(account, key, -points, self.now)
            _expect(accepted,
                    "an accepted adjustment has enough points in the model")

    @rule(key=earns)
    def reverse_earn(self, key: str) -> None:
        """Reverse an earn under the policy; a second reversal is refused."""
        branch = self.model.lots[key]["account"][0]
        expected = self.model.reverse_earn(key)
        if expected == "already":
            # a retry with the default key returns the stored reversal; a new key is refused
            retried = self.ledgers[branch].reverse(key, at=self.now)
            _expect(retried.reverses == key,
                    "a retried reversal returns the stored one")
            again = self.new_key("again")
            _raises(LedgerError, lambda: self.ledgers[branch].reverse(key, at=self.now, key=again),
                    "a second reversal under a new key must be refused", match="already reversed")
            return
        try:
            event = self.ledgers[branch].reverse(key, at=self.now)
        except InsufficientPoints:
            _expect(expected == "insufficient", "expected == 'insufficient'")
            return
        except LedgerError:
            _expect(expected == "nothing", "expected == 'nothing'")
            return
        _expect(expected == "ok", "expected == 'ok'")
        _expect(event.reverses == key, "event.reverses == key")

    @rule(key=consumes(redemptions))
    def cancel(self, key: str) -> None:
        """Cancel a voucher: its points come back."""
        branch = self.model.redemptions[key]["account"][0]
        outcome = self.model.reverse_redemption(key)
        _expect(outcome == "ok", "the model cancels the voucher")
        event = self.ledgers[branch].cancel_voucher(key, at=self.now)
        _expect(event.points == self.model.redemptions[key]["points"],
                "a cancellation gives back what was redeemed")

    @rule()
    def expire(self) -> None:
        """Run expiry on both branches, twice (the second run must change nothing)."""
        for branch, ledger in self.ledgers.items():
            ledger.expire(at=self.now)
            for account in ACCOUNTS:
                if account[0] == branch:
                    self.model.expire(account, self.now)
        _expect(all(not ledger.expire(at=self.now) for ledger in self.ledgers.values()),
                "a second expiry run changes nothing")

    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        """Repeat an earlier earn or redemption: the stored result comes back."""
        if not self.calls:
            return
        kind, kwargs, first = data.draw(st.sampled_from(self.calls))
        ledger = self.ledgers[kwargs["branch"]]
        later = self.now + dt.timedelta(hours=1)
        args = {k: v for k, v in kwargs.items() if k not in ("branch", "at")}
        again: Any = (ledger.earn(at=later, **args) if kind == "earn"
                      else ledger.redeem(at=later, **args))
        _expect(again == first, "again == first")

    @rule(data=st.data(), bump=st.integers(1, 50))
    def conflicting_key(self, data: st.DataObject, bump: int) -> None:
        """Reuse a stored key for another request in the other branch: a conflict."""
        if not self.calls:
            return
        _, kwargs, _ = data.draw(st.sampled_from(self.calls))
        ledger = self.ledgers["east" if kwargs["branch"] == "main" else "main"]
        _raises(IdempotencyConflict,
                lambda: ledger.earn(kwargs["patient_id"], 1 + bump, key=kwargs["key"],
                                    at=self.now),
                "a stored key reused for another request must raise IdempotencyConflict")

    @invariant()
    def matches_model(self) -> None:
        """Every account equals the model; lots add up and are ordered; verify is clean."""
        if not hasattr(self, "model"):
            return
        for branch, patient in ACCOUNTS:
            account = (branch, patient)
            got = self.ledgers[branch].balance(patient)
            _expect(got.available >= 0, "got.available >= 0")
            _expect(got.debt == self.model.debt[account], "debt equals the model")
            _expect(got.balance == self.model.balance[account], "balance equals the model")
            _expect(got.available == self.model.available(account), "available equals the model")
            _expect(sum(lot.remaining for lot in got.lots) == got.available,
                    "lots add up to available")
            _expect(got.available - got.debt == got.balance, "available - debt == balance")
            _expect(sum(e.points for e in self.ledgers[branch].history(patient)) == got.balance,
                    "events add up to the balance")
            want = {lot["key"]: lot["remaining"] for lot in self.model.account_lots(account)}
            _expect({lot.key: lot.remaining for lot in got.lots} == want, "lots equal the model")
            order = [(lot.expires_at or NEVER, lot.earned_at, lot.key) for lot in got.lots]
            _expect(order == sorted(order), "order == sorted(order)")
        _expect(len(list(self.store.events())) == self.model.n_events,
                "the store holds every event")
        report = verify(self.store)
        _expect(report.ok, report.summary())


def _expect(condition: bool, promise: str) -> None:
    expect(condition, "ledger state machine", promise)


def _raises(error: type[Exception], call: Callable[[], object], promise: str,
            match: str = "") -> None:
    try:
        call()
    except error as exc:
        if match not in str(exc):
            raise ConformanceError(
                "ledger state machine", f"{promise}, with {match!r} in the message: {exc}"
            ) from exc
        return
    raise ConformanceError("ledger state machine", promise)
