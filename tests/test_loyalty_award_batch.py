"""The batch award writes its earn events straight from the visit arrays: the same events,
lots and balances as one Event per visit, in chunks, on every store, without a per-visit
object on the database stores."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_retention.data import VisitLog
from rfm_retention.loyalty import (
    REVISIT_POINTS,
    MemoryStore,
    PointsLedger,
    ReversalPolicy,
    SQLiteStore,
    _award,
    _earn_batch,
    _sql,
    verify,
)


def _log(n: int, *, seed: int = 1, ids: bool = True, patients: int = 40) -> VisitLog:
    """``n`` visits of a few patients, some at the same second (ties for keys without ids)."""
    rng = np.random.default_rng(seed)
    times = np.datetime64("2023-01-01T08:00:00") + (rng.integers(0, 400, n) * 3600).astype(
        "timedelta64[s]")
    columns: dict[str, object] = {"patient_id": rng.integers(0, patients, n),
                                  "visit_time": times, "amount": rng.gamma(2.0, 50.0, n)}
    if ids:
        columns["visit_id"] = np.char.add("V", np.arange(n).astype(str))
    return VisitLog.from_arrays(**columns)  # type: ignore[arg-type]


def _events(store: MemoryStore | SQLiteStore) -> list[tuple[object, ...]]:
    return [(e.seq, e.key, e.kind, e.patient_id, e.points, e.at, e.actor, e.reason,
             e.expires_at) for e in store.events()]


@pytest.mark.parametrize("ids", [True, False])
@pytest.mark.parametrize("expiry", [None, 365])
def test_batch_equals_one_event_per_visit(ids: bool, expiry: int | None, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """In chunks and multi-row inserts (remainders included) SQLite stores exactly the events,
    lots and balances the in-memory store gets from Event objects, and verify passes."""
    monkeypatch.setattr(_award, "CHUNK", 137)
    rules = attrs.evolve(REVISIT_POINTS, expires_after_days=expiry)
    log = _log(1_000, ids=ids)
    memory = PointsLedger(MemoryStore(), rules=rules)
    with SQLiteStore(tmp_path / "l.db", synchronous="OFF") as store:
        sqlite = PointsLedger(store, rules=rules)
        assert sqlite.award_visits(log, actor="night") == memory.award_visits(log, actor="night")
        assert _events(store) == _events(memory.store)  # type: ignore[arg-type]
        for pid in ("0", "7", "39"):
            assert sqlite.balance(pid) == memory.balance(pid)
        kept, replayed = sqlite.balances(), memory.balances()
        assert kept.available.tolist() == replayed.available.tolist()
        assert verify(store).ok
        assert sqlite.award_visits(log).awarded == 0


def test_database_store_builds_no_event_per_visit(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite the award never turns a batch row into an Event object (columns only)."""
    def refuse(self: object, i: int) -> None:
        raise AssertionError("an Event was built for a batch row")

    monkeypatch.setattr(_earn_batch.EarnBatch, "event", refuse)
    with SQLiteStore(tmp_path / "l.db", synchronous="OFF") as store:
        result = PointsLedger(store).award_visits(_log(500))
        assert result.awarded == len(store) > 0
        assert verify(store).ok


def test_batch_pays_an_accounts_debt_first(tmp_path: Path) -> None:
    """An indebted patient's newly awarded points pay the debt before they become available."""
    with SQLiteStore(tmp_path / "d.db", synchronous="OFF") as store:
        ledger = PointsLedger(store, reversal_policy=ReversalPolicy.DEBT)
        at = dt.datetime(2022, 6, 1)
        ledger.earn("3", 1000, key="gift", at=at)
        ledger.redeem("3", "health_assessment", key="r", at=at)
        ledger.reverse("gift", at=at)
        assert ledger.balance("3").debt == 1000
        log = _log(2_000, patients=5)
        ledger.award_visits(log)
        earned = 100 * int(np.sum(log.row_patient_ids() == 3) - 1)
        balance = ledger.balance("3")
        assert balance.debt == max(0, 1000 - earned)
        assert balance.balance == earned - 1000
        assert verify(store).ok


def test_multi_row_insert_covers_full_groups_and_the_rest(tmp_path: Path) -> None:
    """Rows split into whole statements of many rows plus one shorter statement, none lost."""
    n = 2 * _sql._ROWS_PER_INSERT + 3
    with SQLiteStore(tmp_path / "m.db", synchronous="OFF") as store:
        ledger = PointsLedger(store)
        ledger.award_visits(_log(n + 40, patients=40))
        assert [e.seq for e in store.events()] == list(range(1, len(store) + 1))
        assert len(store) == n
        assert verify(store).ok


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 300), split=st.floats(0, 1), ids=st.booleans(),
       expiry=st.sampled_from([None, 30]), seed=st.integers(0, 10**6))
def test_growing_logs_batch_and_event_paths_agree(n: int, split: float, ids: bool,
                                                  expiry: int | None, seed: int) -> None:
    """Awarding a log that grows (part first, then all) leaves SQLite and memory identical:
    nothing paid twice, nothing lost, verify clean."""
    rules = attrs.evolve(REVISIT_POINTS, expires_after_days=expiry)
    full = _log(n, seed=seed, ids=ids, patients=12)
    cut = full.time[int(split * (n - 1))] if n else None
    with tempfile.TemporaryDirectory() as folder, \
            SQLiteStore(Path(folder) / "p.db", synchronous="OFF") as store:
        sqlite = PointsLedger(store, rules=rules)
        memory = PointsLedger(MemoryStore(), rules=rules)
        for ledger in (sqlite, memory):
            if cut is not None:
                ledger.award_visits(full, since=cut)
            ledger.award_visits(full)
        assert _events(store) == _events(memory.store)  # type: ignore[arg-type]
        assert len(store) == int(np.sum(rules.points(full) > 0))
        assert verify(store).ok


def test_progress_counts_each_chunk_written(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of several chunks reports built, checked, one step per chunk, committed."""
    from rfm_retention import ProgressEvent

    monkeypatch.setattr(_award, "CHUNK", 100)
    log = _log(1_000)
    earning = int(np.sum(REVISIT_POINTS.points(log) > 0))
    chunks = -(-earning // 100)
    seen: list[ProgressEvent] = []
    with SQLiteStore(tmp_path / "p.db", synchronous="OFF") as store:
        PointsLedger(store).award_visits(log, progress=seen.append)
        assert [e.done for e in seen] == list(range(chunks + 4))
        assert {e.total for e in seen} == {chunks + 3}
        seen.clear()
        PointsLedger(store).award_visits(log, progress=seen.append)  # rerun: nothing to write
        assert [e.done for e in seen] == [0, 1, 2, 3, chunks + 3]
