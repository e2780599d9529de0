"""Per-patient reductions over one source's rows up to a date.

The rows, positions and visit features are held by the scan's
:class:`~rfm_retention.risk.Snapshot` (computed once per date), never in a
module-level cache.

Every source table is sorted by (patient, time), and its patients map
monotonically onto the bundle's sorted patient universe, so the rows a
patient has on or before ``as_of`` form one contiguous group. Each reduction
here is one ``reduceat``/``bincount`` over those groups: no loop per patient.
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from dateutil.relativedelta import relativedelta

from rfm_retention._arrays import BoolArray, FloatArray, IntArray
from rfm_retention.data import PatientData
from rfm_retention.features import PatientFeatures
from rfm_retention.risk._snapshot import Snapshot

__all__ = [
    "SourceRows",
    "months_before",
    "scatter",
    "visit_features",
    "visit_gaps",
]


@attrs.frozen(eq=False)
class SourceRows:
    """The rows of one source on or before an instant, grouped by patient.

    Attributes:
        rows: positions of the kept rows in the table's (sorted) columns.
        patient: for each kept row, its patient's position in ``data.patients``.
        n_patients: size of the patient universe (length of every result).
    """

    rows: IntArray
    patient: IntArray
    n_patients: int
    _groups: list[tuple[IntArray, IntArray, IntArray]] = attrs.field(
        factory=list, init=False, repr=False, eq=False
    )
    _every_row: bool = attrs.field(default=False, kw_only=True, repr=False, eq=False)
    """True when ``rows`` is ``0, 1, ..., len(table) - 1`` (a column is then a plain copy)."""

    @classmethod
    def of(
        cls,
        data: PatientData,
        source: str,
        instant: np.datetime64,
        *,
        since: np.datetime64 | None = None,
        tiebreak: tuple[str, ...] = (),
    ) -> SourceRows:
        """Rows of ``source`` with time in ``(since, instant]`` (``since=None``: all history).

        Rows of one patient at the same instant are put in the order of the
        ``tiebreak`` columns' values, so that "the latest row" and "the last
        rows in a row" never depend on the order the host supplied them in.
        Given the scan's :class:`~rfm_retention.risk.Snapshot`, the rows are
        found once per snapshot.
        """
        snap = Snapshot.of(data, instant)
        return snap.remember(
            ("rows", source, since, tiebreak), lambda: cls._find(snap, source, since, tiebreak)
        )

    @classmethod
    def _find(
        cls,
        snap: Snapshot,
        source: str,
        since: np.datetime64 | None,
        tiebreak: tuple[str, ...],
    ) -> SourceRows:
        instant = snap.instant
        table = getattr(snap, source)
        time = table.time
        keep = time <= instant  # NaT compares false: rows without a time are never kept
        if since is not None:
            keep &= time > since
        rows = np.flatnonzero(keep).astype(np.int64, copy=False)
        positions = snap.positions(source)
        every = rows.shape[0] == positions.shape[0]  # flatnonzero: then rows is 0..n-1
        patient = positions.copy() if every else positions[rows]
        if tiebreak and rows.shape[0] > 1 and not _already_ordered(table, tiebreak):
            times = time[rows]
            tied = (patient[1:] == patient[:-1]) & (times[1:] == times[:-1])
            if tied.any():
                keys = [table.columns[c][rows] for c in reversed(tiebreak)]
                order = np.lexsort((*keys, times, patient))
                rows, patient = rows[order], patient[order]
                every = False
        return cls(rows, patient, len(snap.patients), every_row=every)

    def column(self, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """A table column restricted to the kept rows."""
        if self._every_row and values.shape[0] == self.rows.shape[0]:
            return values.copy()
        return values[self.rows]

    def subset(self, mask: BoolArray) -> SourceRows:
        """Only the kept rows where ``mask`` (aligned with the kept rows) is true."""
        return SourceRows(self.rows[mask], self.patient[mask], self.n_patients)

    def _bounds(self) -> tuple[IntArray, IntArray, IntArray]:
        """(patients with rows, group starts, group ends) over the kept rows (computed once)."""
        if not self._groups:
            self._groups.append(self._find_bounds())
        return self._groups[0]

    def _find_bounds(self) -> tuple[IntArray, IntArray, IntArray]:
        m = self.patient.shape[0]
        if m == 0:
            empty = np.empty(0, np.int64)
            return empty, empty, empty
        change = np.flatnonzero(self.patient[1:] != self.patient[:-1]) + 1
        starts = np.concatenate(([0], change)).astype(np.int64)
        ends = np.concatenate((change, [m])).astype(np.int64)
        return self.patient[starts], starts, ends

    def count(self) -> IntArray:
        """Number of kept rows per patient."""
        who, starts, ends = self._bounds()
        out = np.zeros(self.n_patients, np.int64)
        out[who] = ends - starts
        return out

    def has_rows(self) -> BoolArray:
        """Whether each patient has at least one kept row."""
        out = np.zeros(self.n_patients, bool)
        out[self._bounds()[0]] = True
        return out

    def last(self, values: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
        """Each patient's latest value (``values`` aligned with kept rows); ``fill`` if none."""
        who, _, ends = self._bounds()
        out = np.full(self.n_patients, fill, dtype=values.dtype if len(values) else None)
        if len(who):
            out[who] = values[ends - 1]
        return out

    def minimum(self, values: FloatArray) -> FloatArray:
        """Each patient's smallest non-NaN value; NaN when there is none."""
        who, starts, _ = self._bounds()
        out = np.full(self.n_patients, np.nan)
        if len(who):
            out[who] = np.fmin.reduceat(values, starts)
        return out

    def mean(self, values: FloatArray) -> FloatArray:
        """Each patient's mean over kept rows (NaN values ignored); NaN when there is none."""
        ok = ~np.isnan(values)
        total = np.bincount(self.patient[ok], weights=values[ok], minlength=self.n_patients)
        n = np.bincount(self.patient[ok], minlength=self.n_patients)
        with np.errstate(invalid="ignore", divide="ignore"):
            out: FloatArray = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        return out

    def argmax(self, values: FloatArray) -> IntArray:
        """Per patient, the kept-row position of its largest value (-1 without rows).

        Ties go to the most recent row.
        """
        who, starts, ends = self._bounds()
        out = np.full(self.n_patients, -1, np.int64)
        if len(who):
            # No sort: each group's maximum, then the group's last row holding it.
            key = np.nan_to_num(values, nan=-np.inf)
            group = np.repeat(np.arange(len(who)), ends - starts)
            at_max = key == np.maximum.reduceat(key, starts)[group]
            position = np.where(at_max, np.arange(key.shape[0], dtype=np.int64), -1)
            out[who] = np.maximum.reduceat(position, starts)
        return out

    def trailing_run(self, bad: BoolArray) -> IntArray:
        """How many of each patient's most recent kept rows are ``bad`` in a row."""
        who, starts, ends = self._bounds()
        out = np.zeros(self.n_patients, np.int64)
        if len(who):
            good_at = np.arange(bad.shape[0], dtype=np.int64)  # row, or -1 where bad
            good_at[bad] = -1
            last_good = np.maximum.reduceat(good_at, starts)
            out[who] = ends - 1 - np.maximum(last_good, starts - 1)
        return out


_PACKED_BITS = 62
"""Bits a packed (patient, gap) sort key may use (an int64, kept non-negative)."""


def visit_gaps(
    data: PatientData, instant: np.datetime64, min_seconds: int
) -> tuple[IntArray, IntArray]:
    """Every gap of at least ``min_seconds`` between consecutive visits of a patient.

    Only visits on or before ``instant`` count. Returns ``(patient, gap)``:
    each gap's patient (position in ``data.patients``) and its length in
    seconds, sorted by patient, then by gap, so each patient's gaps are a
    sorted run (ready for medians and other order statistics).

    The visit log is already in (patient, time) order, so the gaps are one
    ``diff`` of the times (the rows after ``instant`` are a suffix of each
    patient's rows), and the sort is one ``np.sort`` of packed (patient, gap)
    integers rather than a lexsort or an argsort and gather.

    Example:
        >>> from rfm_retention.data import PatientData, VisitLog
        >>> log = VisitLog.from_arrays(patient_id=[1, 1, 1, 2, 2], amount=[9] * 5,
        ...     visit_time=["2024-01-01", "2024-03-01", "2024-03-03", "2024-01-01", "2024-02-01"])
        >>> who, gap = visit_gaps(PatientData(visits=log), np.datetime64("2024-06-01"), 86_400)
        >>> who.tolist(), (gap // 86_400).tolist()
        ([0, 0, 1], [2, 60, 31])
    """
    log = data.visits
    seconds = log.time.view(np.int64)
    gap = np.diff(seconds)
    if gap.shape[0] == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    gap[log.group_starts[1:-1] - 1] = -1  # from one patient's last visit to the next's first
    long = gap >= max(int(min_seconds), 0)
    cutoff = int(instant.astype("datetime64[s]").astype(np.int64))
    if int(seconds[log.group_starts[1:] - 1].max()) > cutoff:  # some visits are after instant
        long &= seconds[1:] <= cutoff  # (a gap ending after the instant does not count)
    positions = Snapshot.of(data, instant).positions("visits")
    bits = max(int(gap.max()).bit_length(), 1)
    if int(positions[-1]).bit_length() + bits <= _PACKED_BITS:
        # Pack every gap with its patient first, then keep the long ones: one
        # compress of one array instead of two.
        packed = positions[1:] << bits
        packed |= gap
        packed = packed[long]
        _sort_runs(packed, bits)
        who = packed >> bits
        packed &= (1 << bits) - 1
        return who, packed
    who, gap = positions[1:][long], gap[long]
    order = np.lexsort((gap, who))
    return who[order], gap[order]


_SORT_CHUNK = 1 << 15
"""Rows per independently sorted chunk in :func:`_sort_runs` (fits a core's cache)."""


def _sort_runs(packed: IntArray, bits: int) -> None:
    """Sort, in place, packed keys already in order of their high part (``key >> bits``).

    Only keys with the same high part (one patient) can be out of order, so
    the array is cut into cache-sized chunks at patient boundaries and each
    chunk is sorted on its own: the same result as a full sort, with less
    work and far fewer cache misses.
    """
    size = packed.shape[0]
    cuts = np.arange(_SORT_CHUNK, size, _SORT_CHUNK)
    if cuts.shape[0]:
        # First row of the patient holding each cut: keys below (patient << bits)
        # are exactly those of earlier patients, so the search is valid.
        cuts = np.unique(np.searchsorted(packed, (packed[cuts] >> bits) << bits))
    bounds = [0, *cuts.tolist(), size]
    for lo, hi in itertools.pairwise(bounds):
        packed[lo:hi].sort()


def _already_ordered(table: Any, tiebreak: tuple[str, ...]) -> bool:
    """Whether the table's own order already puts same-time rows in ``tiebreak`` order.

    Tables order same-time rows of a patient by their other columns in schema
    order, so a tiebreak that is a prefix of those columns needs no re-sort.
    """
    schema = table.SCHEMA
    content = [f.name for f in schema.fields[1:] if f.name != schema.time_field]
    return list(tiebreak) == content[: len(tiebreak)]


def visit_features(data: PatientData, instant: np.datetime64) -> tuple[PatientFeatures, IntArray]:
    """Visit features as of ``instant`` and each feature row's position in ``data.patients``.

    Several behaviour indicators read the same features: given the scan's
    :class:`~rfm_retention.risk.Snapshot` they are computed once per scan.
    """
    return Snapshot.of(data, instant).visit_features()


def scatter(n: int, where: IntArray, values: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
    """An array of length ``n`` holding ``values`` at ``where`` and ``fill`` elsewhere.

    When ``where`` is ``0, 1, ..., n - 1`` (every patient, e.g. from
    :func:`visit_features`) the result is simply a copy of ``values``.
    """
    dtype = np.result_type(values.dtype, np.asarray(fill).dtype)
    if where.shape[0] == n and (n == 0 or (where[0] == 0 and bool(np.all(np.diff(where) == 1)))):
        return np.array(values, dtype=dtype)
    out = np.full(n, fill, dtype=dtype)
    out[where] = values
    return out


def months_before(instant: np.datetime64, months: int) -> np.datetime64:
    """The instant ``months`` calendar months before ``instant`` (same time of day)."""
    moment = instant.astype("datetime64[s]").item() - relativedelta(months=months)
    return np.datetime64(moment, "s")
