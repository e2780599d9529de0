"""The packaged store conformance kit: built-in stores pass it, broken stores are caught."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

from rfm_retention.loyalty import EventKind, MemoryStore, PointsLedger, SQLiteStore
from rfm_retention.loyalty._events import Event
from rfm_retention.loyalty._memory_store import _MemoryTransaction
from rfm_retention.loyalty.conformance import (
    CHECKS,
    check_append_only,
    check_ledger_store,
)

AT = dt.datetime(2024, 5, 1, 10, 0)


def sqlite_factory(folder: Path) -> Callable[[], SQLiteStore]:
    names = itertools.count()
    return lambda: SQLiteStore(folder / f"store-{next(names)}.db", synchronous="OFF")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_built_in_stores_pass_the_conformance_kit(kind: str, tmp_path: Path) -> None:
    """MemoryStore and SQLiteStore keep every promise the kit checks."""
    check_ledger_store(MemoryStore if kind == "memory" else sqlite_factory(tmp_path))


def test_every_check_gets_a_fresh_store() -> None:
    """Each check runs on a new, empty store from the factory, closed afterwards."""
    made: list[MemoryStore] = []
    closed: list[MemoryStore] = []

    class Tracked(MemoryStore):
        def close(self) -> None:
            closed.append(self)

    def factory() -> MemoryStore:
        made.append(Tracked())
        return made[-1]

    check_ledger_store(factory)
    assert len(made) == len(CHECKS) == len({id(s) for s in made})
    assert closed == made


class _NoRollbackStore(MemoryStore):
    """Keeps a transaction's appends even when the transaction raised."""

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        with self._lock:
            tx = _MemoryTransaction(self)
            try:
                yield tx
            finally:
                self._commit(tx)


class _ExpiryDroppingStore(MemoryStore):
    """Loses ``expires_at`` on the way in (a missing column in a host's table)."""

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        with super().transaction() as tx:
            append = tx.append

            def lossy(events: Sequence[Event]) -> int:
                return append([attrs.evolve(e, expires_at=None) for e in events])

            tx.append = lossy  # type: ignore[method-assign]
            yield tx


class _NewestFirstStore(MemoryStore):
    """Returns events newest first."""

    def events(self, *, branch: str | None = None, patient_id: str | None = None
               ) -> Iterator[Event]:
        return iter(list(super().events(branch=branch, patient_id=patient_id))[::-1])


@pytest.mark.parametrize(("store", "message"), [
    (_NoRollbackStore, "check_all_or_nothing: a transaction that raised must append nothing"),
    (_ExpiryDroppingStore, "check_append_only: expires_at must round-trip"),
    (_NewestFirstStore, "check_append_only: events must be numbered 1, 2, 3 in order"),
])
def test_kit_names_the_promise_a_broken_store_breaks(store: type[MemoryStore],
                                                     message: str) -> None:
    """A store that breaks a promise fails with the check's name and the promise."""
    with pytest.raises(AssertionError, match=re.escape(message)):
        check_ledger_store(store)


def test_checks_run_on_their_own() -> None:
    """Each check is a plain function of one store (as in scikit-learn's estimator checks)."""
    store = MemoryStore()
    check_append_only(store)
    assert [e.seq for e in store.events()] == [1, 2, 3, 4, 5]


def test_sqlite_signatures_match_the_events(tmp_path: Path) -> None:
    """SQLite's bulk signature read equals Event.request_signature of every kind of event."""
    with SQLiteStore(tmp_path / "s.db", synchronous="OFF") as store:
        ledger = PointsLedger(store, reversal_policy="debt")
        ledger.earn("p1", 500, key="e1", at=AT, expires_at=AT + dt.timedelta(days=3))
        ledger.earn("p1", 200, key="e2", at=AT)
        ledger.adjust("p1", -100, key="a1", at=AT, actor="admin", reason="fix")
        ledger.expire(at=AT + dt.timedelta(days=4))
        ledger.reverse("e2", at=AT + dt.timedelta(days=5))
        events = list(store.events())
        assert {e.kind for e in events} == {EventKind.EARN, EventKind.ADJUST, EventKind.EXPIRE,
                                            EventKind.REVERSE}
        keys = [e.key for e in events] + ["missing"]
        with store.transaction() as tx:
            signatures = tx.stored_signatures(keys)
            assert signatures == {e.key: e.request_signature() for e in events}
            assert tx.get(keys) == {e.key: e for e in events}


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    loaded: Any = json.loads(run.stdout)
    return set(loaded)


def test_the_kit_imports_no_test_framework() -> None:
    """The loyalty package and its fixed checks load neither hypothesis nor pytest."""
    loaded = _modules_after("import rfm_retention, rfm_retention.loyalty, "
                            "rfm_retention.loyalty.conformance")
    assert not {m for m in loaded if m.split(".")[0] in ("hypothesis", "pytest")}
    assert "hypothesis" in _modules_after("import rfm_retention.loyalty.state_machine")
