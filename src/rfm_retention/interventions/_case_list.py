"""A list of cases that is also a table: what :meth:`CaseBook.cases` returns.

A :class:`CaseList` is an ordinary immutable sequence of
:class:`~rfm_retention.interventions.Case` records (iterate it, index it,
compare it with a list) and, for analysts, one row per case through
``to_columns()`` and the DataFrame views of
:class:`~rfm_retention._frames.FrameViews`: times stay instants
(``datetime64[s]``, NaT where not yet happened), counts and scores stay numbers,
and level, reason, status and outcome become categoricals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar, overload

import numpy as np
import numpy.typing as npt

from rfm_retention._display import Display
from rfm_retention._tabular import Tabular
from rfm_retention.interventions._records import Case

__all__ = ["CaseList"]


def _instants(values: Iterable[dt.datetime | None]) -> npt.NDArray[np.datetime64]:
    """Naive-UTC datetimes as ``datetime64[s]``, ``None`` as NaT."""
    return np.array([np.datetime64("NaT") if v is None else np.datetime64(v, "s")
                     for v in values], dtype="datetime64[s]")


_TEXT = np.dtypes.StringDType(na_object=None)


def _texts(values: Iterable[str | None]) -> npt.NDArray[Any]:
    """Text as a variable-width string array (no fixed-width copy), ``None`` kept for "not set"."""
    return np.array(list(values), dtype=_TEXT)


class CaseList(Tabular, Sequence[Case]):
    """Cases in order, as a sequence and as a table (one row per case).

    It follows the library's result convention: ``to_columns()`` typed
    arrays, ``to_rows()`` display strings, ``row_of(case_id)`` the position
    of a case (``KeyError`` for an unknown one) and ``get(case_id)`` the
    :class:`~rfm_retention.interventions.Case` itself (``None`` when absent).

    Example:
        >>> import datetime as dt
        >>> from rfm_retention import interventions, risk, vocabulary as words
        >>> book = interventions.CaseBook(interventions.InMemoryCaseStore())
        >>> warning = risk.WarningRecord("p1", words.RiskLevel.HIGH, words.ReasonCode.PRICE)
        >>> _ = book.intake(warning, dt.datetime(2024, 5, 6, 9))
        >>> cases = book.cases()
        >>> cases[0].case_id, len(cases)
        ('p1#1', 1)
        >>> columns = cases.to_columns()
        >>> columns["level"].tolist(), str(columns["first_contact_due"].dtype)
        (['high'], 'datetime64[s]')
        >>> cases.row_of("p1#1"), cases.get("p1#1").patient_id, cases.get("p9#1")
        (0, 'p1', None)
    """

    __slots__ = ("_cases",)
    FRAME_CATEGORIES: ClassVar[Sequence[str]] = ("level", "reason", "status", "outcome")
    ROW_KEY: ClassVar[str] = "case_id"
    ROW_KEYS_ORDERED: ClassVar[bool] = False

    def __init__(self, cases: Iterable[Case] = ()) -> None:
        self._cases = tuple(cases)

    @overload
    def __getitem__(self, index: int) -> Case: ...

    @overload
    def __getitem__(self, index: slice) -> CaseList: ...

    def __getitem__(self, index: int | slice) -> Case | CaseList:
        if isinstance(index, slice):
            return CaseList(self._cases[index])
        return self._cases[index]

    def __len__(self) -> int:
        return len(self._cases)

    def __iter__(self) -> Iterator[Case]:
        return iter(self._cases)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CaseList | list | tuple):
            return self._cases == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def record(self, row: int) -> Case:
        """The case at ``row`` (what :meth:`get` returns for its case id)."""
        return self._cases[row]

    def _display(self, title: str = "CaseList") -> Display:
        """Patient, level, reason, status, when warned, first contact, outcome per case."""
        columns = {name: self.to_columns()[name] for name in (
            "case_id", "level", "reason", "status", "warned_at", "first_contact_at", "outcome")}
        still_open = sum(not c.is_closed for c in self._cases)
        return Display(title, columns, {"cases": len(self), "open": still_open})

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """One array per column, one row per case.

        Columns: ``case_id``, ``patient_id``, ``episode``, ``level`` (label),
        ``reason``, ``status``, ``score`` (NaN without one), ``summary``,
        ``owners`` (``;``-joined), ``warned_at``, ``escalated_at``,
        ``first_contact_at``, then ``<deadline>_due`` and ``<deadline>_met_at``
        for every deadline name the cases carry (in order of first appearance),
        ``contacts`` and ``plans`` (counts), ``plan`` (current plan code),
        ``outcome`` (None while open), ``closed_at``, ``reopen_count`` and
        ``version``. Times are ``datetime64[s]`` (NaT when not yet happened).
        """
        cases = self._cases
        columns: dict[str, npt.NDArray[Any]] = {
            "case_id": _texts(c.case_id for c in cases),
            "patient_id": _texts(c.patient_id for c in cases),
            "episode": np.array([c.episode for c in cases], dtype=np.int64),
            "level": _texts(c.level.label for c in cases),
            "reason": _texts(c.reason.value for c in cases),
            "status": _texts(c.status.value for c in cases),
            "score": np.array([np.nan if c.score is None else c.score for c in cases],
                              dtype=np.float64),
            "summary": _texts(c.summary for c in cases),
            "owners": _texts("; ".join(c.owners) for c in cases),
            "warned_at": _instants(c.warned_at for c in cases),
            "escalated_at": _instants(c.escalated_at for c in cases),
            "first_contact_at": _instants(c.first_contact_at for c in cases),
        }
        names = dict.fromkeys(d.name for c in cases for d in c.deadlines)
        for name in names:
            due = [{d.name: d for d in c.deadlines}.get(name) for c in cases]
            columns[f"{name}_due"] = _instants(None if d is None else d.due_at for d in due)
            columns[f"{name}_met_at"] = _instants(None if d is None else d.met_at for d in due)
        columns.update({
            "contacts": np.array([len(c.contacts) for c in cases], dtype=np.int64),
            "plans": np.array([len(c.plans) for c in cases], dtype=np.int64),
            "plan": _texts(None if c.plan is None else c.plan.code for c in cases),
            "outcome": _texts(None if c.outcome is None else c.outcome.value for c in cases),
            "closed_at": _instants(c.closed_at for c in cases),
            "reopen_count": np.array([c.reopen_count for c in cases], dtype=np.int64),
            "version": np.array([c.version for c in cases], dtype=np.int64),
        })
        return columns
