"""patient_features on DuckDB, Polars and Dask equals the numpy path, column by column."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

import rfm_retention as rr
from engine_frames import (
    AS_OF,
    ENGINES,
    INT_ROWS,
    TEXT_ROWS,
    WINDOW,
    Row,
    assert_identical,
    duckdb_relation,
    numpy_features,
    polars_frame,
)
from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.features import FEATURE_COLUMNS, patient_features


def _check_engine(engine: str, rows: list[Row], as_of: Any, window: Any) -> None:
    source = ENGINES[engine](polars_frame(rows, int_ids=isinstance(rows[0][0], int)))
    assert_identical(numpy_features(rows, as_of, window),
                     rr.patient_features(source, as_of, window=window))


@pytest.mark.parametrize("engine", ["duckdb", "polars-eager", "polars-lazy"])
@settings(max_examples=25)
@given(rows=st.one_of(INT_ROWS, TEXT_ROWS), as_of=AS_OF, window=WINDOW)
def test_engine_equals_numpy(engine: str, rows: list[Row], as_of: Any, window: Any) -> None:
    """Random visit logs: DuckDB's and Polars' features are identical to the numpy path's."""
    _check_engine(engine, rows, as_of, window)


@settings(max_examples=6)  # each Dask compute schedules many small tasks
@given(rows=st.one_of(INT_ROWS, TEXT_ROWS), as_of=AS_OF, window=WINDOW)
def test_dask_equals_numpy(rows: list[Row], as_of: Any, window: Any) -> None:
    """Random visit logs: Dask's features are identical to the numpy path's."""
    _check_engine("dask", rows, as_of, window)


def test_segments_from_engine_features_equal_the_numpy_segments() -> None:
    """Segmentation fitted and assigned on DuckDB-computed features gives the numpy segments."""
    rng = np.random.default_rng(2)
    rows: list[Row] = [(int(p), dt.datetime(2023, 1, 1) + dt.timedelta(days=int(d)),
                        float(a), "", "") for p, d, a in
                       zip(rng.integers(0, 200, 3000), rng.integers(0, 700, 3000),
                           rng.integers(0, 4000, 3000) / 4, strict=True)]
    local = numpy_features(rows, "2024-12-31", None)
    remote = rr.patient_features(duckdb_relation(polars_frame(rows, int_ids=True)), "2024-12-31")
    segmenter = rr.eight_segments()
    a = segmenter.fit(local).assign(local)
    b = segmenter.fit(remote).assign(remote)
    assert np.array_equal(a.patient_id, b.patient_id)
    assert np.array_equal(a.segment, b.segment)
    assert np.array_equal(a.recency, b.recency)


def test_leap_day_three_month_windows_on_duckdb() -> None:
    """As of 2024-02-29 the last 3 months start after 2023-11-29: a visit on the 29th is out."""
    rows: list[Row] = [(1, dt.datetime(2023, 11, 29, 23), 10.0, "a", ""),
                       (1, dt.datetime(2023, 11, 30), 20.0, "b", ""),
                       (1, dt.datetime(2023, 8, 30), 5.0, "c", ""),
                       (1, dt.datetime(2023, 8, 29), 7.0, "d", "")]
    got = rr.patient_features(duckdb_relation(polars_frame(rows, int_ids=True)), "2024-02-29")
    assert got.visits_last_3_months.tolist() == [1]
    assert got.visits_prior_3_months.tolist() == [2]
    assert got.spend_prior_3_months.tolist() == [15.0]
    assert_identical(numpy_features(rows, "2024-02-29", None), got)


def test_same_second_visits_pick_the_numpy_last_department() -> None:
    """Visits sharing the last second: the department that sorts last by content wins."""
    t = dt.datetime(2024, 3, 1, 9)
    rows: list[Row] = [("p", t, 5.0, "zeta", ""), ("p", t, 9.0, "alpha", ""),
                       ("p", t, 9.0, "beta", "x")]
    for engine in sorted(ENGINES):
        got = rr.patient_features(ENGINES[engine](polars_frame(rows, int_ids=False)), "2024-03-01")
        assert got.last_department.tolist() == ["beta"], engine
        assert got.last_interval_days.tolist() == [0.0], engine


def test_arbitrary_amounts_agree_to_rounding() -> None:
    """Cents amounts: counts and days exact, spend equal up to float rounding."""
    import polars as pl

    rng = np.random.default_rng(5)
    n = 5_000
    frame = pl.DataFrame({
        "patient_id": rng.integers(0, 300, n),
        "visit_time": np.datetime64("2022-01-01T00:00:00")
        + rng.integers(0, 900 * 86_400, n).astype("timedelta64[s]").astype("timedelta64[us]"),
        "amount": np.round(rng.lognormal(4, 1, n), 2),
    })
    log = VisitLog.from_arrays(patient_id=frame["patient_id"].to_numpy(),
                               visit_time=frame["visit_time"].to_numpy(),
                               amount=frame["amount"].to_numpy())
    want = patient_features(log, "2024-02-29", window=relativedelta(years=1))
    got = rr.patient_features(frame.lazy(), "2024-02-29", window=relativedelta(years=1))
    for name in FEATURE_COLUMNS:
        a, b = getattr(want, name), getattr(got, name)
        if name.startswith("spend"):
            np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=name)
        else:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name


def test_table_name_query_and_mapping_on_a_duckdb_connection() -> None:
    """A table name or a query on a connection, with columns named by mapping."""
    import duckdb

    con = duckdb.connect()
    con.execute("create table v (pid varchar, seen date, paid double)")
    con.execute("insert into v values ('a', '2024-01-05', 100), ('a', '2024-03-05', 50),"
                " ('b', '2024-02-01', 80)")
    mapping = {"patient_id": "pid", "visit_time": "seen", "amount": "paid"}
    by_name = rr.patient_features("v", "2024-03-31", mapping=mapping, connection=con)
    by_query = rr.patient_features("select * from v where paid > 60", "2024-03-31",
                                   mapping=mapping, connection=con)
    assert by_name.days_since_last_visit.tolist() == [26, 59]
    assert by_name.spend_in_window.tolist() == [150.0, 80.0]
    assert by_query.total_visits.tolist() == [1, 1]


def test_bad_engine_rows_are_refused_naming_patients() -> None:
    """A negative amount on the engine is a ConfigError naming the patient, not a silent row."""
    rows: list[Row] = [("p1", dt.datetime(2024, 1, 1), -5.0, "", ""),
                       ("p2", dt.datetime(2024, 1, 1), 5.0, "", "")]
    with pytest.raises(ConfigError, match="p1"):
        rr.patient_features(polars_frame(rows, int_ids=False).lazy(), "2024-02-01")


def test_missing_column_and_text_times_are_clear_errors() -> None:
    """A table without the mapped column, or with text times, says which field is wrong."""
    import polars as pl

    frame = pl.DataFrame({"pid": [1], "visit_time": ["2024-01-01"], "amount": [1.0]})
    with pytest.raises(ConfigError, match="patient_id"):
        rr.patient_features(frame.lazy(), "2024-02-01")
    with pytest.raises(ConfigError, match="not a date or datetime"):
        rr.patient_features(frame.lazy(), "2024-02-01", mapping={"patient_id": "pid"})


def test_visits_after_as_of_only_leave_no_row() -> None:
    """A patient whose visits all come after as_of is not in the engine result either."""
    rows: list[Row] = [(1, dt.datetime(2024, 5, 1), 1.0, "", ""),
                       (2, dt.datetime(2024, 1, 1), 2.0, "", "")]
    got = rr.patient_features(polars_frame(rows, int_ids=True).lazy(), "2024-02-01")
    assert got.patient_id.tolist() == [2]
