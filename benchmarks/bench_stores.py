"""Ledger stores side by side: SQLite and PostgreSQL in one run.

For each store: one ``award_visits`` batch of 1M visits (the table build,
``VisitLog.from_arrays``, timed on its own line and added for the whole job),
single ``earn`` and ``redeem`` latency (median, p99) on an account
with 100, 10k and 1M past events, and the throughput of 8 processes
redeeming against one balance. PostgreSQL is the server named by
``RFM_RETENTION_PG_DSN`` (each run in a fresh schema); without it only SQLite
runs and the line says so. Ratios compare the two stores measured here.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from bench_ledger import visit_arrays

from rfm_retention.data import VisitLog
from rfm_retention.errors import InsufficientPoints
from rfm_retention.loyalty import LedgerStore, PointsLedger, PostgresStore, SQLiteStore, verify

AT = dt.datetime(2026, 1, 1)
FORK = multiprocessing.get_context("fork")


def _pg_factory() -> Callable[[], LedgerStore] | None:
    dsn = os.environ.get("RFM_RETENTION_PG_DSN", "")
    if not dsn:
        return None
    import psycopg

    def make() -> LedgerStore:
        name = f"rfm_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        joiner = "&" if "?" in dsn else "?"
        return PostgresStore(f"{dsn}{joiner}options=-csearch_path%3D{name}")
    return make


def _sqlite_factory(folder: Path) -> Callable[[], LedgerStore]:
    def make() -> LedgerStore:
        return SQLiteStore(folder / f"{uuid.uuid4().hex}.db")
    return make


def _one_patient(n: int) -> VisitLog:
    times = np.datetime64("2020-01-01T00:00:00") + (np.arange(n) * 60).astype("timedelta64[s]")
    return VisitLog.from_arrays(patient_id=["P1"] * n, visit_time=times, amount=np.full(n, 10.0))


def _latency(make: Callable[[], LedgerStore], history: int, calls: int) -> tuple[float, ...]:
    ledger = PointsLedger(make())
    ledger.award_visits(_one_patient(history))
    earn, redeem = [], []
    for i in range(calls):
        start = time.perf_counter()
        ledger.earn("P1", 1000, key=f"e{i}", at=AT)
        earn.append(time.perf_counter() - start)
        start = time.perf_counter()
        ledger.redeem("P1", "health_assessment", key=f"r{i}", at=AT)
        redeem.append(time.perf_counter() - start)
    close = getattr(ledger.store, "close", None)
    if close:
        close()
    ms = [1e3 * statistics.median(earn), 1e3 * float(np.percentile(earn, 99)),
          1e3 * statistics.median(redeem), 1e3 * float(np.percentile(redeem, 99))]
    return tuple(ms)


def _redeemer(store: LedgerStore, worker: int, n: int, barrier: Any, out: Any) -> None:
    ledger = PointsLedger(store)
    barrier.wait()
    done = 0
    for i in range(n):
        try:
            ledger.redeem("P1", "health_assessment", key=f"w{worker}-{i}", at=AT)
            done += 1
        except InsufficientPoints:
            pass
    out.put(done)


def _throughput(make: Callable[[], LedgerStore], per_worker: int) -> tuple[float, int, bool]:
    store = make()
    PointsLedger(store).earn("P1", 1000 * 8 * per_worker // 2, key="fund", at=AT)
    barrier, out = FORK.Barrier(9), FORK.Queue()
    procs = [FORK.Process(target=_redeemer, args=(store, w, per_worker, barrier, out))
             for w in range(8)]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    done = sum(out.get(timeout=1200) for _ in procs)
    seconds = time.perf_counter() - start
    for p in procs:
        p.join()
    ok = verify(store).ok and PointsLedger(store).balance("P1").available >= 0
    return 8 * per_worker / seconds, done, ok


def _award(make: Callable[[], LedgerStore], log: VisitLog) -> tuple[float, int]:
    ledger = PointsLedger(make())
    start = time.perf_counter()
    awarded = ledger.award_visits(log).awarded
    return time.perf_counter() - start, awarded


def main(small: bool) -> None:
    n_visits = 10_000 if small else 1_000_000
    histories = (100, 1_000) if small else (100, 10_000, 1_000_000)
    calls = 50 if small else 300
    per_worker = 20 if small else 250
    with tempfile.TemporaryDirectory() as tmp:
        stores: dict[str, Callable[[], LedgerStore]] = {"SQLite": _sqlite_factory(Path(tmp))}
        pg = _pg_factory()
        if pg is None:
            print("PostgreSQL: skipped (RFM_RETENTION_PG_DSN is not set)", flush=True)
        else:
            stores["PostgreSQL"] = pg
        arrays = visit_arrays(n_visits)
        started = time.perf_counter()
        log = VisitLog.from_arrays(**arrays)
        built = time.perf_counter() - started
        award = {name: _award(make, log) for name, make in stores.items()}
        print(f"\nStores: award_visits of {n_visits:,} visits in one batch", flush=True)
        print(f"  table build (VisitLog.from_arrays) {built:8.1f} s, the same for every store")
        for name, (seconds, awarded) in award.items():
            print(f"  {name:<11} {seconds:8.1f} s  ({awarded / seconds:,.0f} events/s); whole "
                  f"job with the build {built + seconds:8.1f} s")
        if len(award) == 2:
            pg_s, lite_s = award["PostgreSQL"][0], award["SQLite"][0]
            print(f"  PostgreSQL / SQLite: {pg_s / lite_s:.2f}x "
                  f"(whole jobs: {(built + pg_s) / (built + lite_s):.2f}x)")
        print("\nStores: single earn / redeem latency by the account's history "
              "(median / p99, ms)", flush=True)
        for name, make in stores.items():
            for history in histories:
                e50, e99, r50, r99 = _latency(make, history, calls)
                print(f"  {name:<11} {history:>9,} past events: earn {e50:6.2f} / {e99:6.2f}  "
                      f"redeem {r50:6.2f} / {r99:6.2f}", flush=True)
        print(f"\nStores: 8 processes x {per_worker} redemptions on one balance", flush=True)
        for name, make in stores.items():
            rate, done, ok = _throughput(make, per_worker)
            verdict = "verify clean, no overdraft" if ok else "verify FAILED"
            print(f"  {name:<11} {rate:8.0f} calls/s, {done} redeemed, {verdict}", flush=True)
