"""The SQLite store: schema checks, append-only triggers, threads, processes and crashes."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import pickle
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError, InsufficientPoints, StoreIntegrityError
from rfm_retention.loyalty import (
    SCHEMA_VERSION,
    EventKind,
    MemoryStore,
    PointsLedger,
    Reward,
    RewardCatalogue,
    SQLiteStore,
    verify,
)

AT = dt.datetime(2024, 5, 1, 10, 0)
UNIT = RewardCatalogue((Reward("unit", "Unit", 30),))
FORK = multiprocessing.get_context("fork")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


def test_schema_version_is_recorded_and_wal_is_on(db: Path) -> None:
    """A new file records the schema version and uses the WAL journal."""
    SQLiteStore(db).close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version FROM ledger_schema").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_newer_schema_version_is_refused(db: Path) -> None:
    """A file written by another schema version raises StoreIntegrityError on open."""
    SQLiteStore(db).close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE ledger_schema SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreIntegrityError, match="version"):
        SQLiteStore(db)


def test_foreign_database_is_refused(db: Path) -> None:
    """A SQLite file holding other tables is not taken over as a ledger."""
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE patients (id TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreIntegrityError, match="not a ledger database"):
        SQLiteStore(db)


def test_missing_file_without_create_is_refused(db: Path) -> None:
    """Read-only uses (create=False) do not silently create an empty ledger."""
    with pytest.raises(StoreIntegrityError, match="no ledger database"):
        SQLiteStore(db, create=False)


def test_store_pickles_by_path_and_rejects_bad_settings(db: Path) -> None:
    """A store sent to another process re-opens the same file; bad PRAGMA values are refused."""
    with SQLiteStore(db, synchronous="NORMAL") as store:
        PointsLedger(store).earn("p1", 100, key="k1", at=AT)
        copy = pickle.loads(pickle.dumps(store))
        assert (copy.synchronous, len(copy)) == ("NORMAL", 1)
        copy.close()
    with pytest.raises(ConfigError):
        SQLiteStore(db, synchronous="FAST")  # type: ignore[arg-type]


def test_triggers_refuse_update_and_delete_of_events(db: Path) -> None:
    """Even another program cannot edit or delete stored events."""
    with SQLiteStore(db) as store:
        PointsLedger(store).earn("p1", 100, key="k1", at=AT)
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE events SET points = 1000")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM events")
    conn.close()


def test_dropped_trigger_is_detected_on_open(db: Path) -> None:
    """A file whose append-only triggers were removed is refused."""
    SQLiteStore(db).close()
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.commit()
    conn.close()
    with pytest.raises(StoreIntegrityError, match="trigger"):
        SQLiteStore(db)


def test_running_balance_update_reads_only_new_rows(db: Path) -> None:
    """Each append touches only its own rows, so latency does not grow with the file."""
    from rfm_retention.loyalty._sql import _BULK_BALANCES, _BULK_LOTS

    with SQLiteStore(db) as store:
        for sql in (_BULK_BALANCES, _BULK_LOTS):
            plan = store._connection().execute(
                "EXPLAIN QUERY PLAN " + sql.format(not_indexed=" NOT INDEXED"), (0,))
            details = " ".join(row[3] for row in plan.fetchall())
            assert "INTEGER PRIMARY KEY" in details
            assert "SCAN events" not in details


def test_failed_operation_leaves_no_trace(db: Path) -> None:
    """A refused redemption rolls back: no event, no running-balance change."""
    with SQLiteStore(db) as store:
        ledger = PointsLedger(store, catalogue=UNIT)
        ledger.earn("p1", 20, key="k1", at=AT)
        with pytest.raises(InsufficientPoints):
            ledger.redeem("p1", "unit", key="r1", at=AT)
        assert len(store) == 1
        assert store.projected_balances() == {("main", "p1"): (20, 1)}


def _redeem_until_empty(store: Any, worker: int, attempts: int) -> list[str]:
    ledger = PointsLedger(store, catalogue=UNIT)
    done = []
    for i in range(attempts):
        key = f"w{worker}-{i}"
        try:
            ledger.redeem("p1", "unit", key=key, at=AT)
        except InsufficientPoints:
            continue
        # a retry of a successful call must return the same voucher and write nothing
        assert ledger.redeem("p1", "unit", key=key, at=AT).key == key
        done.append(key)
    return done


def _fund(store: Any) -> None:
    ledger = PointsLedger(store)
    for i in range(10):
        ledger.earn("p1", 100, key=f"earn-{i}", at=AT - dt.timedelta(days=i))


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_threads_never_overdraw(kind: str, db: Path) -> None:
    """8 threads redeeming against one balance spend exactly what was there, no more."""
    store: Any = MemoryStore() if kind == "memory" else SQLiteStore(db)
    _fund(store)
    results: list[list[str]] = [[] for _ in range(8)]

    def work(w: int) -> None:
        results[w] = _redeem_until_empty(store, w, 8)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    spent = [k for r in results for k in r]
    assert len(spent) == 1000 // 30
    assert PointsLedger(store).balance("p1").available == 1000 - 30 * len(spent)
    assert verify(store).ok
    if kind == "sqlite":
        store.close()


def _process_worker(path: str, worker: int, attempts: int, barrier: Any, out: Any) -> None:
    store = SQLiteStore(path)
    barrier.wait()
    out.put(_redeem_until_empty(store, worker, attempts))
    store.close()


def test_eight_processes_never_overdraw_or_lose_an_event(db: Path) -> None:
    """8 processes redeeming concurrently: exactly floor(balance / cost) succeed, all stored."""
    with SQLiteStore(db) as store:
        _fund(store)
    barrier = FORK.Barrier(8)
    out = FORK.Queue()
    procs = [FORK.Process(target=_process_worker, args=(str(db), w, 8, barrier, out))
             for w in range(8)]
    for p in procs:
        p.start()
    spent = [k for _ in procs for k in out.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    with SQLiteStore(db) as store:
        redeemed = sorted(e.key for e in store.events() if e.kind is EventKind.REDEEM)
        assert redeemed == sorted(spent)
        assert len(spent) == 1000 // 30
        assert PointsLedger(store).balance("p1").available == 1000 - 30 * len(spent)
        assert verify(store).ok


BATCH_PATIENTS = 5000
VISITS_EACH = 6


def _batch_log(batch: int) -> VisitLog:
    n = BATCH_PATIENTS * VISITS_EACH
    patients = np.repeat([f"b{batch}-{i}" for i in range(BATCH_PATIENTS)], VISITS_EACH)
    days = np.tile(np.arange(VISITS_EACH) * 30, BATCH_PATIENTS)
    times = np.datetime64("2023-01-01T08:00", "s") + days.astype("timedelta64[D]")
    return VisitLog.from_arrays(patient_id=patients, visit_time=times, amount=np.ones(n))


def _crash_worker(path: str, log_path: str) -> None:
    store = SQLiteStore(path, synchronous="NORMAL")
    ledger = PointsLedger(store)
    logs = [_batch_log(b) for b in range(20)]
    with open(log_path, "a", buffering=1) as progress:
        for b, log in enumerate(logs):
            progress.write(f"start {b}\n")
            ledger.award_visits(log)
            progress.write(f"commit {b}\n")


def test_sigkill_mid_batch_keeps_committed_batches_and_no_partial_one(tmp_path: Path) -> None:
    """A process killed with SIGKILL mid-batch: committed batches intact, no partial batch."""
    db = tmp_path / "crash.db"
    progress = tmp_path / "progress.txt"
    SQLiteStore(db).close()
    proc = FORK.Process(target=_crash_worker, args=(str(db), str(progress)))
    proc.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = progress.read_text().split() if progress.exists() else []
        if lines.count("commit") >= 2 and lines[-2] == "start":
            break
        time.sleep(0.005)
    time.sleep(0.05)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    assert proc.exitcode == -signal.SIGKILL
    words = progress.read_text().split()
    assert words[-2] == "start", "the kill should land inside a batch"
    committed = {int(n) for w, n in zip(words[::2], words[1::2], strict=True) if w == "commit"}
    assert len(committed) >= 2
    per_batch = BATCH_PATIENTS * (VISITS_EACH - 1)
    with SQLiteStore(db) as store:
        counts: dict[int, int] = {}
        for e in store.events():
            batch = int(e.patient_id[1:].split("-")[0])
            counts[batch] = counts.get(batch, 0) + 1
        assert set(committed) <= set(counts)
        assert all(c == per_batch for c in counts.values()), "a batch was partly written"
        assert sorted(counts) == list(range(len(counts)))
        report = verify(store)
        assert report.ok, report.summary()
        assert report.total_balance == 100 * per_batch * len(counts)


@pytest.mark.parametrize("n_wanted", [3, 600, 2_500])
def test_bulk_reads_return_exactly_the_stored_keys(db: Path, n_wanted: int) -> None:
    """get and stored_signatures agree with events() for few keys, a sparse bulk and a scan."""
    with SQLiteStore(db, synchronous="OFF") as store:
        n = 3_000
        times = np.datetime64("2024-01-01T08:00:00") + np.arange(n).astype("timedelta64[h]")
        log = VisitLog.from_arrays(patient_id=np.arange(n) % 7, visit_time=times,
                                   amount=np.ones(n), visit_id=np.char.add("V", np.arange(n)
                                                                           .astype(str)))
        PointsLedger(store).award_visits(log)
        stored = {e.key: e for e in store.events()}
        rng = np.random.default_rng(3)
        keys = sorted(stored)
        wanted = [keys[i] for i in rng.choice(len(keys), n_wanted, replace=False)]
        asked = wanted + wanted[:2] + ["visit:main:nope", "other"]
        with store.transaction() as tx:
            assert tx.get(asked) == {k: stored[k] for k in wanted}
            assert tx.stored_signatures(asked) == {k: stored[k].request_signature()
                                                   for k in wanted}
