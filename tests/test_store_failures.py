"""Store failures a host can catch: append-only holes, broken files, overflow, races, -O."""

from __future__ import annotations

import ast
import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import rfm_retention
from rfm_retention.cli import main
from rfm_retention.errors import CaseError, ConfigError, LedgerError, StoreIntegrityError
from rfm_retention.interventions import (
    CallbackNotifier,
    CaseBook,
    InMemoryCaseStore,
    SQLiteCaseStore,
)
from rfm_retention.loyalty import EarningRules, MemoryStore, PointsLedger, SQLiteStore, verify
from rfm_retention.risk import WarningRecord
from rfm_retention.vocabulary import ReasonCode, RiskLevel

T0 = dt.datetime(2024, 1, 1)
H = dt.timedelta(hours=1)


def _ledger_file(tmp_path: Path) -> Path:
    path = tmp_path / "points.db"
    ledger = PointsLedger(SQLiteStore(path))
    ledger.earn("p1", 1000, key="e0", at=T0)
    ledger.redeem("p1", "health_assessment", key="r0", at=T0)
    ledger.store.close()  # type: ignore[attr-defined]
    return path


def _case_file(tmp_path: Path) -> Path:
    path = tmp_path / "cases.db"
    with SQLiteCaseStore(path) as store:
        CaseBook(store).intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    return path


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# ---------------------------------------------------------------- append-only holes
def test_insert_or_replace_cannot_rewrite_a_ledger_event(tmp_path: Path) -> None:
    """INSERT OR REPLACE of a stored key is refused by the database; the balance stays 0."""
    path = _ledger_file(tmp_path)
    conn = _raw(path)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(events)")]
    row = dict(zip(cols, conn.execute("SELECT * FROM events WHERE key = 'r0'").fetchone(),
                   strict=True))
    row.update(kind="earn", points=5000)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute(f"INSERT OR REPLACE INTO events ({','.join(cols)}) "
                     f"VALUES ({','.join('?' * len(cols))})", [row[k] for k in cols])
    conn.close()
    assert PointsLedger(SQLiteStore(path)).balance("p1").available == 0


def test_case_history_and_case_rows_cannot_be_replaced_or_edited(tmp_path: Path) -> None:
    """REPLACE of a case event or case row, and a status edit, are refused by SQLite."""
    path = _case_file(tmp_path)
    conn = _raw(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("INSERT OR REPLACE INTO case_events (case_id, seq, kind, at, body) "
                     "VALUES ('p1#1', 1, 'opened', '2024-01-01', '{}')")
    with pytest.raises(sqlite3.IntegrityError, match="cannot be written again"):
        conn.execute("INSERT OR REPLACE INTO cases VALUES ('p1#1', 'p1', 1, 'closed', 'high', 1)")
    with pytest.raises(sqlite3.IntegrityError, match="appending to its history"):
        conn.execute("UPDATE cases SET status = 'closed'")
    conn.close()
    with SQLiteCaseStore(path) as store:
        assert store.case_ids(open_only=True) == ("p1#1",)


@pytest.mark.parametrize("kind", ["ledger", "case"])
def test_guard_replaced_by_a_permissive_one_is_detected_on_open(kind: str,
                                                                tmp_path: Path) -> None:
    """A trigger dropped and recreated under the same name with other text fails the open."""
    path = _ledger_file(tmp_path) if kind == "ledger" else _case_file(tmp_path)
    name = "events_no_update" if kind == "ledger" else "cases_follow_history"
    table = "events" if kind == "ledger" else "cases"
    conn = _raw(path)
    conn.execute(f"DROP TRIGGER {name}")
    conn.execute(f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} BEGIN SELECT 1; END")
    conn.close()
    with pytest.raises(StoreIntegrityError, match=f"{name}.*changed"):
        SQLiteStore(path) if kind == "ledger" else SQLiteCaseStore(path)


_V1_LEDGER = """
CREATE TABLE ledger_schema (version INTEGER NOT NULL);
INSERT INTO ledger_schema (version) VALUES (1);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'reverse', 'expire', 'adjust')),
    branch TEXT NOT NULL, patient_id TEXT NOT NULL, points INTEGER NOT NULL CHECK (points <> 0),
    at TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL, reverses TEXT NOT NULL,
    expires_at TEXT, reward TEXT NOT NULL);
CREATE INDEX events_account ON events (branch, patient_id, seq);
CREATE INDEX events_expiry ON events (branch, expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE balances (branch TEXT NOT NULL, patient_id TEXT NOT NULL, balance INTEGER NOT NULL,
    n_events INTEGER NOT NULL, PRIMARY KEY (branch, patient_id));
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only: UPDATE refused'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only: DELETE refused'); END;
INSERT INTO events (key, kind, branch, patient_id, points, at, actor, reason, reverses,
    expires_at, reward) VALUES
    ('e1', 'earn', 'main', 'p1', 1500, '2024-01-01T00:00:00', '', '', '', NULL, ''),
    ('e2', 'earn', 'main', 'p1', 700, '2024-01-02T00:00:00', '', '', '',
     '2024-06-01T00:00:00', ''),
    ('r1', 'redeem', 'main', 'p1', -1000, '2024-01-03T00:00:00', '', '', '', NULL,
     'health_assessment');
INSERT INTO balances VALUES ('main', 'p1', 1200, 3);
"""


def _v1_file(kind: str, tmp_path: Path) -> Path:
    if kind == "ledger":
        path = tmp_path / "points.db"
        conn = _raw(path)
        conn.executescript(_V1_LEDGER)
    else:
        path = _case_file(tmp_path)
        conn = _raw(path)
        for name in ("case_events_no_replace", "cases_no_replace", "cases_one_open",
                     "cases_follow_history"):
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("UPDATE case_schema SET version = 1")
    conn.close()
    return path


@pytest.mark.parametrize("kind", ["ledger", "case"])
def test_older_schema_is_refused_until_migrated_explicitly(kind: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    """A version-1 file is refused with a migrate hint; `db migrate` brings it up to date."""
    path = _v1_file(kind, tmp_path)
    opener = SQLiteStore if kind == "ledger" else SQLiteCaseStore
    with pytest.raises(StoreIntegrityError, match="db migrate"):
        opener(path)
    assert main(["db", "migrate", "--db", str(path)]) == 0
    assert "from version 1 to version" in capsys.readouterr().out
    store = opener(path)
    if isinstance(store, SQLiteStore):
        assert verify(store).ok
        ledger = PointsLedger(store)
        assert ledger.balance("p1").available == 1200
        assert [lot.remaining for lot in ledger.balance("p1").lots] == [0, 1200]
        ledger.cancel_voucher("r1", at=T0)
        assert [lot.remaining for lot in ledger.balance("p1").lots] == [700, 1500]
        assert verify(store).ok
    store.close()
    assert main(["db", "migrate", "--db", str(path)]) == 0
    assert "already at version" in capsys.readouterr().out


# ---------------------------------------------------------------- broken files
def _corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "bad.db"
    path.write_bytes(bytes(range(256)) * 16)
    return path


def _dropped_column(tmp_path: Path) -> Path:
    path = _ledger_file(tmp_path)
    conn = _raw(path)
    for name in ("events_no_update", "events_no_delete", "events_no_replace"):
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("ALTER TABLE events DROP COLUMN reward")
    conn.close()
    return path


BROKEN = {
    "corrupt file": (_corrupt, "not a readable ledger database"),
    "directory": (lambda tmp: tmp, "is a directory"),
    "missing folder": (lambda tmp: tmp / "nowhere" / "points.db", "does not exist"),
    "empty file": (lambda tmp: (tmp / "empty.db", (tmp / "empty.db").touch())[0],
                   "is empty, not a ledger"),
    "dropped column": (_dropped_column, "lacks column"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_ledger_file_is_a_library_error_naming_it(case: str, tmp_path: Path) -> None:
    """Each broken --db is a StoreIntegrityError naming the file, never a sqlite3 error."""
    make, words = BROKEN[case]
    path = make(tmp_path)
    with pytest.raises(StoreIntegrityError, match=words) as caught:
        SQLiteStore(path, create=False)
    assert str(path) in str(caught.value)


_CLI = "import sys; from rfm_retention.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_ledger_file_gives_one_line_and_exit_2_on_the_cli(case: str, tmp_path: Path
                                                                 ) -> None:
    """`points balance/verify` on a broken --db print one error line, exit 2, no traceback."""
    make, _ = BROKEN[case]
    path = make(tmp_path)
    for command in (["points", "balance", "p1"], ["points", "verify"]):
        done = subprocess.run([sys.executable, "-c", _CLI, *command, "--db", str(path)],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert done.stderr.startswith("rfm-retention points: error: ")
        assert str(path) in (
            done.stderr.splitlines()[0])
    if case == "empty file":
        assert path.stat().st_size == 0  # a read-only command did not make it a ledger


def test_empty_or_corrupt_case_file_is_a_library_error(tmp_path: Path) -> None:
    """The case store refuses an empty file read-only and a corrupt one, naming the file."""
    empty = tmp_path / "cases.db"
    empty.touch()
    with pytest.raises(StoreIntegrityError, match="is empty"):
        SQLiteCaseStore(empty, create=False)
    with pytest.raises(StoreIntegrityError, match="not a readable case database"):
        SQLiteCaseStore(_corrupt(tmp_path))


def test_lock_held_too_long_is_a_ledger_error_with_a_hint(tmp_path: Path) -> None:
    """A writer that keeps the lock past the timeout gives LedgerError, not 'database is locked'."""
    path = _ledger_file(tmp_path)
    ledger = PointsLedger(SQLiteStore(path, timeout=0.4))
    holder = _raw(path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(LedgerError, match=r"stayed busy.*nothing was written"):
            ledger.earn("p1", 5, key="late", at=T0)
    finally:
        holder.execute("ROLLBACK")
    assert ledger.earn("p1", 5, key="late", at=T0).points == 5


def test_lock_held_too_long_on_the_case_store_is_a_case_error(tmp_path: Path) -> None:
    """The case store waits, retries, then raises CaseError naming the file."""
    path = _case_file(tmp_path)
    holder = _raw(path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with SQLiteCaseStore(path, timeout=0.4) as store, pytest.raises(
                CaseError, match="stayed busy"):
            CaseBook(store).intake(WarningRecord("p2", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    finally:
        holder.execute("ROLLBACK")


# ---------------------------------------------------------------- overflow
@pytest.mark.parametrize("make", [MemoryStore, "sqlite"])
def test_points_beyond_int64_and_overflowing_balances_are_refused(make: object,
                                                                  tmp_path: Path) -> None:
    """An amount over 2**63 - 1, or a balance that would pass it, is a LedgerError."""
    store = SQLiteStore(tmp_path / "p.db") if make == "sqlite" else MemoryStore()
    ledger = PointsLedger(store)  # type: ignore[arg-type]
    with pytest.raises(LedgerError, match="64-bit"):
        ledger.earn("p1", 2**63, key="huge", at=T0)
    ledger.earn("p1", 2**62, key="a", at=T0)
    ledger.earn("p1", 2**62 - 1, key="b", at=T0)
    with pytest.raises(LedgerError, match="64-bit"):
        ledger.earn("p1", 1, key="c", at=T0)
    assert ledger.balance("p1").available == 2**63 - 1
    assert verify(store).ok  # type: ignore[arg-type]


def test_earning_rules_beyond_int64_are_a_config_error() -> None:
    """Rules whose points do not fit 64 bits are refused when built."""
    with pytest.raises(ConfigError, match="at most"):
        EarningRules(points_per_revisit=2**63)


# ---------------------------------------------------------------- races and -O
class _NoticeRace:
    """A store where another writer records a notice on the case just before ours."""

    def __init__(self, inner: InMemoryCaseStore) -> None:
        self.inner, self.raced = inner, False

    def append(self, case, events):  # type: ignore[no-untyped-def]
        if not self.raced and events[0].seq > 1:
            self.raced = True
            CaseBook(self.inner, notifier=CallbackNotifier(lambda n: None)).intake(
                WarningRecord(case.patient_id, RiskLevel.HIGH, ReasonCode.PRICE), T0
            )
        self.inner.append(case, events)

    def history(self, case_id):  # type: ignore[no-untyped-def]
        return self.inner.history(case_id)

    def case_ids(self, **kwargs):  # type: ignore[no-untyped-def]
        return self.inner.case_ids(**kwargs)


def test_intake_that_opened_a_case_says_opened_even_when_the_notice_races() -> None:
    """A call whose opening was stored reports OPENED although its notice lost a race."""
    inner = InMemoryCaseStore()
    book = CaseBook(_NoticeRace(inner), notifier=CallbackNotifier(lambda n: None))  # type: ignore[arg-type]
    result = book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    assert result.action.value == "opened"
    assert inner.case_ids() == ("p1#1",)
    assert [type(e).__name__ for e in inner.history("p1#1")].count("StaffNotified") == 1


def test_ledger_state_machine_still_checks_under_python_optimise() -> None:
    """Under python -O the packaged state machine still catches a store that loses balances."""
    code = (
        "from hypothesis import settings\n"
        "from rfm_retention.loyalty import MemoryStore\n"
        "from rfm_retention.loyalty.state_machine import LedgerStateMachine\n"
        "class Lossy(MemoryStore):\n"
        "    def projected_balances(self):\n"
        "        return {}\n"
        "class M(LedgerStateMachine):\n"
        "    def make_store(self):\n"
        "        return Lossy()\n"
        "T = M.TestCase\n"
        "T.settings = settings(max_examples=20, database=None)\n"
        "try:\n"
        "    T().runTest()\n"
        "except AssertionError:\n"
        "    print('caught')\n"
    )
    done = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True,
                          check=False)
    assert "caught" in done.stdout, done.stdout + done.stderr


def test_no_library_module_relies_on_assert() -> None:
    """No statement anywhere in the package is an assert (python -O strips them)."""
    root = Path(rfm_retention.__file__).parent
    found = [f"{path.relative_to(root)}:{node.lineno}" for path in sorted(root.rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Assert)]
    assert found == []
