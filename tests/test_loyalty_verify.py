"""verify(): a clean store passes; tampering, lost events and drift are reported."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from rfm_retention.loyalty import MemoryStore, PointsLedger, SQLiteStore, verify

AT = dt.datetime(2024, 3, 1)


def _fill(ledger: PointsLedger) -> None:
    ledger.earn("p1", 1500, key="e1", at=AT, expires_at=AT + dt.timedelta(days=30))
    ledger.earn("p2", 300, key="e2", at=AT)
    v = ledger.redeem("p1", "health_assessment", key="r1", at=AT)
    ledger.cancel_voucher(v, at=AT)
    ledger.redeem("p1", "health_assessment", key="r2", at=AT)
    ledger.expire(at=AT + dt.timedelta(days=31))


def test_clean_store_verifies() -> None:
    """A store written only by the ledger has no problems and sensible totals."""
    store = MemoryStore()
    _fill(PointsLedger(store))
    report = verify(store)
    assert report.ok, report.summary()
    assert (report.n_events, report.n_accounts, report.total_balance) == (6, 2, 300)
    assert "OK" in report.summary()


def _raw(db: Path, sql: str, params: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(db)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def test_drifted_running_balance_is_reported(tmp_path: Path) -> None:
    """A running balance edited behind the ledger's back is caught."""
    db = tmp_path / "l.db"
    with SQLiteStore(db) as store:
        _fill(PointsLedger(store))
    _raw(db, "UPDATE balances SET balance = balance + 1000 WHERE patient_id = 'p2'")
    with SQLiteStore(db) as store:
        report = verify(store)
    assert not report.ok
    assert [p.check for p in report.problems] == ["running-balance", "account-state"]
    assert report.problems[0].patient_id == "p2"


def test_forged_overdraw_is_reported(tmp_path: Path) -> None:
    """An event inserted directly that overdraws a balance fails the replay."""
    db = tmp_path / "l.db"
    with SQLiteStore(db) as store:
        _fill(PointsLedger(store))
    _raw(db, "INSERT INTO events (key, kind, branch, patient_id, points, at, actor, reason, "
             "reverses, expires_at, reward) VALUES ('x', 'redeem', 'main', 'p2', -5000, "
             "'2024-03-02T00:00:00', '', '', '', NULL, 'health_assessment')")
    with SQLiteStore(db) as store:
        report = verify(store)
    checks = {p.check for p in report.problems}
    assert "replay" in checks
    assert any("only 300 are available" in p.message for p in report.problems)


def test_lost_event_is_reported(tmp_path: Path) -> None:
    """A gap in the sequence (an event removed with the triggers dropped) is reported."""
    db = tmp_path / "l.db"
    with SQLiteStore(db) as store:
        _fill(PointsLedger(store))
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DELETE FROM events WHERE key = 'e2'")
    conn.execute("CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
                 "BEGIN SELECT RAISE(ABORT, 'ledger events are append-only: DELETE refused'); END")
    conn.commit()
    conn.close()
    with SQLiteStore(db) as store:
        report = verify(store)
    checks = {p.check for p in report.problems}
    assert {"sequence", "running-balance"} <= checks
