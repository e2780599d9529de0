"""Patient features from visits in any row order, given a dense code per patient: the rows
are never put in order.

The features of one ``as_of`` need, per patient, only sums, counts and
extremes: the visit count, the first and last time, the second-to-last time
(with repeats: two visits at the last time make it the last time again), the
spend and the visit counts in the window and in the two 3-month windows, and
the last visit's department and diagnosis. Each comes from the unsorted
columns in one pass when each row carries its patient's code (0, 1, 2, ... in
the order the patients are reported): counts and spends by ``np.bincount``,
windows by masks, and the extremes by one sort of plain integers packing
(patient, time), which no other column follows (``np.minimum.at`` /
``np.maximum.at`` where the key is too wide to pack). So a
caller that can code its patients cheaply (a CSV reader that dictionary-encodes
the ids, integer ids in a dense range) gets the features without ordering the
visits by (patient, time) at all; :func:`~rfm_retention.features._assemble_features`
derives the other columns exactly as for every other engine.

The result equals :func:`~rfm_retention.patient_features` of the same visits
built into a :class:`~rfm_retention.data.VisitLog`, with one exception in the
last bit: spends are summed in row order, where the sorted log sums each
patient's visits in time order, so for amounts that are not exact binary
fractions a total can differ in its last binary digit (far below the 9
decimals the command line writes). Among visits at a patient's last time, the
"last" one is the one the visit log sorts last: by amount, then department,
diagnosis and visit id (absent columns take no part), as the log orders tied
rows.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray, IntArray
from rfm_retention.data._build import value_range
from rfm_retention.features import (
    PatientFeatures,
    _assemble_features,
    _day_of,
    _FeatureBounds,
    _midnight_after,
)

__all__ = ["CodedText", "TextColumn", "unsorted_features"]

@attrs.frozen
class CodedText:
    """A text column as its distinct values, sorted, and each row's position among them: a
    low-cardinality column (departments, diagnoses) without a text value per row."""

    ranks: IntArray
    values: npt.NDArray[Any]

    def __getitem__(self, rows: npt.NDArray[Any]) -> CodedText:
        return CodedText(self.ranks[rows], self.values)


TextColumn = npt.NDArray[Any] | CodedText
"""A text column of the visits: one value per row, or coded."""

_FIRST = np.iinfo(np.int64).max
_LAST = np.iinfo(np.int64).min


def unsorted_features(
    bounds: _FeatureBounds,
    min_exposure_days: int,
    *,
    patient_ids: npt.NDArray[Any],
    codes: npt.NDArray[np.integer[Any]],
    seconds: IntArray,
    amount: FloatArray,
    department: TextColumn | None = None,
    diagnosis: TextColumn | None = None,
    visit_id: TextColumn | None = None,
) -> PatientFeatures:
    """The features of visits in any order: row ``i`` is a visit of patient
    ``patient_ids[codes[i]]`` at ``seconds[i]`` (whole seconds since 1970, no NaT)
    costing ``amount[i]``.

    ``patient_ids`` are in the order the features report them (the visit
    log's: sorted). ``department``, ``diagnosis`` and ``visit_id`` are the rows'
    text columns (arrays, or :class:`CodedText`), ``None`` where the visits have
    none (the features then say ``""``). Visits after ``bounds.cutoff`` count in
    nothing, and a patient with none on or before it is left out.

    Example:
        >>> import numpy as np
        >>> from rfm_retention.features import _FeatureBounds
        >>> days = np.array(["2024-03-01", "2024-01-05", "2024-02-01"], "M8[s]").view(np.int64)
        >>> f = unsorted_features(_FeatureBounds.of("2024-03-31", None, 365), 365,
        ...                       patient_ids=np.array(["a", "b"]), codes=np.array([0, 0, 1]),
        ...                       seconds=days, amount=np.array([20.0, 10.0, 5.0]))
        >>> f.patient_id.tolist(), f.total_visits.tolist(), f.spend_in_window.tolist()
        (['a', 'b'], [2, 1], [30.0, 5.0])
    """
    keep = seconds <= bounds.cutoff_seconds
    texts = {"department": department, "diagnosis": diagnosis, "visit_id": visit_id}
    if not keep.all():
        codes, seconds, amount = codes[keep], seconds[keep], amount[keep]
        texts = {name: None if col is None else col[keep] for name, col in texts.items()}
    size = patient_ids.shape[0]
    # the extremes' sort and shifts release the GIL: the windows are summed meanwhile
    with ThreadPoolExecutor(1) as pool:
        extremes = pool.submit(_extremes, codes, seconds, size)
        windows = _Windows(codes, seconds, amount, size)
        in_window = (None, windows.spend(None)) if bounds.window_days is None else (
            windows.counted(windows.from_day(bounds.window_start)))
        half_year = windows.subset(windows.from_day(bounds.six))  # both 3-month windows
        recent = half_year.from_day(bounds.three)
        last3, prior3 = half_year.counted(recent), half_year.counted(~recent)
        count, first, last, prev = extremes.result()
    if in_window[0] is None:
        in_window = (count, in_window[1])
    present = np.flatnonzero(count)
    repeated = (count >= 2) & (prev == last)  # two visits at the last time: no gap between
    last_row = _last_rows(codes, seconds, last, repeated, amount, texts)
    chosen = last_row[present]
    return _assemble_features(
        bounds,
        min_exposure_days,
        patient_id=patient_ids[present],
        first=_day_of(first[present]),
        last=_day_of(last[present]),
        prev=_day_of(prev[present]),
        total_visits=count[present].astype(np.int64, copy=False),
        visits_in_window=in_window[0][present].astype(np.int64, copy=False),
        spend_in_window=in_window[1][present],
        visits_last_3_months=last3[0][present].astype(np.int64, copy=False),
        visits_prior_3_months=prior3[0][present].astype(np.int64, copy=False),
        spend_last_3_months=last3[1][present],
        spend_prior_3_months=prior3[1][present],
        last_department=_text_of(texts["department"], chosen),
        last_diagnosis=_text_of(texts["diagnosis"], chosen),
    )


class _Windows:
    """Visit counts and spends per patient over a subset of the visits."""

    def __init__(self, codes: npt.NDArray[np.integer[Any]], seconds: IntArray,
                 amount: FloatArray, size: int) -> None:
        self.codes, self.seconds, self.amount, self.size = codes, seconds, amount, size

    def from_day(self, day: int) -> npt.NDArray[np.bool_]:
        """Mask of the rows after day number ``day`` (at or after the next midnight)."""
        after: npt.NDArray[np.bool_] = self.seconds >= _midnight_after(day)
        return after

    def spend(self, mask: npt.NDArray[np.bool_] | None) -> FloatArray:
        """Per patient, the sum of the amounts of the rows in ``mask`` (every row: None)."""
        codes, amount = (self.codes, self.amount) if mask is None else (
            self.codes[mask], self.amount[mask])
        with np.errstate(over="ignore"):  # an overflowed total is refused by name later
            sums = np.bincount(codes, weights=amount, minlength=self.size)
        return sums.astype(np.float64, copy=False)  # empty input: bincount gives int64

    def subset(self, mask: npt.NDArray[np.bool_]) -> _Windows:
        """The same over the rows in ``mask`` only."""
        return _Windows(self.codes[mask], self.seconds[mask], self.amount[mask], self.size)

    def counted(self, mask: npt.NDArray[np.bool_]) -> tuple[IntArray, FloatArray]:
        """(visits, spend) per patient over the rows in ``mask``."""
        visits: IntArray = np.bincount(self.codes[mask], minlength=self.size)
        return visits, self.spend(mask)


def _extremes(
    codes: npt.NDArray[np.integer[Any]], seconds: IntArray, size: int
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Per patient code: (visits, first time, last time, second-to-last time with repeats;
    the last for one visit). One sort of a packed (code, time) integer key where the bits
    allow (a sort of plain integers, no argsort: each patient's times end up together and
    in order), else ``np.minimum.at``/``np.maximum.at``."""
    n = seconds.shape[0]
    if n == 0:
        return _extremes_at(codes, seconds, size)
    low, high = (int(v) for v in value_range(seconds))
    span_bits = (high - low).bit_length()
    if span_bits + max(size - 1, 0).bit_length() > 62:
        return _extremes_at(codes, seconds, size)
    key = codes.astype(np.int64)
    key <<= span_bits
    key += seconds
    key -= low
    key.sort()
    stops = _group_stops(key, span_bits)
    starts = np.append(0, stops[:-1])
    who = key[starts] >> span_bits
    times = (1 << span_bits) - 1

    def at(rows: IntArray, missing: int) -> IntArray:
        out = np.full(size, missing, np.int64)
        out[who] = (key[rows] & times) + low
        return out

    count = np.zeros(size, np.int64)
    count[who] = stops - starts
    return (count, at(starts, _FIRST), at(stops - 1, _LAST),
            at(np.maximum(stops - 2, starts), _LAST))


_BLOCK = 1 << 20  # rows per block of a pass over the sorted key: small buffers, reused


def _group_stops(key: IntArray, shift: int) -> IntArray:
    """Where each run of equal ``key >> shift`` in the sorted ``key`` ends (and the length
    last), block by block: no n-row array of owners is made."""
    n = key.shape[0]
    found = []
    for at in range(0, n - 1, _BLOCK):
        owner = key[at : at + _BLOCK + 1] >> shift
        found.append(np.flatnonzero(owner[1:] != owner[:-1]) + (at + 1))
    return np.append(np.concatenate(found) if found else np.zeros(0, np.int64), n)


def _extremes_at(
    codes: npt.NDArray[np.integer[Any]], seconds: IntArray, size: int
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """:func:`_extremes` by ``np.minimum.at``/``np.maximum.at`` (keys too wide to pack)."""
    count = np.bincount(codes, minlength=size).astype(np.int64, copy=False)
    first = np.full(size, _FIRST, np.int64)
    np.minimum.at(first, codes, seconds)
    last = np.full(size, _LAST, np.int64)
    np.maximum.at(last, codes, seconds)
    at_last = seconds == last[codes]
    repeated = np.bincount(codes[at_last], minlength=size) >= 2
    prev = np.full(size, _LAST, np.int64)
    earlier = ~at_last
    np.maximum.at(prev, codes[earlier], seconds[earlier])
    return count, first, last, np.where(repeated | (count < 2), last, prev)


def _last_rows(
    codes: npt.NDArray[np.integer[Any]],
    seconds: IntArray,
    last: IntArray,
    repeated: npt.NDArray[np.bool_],
    amount: FloatArray,
    texts: dict[str, TextColumn | None],
) -> IntArray:
    """Per patient, the row of its last visit (any row for a patient without one): among
    the rows at the patient's ``last`` time (``repeated``: patients with several), the one
    the visit log sorts last (by amount, then the text columns given, then row order)."""
    out = np.zeros(repeated.shape[0], np.int64)
    if all(col is None for col in (texts["department"], texts["diagnosis"])):
        return out  # nothing is read from the last row
    rows = np.flatnonzero(seconds == last[codes])
    owners = codes[rows]
    shared = repeated[owners]
    alone = rows[~shared]
    out[codes[alone]] = alone
    tied = rows[shared]
    if tied.shape[0]:  # several visits at the last time: the one the log sorts last
        keys = [_order_key(col, tied) for col in texts.values() if col is not None][::-1]
        ranked = tied[np.lexsort([tied, *keys, amount[tied], codes[tied]])]
        owner = codes[ranked]
        ends = np.flatnonzero(np.append(owner[1:] != owner[:-1], True))
        out[owner[ends]] = ranked[ends]
    return out


def _text_of(column: TextColumn | None, rows: IntArray) -> npt.NDArray[Any]:
    """The text of ``column`` at ``rows`` ('' everywhere when there is no column)."""
    if column is None:
        return np.full(rows.shape[0], "", "U1")
    if isinstance(column, CodedText):
        return column.values[column.ranks[rows]]
    picked: npt.NDArray[Any] = column[rows]
    return picked


def _order_key(column: TextColumn, rows: IntArray) -> npt.NDArray[Any]:
    """Values at ``rows`` that sort as the column's text does (the ranks of coded text)."""
    return column.ranks[rows] if isinstance(column, CodedText) else column[rows]
