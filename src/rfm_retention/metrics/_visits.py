"""Visit-log views the KPIs share: one row per patient-day, and "the next visit after t".

Two visits of one patient on the same calendar day are one contact with the
hospital for retention purposes (a consultation and its lab test), so KPIs
count visit *days*. Both helpers are vectorised over the whole log.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import IntArray
from rfm_retention.data._sources import VisitLog
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError

__all__ = [
    "VisitDays",
    "as_id_array",
    "last_day_before",
    "next_visit_after",
    "patient_positions",
    "visit_days",
    "visit_row_at",
]

NO_DAY = np.iinfo(np.int64).max // 4
"""Stands for "no such day" (later than any real day, still safe to add to)."""


@attrs.frozen(eq=False)
class VisitDays:
    """Distinct visit days per patient, sorted by (patient, day).

    Attributes:
        patient: position of the patient in the log's ``patient_ids``.
        day: day number of the visit day.
        ordinal: 0 for the patient's first visit day, 1 for the second...
        first_day: day number of the patient's first visit day (per row).
        next_day: the patient's next visit day, ``NO_DAY`` when there is none.
        diagnosis: diagnosis of the day's last visit ('' when not given); visits at
            the same instant keep the visit log's order (by content), so the
            choice never depends on the order rows were given in.
        row: the visit log row of that last visit (its department, for instance).
    """

    patient: IntArray
    day: IntArray
    ordinal: IntArray
    first_day: IntArray
    next_day: IntArray
    diagnosis: npt.NDArray[np.str_]
    row: IntArray

    def __len__(self) -> int:
        return int(self.day.shape[0])


def visit_days(log: VisitLog, until_day: int | None = None) -> VisitDays:
    """The log's distinct (patient, day) pairs, ignoring visits after ``until_day``."""
    days = log.time.astype("datetime64[D]").astype(np.int64)
    patient = log.patient_index
    keep = np.ones(len(days), bool) if until_day is None else days <= until_day
    days, patient = days[keep], patient[keep]
    diagnosis = log.diagnosis[keep]
    rows = np.flatnonzero(keep).astype(np.int64)
    # rows are sorted by (patient, time): the last row of each (patient, day) run is kept
    last_of_run = np.ones(len(days), bool)
    if len(days):
        last_of_run[:-1] = (patient[1:] != patient[:-1]) | (days[1:] != days[:-1])
    days, patient, diagnosis = days[last_of_run], patient[last_of_run], diagnosis[last_of_run]
    rows = rows[last_of_run]
    n = len(days)
    new_patient = np.ones(n, bool)
    if n:
        new_patient[1:] = patient[1:] != patient[:-1]
    starts = np.flatnonzero(new_patient)
    run = np.cumsum(new_patient) - 1
    ordinal = np.arange(n, dtype=np.int64) - starts[run] if n else np.empty(0, np.int64)
    next_day = np.full(n, NO_DAY, np.int64)
    if n:
        same = ~new_patient[1:]
        next_day[:-1] = np.where(same, days[1:], NO_DAY)
    return VisitDays(
        patient=patient.astype(np.int64),
        day=days,
        ordinal=ordinal.astype(np.int64),
        first_day=days[starts][run] if n else np.empty(0, np.int64),
        next_day=next_day,
        diagnosis=diagnosis,
        row=rows,
    )


def as_id_array(ids: Any) -> IdArray:
    """Host-given patient ids as ``int64`` when they are all integers, text otherwise."""
    arr = np.asarray(ids)
    if arr.dtype == object:
        values = arr.tolist()
        ints = bool(values) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values
        )
        arr = arr.astype(np.int64) if ints else arr.astype(str)
    return arr


def patient_positions(universe: IdArray, ids: Any, *, what: str) -> IntArray:
    """Position of each id in ``universe`` (sorted unique ids); ``-1`` for ids not in it.

    Raises ConfigError when the id types differ (integer ids vs text ids).
    """
    arr = as_id_array(ids)
    if arr.ndim != 1:
        raise ConfigError(f"{what}: patient ids must be one-dimensional")
    if len(arr) == 0:
        return np.empty(0, np.int64)
    if len(universe) and (universe.dtype.kind in "iu") != (arr.dtype.kind in "iu"):
        raise ConfigError(
            f"{what}: patient ids are {arr.dtype} but the visit log uses {universe.dtype}; "
            "use one id type"
        )
    if len(universe) == 0:
        return np.full(len(arr), -1, np.int64)
    where = np.searchsorted(universe, arr)
    clipped = np.minimum(where, len(universe) - 1)
    found = (where < len(universe)) & (universe[clipped] == arr)
    return np.where(found, clipped, -1).astype(np.int64)


def _after_rows(
    log: VisitLog, patient: IntArray, instants: npt.NDArray[np.datetime64]
) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Per query: the first log row after the instant in (patient, time) order, and validity."""
    n = len(patient)
    known = (patient >= 0) & ~np.isnat(instants)
    if n == 0 or len(log) == 0 or not known.any():
        return np.zeros(n, np.int64), np.zeros(n, bool)
    times = log.time.astype(np.int64)
    at = instants.astype("datetime64[s]").astype(np.int64)
    low = min(int(times.min()), int(at[known].min())) - 1
    span = max(int(times.max()), int(at[known].max())) - low + 2
    if span * (log.n_patients + 1) >= 2**62:
        raise ConfigError("visit times span too wide to search (check for corrupt dates)")
    keys = log.patient_index * span + (times - low)
    query = np.where(known, patient, 0) * span + (np.where(known, at, low) - low)
    pos = np.searchsorted(keys, query, side="right").astype(np.int64)
    return pos, known


def next_visit_after(
    log: VisitLog, patient: IntArray, instants: npt.NDArray[np.datetime64]
) -> npt.NDArray[np.datetime64]:
    """For each (patient position, instant), the patient's first visit strictly after it.

    ``patient`` holds positions in ``log.patient_ids`` (``-1`` = unknown patient,
    who has no visit). NaT where there is no later visit.
    """
    out = np.full(len(patient), np.datetime64("NaT", "s"))
    pos, known = _after_rows(log, patient, instants)
    if not known.any():
        return out
    clipped = np.minimum(pos, len(log) - 1)
    hit = known & (pos < len(log)) & (log.patient_index[clipped] == patient)
    out[hit] = log.time[clipped[hit]]
    return out


def visit_row_at(
    log: VisitLog, patient: IntArray, instants: npt.NDArray[np.datetime64]
) -> IntArray:
    """For each (patient position, instant), the row of the patient's last visit at or before it.

    A patient with no visit by then gets their first visit's row (the visit
    the event leads to); ``-1`` for a patient with no visit at all.
    """
    out = np.full(len(patient), -1, np.int64)
    pos, known = _after_rows(log, patient, instants)
    if not known.any():
        return out
    before = np.maximum(pos - 1, 0)
    ok = known & (pos > 0) & (log.patient_index[before] == patient)
    out[ok] = before[ok]
    rest = known & ~ok
    out[rest] = log.group_starts[patient[rest]]
    valid = patient >= 0
    out[valid & np.isnat(instants)] = log.group_starts[patient[valid & np.isnat(instants)]]
    return out


def last_day_before(vd: VisitDays, patient: IntArray, day: IntArray) -> IntArray:
    """Row of each patient's last visit day strictly before ``day``; -1 if none."""
    if len(vd) == 0 or len(patient) == 0:
        return np.full(len(patient), -1, np.int64)
    low = min(int(vd.day.min()), int(day.min()))
    span = max(int(vd.day.max()), int(day.max())) - low + 1
    keys = vd.patient * span + (vd.day - low)
    row = np.searchsorted(keys, patient * span + (day - low), side="left") - 1
    clipped = np.maximum(row, 0)
    found = (row >= 0) & (vd.patient[clipped] == patient)
    out: IntArray = np.where(found, row, -1).astype(np.int64)
    return out
