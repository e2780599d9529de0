"""Eight processes earning and redeeming on one SQLite account: nothing lost, doubled, overdrawn."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest

from rfm_retention.errors import InsufficientPoints
from rfm_retention.loyalty import (
    EventKind,
    PointsLedger,
    Reward,
    RewardCatalogue,
    SQLiteStore,
    verify,
)

AT = dt.datetime(2024, 5, 1, 10, 0)
UNIT = RewardCatalogue((Reward("unit", "Unit", 30),))
FORK = multiprocessing.get_context("fork")
WORKERS = 8
ROUNDS = 1000


def _earn_and_redeem(path: str, worker: int, barrier: Any, out: Any) -> None:
    """ROUNDS x (earn 30, redeem 30) on account p1; reports the redeemed keys and refusals."""
    store = SQLiteStore(path)
    ledger = PointsLedger(store, catalogue=UNIT)
    redeemed, refused = [], 0
    barrier.wait()
    for i in range(ROUNDS):
        ledger.earn("p1", 30, key=f"e-{worker}-{i}", at=AT)
        try:
            ledger.redeem("p1", "unit", key=f"r-{worker}-{i}", at=AT)
        except InsufficientPoints:
            refused += 1
            continue
        redeemed.append(f"r-{worker}-{i}")
    out.put((redeemed, refused))
    store.close()


@pytest.mark.slow
def test_eight_processes_earn_and_redeem_one_account(tmp_path: Path) -> None:
    """8 x 1,000 x (earn + redeem) on one account: every event stored once, balance exact."""
    db = tmp_path / "ledger.db"
    SQLiteStore(db).close()
    barrier = FORK.Barrier(WORKERS)
    out = FORK.Queue()
    procs = [FORK.Process(target=_earn_and_redeem, args=(str(db), w, barrier, out))
             for w in range(WORKERS)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0  # no lock error (or any other) reached a worker
    wall = time.perf_counter() - started
    print(f"\n8 processes x {ROUNDS} x (earn + redeem): {wall:.1f} s wall")
    redeemed = sorted(k for keys, _ in results for k in keys)
    with SQLiteStore(db) as store:
        events = list(store.events())
        earns = [e.key for e in events if e.kind is EventKind.EARN]
        spent = sorted(e.key for e in events if e.kind is EventKind.REDEEM)
        assert len(earns) == len(set(earns)) == WORKERS * ROUNDS
        assert spent == redeemed
        assert len(set(spent)) == len(spent)
        balance = PointsLedger(store).balance("p1")
        assert balance.available == 30 * (len(earns) - len(spent)) >= 0
        assert verify(store).ok
