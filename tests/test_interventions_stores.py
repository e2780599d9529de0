"""Case stores: the same contract in memory and in SQLite; SQLite's append-only guarantees."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys

import pytest

from rfm_retention.errors import StoreIntegrityError
from rfm_retention.interventions import (
    CaseBook,
    CaseStore,
    Channel,
    ContactRecorded,
    ContactResult,
    InMemoryCaseStore,
    Outcome,
    SQLiteCaseStore,
    check_case_store,
    decode_event,
    encode_event,
)
from rfm_retention.risk import WarningRecord
from rfm_retention.vocabulary import ReasonCode, RiskLevel

T0 = dt.datetime(2024, 5, 6, 9, 0)
H = dt.timedelta(hours=1)


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        yield InMemoryCaseStore()
    else:
        with SQLiteCaseStore(tmp_path / "cases.db") as db:
            yield db


def _worked_case(book: CaseBook) -> None:
    book.intake(
        WarningRecord("p1", RiskLevel.MEDIUM, ReasonCode.SERVICE, score=64.0, evidence="rating 72"),
        T0,
    )
    book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.EFFICACY, score=83.0), T0 + 24 * H)
    book.record_contact("p1#1", at=T0 + 25 * H, actor="dr.li", channel=Channel.PHONE,
                        result=ContactResult.REACHED, note="knee still hurts")
    book.record_plan("p1#1", at=T0 + 26 * H, actor="dr.li")
    book.close("p1#1", at=T0 + 30 * 24 * H, actor="dr.li", outcome=Outcome.WON_BACK)
    book.reopen("p1#1", at=T0 + 31 * 24 * H, actor="lead", reason="cancelled the booking")


def test_store_satisfies_protocol(store):
    """Both built-ins are CaseStore implementations."""
    assert isinstance(store, CaseStore)


def test_history_round_trips_every_event_kind(store):
    """What goes in comes back equal, in order, and replays to the same case."""
    book = CaseBook(store)
    _worked_case(book)
    history = store.history("p1#1")
    assert [e.seq for e in history] == list(range(1, 7))
    assert all(decode_event(encode_event(e)) == e for e in history)
    case = book.get("p1#1")
    assert case.version == 6
    assert case.contacts[0].note == "knee still hurts"
    assert case.score == 83.0


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_built_in_stores_pass_the_conformance_kit(kind, tmp_path):
    """Both built-ins keep every promise of the CaseStore contract."""
    paths = iter(tmp_path / f"cases{i}.db" for i in range(100))
    factory = InMemoryCaseStore if kind == "memory" else lambda: SQLiteCaseStore(next(paths))
    check_case_store(factory)


class _ForgetfulStore(InMemoryCaseStore):
    """Accepts anything: no continuity or one-open-case checks."""

    def append(self, case, events):
        self._events.setdefault(case.case_id, []).extend(events)
        self._by_patient.setdefault(case.patient_id, [])
        if (case.episode, case.case_id) not in self._by_patient[case.patient_id]:
            self._by_patient[case.patient_id].append((case.episode, case.case_id))
        self._closed[case.case_id] = case.is_closed


def test_conformance_kit_catches_a_store_that_accepts_stale_writes():
    """A store without the append checks fails the kit with a message naming the promise."""
    with pytest.raises(AssertionError, match="continue the history"):
        check_case_store(_ForgetfulStore)


def test_history_that_does_not_replay_is_an_integrity_error():
    """A tampered history (contact before the warning) is reported as a store problem."""
    store = _ForgetfulStore()
    book = CaseBook(store)
    opened = book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0).case
    bad = ContactRecorded(case_id="p1#1", seq=2, at=T0 - H, actor="x", channel="phone",
                          result="reached")
    store.append(opened, [bad])
    with pytest.raises(StoreIntegrityError, match="does not add up"):
        book.get("p1#1")


def test_sqlite_history_is_append_only(tmp_path):
    """UPDATE or DELETE of a stored event aborts inside SQLite, whoever issues it."""
    path = tmp_path / "cases.db"
    with SQLiteCaseStore(path) as store:
        CaseBook(store).intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), T0)
    raw = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute("UPDATE case_events SET body = '{}'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute("DELETE FROM case_events")
        with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
            raw.execute("DELETE FROM cases")
    finally:
        raw.close()


def test_sqlite_survives_reopen_and_uses_wal(tmp_path):
    """Cases written by one connection are read back by the next; the journal is WAL."""
    path = tmp_path / "cases.db"
    with SQLiteCaseStore(path) as store:
        _worked_case(CaseBook(store))
    with SQLiteCaseStore(path) as store:
        case = CaseBook(store).get("p1#1")
        mode = store._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert case.reopen_count == 1
    assert mode == "wal"


def test_sqlite_refuses_foreign_schema_version(tmp_path):
    """A database written by another schema version is not touched."""
    path = tmp_path / "cases.db"
    SQLiteCaseStore(path).close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE case_schema SET version = 99")
    raw.commit()
    raw.close()
    with pytest.raises(StoreIntegrityError, match="schema version"):
        SQLiteCaseStore(path)


def test_corrupt_event_body_is_reported(tmp_path):
    """A stored event that no longer decodes raises StoreIntegrityError, not a KeyError."""
    with pytest.raises(StoreIntegrityError, match="cannot be read"):
        decode_event('{"kind": "contact", "case_id": "p1#1"}')
    with pytest.raises(StoreIntegrityError, match="cannot be read"):
        decode_event('{"kind": "teleport"}')


def test_concurrent_scans_on_sqlite_open_each_case_once(tmp_path):
    """Two processes' worth of writers taking in the same list: one case per patient, no error."""
    import threading

    path = tmp_path / "cases.db"
    SQLiteCaseStore(path).close()
    patients = [f"p{i}" for i in range(60)]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with SQLiteCaseStore(path) as store:
                book = CaseBook(store)
                for pid in patients:
                    book.intake(WarningRecord(pid, RiskLevel.HIGH, ReasonCode.PRICE), T0)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with SQLiteCaseStore(path) as store:
        assert store.case_ids() == tuple(f"{pid}#1" for pid in sorted(patients))
        assert all(len(store.history(cid)) == 1 for cid in store.case_ids())


class _RacingStore:
    """A store where another writer slips in just before our first write."""

    def __init__(self, inner, rival):
        self.inner, self.rival, self.raced = inner, rival, False

    def append(self, case, events):
        if not self.raced:
            self.raced = True
            self.rival()
        self.inner.append(case, events)

    def history(self, case_id):
        return self.inner.history(case_id)

    def case_ids(self, **kwargs):
        return self.inner.case_ids(**kwargs)


def test_intake_that_loses_a_race_decides_again():
    """If another writer opens the case first, intake re-reads and reports it unchanged."""
    inner = InMemoryCaseStore()
    warning = WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE)
    store = _RacingStore(inner, lambda: CaseBook(inner).intake(warning, T0))
    result = CaseBook(store).intake(warning, T0 + H)
    assert result.action.value == "unchanged"
    assert inner.case_ids() == ("p1#1",)
    assert result.case.warned_at == T0


def test_conformance_kit_still_checks_under_python_optimise():
    """The kit raises for a broken store even with assertions stripped (python -O)."""
    code = (
        "from rfm_retention.interventions import InMemoryCaseStore, check_case_store\n"
        "class Backwards(InMemoryCaseStore):\n"
        "    def case_ids(self, **kw):\n"
        "        return tuple(reversed(super().case_ids(**kw)))\n"
        "try:\n"
        "    check_case_store(Backwards)\n"
        "except AssertionError as exc:\n"
        "    print('caught:', exc)\n"
    )
    run = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True,
                         check=True)
    assert "caught:" in run.stdout
    assert "case_ids" in run.stdout
