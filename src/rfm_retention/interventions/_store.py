"""Where case histories live: the store protocol and the in-memory store.

A store keeps each case's events append-only and knows, for finding cases,
which patient and episode each case belongs to and whether it is closed. It
does not interpret events beyond that: the :class:`CaseBook` decides what is
allowed, the store guarantees that what was accepted is never lost or changed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from rfm_retention.errors import CaseError
from rfm_retention.interventions._events import CaseEvent, CaseOpened
from rfm_retention.interventions._records import Case

__all__ = ["CaseStore", "InMemoryCaseStore", "check_append"]


@runtime_checkable
class CaseStore(Protocol):
    """Storage for case histories. Implement it to keep cases in the host's own database.

    Contract (checked by :func:`~rfm_retention.interventions.check_case_store`, which a
    host runs on its own implementation):

    * ``append`` is all-or-nothing and refuses (``CaseError``, nothing written)
      events whose ``seq`` does not continue the stored history, and a second
      non-closed case for the same patient;
    * stored events never change and are never removed;
    * ``case_ids`` lists cases by patient, then episode.
    """

    def append(self, case: Case, events: Sequence[CaseEvent]) -> None:
        """Add ``events`` to ``case.case_id``'s history; ``case`` is the state after them."""
        ...

    def history(self, case_id: str) -> tuple[CaseEvent, ...]:
        """Every event of the case, in order; empty when the case is unknown."""
        ...

    def case_ids(
        self, *, patient_id: str | None = None, open_only: bool = False
    ) -> tuple[str, ...]:
        """Ids of stored cases, optionally one patient's, optionally only non-closed ones."""
        ...


def check_append(case: Case, events: Sequence[CaseEvent], stored_version: int) -> None:
    """The checks every store makes before writing (shared so stores agree)."""
    if not events:
        raise CaseError(f"case {case.case_id}: nothing to append")
    for offset, event in enumerate(events, start=stored_version + 1):
        if event.case_id != case.case_id or event.seq != offset:
            raise CaseError(
                f"case {case.case_id}: event {event.case_id}/{event.seq} does not continue the "
                f"stored history at {stored_version}.\nHint: the case changed meanwhile; reload "
                "it and retry."
            )
    if case.version != events[-1].seq:
        raise CaseError(f"case {case.case_id}: state version {case.version} does not match "
                        f"the last event {events[-1].seq}")
    if (stored_version == 0) != isinstance(events[0], CaseOpened):
        raise CaseError(f"case {case.case_id}: only a new case starts with an opening")


class InMemoryCaseStore:
    """A :class:`CaseStore` in a dict: for tests, notebooks and hosts that persist elsewhere.

    Example:
        >>> store = InMemoryCaseStore()
        >>> store.case_ids()
        ()
    """

    def __init__(self) -> None:
        self._events: dict[str, list[CaseEvent]] = {}
        self._by_patient: dict[str, list[tuple[int, str]]] = {}  # patient -> (episode, case)
        self._closed: dict[str, bool] = {}
        self._lock = threading.Lock()

    def append(self, case: Case, events: Sequence[CaseEvent]) -> None:
        """See :meth:`CaseStore.append`."""
        with self._lock:
            stored = self._events.get(case.case_id, [])
            check_append(case, events, len(stored))
            siblings = self._by_patient.get(case.patient_id, [])
            if not case.is_closed:
                for _, other in siblings:
                    if other != case.case_id and not self._closed[other]:
                        raise CaseError(
                            f"patient {case.patient_id} already has open case {other}"
                        )
            if not stored:
                self._by_patient[case.patient_id] = sorted([*siblings, (case.episode,
                                                                         case.case_id)])
            self._events[case.case_id] = [*stored, *events]
            self._closed[case.case_id] = case.is_closed

    def history(self, case_id: str) -> tuple[CaseEvent, ...]:
        """See :meth:`CaseStore.history`."""
        with self._lock:
            return tuple(self._events.get(case_id, ()))

    def case_ids(
        self, *, patient_id: str | None = None, open_only: bool = False
    ) -> tuple[str, ...]:
        """See :meth:`CaseStore.case_ids`."""
        with self._lock:
            patients = (
                sorted(self._by_patient) if patient_id is None
                else [patient_id] if patient_id in self._by_patient else []
            )
            return tuple(
                case_id
                for patient in patients
                for _, case_id in self._by_patient[patient]
                if not (open_only and self._closed[case_id])
            )
