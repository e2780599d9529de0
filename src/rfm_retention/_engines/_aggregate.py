"""The per-patient aggregation, once, over narwhals' lazy API.

The query the engine runs (and the only data it sends back, one row per
patient, plus one more for each extra visit sharing a patient's last second):

1. every visit gets flags for "on or before as_of" and for each window, all
   comparisons of its time with instants computed once in
   :class:`~rfm_retention.features._FeatureBounds`, so the engine never does
   calendar arithmetic;
2. a group-by per patient counts and sums those flags, and takes the first and
   last visit time;
3. the visits joined with their patient's last time give how many visits share
   the last day and the latest visit before it: the last interval;
4. the visits at the last second come back with their tie-break columns
   (amount, department, diagnosis, visit id), and numpy picks the one the
   numpy path would (the last in that order).

Sums are float64 additions in the engine's order: equal to the numpy path's
bit for bit whenever the additions are exact (whole amounts, halves, quarters)
and otherwise up to the last bits of rounding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from rfm_retention._engines._sources import to_lazy_visits
from rfm_retention.errors import ConfigError
from rfm_retention.features import (
    PatientFeatures,
    _assemble_features,
    _FeatureBounds,
    _midnight_after,
)

__all__ = ["engine_features"]

_EPOCH = dt.datetime(1970, 1, 1)
_COUNTS = ("n", "bad", "w", "l3", "p3")
_SUMS = ("wa", "l3a", "p3a")


def _instant(seconds: int) -> dt.datetime:
    """Seconds since 1970 as a naive datetime literal, held inside datetime's range."""
    low = int((dt.datetime.min - _EPOCH).total_seconds()) + 86_400
    high = int((dt.datetime.max - _EPOCH).total_seconds()) - 86_400
    return _EPOCH + dt.timedelta(seconds=min(max(seconds, low), high))


def per_patient_query(visits: Any, bounds: _FeatureBounds) -> Any:
    """The lazy query: one row per patient (more on last-second ties), columns as named above.

    ``visits`` is the LazyFrame of :func:`~rfm_retention._engines.to_lazy_visits`.
    """
    import narwhals as nw

    t, amount = nw.col("visit_time"), nw.col("amount")
    inside = (t < nw.lit(_instant(bounds.cutoff_seconds + 1))).fill_null(False)
    after3 = t >= nw.lit(_instant(_midnight_after(bounds.three)))
    after6 = t >= nw.lit(_instant(_midnight_after(bounds.six)))
    in_window = (
        inside
        if bounds.window_days is None
        else inside & (t >= nw.lit(_instant(_midnight_after(bounds.window_start))))
    )
    last3 = inside & after3
    prior3 = inside & after6 & ~after3
    bad = t.is_null() | amount.is_null() | amount.is_nan() | (amount < 0) | (
        amount == float("inf")
    )
    flagged = visits.with_columns(
        n=inside.cast(nw.Int64),
        bad=bad.cast(nw.Int64),
        w=in_window.cast(nw.Int64),
        wa=nw.when(in_window).then(amount).otherwise(0.0),
        l3=last3.cast(nw.Int64),
        l3a=nw.when(last3).then(amount).otherwise(0.0),
        p3=prior3.cast(nw.Int64),
        p3a=nw.when(prior3).then(amount).otherwise(0.0),
        tin=nw.when(inside).then(t),
    )
    totals = flagged.group_by("patient_id").agg(
        *(nw.col(c).sum() for c in (*_COUNTS, *_SUMS)),
        nw.col("tin").min().alias("first"),
        nw.col("tin").max().alias("last"),
    )
    totals = totals.with_columns(*(nw.col(c).cast(nw.Int64) for c in _COUNTS))
    seen = flagged.filter(inside).join(totals.select("patient_id", "last"), on="patient_id")
    last_day = nw.col("last").dt.truncate("1d")
    day = t.dt.truncate("1d")
    tails = (
        seen.with_columns(
            on_last=(day == last_day).cast(nw.Int64),
            before=nw.when(day < last_day).then(t),
        )
        .group_by("patient_id")
        .agg(nw.col("on_last").sum(), nw.col("before").max())
        .with_columns(nw.col("on_last").cast(nw.Int64))
    )
    last_rows = seen.filter(t == nw.col("last")).select(
        "patient_id",
        amount.alias("last_amount"),
        nw.col("department").alias("last_department"),
        nw.col("diagnosis").alias("last_diagnosis"),
        nw.col("visit_id").alias("last_visit_id"),
    )
    return totals.join(tails, on="patient_id", how="left").join(
        last_rows, on="patient_id", how="left"
    )


def _numpy(frame: Any, name: str) -> npt.NDArray[Any]:
    return np.asarray(frame[name].to_numpy())


def _days(times: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Day numbers of datetimes (NaT as a very small number, never used)."""
    as_days = np.asarray(times).astype("datetime64[s]").astype("datetime64[D]")
    return np.where(np.isnat(as_days), np.iinfo(np.int64).min // 2, as_days.view(np.int64))


def _ids(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Patient ids as the numpy path stores them: int64, or text."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.dtype.kind == "f":  # an integer column with nulls, as pandas/Dask hold it
        if np.isnan(values).any():
            raise ConfigError("visits: some rows have no patient_id")
        return values.astype(np.int64)
    if any(v is None or v != v for v in values.tolist()):
        raise ConfigError("visits: some rows have no patient_id")
    if values.size and all(isinstance(v, int | np.integer) for v in values.tolist()):
        return values.astype(np.int64)
    text = np.asarray([str(v) for v in values.tolist()], dtype=str)
    if (text == "").any():
        raise ConfigError("visits: some rows have an empty patient_id")
    return text if text.size else np.empty(0, "U1")


def _text(values: npt.NDArray[Any]) -> npt.NDArray[np.str_]:
    out = np.asarray(["" if v is None else str(v) for v in values.tolist()], dtype=str)
    return out if out.size else np.empty(0, "U1")


def engine_features(
    source: Any,
    bounds: _FeatureBounds,
    min_exposure_days: int,
    *,
    mapping: Mapping[str, str],
    connection: Any = None,
) -> PatientFeatures:
    """:func:`~rfm_retention.features.patient_features` computed on ``source``'s engine."""
    visits = to_lazy_visits(source, mapping, connection=connection)
    frame = per_patient_query(visits, bounds).collect()
    ids = _ids(_numpy(frame, "patient_id"))
    bad = _numpy(frame, "bad").astype(np.int64)
    if bad.any():
        examples = ids[bad > 0][:3].tolist()
        raise ConfigError(
            f"visits: {int(bad.sum())} row(s) of {int((bad > 0).sum())} patient(s) have a "
            f"missing time or a missing, NaN, infinite or negative amount, e.g. patients "
            f"{examples}; fix or filter them on the engine"
        )
    n = _numpy(frame, "n").astype(np.int64)
    keep = np.flatnonzero(n > 0)
    ids, n = ids[keep], n[keep]
    amount = _numpy(frame, "last_amount").astype(np.float64)[keep]
    department = _text(_numpy(frame, "last_department")[keep])
    diagnosis = _text(_numpy(frame, "last_diagnosis")[keep])
    visit_id = _text(_numpy(frame, "last_visit_id")[keep])
    # Same-second visits: the one the numpy path sorts last by its content wins.
    order = np.lexsort((visit_id, diagnosis, department, amount, ids))
    ids_sorted = ids[order]
    is_last = np.ones(ids_sorted.shape[0], bool)
    is_last[:-1] = ids_sorted[1:] != ids_sorted[:-1]
    rows = keep[order[is_last]]
    pick = order[is_last]

    def column(name: str, dtype: type) -> npt.NDArray[Any]:
        return _numpy(frame, name)[rows].astype(dtype)

    first = _days(_numpy(frame, "first")[rows])
    last = _days(_numpy(frame, "last")[rows])
    before = _days(_numpy(frame, "before")[rows])
    on_last = column("on_last", np.int64)
    return _assemble_features(
        bounds,
        min_exposure_days,
        patient_id=ids[pick],
        first=first,
        last=last,
        prev=np.where(on_last >= 2, last, before),
        total_visits=n[pick],
        visits_in_window=column("w", np.int64),
        spend_in_window=column("wa", np.float64),
        visits_last_3_months=column("l3", np.int64),
        visits_prior_3_months=column("p3", np.int64),
        spend_last_3_months=column("l3a", np.float64),
        spend_prior_3_months=column("p3a", np.float64),
        last_department=department[pick],
        last_diagnosis=diagnosis[pick],
    )
