"""A large table's build split over two threads gives exactly the table one thread builds."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from rfm_retention.data import RatingTable, VisitLog, _parallel

ROWS = 300_001  # several blocks on each side of the split, and an odd count


def _tables_equal(a: Any, b: Any) -> None:
    assert a.patient_ids.tolist() == b.patient_ids.tolist()
    assert a.group_starts.tolist() == b.group_starts.tolist()
    assert a.source_row.tolist() == b.source_row.tolist()
    assert list(a.columns) == list(b.columns)
    for name in a.columns:
        left, right = a.columns[name], b.columns[name]
        assert np.array_equal(left, right, equal_nan=left.dtype.kind in "fM"), name
    assert a.rejected.issues == b.rejected.issues


def _both(monkeypatch: pytest.MonkeyPatch, build: Any) -> tuple[Any, Any]:
    """The table built on two threads, then on one."""
    monkeypatch.setattr(_parallel, "PARALLEL_ROWS", 1000)
    monkeypatch.setattr(_parallel, "_spare_core", lambda: True)
    assert len(_parallel.halves(ROWS, 1 << 16)) == 2
    threaded = build()
    monkeypatch.setattr(_parallel, "_spare_core", lambda: False)
    return threaded, build()


@pytest.mark.parametrize("ids", ["dense int", "sparse int", "text", "presorted"])
def test_two_threads_build_the_same_visit_log(monkeypatch: pytest.MonkeyPatch, ids: str) -> None:
    """Integer, sparse, text and already ordered ids, with same-day ties, build identically."""
    rng = np.random.default_rng(3)
    patients = rng.integers(0, ROWS // 8, ROWS)
    days = rng.integers(0, 60, ROWS)  # many same-day visits: ties across the split too
    if ids == "sparse int":
        patients = patients * 1_000_003 - 7
    if ids == "presorted":
        patients, days = np.sort(patients), days
        days = days[np.lexsort((days, patients))]
    column: Any = patients.astype(str) if ids == "text" else patients
    visits = {"patient_id": column,
              "visit_time": np.datetime64("2024-01-01") + days.astype("timedelta64[D]"),
              "amount": rng.integers(0, 5, ROWS).astype(np.float64)}
    threaded, single = _both(monkeypatch, lambda: VisitLog.from_arrays(**visits))
    _tables_equal(threaded, single)
    order = np.lexsort((visits["amount"], visits["visit_time"], column))
    assert threaded.source_row.tolist() == order.tolist()


def test_two_threads_build_the_same_ratings_with_rejected_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A signal table with bad rows set aside builds identically and reports the same rows."""
    rng = np.random.default_rng(4)
    scores = rng.integers(0, 100, ROWS).astype(np.float64)
    scores[[5, 70_000, ROWS - 1]] = [-1.0, 250.0, np.nan]
    ratings = {"patient_id": rng.integers(0, 5_000, ROWS),
               "rated_at": np.datetime64("2024-01-01T00:00")
               + rng.integers(0, 10**6, ROWS).astype("timedelta64[m]"),
               "score": scores}
    threaded, single = _both(
        monkeypatch, lambda: RatingTable.from_arrays(**ratings, on_error="quarantine"))
    _tables_equal(threaded, single)
    assert threaded.rejected.rows == (5, 70_000, ROWS - 1)


def test_one_thread_for_small_tables_one_core_or_a_busy_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Small tables, one core, no idle core right now (or, where that count is unknown, a
    load average with no idle core), or RFM_RETENTION_THREADS=1 keep the work on the
    calling thread."""
    large = 10 * _parallel.PARALLEL_ROWS
    assert _parallel.halves(_parallel.PARALLEL_ROWS - 1) == [(0, _parallel.PARALLEL_ROWS - 1)]
    monkeypatch.setattr(_parallel, "_cores", lambda: 2)
    monkeypatch.setattr(_parallel, "_running_now", lambda: 1)  # the caller alone
    monkeypatch.setattr(os, "getloadavg", lambda: (3.2, 2.0, 1.0))  # lagging: ignored
    assert _parallel.halves(large, align=1 << 16) == [(0, large // 2), (large // 2, large)]
    monkeypatch.setattr(_parallel, "_running_now", lambda: 2)
    assert _parallel.halves(large) == [(0, large)]
    monkeypatch.setattr(_parallel, "_running_now", lambda: None)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.9, 0.9, 0.9))
    assert _parallel.halves(large, align=1 << 16) == [(0, large // 2), (large // 2, large)]
    monkeypatch.setattr(os, "getloadavg", lambda: (3.2, 2.0, 1.0))
    assert _parallel.halves(large) == [(0, large)]
    monkeypatch.setattr(_parallel, "_cores", lambda: 1)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert _parallel.halves(large) == [(0, large)]
    monkeypatch.undo()
    running = _parallel._running_now()
    assert running is None or running >= 1  # this thread is running
    monkeypatch.setenv("RFM_RETENTION_THREADS", "1")
    assert _parallel._cores() == 1
    assert _parallel.split_rows([(0, 2), (2, 7)], lambda a, b: b - a) == [2, 5]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_builds_on_its_own_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child forked after the pool started still builds a large table on two threads."""
    monkeypatch.setattr(_parallel, "PARALLEL_ROWS", 1000)
    monkeypatch.setattr(_parallel, "_spare_core", lambda: True)
    assert _parallel.split_rows([(0, 1), (1, 3)], lambda a, b: b - a) == [1, 2]  # pool up
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: build, report the patient count, leave at once
        try:
            rows = np.arange(ROWS)
            log = VisitLog.from_arrays(patient_id=rows % 977,
                                       visit_time=np.datetime64("2024-01-01") + rows % 40,
                                       amount=np.ones(ROWS))
            os.write(write, str(log.n_patients).encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 100) == b"977"
    assert status == 0
