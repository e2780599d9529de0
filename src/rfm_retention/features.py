"""Per-patient features as of a date: the R, F and M of RFM and the trends warnings read.

"Recency" means different things in different tools (days since the last
visit here; first-to-last visit span in BTYD models, see
:mod:`rfm_retention.btyd`). Column names here say exactly what they hold.
"""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt
from dateutil.relativedelta import relativedelta

from rfm_retention._arrays import FloatArray, IntArray
from rfm_retention._display import Display
from rfm_retention._frozen import frozen_mapping
from rfm_retention._tabular import Tabular, row_position
from rfm_retention.errors import ConfigError, NumericOverflowError
from rfm_retention.time import SECONDS_PER_DAY, TimeLike, as_date, as_instant, day_number, to_date

if TYPE_CHECKING:
    from rfm_retention.data._sources import VisitLog
    from rfm_retention.data._table import IdArray

__all__ = ["FEATURE_COLUMNS", "FeatureState", "PatientFeatures", "patient_features"]


DAYS_PER_YEAR = 365.25

FEATURE_COLUMNS: Mapping[str, str] = frozen_mapping({
    "patient_id": "The host's patient id.",
    "first_visit": "Date of the patient's first visit on or before as_of.",
    "last_visit": "Date of the patient's most recent visit on or before as_of.",
    "days_since_last_visit": "Whole days from the last visit to as_of (RFM recency; 0 = seen "
    "on the as_of day). Lower is more recent.",
    "tenure_days": "Whole days from the first visit to as_of.",
    "total_visits": "Every visit on or before as_of, whatever the window.",
    "visits_in_window": "Visits inside the window (RFM frequency, as a count).",
    "visits_per_year": "visits_in_window per 365.25 days of exposure: the window, cut to the "
    "patient's tenure, but never shorter than min_exposure_days.",
    "spend_in_window": "Sum of amounts inside the window (RFM monetary).",
    "spend_per_visit": "spend_in_window / visits_in_window (NaN with no visit in the window).",
    "mean_interval_days": "Mean days between consecutive visits: (last - first) / "
    "(total_visits - 1); NaN with one visit.",
    "last_interval_days": "Days between the last two visits; NaN with one visit.",
    "visits_last_3_months": "Visits in the 3 calendar months up to as_of: (as_of - 3 months, "
    "as_of].",
    "visits_prior_3_months": "Visits in the 3 calendar months before those: (as_of - 6 months, "
    "as_of - 3 months].",
    "spend_last_3_months": "Spend over the same span as visits_last_3_months.",
    "spend_prior_3_months": "Spend over the same span as visits_prior_3_months.",
    "last_department": "Department of the most recent visit ('' if none was given); among "
    "same-time visits, the one that sorts last by amount, department, diagnosis, visit id.",
    "last_diagnosis": "Diagnosis of the most recent visit ('' if none was given).",
})
"""Every feature column with its exact definition (the CSV header of ``features``)."""


@attrs.frozen(eq=False, repr=False)
class PatientFeatures(Tabular):
    """One row per patient seen on or before ``as_of``; every attribute is an array.

    See :data:`FEATURE_COLUMNS` for each column's definition. Patients whose
    first visit is after ``as_of`` are not in the result: as of that date they
    are not yet patients. Rows are in patient-id order.

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=[7, 7, 3], amount=[10.0, 30.0, 5.0],
        ...                            visit_time=["2024-05-01", "2024-06-01", "2024-06-20"])
        >>> f = patient_features(log, "2024-06-30")
        >>> f.patient_id.tolist(), f.total_visits.tolist(), f.spend_in_window.tolist()
        ([3, 7], [1, 2], [5.0, 40.0])
        >>> row = f.index_of(7)
        >>> int(f.days_since_last_visit[row]), float(f.last_interval_days[row])
        (29, 31.0)
    """

    as_of: np.datetime64 = attrs.field(converter=as_instant)
    window_days: int | None
    patient_id: IdArray
    first_visit: npt.NDArray[np.datetime64]
    last_visit: npt.NDArray[np.datetime64]
    days_since_last_visit: IntArray
    tenure_days: IntArray
    total_visits: IntArray
    visits_in_window: IntArray
    visits_per_year: FloatArray
    spend_in_window: FloatArray
    spend_per_visit: FloatArray
    mean_interval_days: FloatArray
    last_interval_days: FloatArray
    visits_last_3_months: IntArray
    visits_prior_3_months: IntArray
    spend_last_3_months: FloatArray
    spend_prior_3_months: FloatArray
    last_department: npt.NDArray[np.str_]
    last_diagnosis: npt.NDArray[np.str_]

    def __len__(self) -> int:
        return int(self.patient_id.shape[0])

    def _display(self) -> Display:
        figures = {"as_of": as_date(self.as_of), "window_days": self.window_days}
        return Display("PatientFeatures", self.to_columns(), figures)

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """Column name -> array, in :data:`FEATURE_COLUMNS` order."""
        return {name: getattr(self, name) for name in FEATURE_COLUMNS}

    def take(self, rows: npt.NDArray[np.integer[Any]] | npt.NDArray[np.bool_]) -> PatientFeatures:
        """The features of a subset of patients (positions or a boolean mask)."""
        return attrs.evolve(self, **{name: getattr(self, name)[rows] for name in FEATURE_COLUMNS})

    def row_of(self, patient_id: Any) -> int:
        """Row of one patient; KeyError if the patient has no visit on or before as_of."""
        missing = f"patient {patient_id!r} has no visit on or before {as_date(self.as_of)}"
        return row_position(self.patient_id, patient_id, missing)

    def index_of(self, patient_id: str | int) -> int:
        """Row of one patient (the same as :meth:`row_of`)."""
        return self.row_of(patient_id)


    @classmethod
    def from_rfm(
        cls,
        *,
        as_of: TimeLike,
        patient_id: Any,
        days_since_last_visit: Any,
        visits_in_window: Any,
        spend_in_window: Any,
        last_department: Any = None,
        last_diagnosis: Any = None,
    ) -> PatientFeatures:
        """Features from R, F and M computed elsewhere; the other columns are derived or NaN.

        For hosts that already hold RFM values, and for tests of segmenters.
        """
        instant = as_instant(as_of)
        ids = np.asarray(patient_id)
        n = ids.shape[0]
        days = np.asarray(days_since_last_visit, np.int64)
        visits = np.asarray(visits_in_window, np.int64)
        spend = np.asarray(spend_in_window, np.float64)
        if not (days.shape == visits.shape == spend.shape == ids.shape == (n,)):
            raise ConfigError("from_rfm: every column must have one value per patient")
        if len(np.unique(ids)) != n:
            raise ConfigError("from_rfm: patient ids must be unique")
        order = np.argsort(ids, kind="stable")
        days, visits, spend = days[order], visits[order], spend[order]
        last = instant.astype("datetime64[D]") - days.astype("timedelta64[D]")
        nan = np.full(n, np.nan)
        minus = np.full(n, -1, np.int64)
        text = np.full(n, "", dtype="U1")
        return cls(
            as_of=instant,
            window_days=None,
            patient_id=ids[order],
            first_visit=np.full(n, np.datetime64("NaT", "D")),
            last_visit=last,
            days_since_last_visit=days,
            tenure_days=minus,
            total_visits=visits,
            visits_in_window=visits,
            visits_per_year=visits.astype(np.float64),
            spend_in_window=spend,
            spend_per_visit=_spend_per_visit(spend, visits),
            mean_interval_days=nan,
            last_interval_days=nan,
            visits_last_3_months=minus,
            visits_prior_3_months=minus,
            spend_last_3_months=nan,
            spend_prior_3_months=nan,
            last_department=text if last_department is None else np.asarray(last_department)[order],
            last_diagnosis=text if last_diagnosis is None else np.asarray(last_diagnosis)[order],
        )


def _spend_per_visit(spend: FloatArray, visits: IntArray) -> FloatArray:
    """Spend over visits in the window; NaN for a patient with no visit in it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_visit: FloatArray = np.where(visits > 0, spend / np.maximum(visits, 1), np.nan)
    return per_visit


def _day_before(day: dt.date, span: relativedelta) -> int:
    """The day number of ``day - span``; a span reaching before 1 January of year 1 stops
    there (no visit can be earlier, so the span covers all history either way)."""
    try:
        return day_number(day - span)
    except (OverflowError, ValueError):
        return day_number(dt.date.min) - 1


def _window_start(as_of_day: dt.date, window: int | relativedelta | None) -> tuple[int, int | None]:
    """(last day number *before* the window, window length in days) for a window ending on
    as_of_day; the window is the days ``(start, as_of_day]``."""
    end = day_number(as_of_day)
    if window is None:
        return np.iinfo(np.int64).min // 2, None
    if isinstance(window, relativedelta):
        start = _day_before(as_of_day, window)
    elif isinstance(window, numbers.Integral) and not isinstance(window, bool | np.bool_):
        start = end - int(window)
    else:
        raise ConfigError(
            f"window must be a whole number of days or a relativedelta, not {window!r}"
        )
    if start >= end:
        raise ConfigError(f"window must reach back at least one day, got {window!r}")
    return start, end - start


@attrs.frozen
class _FeatureBounds:
    """Where every window of one features call starts and ends, as day numbers and seconds.

    A visit counts when its time (in whole seconds) is at or before
    ``cutoff_seconds``; it is inside a window starting after day ``d`` when its
    day number is above ``d`` (its time is at or after midnight of day ``d + 1``).
    Every engine reads the same bounds, so every engine counts the same visits.
    """

    cutoff: np.datetime64
    cutoff_seconds: int
    as_of_num: int
    as_of_day: dt.date
    window_start: int
    window_days: int | None
    three: int
    six: int

    @classmethod
    def of(
        cls,
        as_of: TimeLike,
        window: int | relativedelta | None,
        min_exposure_days: int,
    ) -> _FeatureBounds:
        """The bounds of ``patient_features(..., as_of, window=window)``."""
        if min_exposure_days < 1:
            raise ConfigError("min_exposure_days must be at least 1")
        cutoff = as_instant(as_of)
        as_of_num = day_number(cutoff)
        as_of_day = to_date(as_of_num)
        window_start, window_days = _window_start(as_of_day, window)
        return cls(
            cutoff=cutoff,
            cutoff_seconds=_seconds_of(cutoff),
            as_of_num=as_of_num,
            as_of_day=as_of_day,
            window_start=window_start,
            window_days=window_days,
            three=_day_before(as_of_day, relativedelta(months=3)),
            six=_day_before(as_of_day, relativedelta(months=6)),
        )


def _assemble_features(
    bounds: _FeatureBounds,
    min_exposure_days: int,
    *,
    patient_id: IdArray,
    first: IntArray,
    last: IntArray,
    prev: IntArray,
    total_visits: IntArray,
    visits_in_window: IntArray,
    spend_in_window: FloatArray,
    visits_last_3_months: IntArray,
    visits_prior_3_months: IntArray,
    spend_last_3_months: FloatArray,
    spend_prior_3_months: FloatArray,
    last_department: npt.NDArray[np.str_],
    last_diagnosis: npt.NDArray[np.str_],
) -> PatientFeatures:
    """PatientFeatures from per-patient aggregates (days as day numbers, ``prev`` the day of
    the second-to-last visit, any value with one visit): the one place the derived columns
    (recency, tenure, rates, intervals) are defined, whichever engine aggregated."""
    _refuse_overflowed_spend(
        patient_id, spend_in_window, spend_last_3_months, spend_prior_3_months
    )
    n = total_visits
    many = n >= 2
    tenure = bounds.as_of_num - first
    window_days = bounds.window_days
    exposure = tenure + 1 if window_days is None else np.minimum(window_days, tenure + 1)
    exposure = np.maximum(exposure, min_exposure_days)
    span = (last - first).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_interval = np.where(many, span / np.maximum(n - 1, 1), np.nan)
    return PatientFeatures(
        as_of=bounds.cutoff,
        window_days=window_days,
        patient_id=patient_id,
        first_visit=first.astype("datetime64[D]"),
        last_visit=last.astype("datetime64[D]"),
        days_since_last_visit=bounds.as_of_num - last,
        tenure_days=tenure,
        total_visits=n,
        visits_in_window=visits_in_window,
        visits_per_year=visits_in_window * DAYS_PER_YEAR / exposure,
        spend_in_window=spend_in_window,
        spend_per_visit=_spend_per_visit(spend_in_window, visits_in_window),
        mean_interval_days=mean_interval,
        last_interval_days=np.where(many, (last - prev).astype(np.float64), np.nan),
        visits_last_3_months=visits_last_3_months,
        visits_prior_3_months=visits_prior_3_months,
        spend_last_3_months=spend_last_3_months,
        spend_prior_3_months=spend_prior_3_months,
        last_department=last_department,
        last_diagnosis=last_diagnosis,
    )


def patient_features(
    source: Any,
    as_of: TimeLike,
    *,
    window: int | relativedelta | None = None,
    min_exposure_days: int = 365,
    mapping: Mapping[str, str] | None = None,
    connection: Any = None,
) -> PatientFeatures:
    """Compute :class:`PatientFeatures` from visits, ignoring visits after ``as_of``.

    ``source`` is a :class:`~rfm_retention.data.VisitLog` (computed here, in
    numpy) or a table on a dataframe engine, where the per-patient aggregation
    runs and only one row per patient comes back: a DuckDB relation, a DuckDB
    table name or SQL query (on ``connection``, default DuckDB's default
    connection), a Polars ``LazyFrame`` or ``DataFrame``, a PySpark
    ``DataFrame`` or a Dask ``DataFrame`` (needs the ``narwhals`` extra and the
    engine's own; see the "Scaling out" guide). Every engine gives the same
    features as the numpy path. ``mapping`` maps the library's field names to an
    engine table's column names (``{"patient_id": "PATIENT", "visit_time":
    "START"}``); unmapped fields are looked up under their own name.

    ``as_of`` as a date includes every visit on that day. ``window`` bounds the
    frequency and monetary columns: ``None`` (default) is all history, an int
    is that many days, a :class:`~dateutil.relativedelta.relativedelta` is
    calendar-aware (``relativedelta(years=1)``). ``min_exposure_days`` keeps a
    patient seen twice last week from being rated a hundred visits a year.

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(
        ...     patient_id=["a", "a", "b"],
        ...     visit_time=["2024-01-05", "2024-03-05", "2024-02-01"],
        ...     amount=[100.0, 50.0, 80.0],
        ... )
        >>> f = patient_features(log, "2024-03-31")
        >>> f.days_since_last_visit.tolist(), f.visits_in_window.tolist()
        ([26, 59], [2, 1])
    """
    from rfm_retention.data._sources import VisitLog

    bounds = _FeatureBounds.of(as_of, window, min_exposure_days)
    if isinstance(source, VisitLog):
        if mapping:
            raise ConfigError("mapping= is for engine tables; a VisitLog already has its fields")
        return _log_features(source, bounds, min_exposure_days)
    from rfm_retention._engines import engine_features

    return engine_features(
        source, bounds, min_exposure_days, mapping=mapping or {}, connection=connection
    )


def _log_features(log: VisitLog, bounds: _FeatureBounds, min_exposure_days: int) -> PatientFeatures:
    """The numpy path of :func:`patient_features` over a sorted, grouped visit log."""
    # Each patient's rows are contiguous and sorted by time, so the visits on or
    # before as_of are a prefix of the group, and every window is a contiguous
    # run of rows ending where that prefix ends: counts are differences of row
    # positions and spends are segment sums. Where a window starts is found by a
    # search from the end of each group (see _suffix_lengths); no per-row mask,
    # day number or sort key over the whole log is built.
    seconds = log.time.view(np.int64)
    group_start, group_end = log.group_starts[:-1], log.group_starts[1:]
    tail_all = seconds[group_end - 1]  # each group's last row (groups are never empty)
    late = _suffix_lengths(seconds, group_start, group_end, bounds.cutoff_seconds + 1, tail_all)
    end_all = group_end
    if late.any():
        end_all = group_end - late
        tail_all = seconds[end_all - 1]  # garbage where a patient has no row left
    present = np.flatnonzero(end_all > group_start)
    everyone = present.shape[0] == group_start.shape[0]
    start = group_start if everyone else group_start[present]
    end = end_all if everyone else end_all[present]
    tail = tail_all if everyone else tail_all[present]
    n = end - start
    prev = _day_of(seconds[np.where(n >= 2, end - 2, end - 1)])

    def first_after(day: int, ends: IntArray, tails: IntArray) -> IntArray:
        """Per patient, the first row after ``day`` among its rows before ``ends``."""
        threshold = _midnight_after(day)
        after: IntArray = ends - _suffix_lengths(seconds, start, ends, threshold, tails)
        return after

    window_from = (
        start if bounds.window_days is None else first_after(bounds.window_start, end, tail)
    )
    last3_from = first_after(bounds.three, end, tail)
    moved = np.flatnonzero(last3_from < end)
    tail3 = tail.copy()
    tail3[moved] = seconds[last3_from[moved] - 1]
    prior3_from = first_after(bounds.six, last3_from, tail3)
    spend_prior_3, spend_last_3 = _adjacent_sums(log.amount, prior3_from, last3_from, end)
    return _assemble_features(
        bounds,
        min_exposure_days,
        patient_id=log.patient_ids[present],
        first=_day_of(seconds[start]),
        last=_day_of(tail),
        prev=prev,
        total_visits=n,
        visits_in_window=end - window_from,
        spend_in_window=_segment_sums(log.amount, window_from, end),
        visits_last_3_months=end - last3_from,
        visits_prior_3_months=last3_from - prior3_from,
        spend_last_3_months=spend_last_3,
        spend_prior_3_months=spend_prior_3,
        last_department=log.department[end - 1],
        last_diagnosis=log.diagnosis[end - 1],
    )


def _refuse_overflowed_spend(patient_id: IdArray, *spends: FloatArray) -> None:
    """Raise when a patient's summed spend overflowed float64 (each amount is finite, the
    total is not): an infinite spend would rank the patient silently, so it is an error
    naming the patients rather than a numpy RuntimeWarning."""
    bad = np.zeros(patient_id.shape[0], bool)
    for spend in spends:
        bad |= ~np.isfinite(spend) & ~np.isnan(spend)
    if bad.any():
        who = ", ".join(str(p) for p in patient_id[bad][:5])
        more = f" and {int(bad.sum()) - 5} more" if bad.sum() > 5 else ""
        raise NumericOverflowError(
            f"visits: the summed spend of patient(s) {who}{more} overflows a 64-bit float "
            "(each amount is finite, their total is not); rescale the amounts, e.g. to "
            "thousands"
        )


def _seconds_of(instant: np.datetime64) -> int:
    """An instant as whole seconds since 1970-01-01 (the int64 view of ``datetime64[s]``)."""
    return int(instant.astype("datetime64[s]").astype(np.int64))


def _day_of(seconds: IntArray) -> IntArray:
    """Day numbers (days since 1970-01-01) of instants in seconds, like ``datetime64[D]``."""
    days: IntArray = np.floor_divide(seconds, SECONDS_PER_DAY)
    return days


def _midnight_after(day: int) -> int:
    """The first second after day number ``day`` (a row is after the day iff it is at or after)."""
    return min(max((day + 1) * SECONDS_PER_DAY, -(2**62)), 2**62)


def _suffix_lengths(
    seconds: IntArray, starts: IntArray, ends: IntArray, threshold: int, tails: IntArray
) -> IntArray:
    """Per group ``[starts[i], ends[i])`` of ascending ``seconds``: how many of its last rows
    are at or after ``threshold``. ``tails`` is ``seconds[ends - 1]`` (any value for an
    empty group), which callers usually have already.

    A galloping search from the end of every group at once: probe the last
    1, 2, 4, ... rows until a probe falls before ``threshold`` (or the group
    runs out), then halve the bracket. Each round touches only the groups
    still undecided, so the cost follows the number of rows *after* the
    threshold (usually a few per patient), not the size of the log.
    """
    out = np.zeros(starts.shape[0], np.int64)
    if out.shape[0] == 0:
        return out
    sizes = ends - starts
    # Probe 1 for every group at once; only groups whose last row qualifies go on.
    todo = np.flatnonzero((sizes > 0) & (tails >= threshold))
    if todo.shape[0] == 0:
        return out
    end, size = ends[todo], sizes[todo]
    found = np.ones(todo.shape[0], np.int64)  # lengths known to be all at/after threshold
    limit = size + 1  # lengths known not to be (or out of range)
    active = np.flatnonzero(size >= 2)
    probe = 2
    while active.shape[0]:  # gallop: probe lengths 2, 4, 8, ... within the group
        ok = seconds[end[active] - probe] >= threshold
        found[active[ok]] = probe
        limit[active[~ok]] = probe
        active = active[ok]
        probe *= 2
        active = active[probe < limit[active]]
    active = np.flatnonzero(limit - found > 1)
    while active.shape[0]:  # bisect between the last length that held and the first that not
        mid = (found[active] + limit[active]) // 2
        ok = seconds[end[active] - mid] >= threshold
        found[active[ok]] = mid[ok]
        limit[active[~ok]] = mid[~ok]
        active = active[limit[active] - found[active] > 1]
    out[todo] = found
    return out


def _segment_sums(values: FloatArray, starts: IntArray, ends: IntArray) -> FloatArray:
    """sum(values[starts[i]:ends[i]]) for every i (0 where empty), in one reduceat pass.

    Segments must be in order (``ends[i] <= starts[i + 1]``).
    """
    return _bounded_sums(values, (starts, ends))[0]


def _adjacent_sums(
    values: FloatArray, a: IntArray, b: IntArray, c: IntArray
) -> tuple[FloatArray, FloatArray]:
    """(sum(values[a:b]), sum(values[b:c])) per entry, both in one reduceat pass."""
    first, second = _bounded_sums(values, (a, b, c))
    return first, second


def _bounded_sums(values: FloatArray, bounds: tuple[IntArray, ...]) -> list[FloatArray]:
    """For k bound arrays, the k - 1 sums between consecutive bounds, per entry.

    Bounds must be non-decreasing when read entry by entry. Each segment is
    summed by ``np.add.reduceat`` over exactly its rows, in order, so a sum
    does not depend on which other segments are asked for. When the segments
    cover few of the rows (3-month windows in a 5-year log), only those rows
    are gathered and summed. When the segments cover the array back to back,
    each entry's last bound is the next entry's first and is not passed.
    Bounds equal to ``len(values)`` are left out of the ``reduceat`` call, whose
    last segment then runs to the end of the array: no padded copy is needed.
    """
    k = len(bounds)
    m = bounds[0].shape[0]
    if m == 0:
        return [np.zeros(0) for _ in range(k - 1)]
    lengths = bounds[-1] - bounds[0]
    covered = int(lengths.sum())
    if 4 * covered < values.shape[0]:
        offsets = np.zeros(m, np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        shift = bounds[0] - offsets
        rows = np.arange(covered, dtype=np.int64)
        rows += np.repeat(shift, lengths)
        values = values[rows]
        bounds = tuple(b - shift for b in bounds)
    size = values.shape[0]
    tiled = (
        bounds[0][0] == 0
        and bounds[-1][-1] == size
        and np.array_equal(bounds[0][1:], bounds[-1][:-1])
    )
    used = bounds[:-1] if tiled else bounds
    w = len(used)
    flat = np.empty(w * m, np.int64)
    for j, b in enumerate(used):
        flat[j::w] = b
    usable = int(np.searchsorted(flat, size, side="left"))
    sums = np.zeros(w * m, np.float64)
    if usable:
        with np.errstate(over="ignore"):  # an overflowed total is refused by name later
            sums[:usable] = np.add.reduceat(values, flat[:usable])
    out = []
    for j in range(k - 1):
        part = sums if w == 1 else np.ascontiguousarray(sums[j::w])
        part[bounds[j] >= bounds[j + 1]] = 0.0
        out.append(part)
    return out


# The mergeable state builds on the definitions above; imported last so that it can.
from rfm_retention._feature_state import FeatureState  # noqa: E402
