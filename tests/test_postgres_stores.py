"""PostgreSQL stores against a real server: the same kits, state machine and guarantees as SQLite.

The server is named by ``RFM_RETENTION_PG_DSN`` (``.ci/run`` starts a throwaway
PostgreSQL 15 and sets it); without it these tests skip. Each store gets a
fresh schema on that server, dropped at the end of the module.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import settings

from rfm_retention.cli import main
from rfm_retention.data import VisitLog
from rfm_retention.errors import InsufficientPoints, StoreIntegrityError
from rfm_retention.interventions import CaseBook, PostgresCaseStore, check_case_store
from rfm_retention.loyalty import (
    EventKind,
    PointsLedger,
    PostgresStore,
    check_ledger_store,
    verify,
)
from rfm_retention.loyalty.state_machine import LedgerStateMachine
from rfm_retention.risk import WarningRecord
from rfm_retention.vocabulary import ReasonCode, RiskLevel

DSN = os.environ.get("RFM_RETENTION_PG_DSN", "")
pytestmark = pytest.mark.skipif(not DSN, reason="RFM_RETENTION_PG_DSN is not set: no "
                                "PostgreSQL server to test against (.ci/run starts one)")
FORK = multiprocessing.get_context("fork")
AT = dt.datetime(2024, 5, 1, 9, 0)
_MADE: list[str] = []


_OPEN: list[Any] = []


def fresh_dsn() -> str:
    """The test server, seen through a new, empty schema (one per store)."""
    import psycopg

    name = f"rfm_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(DSN, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    _MADE.append(name)
    joiner = "&" if "?" in DSN else "?"
    return f"{DSN}{joiner}options=-csearch_path%3D{name}"


def ledger_store(dsn: str) -> PostgresStore:
    """A ledger store closed at the end of the test."""
    store = PostgresStore(dsn)
    _OPEN.append(store)
    return store


def case_store(dsn: str) -> PostgresCaseStore:
    """A case store closed at the end of the test."""
    store = PostgresCaseStore(dsn)
    _OPEN.append(store)
    return store


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture(scope="module", autouse=True)
def _drop_schemas() -> Iterator[None]:
    yield
    if not DSN:
        return
    import psycopg

    with psycopg.connect(DSN, autocommit=True, connect_timeout=10) as conn:
        for name in _MADE:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    _MADE.clear()


def _sql(dsn: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute(statement)


# ---------------------------------------------------------------- kits and state machine
def test_ledger_store_passes_the_conformance_kit() -> None:
    """The packaged ledger-store checks hold on PostgreSQL."""
    check_ledger_store(lambda: ledger_store(fresh_dsn()))


def test_case_store_passes_the_conformance_kit() -> None:
    """The packaged case-store checks hold on PostgreSQL."""
    check_case_store(lambda: case_store(fresh_dsn()))


class PostgresLedgerMachine(LedgerStateMachine):
    def make_store(self) -> PostgresStore:
        return PostgresStore(fresh_dsn())  # closed by the machine's teardown


TestPostgresLedger = PostgresLedgerMachine.TestCase
TestPostgresLedger.settings = settings(max_examples=12, stateful_step_count=30, deadline=None)


# ---------------------------------------------------------------- guarantees in the database
def test_events_are_append_only_for_plain_sql() -> None:
    """UPDATE, DELETE and TRUNCATE of ledger events and case history fail in PostgreSQL itself."""
    import psycopg

    dsn = fresh_dsn()
    ledger = PointsLedger(ledger_store(dsn))
    ledger.earn("p1", 100, key="e1", at=AT)
    cases = case_store(dsn)
    CaseBook(cases).intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), AT)
    for statement in ("UPDATE events SET points = 9999", "DELETE FROM events",
                      "TRUNCATE events", "UPDATE case_events SET body = '{}'",
                      "DELETE FROM case_events", "UPDATE cases SET status = 'closed'",
                      "DELETE FROM cases"):
        with pytest.raises(psycopg.errors.RaiseException):
            _sql(dsn, statement)
    with pytest.raises(psycopg.errors.UniqueViolation):
        _sql(dsn, "INSERT INTO events SELECT seq + 100, key, kind, branch, patient_id, points, "
                  "at, actor, reason, reverses, expires_at, reward FROM events")
    assert ledger.balance("p1").available == 100
    assert cases.case_ids(open_only=True) == ("p1#1",)
    assert verify(ledger.store).ok


def test_schema_version_and_guards_are_checked_on_open() -> None:
    """A newer version, or a guard replaced by a permissive one, is refused on open."""
    dsn = fresh_dsn()
    ledger_store(dsn)
    assert main(["db", "migrate", "--db", dsn]) == 0
    _sql(dsn, "CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger "
              "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
    with pytest.raises(StoreIntegrityError, match="ledger_append_only"):
        PostgresStore(dsn)
    other = fresh_dsn()
    ledger_store(other)
    _sql(other, "UPDATE ledger_schema SET version = 99")
    with pytest.raises(StoreIntegrityError, match="version"):
        PostgresStore(other)
    with pytest.raises(StoreIntegrityError, match="no ledger schema"):
        PostgresStore(fresh_dsn(), create=False)


def test_cli_points_and_cases_take_a_server_address(tmp_path: Any,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """`points award/balance/redeem/verify` work with --db postgresql://..."""
    dsn = fresh_dsn()
    visits = tmp_path / "v.csv"
    rows = "".join(f"p1,2024-0{m}-01,10\n" for m in range(1, 10))
    visits.write_text("patient_id,visit_time,amount\n" + rows)
    assert main(["points", "award", "--visits", str(visits), "--db", dsn]) == 0
    assert main(["points", "award", "--visits", str(visits), "--db", dsn]) == 0
    assert "already awarded" in capsys.readouterr().out
    assert main(["points", "balance", "p1", "--db", dsn]) == 0
    assert "available 800" in capsys.readouterr().out
    assert main(["points", "verify", "--db", dsn]) == 0


def test_cli_case_life_on_a_server(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """`cases open/contact/plan/close/show` run a whole case life with --db postgresql://..."""
    from case_life import live_a_case

    dsn = fresh_dsn()
    live_a_case(dsn, tmp_path, capsys, lambda: PostgresCaseStore(dsn))


# ---------------------------------------------------------------- concurrency and crashes
def _fund(dsn: str, points: int) -> None:
    PointsLedger(ledger_store(dsn)).earn("p1", points, key="fund", at=AT)


def _mixed_worker(dsn: str, worker: int, n: int, barrier: Any, out: Any) -> None:
    ledger = PointsLedger(PostgresStore(dsn), reversal_policy="reject")
    barrier.wait()
    done = {"earn": 0, "redeem": 0, "reverse": 0, "refused": 0}
    for i in range(n):
        ledger.earn("p1", 50, key=f"w{worker}-e{i}", at=AT)
        done["earn"] += 1
        try:
            voucher = ledger.redeem("p1", "health_assessment", key=f"w{worker}-r{i}", at=AT)
            done["redeem"] += 1
            if i % 3 == 0:
                ledger.cancel_voucher(voucher, at=AT)
                done["reverse"] += 1
        except InsufficientPoints:
            done["refused"] += 1
        again = ledger.earn("p1", 50, key="shared-retry", at=AT)  # the same key from everyone
        done[f"retry:{again.seq}"] = 1
    out.put(done)
    ledger.store.close()  # type: ignore[attr-defined]


def _run_mixed(n: int) -> None:
    dsn = fresh_dsn()
    _fund(dsn, 5_000)
    barrier, out = FORK.Barrier(8), FORK.Queue()
    procs = [FORK.Process(target=_mixed_worker, args=(dsn, w, n, barrier, out))
             for w in range(8)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    store = ledger_store(dsn)
    events = list(store.events())
    kinds = {k: sum(1 for e in events if e.kind is k) for k in EventKind}
    assert kinds[EventKind.EARN] == 1 + 8 * n + 1  # fund + every earn + one shared retry
    assert kinds[EventKind.REDEEM] == sum(r["redeem"] for r in results)
    assert kinds[EventKind.REVERSE] == sum(r["reverse"] for r in results)
    assert len({k for r in results for k in r if k.startswith("retry:")}) == 1
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # none lost
    assert len({e.key for e in events}) == len(events)  # none duplicated
    report = verify(store)
    assert report.ok, report.summary()
    assert PointsLedger(store).balance("p1").available >= 0


def test_eight_processes_mixed_operations_on_one_balance() -> None:
    """8 processes x 40 (earn, redeem, some cancellations) on one balance: exact, verify clean."""
    _run_mixed(40)


@pytest.mark.slow
def test_eight_processes_thousand_operations_each_on_one_balance() -> None:
    """8 processes x 1,000 (earn + redeem + cancellations) on one balance: 0 overdrafts."""
    _run_mixed(1_000)


def _intake_worker(dsn: str, barrier: Any, out: Any) -> None:
    store = PostgresCaseStore(dsn)
    book = CaseBook(store)
    barrier.wait()
    out.put(
        [
            book.intake(WarningRecord(f"p{i}", RiskLevel.HIGH, ReasonCode.PRICE), AT).action.value
            for i in range(40)
        ]
    )
    store.close()


def test_four_processes_taking_in_the_same_warnings_open_each_case_once() -> None:
    """4 processes take in the same 40 warnings: 40 cases, each opened (and reported) once."""
    dsn = fresh_dsn()
    case_store(dsn)
    barrier, out = FORK.Barrier(4), FORK.Queue()
    procs = [FORK.Process(target=_intake_worker, args=(dsn, barrier, out)) for _ in range(4)]
    for p in procs:
        p.start()
    actions = [a for _ in procs for a in out.get(timeout=300)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    store = case_store(dsn)
    assert len(store.case_ids()) == 40
    assert all(len(store.history(c)) == 1 for c in store.case_ids())
    assert actions.count("opened") == 40


def _batch_log(batch: int, patients: int = 2000) -> VisitLog:
    ids = np.repeat([f"b{batch}-{i}" for i in range(patients)], 3)
    days = np.tile(np.arange(3) * 30, patients)
    times = np.datetime64("2023-01-01T08:00", "s") + days.astype("timedelta64[D]")
    return VisitLog.from_arrays(patient_id=ids, visit_time=times, amount=np.ones(len(ids)))


def _crash_worker(dsn: str, progress_path: str) -> None:
    ledger = PointsLedger(PostgresStore(dsn))
    with open(progress_path, "a", buffering=1) as progress:
        for b in range(50):
            log = _batch_log(b)
            progress.write(f"start {b}\n")
            ledger.award_visits(log)
            progress.write(f"commit {b}\n")


def test_sigkill_mid_batch_leaves_no_partial_batch(tmp_path: Any) -> None:
    """A client killed with SIGKILL inside a batch: committed batches whole, the rest absent."""
    dsn = fresh_dsn()
    ledger_store(dsn)
    progress = tmp_path / "progress.txt"
    proc = FORK.Process(target=_crash_worker, args=(dsn, str(progress)))
    proc.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        words = progress.read_text().split() if progress.exists() else []
        if words.count("commit") >= 2 and words[-2] == "start":
            break
        time.sleep(0.005)
    time.sleep(0.05)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=60)
    words = progress.read_text().split()
    committed = {int(n) for w, n in zip(words[::2], words[1::2], strict=True) if w == "commit"}
    store = ledger_store(dsn)
    counts: dict[int, int] = {}
    for e in store.events():
        batch = int(e.patient_id[1:].split("-")[0])
        counts[batch] = counts.get(batch, 0) + 1
    assert committed <= set(counts)
    assert all(c == 2000 * 2 for c in counts.values()), "a batch was partly written"
    assert verify(store).ok



# The child of the restart test: earns with distinct keys, one acknowledged key per line.
_EARNING_CHILD = """
import datetime as dt, sys
from rfm_retention.errors import RFMRetentionError
from rfm_retention.loyalty import PointsLedger, PostgresStore
try:
    ledger = PointsLedger(PostgresStore(sys.argv[1], connect_timeout=5))
    for i in range(int(sys.argv[2])):
        ledger.earn(f"p{i % 50}", 10, key=f"k{i}", at=dt.datetime(2024, 5, 1, 9))
        print(f"k{i}", flush=True)
except RFMRetentionError as exc:
    print(f"library error: {exc}", file=sys.stderr, flush=True)
    sys.exit(3)
"""
PG_DATA = os.environ.get("RFM_RETENTION_PG_DATA", "")
PG_BIN = os.environ.get("RFM_RETENTION_PG_BIN", "")
PG_CTL_AS = os.environ.get("RFM_RETENTION_PG_CTL", "")


def _restart_server_immediately() -> None:
    """``pg_ctl restart -m immediate -w``, bounded; its output and the server's go to files.

    The server started by ``pg_ctl`` inherits pg_ctl's stdout and stderr unless it
    logs to a file (``-l``): with a pipe there, reading pg_ctl's output would wait
    for the server to exit, i.e. forever.
    """
    command = (f"{PG_BIN}/pg_ctl -D {shlex.quote(PG_DATA)} -l "
               f"{shlex.quote(PG_DATA + '/restart.log')} restart -m immediate -w -t 60")
    done = subprocess.run([*shlex.split(PG_CTL_AS), command], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, "pg_ctl restart failed (see restart.log in the data directory)"


@pytest.mark.skipif(not (PG_DATA and PG_BIN and PG_CTL_AS), reason=(
    "RFM_RETENTION_PG_DATA, RFM_RETENTION_PG_BIN and RFM_RETENTION_PG_CTL are not set: "
    "no way to restart the test server (.ci/run sets them)"))
def test_server_restart_mid_workload_loses_no_committed_event(tmp_path: Any) -> None:
    """`pg_ctl restart -m immediate` mid-run: acknowledged earns kept; reconnect or clear error."""
    dsn, n = fresh_dsn(), 4_000
    PostgresStore(dsn).close()  # the schema exists before the child starts
    acked, errors = tmp_path / "acked.txt", tmp_path / "errors.txt"
    with open(acked, "w") as out, open(errors, "w") as err:
        child = subprocess.Popen([sys.executable, "-c", _EARNING_CHILD, dsn, str(n)],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 120
        while len(acked.read_text().split()) < 300 and child.poll() is None:
            assert time.monotonic() < deadline, "the child acknowledged too few earns in 120 s"
            time.sleep(0.01)
        assert child.poll() is None, f"the child ended before the restart: {errors.read_text()}"
        _restart_server_immediately()
        before = len(acked.read_text().split())
        child.wait(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    said = errors.read_text()
    keys = acked.read_text().split()
    assert "Traceback" not in said, said
    assert child.returncode in (0, 3), said
    if child.returncode == 3:
        assert "library error: " in said, said
        assert "postgresql://" in said, said
    else:
        assert len(keys) == n
    assert before < n, "the restart came after the workload ended"
    store = ledger_store(dsn)
    stored = [e.key for e in store.events()]
    assert set(keys) <= set(stored), "an acknowledged earn was lost"
    assert len(stored) == len(set(stored)), "an earn was applied twice"
    report = verify(store)
    assert report.ok, report.summary()
