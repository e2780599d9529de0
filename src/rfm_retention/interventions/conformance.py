"""A conformance kit for case stores: run it on your own :class:`CaseStore` implementation.

Like scikit-learn's ``check_estimator``: each check builds a fresh store with
the factory you give, drives it through a :class:`CaseBook`, and raises
:class:`~rfm_retention.errors.ConformanceError` naming the broken promise.

Example:
    >>> from rfm_retention.interventions import InMemoryCaseStore
    >>> check_case_store(InMemoryCaseStore)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from rfm_retention._conformance import Promises
from rfm_retention._frozen import frozen_mapping
from rfm_retention.errors import CaseError, ConformanceError
from rfm_retention.interventions._casebook import CaseBook
from rfm_retention.interventions._events import CaseOpened, ContactRecorded
from rfm_retention.interventions._lifecycle import apply
from rfm_retention.interventions._store import CaseStore
from rfm_retention.interventions._vocabulary import Channel, ContactResult, Outcome
from rfm_retention.risk._records import WarningRecord
from rfm_retention.vocabulary import ReasonCode, RiskLevel

__all__ = ["CASE_STORE_CHECKS", "check_case_store"]

_T0 = dt.datetime(2024, 5, 6, 9, 0)
_H = dt.timedelta(hours=1)
_HIGH, _MEDIUM = RiskLevel.HIGH, RiskLevel.MEDIUM


_KIT = Promises("case store")
_expect = _KIT.expect
_refused = _KIT.refused


def _check_round_trip(store: CaseStore) -> None:
    book = CaseBook(store)
    book.intake(WarningRecord("p1", _MEDIUM, ReasonCode.SERVICE, 61.5, "rating 72"), _T0)
    book.intake(WarningRecord("p1", _HIGH, ReasonCode.EFFICACY), _T0 + _H)
    book.record_contact("p1#1", at=_T0 + 2 * _H, actor="a", channel=Channel.PHONE,
                        result=ContactResult.REACHED)
    book.record_plan("p1#1", at=_T0 + 3 * _H, actor="a")
    book.close("p1#1", at=_T0 + 4 * _H, actor="a", outcome=Outcome.WON_BACK)
    book.reopen("p1#1", at=_T0 + 5 * _H, actor="b", reason="did not come")
    history = store.history("p1#1")
    _expect([e.seq for e in history] == [1, 2, 3, 4, 5, 6], "history lost or reordered events")
    _expect(type(history[0]).__name__ == "CaseOpened", "history must start with the opening")
    _expect(book.get("p1#1").reopen_count == 1, "history does not replay to the same case")
    _expect(store.history("nobody#1") == (), "an unknown case must have an empty history")


def _check_stale_writer(store: CaseStore) -> None:
    book = CaseBook(store)
    stale = book.intake(WarningRecord("p1", _HIGH, ReasonCode.PRICE), _T0).case
    if stale is None:
        raise ConformanceError("case store", "a new high-risk warning opened no case")
    book.record_contact("p1#1", at=_T0 + _H, actor="a", channel=Channel.PHONE,
                        result=ContactResult.REACHED)
    event = ContactRecorded(case_id="p1#1", seq=stale.version + 1, at=_T0 + 2 * _H, actor="b",
                            channel="sms", result="message_sent")
    _refused(lambda: store.append(apply(stale, event), [event]), CaseError,
             "append must refuse events that do not continue the history")
    _expect(len(store.history("p1#1")) == 2, "a refused append must write nothing")


def _check_one_open_case(store: CaseStore) -> None:
    CaseBook(store).intake(WarningRecord("p1", _HIGH, ReasonCode.PRICE), _T0)
    rogue = CaseOpened(case_id="p1#7", seq=1, at=_T0, actor="x", patient_id="p1", episode=7,
                       level="high", reason="price")
    _refused(lambda: store.append(apply(None, rogue), [rogue]), CaseError,
             "append must refuse a second non-closed case for a patient")
    _expect(store.case_ids() == ("p1#1",), "a refused opening must leave no case behind")


def _check_listing(store: CaseStore) -> None:
    book = CaseBook(store)
    for pid in ("b", "a"):
        book.intake(WarningRecord(pid, _MEDIUM, ReasonCode.PRICE), _T0)
    book.close("a#1", at=_T0 + _H, actor="x", outcome=Outcome.NOT_NEEDED, note="came back")
    book.intake(WarningRecord("a", _MEDIUM, ReasonCode.PRICE, change="new"), _T0 + 2 * _H)
    _expect(store.case_ids() == ("a#1", "a#2", "b#1"), "case_ids: by patient, then episode")
    _expect(store.case_ids(open_only=True) == ("a#2", "b#1"), "open_only must drop closed cases")
    _expect(store.case_ids(patient_id="a") == ("a#1", "a#2"), "patient_id must filter")
    _expect(store.case_ids(patient_id="zz") == (), "an unknown patient has no cases")


CHECKS = (_check_round_trip, _check_stale_writer, _check_one_open_case, _check_listing)

CASE_STORE_CHECKS: Mapping[str, Callable[[CaseStore], None]] = frozen_mapping({
    c.__name__.lstrip("_"): c for c in CHECKS})
"""Every check by name, each called as ``check(store)`` on a fresh, empty store, for
:func:`~rfm_retention.testing.parametrize_with_checks` (or the pytest plugin's
``case_store_check`` argument)."""


def check_case_store(make_store: Callable[[], CaseStore]) -> None:
    """Run every store check, each on a fresh store from ``make_store``.

    Raises:
        ConformanceError: naming the first promise the store breaks.
    """
    for check in CHECKS:
        store = make_store()
        try:
            check(store)
        finally:
            close = getattr(store, "close", None)
            if callable(close):
                close()
