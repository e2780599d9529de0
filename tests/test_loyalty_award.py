"""Awarding points from a visit log: revisits only, keyed by visit, all or nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import numpy as np
import pytest

from rfm_retention.data import Visit, VisitLog
from rfm_retention.errors import ConfigError, IdempotencyConflict, LedgerError
from rfm_retention.loyalty import (
    REVISIT_POINTS,
    EarningRules,
    MemoryStore,
    PointsLedger,
    SQLiteStore,
    verify,
    visit_key,
    visit_keys,
)

AT = dt.datetime(2024, 6, 1)


def log_of(*visits: Visit) -> VisitLog:
    return VisitLog.from_records(visits)


LOG = log_of(
    Visit("a", "2024-01-05", 80.0, visit_id="V1"),
    Visit("a", "2024-02-05", 40.0, visit_id="V2"),
    Visit("a", "2024-03-05", 0.0, visit_id="V3"),
    Visit("b", "2024-01-10", 10.0, visit_id="V4"),
    Visit("c", "2024-02-01", 10.0, visit_id="V5"),
    Visit("c", "2024-04-01", 10.0, visit_id="V6"),
)


def test_first_visit_earns_nothing_each_revisit_earns_100() -> None:
    """SPEC preset: 100 points per revisit; a patient's earliest visit is not a revisit."""
    ledger = PointsLedger(MemoryStore())
    result = ledger.award_visits(LOG)
    assert (result.visits, result.earning, result.awarded, result.points) == (6, 3, 3, 300)
    assert ledger.balance("a").available == 200
    assert ledger.balance("b").available == 0
    assert ledger.balance("c").available == 100


def test_rerun_awards_nothing_twice() -> None:
    """The nightly job can rerun over the same log: every visit is already awarded."""
    ledger = PointsLedger(MemoryStore())
    ledger.award_visits(LOG)
    again = ledger.award_visits(LOG)
    assert (again.awarded, again.already_awarded, again.points) == (0, 3, 0)
    assert len(list(ledger.store.events())) == 3


def test_changed_rules_on_rerun_conflict_and_write_nothing() -> None:
    """A rerun under other rules conflicts; none of the batch is applied (all-or-nothing)."""
    store = MemoryStore()
    PointsLedger(store).award_visits(log_of(Visit("a", "2024-01-05", 1.0, visit_id="V1"),
                                            Visit("a", "2024-02-05", 1.0, visit_id="V2")))
    richer = PointsLedger(store, rules=attrs.evolve(REVISIT_POINTS, points_per_revisit=150))
    with pytest.raises(IdempotencyConflict, match="V2"):
        richer.award_visits(LOG)
    assert len(store) == 1


def test_failed_batch_on_sqlite_applies_nothing(tmp_path: Path) -> None:
    """On SQLite too, a batch with one conflicting visit is rolled back whole."""
    with SQLiteStore(tmp_path / "l.db") as store:
        PointsLedger(store).earn("someone-else", 100, key="visit:main:V6", at=AT)
        with pytest.raises(IdempotencyConflict, match="V6"):
            PointsLedger(store).award_visits(LOG)
        assert len(store) == 1
        assert verify(store).ok


def test_since_awards_only_new_visits_but_first_visit_comes_from_full_log() -> None:
    """``since`` limits awarding, while the whole history decides which visit was first."""
    ledger = PointsLedger(MemoryStore())
    result = ledger.award_visits(LOG, since=dt.datetime(2024, 3, 1))
    assert (result.visits, result.awarded, result.points) == (2, 2, 200)
    assert {e.key for e in ledger.store.events()} == {"visit:main:V3", "visit:main:V6"}


def test_cancelled_visit_is_reversed_once() -> None:
    """A refunded visit's points are taken back exactly once; a first visit has none."""
    ledger = PointsLedger(MemoryStore())
    ledger.award_visits(LOG)
    first = ledger.reverse_visit("V2", at=AT, reason="refund")
    assert first is not None
    assert first.points == -100
    assert ledger.reverse_visit("V2", at=AT, reason="refund") == first
    assert ledger.reverse_visit("V1", at=AT) is None
    assert ledger.balance("a").available == 100


def test_visits_without_ids_get_deterministic_keys() -> None:
    """Without visit ids the key is patient@time, numbered for same-second duplicates."""
    log = log_of(Visit("p", "2024-01-01T08:00:00", 1.0), Visit("p", "2024-01-01T08:00:00", 1.0),
                 Visit("p", "2024-02-01T08:00:00", 1.0))
    keys = visit_keys("main", log)
    assert keys == ["visit:main:p@2024-01-01T08:00:00", "visit:main:p@2024-01-01T08:00:00#2",
                    "visit:main:p@2024-02-01T08:00:00"]
    assert visit_key("main", "p", dt.datetime(2024, 2, 1, 8)) == keys[2]
    ledger = PointsLedger(MemoryStore())
    assert ledger.award_visits(log).awarded == 2
    assert ledger.award_visits(log).awarded == 0
    event = ledger.reverse_visit(patient_id="p", visit_time=dt.datetime(2024, 2, 1, 8), at=AT)
    assert event is not None
    assert event.reverses == keys[2]


def test_integer_patient_ids_become_text() -> None:
    """Host integer ids are stored as their decimal text."""
    log = VisitLog.from_arrays(patient_id=[7, 7], visit_time=["2024-01-01", "2024-02-01"],
                               amount=[1.0, 1.0])
    ledger = PointsLedger(MemoryStore())
    ledger.award_visits(log)
    assert ledger.balance(7).available == 100 == ledger.balance("7").available


def test_rules_are_data() -> None:
    """Department overrides, minimum amount, first-visit points and expiry all apply."""
    rules = EarningRules(points_per_revisit=10, first_visit_points=5,
                         department_points={"dental": 30}, min_amount=1.0,
                         expires_after_days=365)
    log = log_of(Visit("a", "2024-01-01", 5.0), Visit("a", "2024-02-01", 5.0, "dental"),
                 Visit("a", "2024-03-01", 0.5), Visit("a", "2024-04-01", 5.0))
    assert rules.points(log).tolist() == [5, 30, 0, 10]
    ledger = PointsLedger(MemoryStore(), rules=rules)
    ledger.award_visits(log)
    lots = ledger.balance("a").lots
    assert lots[0].expires_at == dt.datetime(2024, 12, 31)
    with pytest.raises(ConfigError):
        EarningRules(points_per_revisit=1.5)  # type: ignore[arg-type]


def test_award_needs_a_visit_log() -> None:
    """Passing anything but a VisitLog is a clear error."""
    with pytest.raises(LedgerError, match="VisitLog"):
        PointsLedger(MemoryStore()).award_visits([1, 2])  # type: ignore[arg-type]


def test_realistic_volume_on_sqlite(tmp_path: Path) -> None:
    """50k visits of 5k patients awarded into SQLite in one batch, rerun, verified."""
    rng = np.random.default_rng(3)
    n = 50_000
    patients = rng.integers(0, 5_000, n)
    times = np.datetime64("2022-01-01", "s") + rng.integers(0, 3 * 365 * 86400, n).astype(
        "timedelta64[s]")
    log = VisitLog.from_arrays(patient_id=patients, visit_time=times, amount=np.ones(n),
                               visit_id=[f"V{i}" for i in range(n)])
    with SQLiteStore(tmp_path / "l.db", synchronous="NORMAL") as store:
        ledger = PointsLedger(store)
        result = ledger.award_visits(log)
        assert result.awarded == n - log.n_patients
        assert ledger.award_visits(log).awarded == 0
        report = verify(store)
        assert report.ok
        assert report.total_balance == 100 * result.awarded


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_growing_log_rerun_awards_only_new_visits(kind: str, tmp_path: Path) -> None:
    """The nightly job over a log that grew: stored visits are skipped, new ones awarded."""
    rules = attrs.evolve(REVISIT_POINTS, expires_after_days=365)
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "g.db")
    ledger = PointsLedger(store, rules=rules)
    ledger.award_visits(log_of(Visit("a", "2024-01-05", 80.0, visit_id="V1"),
                               Visit("a", "2024-02-05", 40.0, visit_id="V2"),
                               Visit("a", "2024-03-05", 0.0, visit_id="V3")))
    result = ledger.award_visits(LOG)
    assert (result.earning, result.awarded, result.already_awarded) == (3, 1, 2)
    assert {e.key for e in store.events()} == {"visit:main:V2", "visit:main:V3",
                                               "visit:main:V6"}
    assert all(e.expires_at == e.at + dt.timedelta(days=365) for e in store.events())
    assert verify(store).ok


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_rerun_with_other_expiry_conflicts(kind: str, tmp_path: Path) -> None:
    """Changing the expiry rule and rerunning is a conflict on every store (no silent skip)."""
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "x.db")
    PointsLedger(store, rules=attrs.evolve(REVISIT_POINTS, expires_after_days=365)
                 ).award_visits(LOG)
    other = PointsLedger(store, rules=attrs.evolve(REVISIT_POINTS, expires_after_days=30))
    with pytest.raises(IdempotencyConflict, match="expires_at"):
        other.award_visits(LOG)
    assert len(list(store.events())) == 3


def test_bulk_rerun_on_sqlite_still_catches_one_changed_visit(tmp_path: Path) -> None:
    """Among 2,000 stored visits, one now under another patient is a conflict; nothing written."""
    n = 2_000
    times = np.datetime64("2024-01-01T08:00:00") + np.arange(n).astype("timedelta64[h]")
    patients = np.arange(n) % 9
    ids = np.char.add("V", np.arange(n).astype(str))
    with SQLiteStore(tmp_path / "b.db", synchronous="OFF") as store:
        ledger = PointsLedger(store)
        ledger.award_visits(VisitLog.from_arrays(patient_id=patients, visit_time=times,
                                                 amount=np.ones(n), visit_id=ids))
        before = len(store)
        changed = patients.copy()
        changed[1_500] = 8 if patients[1_500] != 8 else 7
        grown = VisitLog.from_arrays(
            patient_id=np.append(changed, 3), visit_time=np.append(times, times[-1] + 3600),
            amount=np.ones(n + 1), visit_id=np.append(ids, "V-new"))
        with pytest.raises(IdempotencyConflict, match="V1500"):
            ledger.award_visits(grown)
        assert len(store) == before
        assert verify(store).ok
