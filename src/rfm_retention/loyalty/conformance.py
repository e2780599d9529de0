"""A conformance kit for ledger stores: run it on your own :class:`LedgerStore`.

Like scikit-learn's ``check_estimator``: each ``check_*`` function takes a
fresh, empty store, drives it through a :class:`PointsLedger` (and, where the
promise is the store's own, through its transaction directly), and raises
:class:`~rfm_retention.errors.ConformanceError` naming the broken promise.
:func:`check_ledger_store` runs them all, each on a new store from the factory
you give. The checks are plain code (no test framework); the randomised
counterpart is
:class:`rfm_retention.loyalty.state_machine.LedgerStateMachine`.

Example:
    >>> from rfm_retention.loyalty import MemoryStore
    >>> check_ledger_store(MemoryStore)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import numpy as np

from rfm_retention._conformance import Promises
from rfm_retention._frozen import frozen_mapping
from rfm_retention.data import VisitLog
from rfm_retention.errors import (
    ConformanceError,
    IdempotencyConflict,
    InsufficientPoints,
    RFMRetentionError,
)
from rfm_retention.loyalty._events import Event, EventKind
from rfm_retention.loyalty._ledger import PointsLedger
from rfm_retention.loyalty._rewards import Reward, RewardCatalogue
from rfm_retention.loyalty._store import LedgerStore
from rfm_retention.loyalty._verify import verify

__all__ = [
    "CHECKS",
    "LEDGER_STORE_CHECKS",
    "check_all_or_nothing",
    "check_append_only",
    "check_balance_is_sum_of_events",
    "check_branches_isolated",
    "check_conflicting_keys",
    "check_expiry_idempotent",
    "check_idempotent_retries",
    "check_ledger_store",
    "check_lot_order",
    "check_verify_clean",
]

_T0 = dt.datetime(2024, 5, 6, 9, 0)
_DAY = dt.timedelta(days=1)
_CATALOGUE = RewardCatalogue((Reward("small", "Small reward", 50),
                              Reward("big", "Big reward", 300)))


class _Abort(Exception):
    """Raised inside a transaction to check that it appends nothing."""


_KIT = Promises("ledger store")
_expect = _KIT.expect
_refused = _KIT.refused


def _ledger(store: LedgerStore, branch: str = "main", policy: str = "reject") -> PointsLedger:
    return PointsLedger(store, branch=branch, catalogue=_CATALOGUE, reversal_policy=policy)


def _count(store: LedgerStore) -> int:
    return sum(1 for _ in store.events())


def check_append_only(store: LedgerStore) -> None:
    """Stored events come back unchanged, in order, numbered 1, 2, 3 ...; filters keep order."""
    ledger = _ledger(store)
    ledger.earn("p1", 400, key="e1", at=_T0)
    ledger.earn("p2", 100, key="e2", at=_T0 + _DAY)
    ledger.redeem("p1", "small", key="r1", at=_T0 + 2 * _DAY)
    before = list(store.events())
    _expect([e.seq for e in before] == [1, 2, 3], "events must be numbered 1, 2, 3 in order")
    _expect([e.key for e in before] == ["e1", "e2", "r1"], "events must keep append order")
    ledger.earn("p1", 70, key="e3", at=_T0 + 3 * _DAY, expires_at=_T0 + 30 * _DAY)
    ledger.cancel_voucher("r1", at=_T0 + 4 * _DAY)
    after = list(store.events())
    _expect(after[:3] == before, "an append must not change or reorder earlier events")
    _expect([e.seq for e in after] == [1, 2, 3, 4, 5], "seq must run on without gaps")
    _expect(after[3].expires_at == _T0 + 30 * _DAY, "expires_at must round-trip")
    _expect(after[4].reverses == "r1" and after[4].kind is EventKind.REVERSE,
            "kind and reverses must round-trip")
    mine = list(store.events(branch="main", patient_id="p1"))
    _expect([e.key for e in mine] == ["e1", "r1", "e3", "reverse:r1"],
            "events(branch=, patient_id=) must return one account in store order")
    _expect([e.key for e in store.events(patient_id="p2")] == ["e2"],
            "events(patient_id=) must filter by patient")


def check_idempotent_retries(store: LedgerStore) -> None:
    """A retry with the same key and request returns the stored result and writes nothing."""
    ledger = _ledger(store)
    first = ledger.earn("p1", 500, key="e1", at=_T0, expires_at=_T0 + 90 * _DAY)
    voucher = ledger.redeem("p1", "big", key="r1", at=_T0 + _DAY)
    back = ledger.cancel_voucher(voucher, at=_T0 + 2 * _DAY)
    n = _count(store)
    later = _T0 + 3 * _DAY
    _expect(ledger.earn("p1", 500, key="e1", at=later, expires_at=_T0 + 90 * _DAY) == first,
            "retrying an earn must return the stored event")
    _expect(ledger.redeem("p1", "big", key="r1", at=later) == voucher,
            "retrying a redemption must return the original voucher")
    _expect(ledger.cancel_voucher(voucher, at=later) == back,
            "retrying a cancellation must return the stored reversal")
    _expect(_count(store) == n, "a retry must write nothing")
    _expect(ledger.balance("p1").available == 500, "a retry must not move points")


def check_conflicting_keys(store: LedgerStore) -> None:
    """The same key for a different request raises IdempotencyConflict and writes nothing."""
    ledger = _ledger(store)
    ledger.earn("p1", 100, key="k1", at=_T0)
    n = _count(store)
    _refused(lambda: ledger.earn("p1", 101, key="k1", at=_T0), IdempotencyConflict,
             "the same key with other points must raise IdempotencyConflict")
    _refused(lambda: ledger.earn("p2", 100, key="k1", at=_T0), IdempotencyConflict,
             "the same key for another patient must raise IdempotencyConflict")
    _refused(lambda: _ledger(store, "east").earn("p1", 100, key="k1", at=_T0),
             IdempotencyConflict, "keys are global: another branch must not reuse one")
    _refused(lambda: ledger.redeem("p1", "small", key="k1", at=_T0), IdempotencyConflict,
             "the same key for another kind of operation must raise IdempotencyConflict")
    _expect(_count(store) == n, "a conflicting request must write nothing")

    duplicate = Event("k1", EventKind.EARN, "main", "p9", 5, _T0)

    def append_duplicate() -> None:
        with store.transaction() as tx:
            tx.append([duplicate])

    _refused(append_duplicate, Exception, "append must refuse a key that is already stored")
    _expect(_count(store) == n, "a refused append must write nothing")


def check_all_or_nothing(store: LedgerStore) -> None:
    """A transaction that raises appends nothing; a batch with one bad row writes no row."""
    ledger = _ledger(store)
    ledger.earn("p1", 100, key="e1", at=_T0)
    balances = store.projected_balances()
    pending = Event("e2", EventKind.EARN, "main", "p1", 50, _T0)
    try:
        with store.transaction() as tx:
            tx.append([pending])
            _expect("e2" in tx.get(["e2"]), "a transaction must read its own appends (get)")
            _expect([e.key for e in tx.account("main", "p1")] == ["e1", "e2"],
                    "a transaction must read its own appends (account)")
            raise _Abort
    except _Abort:
        pass
    _expect(_count(store) == 1, "a transaction that raised must append nothing")
    _expect(store.projected_balances() == balances,
            "a transaction that raised must not move the running balances")

    times = np.array([_T0 + i * _DAY for i in range(4)], dtype="datetime64[s]")
    visits = VisitLog.from_arrays(patient_id=np.array(["p1"] * 4), visit_time=times,
                                  amount=np.full(4, 10.0), visit_id=np.array(["v0", "v1",
                                                                              "v2", "v3"]))
    ledger.earn("p2", 7, key="visit:main:v2", at=_T0)  # v2's key, other content
    n = _count(store)
    _refused(lambda: ledger.award_visits(visits), IdempotencyConflict,
             "award_visits must raise IdempotencyConflict on a key stored with other content")
    _expect(_count(store) == n, "a batch that failed must write none of its events")
    _expect(ledger.balance("p1").available == 100, "a failed batch must not move points")


def check_lot_order(store: LedgerStore) -> None:
    """Spending consumes lots in the order (expires_at, earned_at, key), no-expiry lots last."""
    ledger = _ledger(store)
    ledger.earn("p1", 100, key="c-never", at=_T0)
    ledger.earn("p1", 100, key="b-late", at=_T0, expires_at=_T0 + 60 * _DAY)
    ledger.earn("p1", 100, key="z-soon", at=_T0 + _DAY, expires_at=_T0 + 30 * _DAY)
    ledger.earn("p1", 100, key="a-soon", at=_T0 + _DAY, expires_at=_T0 + 30 * _DAY)
    ledger.earn("p1", 100, key="y-soon-early", at=_T0, expires_at=_T0 + 30 * _DAY)
    ledger.redeem("p1", "big", key="r1", at=_T0 + 2 * _DAY)
    lots = ledger.balance("p1").lots
    _expect([lot.key for lot in lots] == ["y-soon-early", "a-soon", "z-soon", "b-late",
                                          "c-never"],
            "lots must be ordered by (expires_at, earned_at, key)")
    _expect([lot.remaining for lot in lots] == [0, 0, 0, 100, 100],
            "a redemption must consume the soonest-expiring lots first")


def check_expiry_idempotent(store: LedgerStore) -> None:
    """Expiry removes what is left of due lots once; a second run changes nothing."""
    ledger = _ledger(store)
    ledger.earn("p1", 300, key="e1", at=_T0, expires_at=_T0 + 10 * _DAY)
    ledger.earn("p1", 80, key="e2", at=_T0)
    ledger.earn("p2", 40, key="e3", at=_T0, expires_at=_T0 + 40 * _DAY)
    ledger.redeem("p1", "small", key="r1", at=_T0 + _DAY)
    at = _T0 + 20 * _DAY
    with store.transaction() as tx:
        due = tx.patients_with_lots_due("main", at)
    _expect("p1" in due, "patients_with_lots_due must name a patient with a due lot")
    expired = ledger.expire(at=at)
    _expect([(e.reverses, e.points) for e in expired] == [("e1", -250)],
            "expiry must remove exactly what is left of each due lot")
    n = _count(store)
    _expect(ledger.expire(at=at) == [] and _count(store) == n,
            "a second expiry run must write nothing")
    balance = ledger.balance("p1")
    _expect(balance.available == 80 and balance.balance == 80,
            "expired points must leave the balance")
    _refused(lambda: ledger.redeem("p1", "big", key="r2", at=at), InsufficientPoints,
             "expired points must not be spendable")


def check_balance_is_sum_of_events(store: LedgerStore) -> None:
    """Every balance equals the sum of its events; running balances agree; debt is explicit."""
    ledger = _ledger(store, policy="debt")
    ledger.earn("p1", 200, key="e1", at=_T0)
    ledger.redeem("p1", "small", key="r1", at=_T0 + _DAY)
    ledger.reverse("e1", at=_T0 + 2 * _DAY)  # 50 of it were spent: a debt of 50
    ledger.adjust("p1", 30, key="a1", at=_T0 + 3 * _DAY, actor="admin", reason="goodwill")
    ledger.earn("p2", 90, key="e2", at=_T0)
    for pid, available, debt in (("p1", 0, 20), ("p2", 90, 0)):
        balance = ledger.balance(pid)
        total = sum(e.points for e in store.events(branch="main", patient_id=pid))
        _expect(balance.balance == total, f"balance of {pid} must be the sum of its events")
        _expect((balance.available, balance.debt) == (available, debt),
                f"{pid}: available {available} and debt {debt} expected, got "
                f"{balance.available} and {balance.debt}")
        _expect(store.projected_balances().get(("main", pid)) == (total, balance.n_events),
                f"projected_balances must hold (sum, count) of {pid}'s events")


def check_branches_isolated(store: LedgerStore) -> None:
    """Two branches on one store never see or spend each other's points."""
    main, east = _ledger(store, "main"), _ledger(store, "east")
    main.earn("p1", 300, key="m1", at=_T0)
    east.earn("p1", 60, key="x1", at=_T0)
    _refused(lambda: east.redeem("p1", "big", key="xr", at=_T0 + _DAY), InsufficientPoints,
             "a branch must not spend another branch's points")
    _refused(lambda: east.reverse("m1", at=_T0 + _DAY), RFMRetentionError,
             "a branch must not reverse another branch's event")
    _expect(main.balance("p1").available == 300 and east.balance("p1").available == 60,
            "balances must be kept per branch")
    _expect([e.key for e in store.events(branch="east")] == ["x1"],
            "events(branch=) must filter by branch")


def check_verify_clean(store: LedgerStore) -> None:
    """After a mixed workload ``verify`` finds nothing wrong and counts every event."""
    ledger = _ledger(store, policy="debt")
    for i in range(6):
        ledger.earn(f"p{i % 3}", 100 + 10 * i, key=f"e{i}", at=_T0 + i * _DAY,
                    expires_at=_T0 + (20 + i) * _DAY if i % 2 else None)
    ledger.redeem("p0", "small", key="r0", at=_T0 + 7 * _DAY)
    ledger.redeem("p1", "small", key="r1", at=_T0 + 7 * _DAY)
    ledger.cancel_voucher("r1", at=_T0 + 8 * _DAY)
    ledger.reverse("e0", at=_T0 + 9 * _DAY)
    ledger.expire(at=_T0 + 40 * _DAY)
    report = verify(store)
    _expect(report.ok, "verify must be clean after ordinary operations:\n" + report.summary())
    _expect(report.n_events == _count(store), "verify must see every stored event")


CHECKS: tuple[Callable[[LedgerStore], None], ...] = (
    check_append_only,
    check_idempotent_retries,
    check_conflicting_keys,
    check_all_or_nothing,
    check_lot_order,
    check_expiry_idempotent,
    check_balance_is_sum_of_events,
    check_branches_isolated,
    check_verify_clean,
)
"""Every check, in the order :func:`check_ledger_store` runs them."""

LEDGER_STORE_CHECKS: Mapping[str, Callable[[LedgerStore], None]] = frozen_mapping(
    {c.__name__: c for c in CHECKS})
"""Every check by name, each called as ``check(store)`` on a fresh, empty store, for
:func:`~rfm_retention.testing.parametrize_with_checks` (or the pytest plugin's
``ledger_store_check`` argument)."""


def check_ledger_store(make_store: Callable[[], LedgerStore]) -> None:
    """Run every check in :data:`CHECKS`, each on a fresh, empty store from ``make_store``.

    A store with a ``close()`` method is closed after its check.

    Raises:
        ConformanceError: naming the check and the first promise the store breaks.

    Example:
        >>> import itertools, pathlib, tempfile
        >>> from rfm_retention.loyalty import SQLiteStore
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     names = itertools.count()
        ...     check_ledger_store(lambda: SQLiteStore(pathlib.Path(folder) / f"{next(names)}.db"))
    """
    for check in CHECKS:
        store = make_store()
        try:
            check(store)
        except AssertionError as exc:
            promise = exc.promise if isinstance(exc, ConformanceError) else str(exc)
            raise ConformanceError(check.__name__, promise) from exc
        finally:
            close = getattr(store, "close", None)
            if callable(close):
                close()
