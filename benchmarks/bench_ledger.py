"""Points ledger on SQLite: one batch of 1M visits vs a per-row loop; single-operation latency.

* Batch: ``award_visits`` writes every earning visit of a 1M-visit log in one
  transaction. The baseline is what a host would write without it: a loop
  calling ``earn`` once per visit, one transaction (and one durable commit)
  each. Both run on the same rows of the same log in this run; the per-row
  loop is too slow to run over all 1M rows, so it is measured on a slice and
  its per-row cost is also shown scaled to the full log.
* Rerun: ``award_visits`` again over the same 1M-visit log (the nightly job
  after a night with no new visits): nothing to write, every key is looked up
  and its stored content compared. Shown beside the first run.
* Table build: ``VisitLog.from_arrays`` of the 1M visits, its own line, and
  the whole job (build + batch award) beside the per-row loop's.
* Latency: single ``earn`` and ``redeem`` calls (each one durable
  transaction, ``synchronous=FULL``) against the database holding the 1M
  events: median and p99 of the wall time.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _harness import Result, best_time, report, whole_job

from rfm_retention.data import VisitLog
from rfm_retention.loyalty import (
    AwardResult,
    PointsLedger,
    Reward,
    RewardCatalogue,
    SQLiteStore,
    verify,
)


def visit_arrays(n_visits: int, seed: int = 7) -> dict[str, Any]:
    """``n_visits`` visits of ``n_visits / 10`` patients over three years, with visit ids."""
    rng = np.random.default_rng(seed)
    patients = rng.integers(0, max(1, n_visits // 10), n_visits)
    start = np.datetime64("2022-01-01T00:00:00", "s")
    times = start + rng.integers(0, 3 * 365 * 86400, n_visits).astype("timedelta64[s]")
    ids = np.char.add("V", np.arange(n_visits).astype(str))
    return {"patient_id": patients, "visit_time": times,
            "amount": rng.gamma(2.0, 80.0, n_visits), "visit_id": ids}


def visit_log(n_visits: int, seed: int = 7) -> VisitLog:
    """The ``VisitLog`` of :func:`visit_arrays`."""
    return VisitLog.from_arrays(**visit_arrays(n_visits, seed))


def _fresh(folder: Path, name: str) -> SQLiteStore:
    """A store in a new, empty file (so repeated runs start from nothing)."""
    path = folder / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return SQLiteStore(path)


def _batch(folder: Path, log: VisitLog, name: str) -> int:
    with _fresh(folder, name) as store:
        return PointsLedger(store).award_visits(log).awarded


def _rerun(folder: Path, log: VisitLog) -> AwardResult:
    """``award_visits`` again over a log that is already awarded: every key is stored."""
    with SQLiteStore(folder / "full.db") as store:
        return PointsLedger(store).award_visits(log)


def _per_row(folder: Path, log: VisitLog) -> int:
    """The naive way: one ``earn`` (one transaction) per earning visit."""
    with _fresh(folder, "naive") as store:
        ledger = PointsLedger(store)
        rules = ledger.rules.points(log)
        pids = log.row_patient_ids().astype(str)
        times = log.time.astype("datetime64[us]").tolist()
        n = 0
        for i in np.flatnonzero(rules > 0).tolist():
            ledger.earn(pids[i], int(rules[i]), key=f"visit:main:{log.visit_id[i]}",
                        at=times[i], reason="revisit points")
            n += 1
    return n


def _latencies(ledger: PointsLedger, n: int) -> tuple[list[float], list[float]]:
    at = dt.datetime(2025, 1, 1, 9)
    earn, redeem = [], []
    for i in range(n):
        t0 = time.perf_counter()
        ledger.earn(f"bench-{i % 50}", 10, key=f"bench-earn-{i}", at=at)
        t1 = time.perf_counter()
        ledger.redeem(f"bench-{i % 50}", "ten", key=f"bench-redeem-{i}", at=at)
        t2 = time.perf_counter()
        earn.append(t1 - t0)
        redeem.append(t2 - t1)
    return earn, redeem


def _describe(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"  {name:<48} median {statistics.median(ms):7.3f} ms   p99 {p99:7.3f} ms"


def main(small: bool) -> None:
    n_visits = 10_000 if small else 1_000_000
    n_slice = 500 if small else 3_000
    n_latency = 100 if small else 500
    arrays = visit_arrays(n_visits)
    build = best_time(f"VisitLog.from_arrays ({n_visits:,} visits)",
                      lambda: VisitLog.from_arrays(**arrays), repeat=1)
    log = build.value
    sliced = visit_log(n_slice, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours_slice = best_time(f"award_visits, one batch ({n_slice:,} visits)",
                               lambda: _batch(folder, sliced, "slice"), repeat=1)
        naive_slice = best_time(f"earn() per visit, one txn each ({n_slice:,} visits)",
                                lambda: _per_row(folder, sliced), repeat=1)
        report(f"Ledger: {n_slice:,} visits into SQLite (same rows, same run)",
               ours_slice, naive_slice)

        ours = best_time(f"award_visits, one batch ({n_visits:,} visits)",
                         lambda: _batch(folder, log, "full"), repeat=1)
        per_row = naive_slice.seconds / max(1, naive_slice.value)
        scaled = Result(f"earn() per visit, scaled from {n_slice:,} rows", per_row * ours.value)
        report(f"Ledger: {n_visits:,} visits ({ours.value:,} earning) into SQLite", ours, scaled)
        print(f"  batch throughput: {ours.value / ours.seconds:,.0f} events/s; per-row loop: "
              f"{1 / per_row:,.0f} events/s", flush=True)
        whole_job(f"Ledger: {n_visits:,} visits from arrays into SQLite", build, ours,
                  peers=(Result("the same build + earn() per visit (scaled)",
                                build.seconds + scaled.seconds),))
        rerun = best_time(f"rerun over the same {n_visits:,} visits", lambda: _rerun(folder, log),
                          repeat=1)
        report("Ledger: nightly rerun (every visit already awarded) vs the first run",
               rerun, Result(ours.name, ours.seconds, ours.value))
        print(f"  rerun awarded {rerun.value.awarded}, found "
              f"{rerun.value.already_awarded:,} already awarded", flush=True)

        catalogue = RewardCatalogue((Reward("ten", "Ten-point reward", 10),))
        with SQLiteStore(folder / "full.db") as store:
            ledger = PointsLedger(store, catalogue=catalogue)
            earn, redeem = _latencies(ledger, n_latency)
            print(f"== Single-operation latency on SQLite (synchronous=FULL, {len(store):,} "
                  f"events in the file, {n_latency} calls each)")
            print(_describe("earn", earn))
            print(_describe("redeem", redeem), flush=True)
            t0 = time.perf_counter()
            checked = verify(store)
            print(f"  verify(): {checked.n_events:,} events in {time.perf_counter() - t0:.2f} s, "
                  f"ok={checked.ok}", flush=True)


if __name__ == "__main__":
    main(small=False)
