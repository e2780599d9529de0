"""State-machine properties of cases under random workloads (hypothesis), on both stores.

After every step: no case exists without a warning that opened it, every closed
case has an outcome, no deadline falls before the warning that set it, at most
one case per patient is not closed, histories only grow, and replaying a
history gives the case the book reports.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from rfm_retention.errors import CaseError
from rfm_retention.interventions import (
    SPEC_PLAYBOOK,
    CaseBook,
    CaseOpened,
    CaseStatus,
    Channel,
    ContactResult,
    DeadlineUnit,
    InMemoryCaseStore,
    Outcome,
    SQLiteCaseStore,
    WorkingCalendar,
    replay,
)
from rfm_retention.risk import WarningRecord
from rfm_retention.vocabulary import ReasonCode, RiskLevel

T0 = dt.datetime(2024, 1, 1, 8, 0)
PATIENTS = st.sampled_from(["p0", "p1", "p2"])
HOURS = st.integers(min_value=-3, max_value=40)  # mostly forward, sometimes back in time
RESULTS = st.sampled_from([ContactResult.REACHED, *ContactResult])  # reached more often
CALENDAR = WorkingCalendar(
    hours=((dt.time(8), dt.time(12)), (dt.time(13), dt.time(17))),
    holidays=frozenset({dt.date(2024, 1, 8), dt.date(2024, 1, 9)}),
)


class CaseMachine(RuleBasedStateMachine):
    """Random intakes, contacts, plans, closings and reopenings against one case book."""

    store_kind = "memory"

    def __init__(self) -> None:
        super().__init__()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if self.store_kind == "sqlite":
            self._tmp = tempfile.TemporaryDirectory()
            store = SQLiteCaseStore(Path(self._tmp.name) / "cases.db")
            self._sqlite: SQLiteCaseStore | None = store
        else:
            store = InMemoryCaseStore()
            self._sqlite = None
        self.now = T0
        self.book = CaseBook(store)
        self.working = CaseBook(
            store, playbook=SPEC_PLAYBOOK.with_deadline_unit(DeadlineUnit.WORKING_HOURS),
            calendar=CALENDAR,
        )
        self.warnings: set[tuple[str, dt.datetime]] = set()
        self.seen: dict[str, tuple[object, ...]] = {}

    def teardown(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def _when(self, hours: int) -> dt.datetime:
        moment = self.now + dt.timedelta(hours=hours)
        self.now = max(self.now, moment)
        return moment

    def _some_case(self, patient: str) -> str | None:
        ids = self.book.store.case_ids(patient_id=patient)
        return ids[-1] if ids else None

    def _attempt(self, case_id: str | None, action: object) -> None:
        if case_id is None:
            return
        before = self.book.get(case_id).version
        try:
            action()  # type: ignore[operator]
        except CaseError:
            assert self.book.get(case_id).version == before

    @rule(patient=PATIENTS, level=st.sampled_from(list(RiskLevel)),
          reason=st.sampled_from(list(ReasonCode)), hours=HOURS, new=st.booleans(),
          working=st.booleans())
    def warn(self, patient, level, reason, hours, new, working):
        at = self._when(hours)
        book = self.working if working else self.book
        result = book.intake(WarningRecord(patient, level, reason, change="new" if new else ""), at)
        if result.case is not None:
            self.warnings.add((patient, at))

    @rule(patient=PATIENTS, hours=HOURS, channel=st.sampled_from(list(Channel)),
          result=RESULTS)
    def contact(self, patient, hours, channel, result):
        case_id = self._some_case(patient)
        at = self._when(hours)
        self._attempt(case_id, lambda: self.book.record_contact(
            case_id, at=at, actor="staff", channel=channel, result=result))

    @rule(patient=PATIENTS, hours=HOURS)
    def plan(self, patient, hours):
        case_id = self._some_case(patient)
        at = self._when(hours)
        self._attempt(case_id, lambda: self.book.record_plan(case_id, at=at, actor="staff"))

    @rule(patient=PATIENTS, hours=HOURS, outcome=st.sampled_from(list(Outcome)),
          note=st.sampled_from(["", "came back by herself"]))
    def close(self, patient, hours, outcome, note):
        case_id = self._some_case(patient)
        at = self._when(hours)
        self._attempt(case_id, lambda: self.book.close(
            case_id, at=at, actor="staff", outcome=outcome, note=note))

    @rule(patient=PATIENTS, hours=HOURS,
          reason=st.sampled_from(["", "booking cancelled", "patient asked"]))
    def reopen(self, patient, hours, reason):
        case_id = self._some_case(patient)
        at = self._when(hours)
        self._attempt(case_id, lambda: self.book.reopen(
            case_id, at=at, actor="lead", reason=reason))

    @rule(hours=st.integers(min_value=0, max_value=100))
    def check_deadlines(self, hours):
        as_of = self._when(hours)
        for breach in self.book.escalate_overdue(as_of):
            assert breach.due_at is not None
            assert breach.due_at < as_of

    @invariant()
    def cases_add_up(self):
        open_per_patient: dict[str, int] = {}
        for case_id in self.book.store.case_ids():
            history = self.book.store.history(case_id)
            opening = history[0]
            # No case without a warning.
            assert isinstance(opening, CaseOpened)
            assert (opening.patient_id, opening.at) in self.warnings
            case = self.book.get(case_id)
            assert replay(history) == case
            # Every closed case has an outcome; no other case has one.
            if case.status is CaseStatus.CLOSED:
                assert case.outcome is not None
                assert case.closed_at is not None
            else:
                assert case.outcome is None
                open_per_patient[case.patient_id] = open_per_patient.get(case.patient_id, 0) + 1
            # Deadlines never before the warning.
            for due in case.deadlines:
                assert due.start >= case.warned_at
                assert due.due_at >= due.start
                assert due.met_at is None or due.met_at >= due.start
            # Histories only grow.
            previous = self.seen.get(case_id, ())
            assert history[: len(previous)] == previous
            self.seen[case_id] = history
        assert all(count == 1 for count in open_per_patient.values())


class SQLiteCaseMachine(CaseMachine):
    store_kind = "sqlite"


TestCaseMachine = CaseMachine.TestCase
TestCaseMachine.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
TestSQLiteCaseMachine = SQLiteCaseMachine.TestCase
TestSQLiteCaseMachine.settings = settings(max_examples=10, stateful_step_count=25, deadline=None)
