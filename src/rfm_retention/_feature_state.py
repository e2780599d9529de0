"""A mergeable partial state of the feature aggregation, for chunks and nightly updates.

A :class:`FeatureState` holds, per patient, everything
:func:`~rfm_retention.features.patient_features` reads from the visits:

* totals over every visit: count, spend, first time, the last two times (with
  repeats, so two visits in the last second give an interval of 0) and the
  content of the last visit (amount, department, diagnosis, visit id: the
  tie-break order of the numpy path);
* one bucket per patient-day (visit count, spend), for the windows: the
  observation window and the two 3-month calendar windows are whole days.

Two states merge by adding counts and spends, taking the minimum and maximum
times, the larger last visit and the day-wise sum of buckets: the operation is
associative and commutative, so a state built from any split of the visits (a
time range, a patient shard, a file chunk, a worker's partition), merged in
any order, answers exactly what the state of all visits at once answers.

What a state can answer: ``features(as_of)`` needs every visit of the state on
or before ``as_of`` (totals cannot be taken apart again), and, for the
windows, the buckets of every day the windows cover. :meth:`FeatureState.compact`
drops the buckets that no later ``as_of`` can need and records the day it
kept from; asking for an older window afterwards is a clear
:class:`~rfm_retention.errors.ConfigError`, never a silently short count.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt
from dateutil.relativedelta import relativedelta

from rfm_retention._arrays import FloatArray, IntArray, TextArray
from rfm_retention.data._build import _packed_text
from rfm_retention.data._sources import VisitLog
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.features import PatientFeatures, _assemble_features, _FeatureBounds
from rfm_retention.time import SECONDS_PER_DAY, TimeLike, to_date

__all__ = ["FORMAT_VERSION", "FeatureState"]

FORMAT_VERSION: Final = 1
"""Version of the file :meth:`FeatureState.save` writes; :meth:`FeatureState.load` checks it."""

_FORMAT: Final = "rfm_retention.FeatureState"
_NONE: Final = np.iinfo(np.int64).min // 2  # "no time" for the second-to-last visit
_EVERY_DAY: Final = np.iinfo(np.int64).min // 4  # retained_after of a state that dropped nothing


_PATIENT_FIELDS = ("count", "spend", "first", "last", "second", "last_amount",
                   "last_department", "last_diagnosis", "last_visit_id")
_BUCKET_FIELDS = ("bucket_patient", "bucket_day", "bucket_count", "bucket_spend")


def _text(values: npt.NDArray[Any]) -> TextArray:
    return values if values.size else np.empty(0, "U1")


@attrs.frozen(eq=False)
class FeatureState:
    """Per-patient partial aggregates that merge into the one-pass result.

    Build one per chunk with :meth:`from_visits`, combine with :meth:`merge`
    (or ``a | b``), add a day's visits with :meth:`update`, read features with
    :meth:`features`, keep it between runs with :meth:`save` / :meth:`load`.
    Times are whole seconds since 1970 (``datetime64[s]`` as int64); days are
    day numbers. Patients are sorted by id.

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> jan = VisitLog.from_arrays(patient_id=[1, 2], amount=[10.0, 5.0],
        ...                            visit_time=["2024-01-05", "2024-01-20"])
        >>> feb = VisitLog.from_arrays(patient_id=[1], amount=[30.0],
        ...                            visit_time=["2024-02-01"])
        >>> state = FeatureState.from_visits(jan).update(feb)
        >>> f = state.features("2024-02-29")
        >>> f.total_visits.tolist(), f.spend_in_window.tolist(), f.last_interval_days.tolist()
        ([2, 1], [40.0, 5.0], [27.0, nan])
    """

    patient_id: IdArray
    count: IntArray
    spend: FloatArray
    first: IntArray
    last: IntArray
    second: IntArray
    last_amount: FloatArray
    last_department: TextArray
    last_diagnosis: TextArray
    last_visit_id: TextArray
    bucket_patient: IntArray
    bucket_day: IntArray
    bucket_count: IntArray
    bucket_spend: FloatArray
    retained_after: int = _EVERY_DAY
    """Day buckets are kept for days after this day number (every day when never compacted)."""

    # ------------------------------------------------------------------ building
    @classmethod
    def from_visits(
        cls, visits: Any, *, mapping: Mapping[str, str] | None = None
    ) -> FeatureState:
        """The state of one chunk of visits: a :class:`~rfm_retention.data.VisitLog`, or any
        frame :meth:`VisitLog.from_frame <rfm_retention.data.PatientTable.from_frame>` reads
        (pandas, Polars, Arrow, a DuckDB relation: a file chunk, an Arrow batch of a
        partition), validated on the way in; ``mapping`` as for ``from_frame``.

        Example:
            >>> from rfm_retention.data import VisitLog
            >>> log = VisitLog.from_arrays(patient_id=["a", "a"], amount=[1.0, 2.0],
            ...                            visit_time=["2024-01-01", "2024-01-01T10:00:00"])
            >>> FeatureState.from_visits(log).bucket_count.tolist()
            [2]
        """
        if not isinstance(visits, VisitLog):
            visits = VisitLog.from_frame(visits, mapping=mapping)
        elif mapping:
            raise ConfigError("mapping= is for frames; a VisitLog already has its fields")
        seconds = visits.time.view(np.int64)
        starts, ends = visits.group_starts[:-1], visits.group_starts[1:]
        n = ends - starts
        amount = visits.amount
        days = np.floor_divide(seconds, SECONDS_PER_DAY)
        new_bucket = np.ones(seconds.shape[0], bool)  # a new (patient, day) starts here
        if seconds.shape[0]:
            np.not_equal(days[1:], days[:-1], out=new_bucket[1:])
            new_bucket[starts] = True
        bucket_start = np.flatnonzero(new_bucket)
        del new_bucket
        bucket_count = _run_lengths(bucket_start, seconds.shape[0])
        per_patient = np.diff(np.append(np.searchsorted(bucket_start, starts), bucket_start.size))
        has_rows = seconds.shape[0] > 0
        return cls(
            patient_id=visits.patient_ids,
            count=n.astype(np.int64),
            spend=_total(amount, starts) if has_rows else np.zeros(0),
            first=seconds[starts],
            last=seconds[ends - 1],
            second=np.where(n >= 2, seconds[np.maximum(ends - 2, 0)], _NONE),
            last_amount=amount[ends - 1],
            last_department=_text(visits.department[ends - 1]),
            last_diagnosis=_text(visits.diagnosis[ends - 1]),
            last_visit_id=_text(visits.visit_id[ends - 1]),
            bucket_patient=np.repeat(np.arange(starts.shape[0], dtype=np.int64), per_patient),
            bucket_day=days[bucket_start],
            bucket_count=bucket_count,
            bucket_spend=_total(amount, bucket_start) if has_rows else np.zeros(0),
        )

    @classmethod
    def empty(cls) -> FeatureState:
        """The state of no visits: the identity of :meth:`merge`."""
        return cls.from_visits(VisitLog.empty())

    # ------------------------------------------------------------------ combining
    def merge(self, other: FeatureState) -> FeatureState:
        """The state of both chunks' visits together (associative and commutative).

        Example:
            >>> from rfm_retention.data import VisitLog
            >>> a = FeatureState.from_visits(VisitLog.from_arrays(
            ...     patient_id=[1], amount=[2.0], visit_time=["2024-03-01"]))
            >>> b = FeatureState.from_visits(VisitLog.from_arrays(
            ...     patient_id=[1, 3], amount=[4.0, 1.0], visit_time=["2024-03-02", "2024-03-02"]))
            >>> merged = a.merge(b)
            >>> merged.patient_id.tolist(), merged.count.tolist(), merged.spend.tolist()
            ([1, 3], [2, 1], [6.0, 1.0])
        """
        if not isinstance(other, FeatureState):
            raise ConfigError(f"FeatureState.merge needs a FeatureState, not {type(other)!r}")
        if len(self) and len(other) and (
            (self.patient_id.dtype.kind in "iu") != (other.patient_id.dtype.kind in "iu")
        ):
            raise ConfigError(
                "FeatureState.merge: patient ids are integers in one state and text in the other"
            )
        if not len(other):
            return attrs.evolve(self, retained_after=max(self.retained_after,
                                                          other.retained_after))
        if not len(self):
            return attrs.evolve(other, retained_after=max(self.retained_after,
                                                           other.retained_after))
        ids, at_a, at_b = _union(self.patient_id, other.patient_id)
        m = ids.shape[0]
        count = np.zeros(m, np.int64)
        spend = np.zeros(m)
        first = np.full(m, np.iinfo(np.int64).max)
        last = np.full(m, _NONE)
        second = np.full(m, _NONE)
        for at, s in ((at_a, self), (at_b, other)):
            count[at] += s.count
            spend[at] += s.spend
            first[at] = np.minimum(first[at], s.first)
            second[at] = np.maximum(np.maximum(second[at], s.second), np.minimum(last[at], s.last))
            last[at] = np.maximum(last[at], s.last)
        # The last visit: the later time wins, then the numpy path's content order.
        key_a, key_b = self._last_key(), other._last_key()
        keys = [np.full(m, _NONE), np.full(m, -np.inf)] + [
            np.full(m, "", dtype=np.result_type(a, b)) for a, b in zip(key_a[2:], key_b[2:],
                                                                      strict=True)
        ]
        for k, col in zip(keys, key_a, strict=True):
            k[at_a] = col
        wins = _lexicographic_greater(key_b, tuple(k[at_b] for k in keys))
        for k, col in zip(keys, key_b, strict=True):
            k[at_b[wins]] = col[wins]
        retained = max(self.retained_after, other.retained_after)
        buckets = _merged_buckets(
            np.concatenate([at_a[self.bucket_patient], at_b[other.bucket_patient]]),
            np.concatenate([self.bucket_day, other.bucket_day]),
            np.concatenate([self.bucket_count, other.bucket_count]),
            np.concatenate([self.bucket_spend, other.bucket_spend]),
            retained,
        )
        return FeatureState(
            ids, count, spend, first, last, second, keys[1], keys[2], keys[3], keys[4],
            *buckets, retained_after=retained,
        )

    def _last_key(self) -> tuple[npt.NDArray[Any], ...]:
        """The last visit's sort key: time, then amount, department, diagnosis, visit id."""
        return (self.last, self.last_amount, self.last_department, self.last_diagnosis,
                self.last_visit_id)

    def __or__(self, other: FeatureState) -> FeatureState:
        return self.merge(other)

    def update(
        self, new_visits: Any, *, mapping: Mapping[str, str] | None = None
    ) -> FeatureState:
        """This state with ``new_visits`` (a VisitLog or a frame, as for :meth:`from_visits`)
        added: the nightly job's step.

        Example:
            >>> from rfm_retention.data import VisitLog
            >>> day = VisitLog.from_arrays(patient_id=[5], amount=[9.0],
            ...                            visit_time=["2024-06-01"])
            >>> FeatureState.empty().update(day).count.tolist()
            [1]
        """
        return self.merge(FeatureState.from_visits(new_visits, mapping=mapping))

    def compact(
        self, as_of: TimeLike, *, window: int | relativedelta | None = None
    ) -> FeatureState:
        """Drop the day buckets no ``features(as_of2, window=window)`` with ``as_of2 >= as_of``
        can need: those on or before the earlier of the window's start and the start of the
        prior 3 months. Totals are kept whole, so later features stay exact.

        Example:
            >>> from rfm_retention.data import VisitLog
            >>> log = VisitLog.from_arrays(patient_id=[1, 1], amount=[1.0, 2.0],
            ...                            visit_time=["2020-01-01", "2024-06-01"])
            >>> small = FeatureState.from_visits(log).compact("2024-06-30")
            >>> small.bucket_count.tolist(), small.features("2024-07-01").total_visits.tolist()
            ([1], [2])
        """
        retained = max(self.retained_after, _needed_after(_FeatureBounds.of(as_of, window, 1)))
        keep = self.bucket_day > retained
        return attrs.evolve(
            self,
            bucket_patient=self.bucket_patient[keep],
            bucket_day=self.bucket_day[keep],
            bucket_count=self.bucket_count[keep],
            bucket_spend=self.bucket_spend[keep],
            retained_after=retained,
        )

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return int(self.patient_id.shape[0])

    @property
    def latest_visit(self) -> np.datetime64 | None:
        """The time of the state's latest visit (None for an empty state)."""
        if not len(self):
            return None
        return np.datetime64(int(self.last.max()), "s")

    def features(
        self,
        as_of: TimeLike,
        *,
        window: int | relativedelta | None = None,
        min_exposure_days: int = 365,
    ) -> PatientFeatures:
        """The features of every visit in the state, as :func:`patient_features` gives them.

        Raises ConfigError when the state holds a visit after ``as_of`` (its
        totals cannot be taken apart), or when a window reaches days the state
        no longer keeps (see :meth:`compact`).

        Example:
            >>> from rfm_retention.data import VisitLog
            >>> log = VisitLog.from_arrays(patient_id=["a"], amount=[5.0],
            ...                            visit_time=["2024-02-29"])
            >>> FeatureState.from_visits(log).features("2024-03-31").days_since_last_visit.tolist()
            [31]
        """
        bounds = _FeatureBounds.of(as_of, window, min_exposure_days)
        if len(self) and int(self.last.max()) > bounds.cutoff_seconds:
            raise ConfigError(
                f"FeatureState holds visits up to {self.latest_visit}, after as_of "
                f"{bounds.as_of_day}; a state answers only as_of on or after its latest visit "
                "(build features for an earlier date from the visits themselves)"
            )
        needed_after = _needed_after(bounds)
        if needed_after < self.retained_after:
            raise ConfigError(
                f"FeatureState keeps daily counts only after {to_date(self.retained_after)}; "
                f"features as of {bounds.as_of_day} with window={window!r} need the days after "
                f"{to_date(needed_after)}. Hint: compact with the widest window you will ask "
                "for, or rebuild the state from the visits"
            )
        m = len(self)
        who, day = self.bucket_patient, self.bucket_day

        def per_patient(mask: npt.NDArray[np.bool_]) -> tuple[IntArray, FloatArray]:
            counts = np.bincount(who[mask], weights=self.bucket_count[mask], minlength=m)
            spends = np.bincount(who[mask], weights=self.bucket_spend[mask], minlength=m)
            return counts.astype(np.int64), np.asarray(spends, np.float64)

        last3 = day > bounds.three
        prior3 = (day > bounds.six) & ~last3
        visits_last_3, spend_last_3 = per_patient(last3)
        visits_prior_3, spend_prior_3 = per_patient(prior3)
        if bounds.window_days is None:
            visits_in_window, spend_in_window = self.count, self.spend
        else:
            visits_in_window, spend_in_window = per_patient(day > bounds.window_start)
        last_day = np.floor_divide(self.last, SECONDS_PER_DAY)
        return _assemble_features(
            bounds,
            min_exposure_days,
            patient_id=self.patient_id,
            first=np.floor_divide(self.first, SECONDS_PER_DAY),
            last=last_day,
            prev=np.where(self.count >= 2, np.floor_divide(self.second, SECONDS_PER_DAY),
                          last_day),
            total_visits=self.count,
            visits_in_window=visits_in_window,
            spend_in_window=spend_in_window,
            visits_last_3_months=visits_last_3,
            visits_prior_3_months=visits_prior_3,
            spend_last_3_months=spend_last_3,
            spend_prior_3_months=spend_prior_3,
            last_department=self.last_department,
            last_diagnosis=self.last_diagnosis,
        )

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state to an ``.npz`` file (plain arrays and a versioned JSON header; no
        pickle), so the next run can :meth:`load` it.

        Example:
            ``state.save("features-state.npz")``, then ``FeatureState.load("features-state.npz")``.
        """
        header = {"format": _FORMAT, "version": FORMAT_VERSION,
                  "retained_after": int(self.retained_after)}
        arrays = {name: getattr(self, name) for name in
                  ("patient_id", *_PATIENT_FIELDS, *_BUCKET_FIELDS)}
        with open(path, "wb") as handle:
            np.savez(handle, header=np.array(json.dumps(header)), **arrays)  # fast: no zlib

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FeatureState:
        """Read a state written by :meth:`save`; ConfigError for another file or version.

        Example:
            ``state = FeatureState.load("features-state.npz").update(todays_visits)``
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                arrays = {name: data[name] for name in data.files if name != "header"}
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"{os.fspath(path)}: not a FeatureState file ({exc})") from None
        if header.get("format") != _FORMAT:
            raise ConfigError(f"{os.fspath(path)}: not a FeatureState file")
        if header.get("version") != FORMAT_VERSION:
            raise ConfigError(
                f"{os.fspath(path)}: FeatureState format version {header.get('version')}, this "
                f"library reads version {FORMAT_VERSION}; rebuild the state from the visits"
            )
        missing = {"patient_id", *_PATIENT_FIELDS, *_BUCKET_FIELDS} - set(arrays)
        if missing:
            raise ConfigError(f"{os.fspath(path)}: FeatureState file lacks {sorted(missing)}")
        return cls(**arrays, retained_after=int(header["retained_after"]))


def _needed_after(bounds: _FeatureBounds) -> int:
    """The day after which features with these bounds read day buckets (windows and the
    prior 3 months); later as_of dates start their windows no earlier."""
    if bounds.window_days is None:
        return bounds.six
    return min(bounds.six, bounds.window_start)


def _union(
    left: IdArray, right: IdArray
) -> tuple[IdArray, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The sorted union of two sorted, distinct id arrays, and where each one's ids are in
    it. A stable sort of the two sorted runs side by side is one linear merge; short
    text ids are compared as packed integers ordered like the text."""
    both = np.concatenate([left, right])
    packed = _packed_text(both) if both.dtype.kind in "US" else None
    keys = both if packed is None else packed
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.ones(ordered.shape[0], bool)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    codes = np.empty(ordered.shape[0], np.int64)
    codes[order] = np.cumsum(first) - 1
    return both[order[first]], codes[: left.shape[0]], codes[left.shape[0] :]


def _lexicographic_greater(
    left: tuple[npt.NDArray[Any], ...], right: tuple[npt.NDArray[Any], ...]
) -> npt.NDArray[np.bool_]:
    """Per entry, whether the key ``left`` sorts strictly after ``right`` (first column first)."""
    greater = np.zeros(left[0].shape[0], bool)
    equal = np.ones(left[0].shape[0], bool)
    for a, b in zip(left, right, strict=True):
        greater |= equal & (a > b)
        equal &= a == b
    return greater


def _merged_buckets(
    patient: IntArray, day: IntArray, count: IntArray, spend: FloatArray, retained_after: int
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """Buckets of the same patient-day added up, sorted by (patient, day); days on or before
    ``retained_after`` dropped."""
    keep = day > retained_after
    patient, day, count, spend = patient[keep], day[keep], count[keep], spend[keep]
    if not patient.shape[0]:
        return patient, day, count, spend
    order = np.lexsort((day, patient))
    patient, day, count, spend = patient[order], day[order], count[order], spend[order]
    new = np.ones(patient.shape[0], bool)
    new[1:] = (patient[1:] != patient[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(new)
    return (patient[starts], day[starts], np.add.reduceat(count, starts),
            _total(spend, starts))


def _run_lengths(starts: npt.NDArray[np.intp], n: int) -> npt.NDArray[np.int64]:
    """The lengths of the runs of ``n`` rows that begin at ``starts`` (sorted, from 0),
    made in the one array they are (no appended copy of the starts)."""
    lengths = np.empty(starts.shape[0], np.int64)
    if starts.shape[0]:
        np.subtract(starts[1:], starts[:-1], out=lengths[:-1])
        lengths[-1] = n - starts[-1]
    return lengths


def _total(
    values: npt.NDArray[np.float64], starts: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Segment sums of spend; an overflowed total is refused by patient when features are
    assembled, so numpy's overflow warning is silenced here."""
    with np.errstate(over="ignore"):
        out: npt.NDArray[np.float64] = np.add.reduceat(values, starts)
    return out
