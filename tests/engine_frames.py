"""Visit rows as frames of every engine the library runs features on (shared by engine tests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import numpy as np
import polars as pl
from dateutil.relativedelta import relativedelta
from hypothesis import strategies as st

import rfm_retention as rr
from rfm_retention.data import VisitLog
from rfm_retention.features import FEATURE_COLUMNS, PatientFeatures

Row = tuple[Any, dt.datetime, float, str, str]
COLUMNS = ("patient_id", "visit_time", "amount", "department", "diagnosis")


def polars_frame(rows: Sequence[Row], *, int_ids: bool) -> pl.DataFrame:
    """The rows as an eager Polars frame with the library's column names."""
    schema = {
        "patient_id": pl.Int64 if int_ids else pl.String,
        "visit_time": pl.Datetime("us"),
        "amount": pl.Float64,
        "department": pl.String,
        "diagnosis": pl.String,
    }
    return pl.DataFrame([list(r) for r in rows], schema=schema, orient="row")


def duckdb_relation(frame: pl.DataFrame) -> Any:
    """A DuckDB relation over the frame (on a fresh in-memory database)."""
    con = duckdb.connect()
    return con.from_arrow(frame.to_arrow())


def dask_frame(frame: pl.DataFrame) -> Any:
    """A two-partition Dask frame of the rows."""
    import dask.dataframe as dd

    return dd.from_pandas(frame.to_pandas(), npartitions=2)


ENGINES: dict[str, Callable[[pl.DataFrame], Any]] = {
    "duckdb": duckdb_relation,
    "polars-lazy": lambda f: f.lazy(),
    "polars-eager": lambda f: f,
    "dask": dask_frame,
}


# Month ends, the leap day and the days around them, where calendar windows bite.
_EDGE_DAYS = [dt.date(2024, 2, 29), dt.date(2024, 2, 28), dt.date(2024, 3, 1), dt.date(2023, 2, 28),
              dt.date(2024, 5, 31), dt.date(2024, 8, 31), dt.date(2024, 11, 30),
              dt.date(2023, 12, 31), dt.date(2024, 9, 1)]
_day = st.one_of(st.sampled_from(_EDGE_DAYS),
                 st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2024, 12, 31)))
_time = st.builds(lambda d, s: dt.datetime.combine(d, dt.time()) + dt.timedelta(seconds=s),
                  _day, st.sampled_from([0, 1, 3600, 43_200, 86_399]))
_text = st.sampled_from(["", "cardiology", "icu", "er"])
# Quarter amounts: every sum is exact in float64, so any engine's order gives the same bits.
_amount = st.integers(min_value=0, max_value=40_000).map(lambda q: q / 4)


def rows_of(ids: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Row]]:
    return st.lists(st.tuples(ids, _time, _amount, _text, _text), min_size=1, max_size=40)


INT_ROWS = rows_of(st.integers(min_value=1, max_value=6))
TEXT_ROWS = rows_of(st.sampled_from(["p1", "p2", "p3", "p10"]))
AS_OF = st.one_of(st.sampled_from(_EDGE_DAYS), _day,
                   _time.map(lambda t: t + dt.timedelta(seconds=7)))
WINDOW = st.one_of(st.none(), st.integers(min_value=1, max_value=500),
                    st.builds(relativedelta, months=st.integers(min_value=1, max_value=15)),
                    st.just(relativedelta(years=1)))


def numpy_features(rows: list[Row], as_of: Any, window: Any) -> PatientFeatures:
    """The reference: the same rows through a VisitLog."""
    log = VisitLog.from_arrays(
        patient_id=[r[0] for r in rows], visit_time=[r[1] for r in rows],
        amount=[r[2] for r in rows], department=[r[3] for r in rows],
        diagnosis=[r[4] for r in rows],
    )
    return rr.patient_features(log, as_of, window=window)


def assert_identical(expected: PatientFeatures, got: PatientFeatures) -> None:
    """Every column equal, NaN where NaN, same as_of and window length."""
    assert (got.as_of, got.window_days, len(got)) == (expected.as_of, expected.window_days,
                                                       len(expected))
    for name in FEATURE_COLUMNS:
        a, b = getattr(expected, name), getattr(got, name)
        assert a.dtype.kind == b.dtype.kind, name
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (name, a, b)
