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
from engine_frames import ENGINES, Row, duckdb_relation, polars_frame
from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.features import FEATURE_COLUMNS, PatientFeatures, patient_features

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


def _rows(ids: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Row]]:
    return st.lists(st.tuples(ids, _time, _amount, _text, _text), min_size=1, max_size=40)


_int_rows = _rows(st.integers(min_value=1, max_value=6))
_text_rows = _rows(st.sampled_from(["p1", "p2", "p3", "p10"]))
_as_of = st.one_of(st.sampled_from(_EDGE_DAYS), _day,
                   _time.map(lambda t: t + dt.timedelta(seconds=7)))
_window = st.one_of(st.none(), st.integers(min_value=1, max_value=500),
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


@pytest.mark.parametrize("engine", sorted(ENGINES))
@settings(max_examples=40)
@given(rows=st.one_of(_int_rows, _text_rows), as_of=_as_of, window=_window)
def test_engine_equals_numpy(engine: str, rows: list[Row], as_of: Any, window: Any) -> None:
    """Random visit logs: every engine's features are identical to the numpy path's."""
    int_ids = isinstance(rows[0][0], int)
    source = ENGINES[engine](polars_frame(rows, int_ids=int_ids))
    assert_identical(numpy_features(rows, as_of, window),
                     rr.patient_features(source, as_of, window=window))


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
