"""Account state kept by the stores: operations cost the lots they touch, verify re-checks it."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from rfm_retention.data import VisitLog
from rfm_retention.loyalty import MemoryStore, PointsLedger, SQLiteStore, verify
from rfm_retention.loyalty._lots import AccountState

T = dt.datetime(2024, 1, 1)


def _ledger(kind: str, tmp_path: Path, n: int) -> PointsLedger:
    store = (MemoryStore() if kind == "memory"
             else SQLiteStore(tmp_path / f"{n}.db", synchronous="OFF"))
    ledger = PointsLedger(store)
    times = np.datetime64("2020-01-01T00:00:00") + (np.arange(n) * 60).astype("timedelta64[s]")
    ledger.award_visits(VisitLog.from_arrays(patient_id=["P1"] * n, visit_time=times,
                                             amount=np.full(n, 10.0)))
    return ledger


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_operation_work_does_not_grow_with_history(kind: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Earn, redeem and cancel apply the same few events at 100 and at 5,000 past events."""
    applied = {"n": 0}
    original = AccountState.apply

    def counting(self: AccountState, event: object) -> None:
        applied["n"] += 1
        original(self, event)  # type: ignore[arg-type]

    counts = []
    for n in (100, 5_000):
        ledger = _ledger(kind, tmp_path, n)
        ledger.balance("P1")  # the memory store builds its state once, on first use
        monkeypatch.setattr(AccountState, "apply", counting)
        applied["n"] = 0
        ledger.earn("P1", 1000, key="x", at=T)
        voucher = ledger.redeem("P1", "health_assessment", key="r", at=T)
        ledger.cancel_voucher(voucher, at=T)
        assert ledger.balance("P1").available == 100 * (n - 1) + 1000
        counts.append(applied["n"])
        monkeypatch.setattr(AccountState, "apply", original)
        assert verify(ledger.store).ok
    assert counts == [3, 3]


def test_kept_lot_edited_behind_the_store_is_reported_by_verify(tmp_path: Path) -> None:
    """A lot or account figure changed in the database is a verify problem, not silence."""
    path = tmp_path / "l.db"
    ledger = PointsLedger(SQLiteStore(path))
    ledger.earn("p1", 1000, key="e1", at=T)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE lots SET remaining = 5000 WHERE key = 'e1'")
    conn.execute("UPDATE balances SET available = 5000")
    conn.close()
    checks = sorted({p.check for p in verify(SQLiteStore(path)).problems})
    assert checks == ["account-state", "lot-state"]


def test_batch_award_pays_an_existing_debt_first(tmp_path: Path) -> None:
    """A batch of earns on an indebted account repays the debt before points become available."""
    for store in (MemoryStore(), SQLiteStore(tmp_path / "d.db")):
        ledger = PointsLedger(store, reversal_policy="debt")
        ledger.earn("P1", 1000, key="e1", at=T)
        ledger.redeem("P1", "health_assessment", key="r1", at=T)
        ledger.reverse("e1", at=T)
        assert ledger.balance("P1").debt == 1000
        times = np.datetime64("2024-02-01T00:00:00") + (np.arange(100) * 60).astype(
            "timedelta64[s]")
        ledger.award_visits(VisitLog.from_arrays(patient_id=["P1"] * 100, visit_time=times,
                                                 amount=np.full(100, 10.0)))
        balance = ledger.balance("P1")
        assert (balance.debt, balance.available) == (0, 99 * 100 - 1000)
        assert verify(store).ok
