"""The case store's SQL, written once for SQLite and PostgreSQL (``?`` placeholders).

One append is: read the case's stored version, check the new events continue
it (:func:`~rfm_retention.interventions._store.check_append`), write the case
row and the events in the order the append-only guards require (a new case's
row before its events; an existing case's events before its row, which must
name the version of its last event), all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rfm_retention.errors import StoreIntegrityError
from rfm_retention.interventions._events import CaseEvent, decode_event, encode_event, kind_of
from rfm_retention.interventions._records import Case
from rfm_retention.interventions._store import check_append
from rfm_retention.time import iso

__all__ = ["case_ids_query", "decode_history", "write_case"]

Run = Callable[[str, Sequence[Any]], Any]
Many = Callable[[str, Sequence[Sequence[Any]]], Any]


def write_case(run: Run, many: Many, case: Case, events: Sequence[CaseEvent]) -> None:
    """Append ``events`` of ``case`` inside an open transaction (raises CaseError if stale)."""
    found = run("SELECT version FROM cases WHERE case_id = ?", (case.case_id,)).fetchone()
    check_append(case, events, 0 if found is None else int(found[0]))
    state = (case.status.value, case.level.label, case.version, case.case_id)
    if found is None:  # the row first: the events refer to it
        run("INSERT INTO cases (case_id, patient_id, episode, status, level, version) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (case.case_id, case.patient_id, case.episode, *state[:3]))
    many("INSERT INTO case_events (case_id, seq, kind, at, body) VALUES (?, ?, ?, ?, ?)",
         [(e.case_id, e.seq, kind_of(e), iso(e.at), encode_event(e)) for e in events])
    if found is not None:  # the history first: the row follows it
        run("UPDATE cases SET status = ?, level = ?, version = ? WHERE case_id = ?", state)


def decode_history(case_id: str, rows: Sequence[Sequence[Any]]) -> tuple[CaseEvent, ...]:
    """Events from (seq, body) rows in seq order; a gap is a StoreIntegrityError."""
    for expected, (seq, _) in enumerate(rows, start=1):
        if int(seq) != expected:
            raise StoreIntegrityError(f"case {case_id}: stored history skips event {expected}")
    return tuple(decode_event(body) for _, body in rows)


def case_ids_query(patient_id: str | None, open_only: bool) -> tuple[str, list[str]]:
    """The query (and its parameters) listing case ids by patient, then episode."""
    sql = "SELECT case_id FROM cases WHERE 1 = 1"
    params: list[str] = []
    if patient_id is not None:
        sql += " AND patient_id = ?"
        params.append(patient_id)
    if open_only:
        sql += " AND status != 'closed'"
    return sql + " ORDER BY patient_id, episode", params
