"""patient_features on PySpark (local mode) equals the numpy path, column by column."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rfm_retention as rr
from engine_frames import (
    AS_OF,
    INT_ROWS,
    TEXT_ROWS,
    WINDOW,
    Row,
    assert_identical,
    numpy_features,
    polars_frame,
)


def _spark_frame(spark: Any, rows: list[Row], *, int_ids: bool) -> Any:
    return spark.createDataFrame(polars_frame(rows, int_ids=int_ids).to_arrow())


@settings(max_examples=5, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.one_of(INT_ROWS, TEXT_ROWS), as_of=AS_OF, window=WINDOW)
def test_spark_equals_numpy(spark: Any, rows: list[Row], as_of: Any, window: Any) -> None:
    """Random visit logs: Spark's features are identical to the numpy path's."""
    source = _spark_frame(spark, rows, int_ids=isinstance(rows[0][0], int))
    assert_identical(numpy_features(rows, as_of, window),
                     rr.patient_features(source, as_of, window=window))


def test_spark_leap_day_ties_and_mapping(spark: Any) -> None:
    """Leap-day as_of, same-second ties and renamed columns on a Spark table."""
    t = dt.datetime(2024, 2, 29, 9)
    rows: list[Row] = [("p", t, 5.0, "zeta", ""), ("p", t, 9.0, "beta", "x"),
                       ("p", dt.datetime(2023, 11, 29, 23), 1.0, "a", ""),
                       ("q", dt.datetime(2023, 11, 30), 2.0, "b", "")]
    frame = _spark_frame(spark, rows, int_ids=False).withColumnRenamed("patient_id", "PATIENT")
    got = rr.patient_features(frame, "2024-02-29", mapping={"patient_id": "PATIENT"})
    assert got.last_department.tolist() == ["beta", "b"]
    assert got.visits_last_3_months.tolist() == [2, 1]
    assert_identical(numpy_features(rows, "2024-02-29", None), got)


@pytest.mark.parametrize("window", [None, 90])
def test_spark_sql_view(spark: Any, window: Any) -> None:
    """A Spark SQL query result (a DataFrame from spark.sql) works like any Spark frame."""
    rows: list[Row] = [(1, dt.datetime(2024, 1, 5), 100.0, "", ""),
                       (1, dt.datetime(2024, 3, 5), 50.0, "", ""),
                       (2, dt.datetime(2024, 2, 1), 80.0, "", "")]
    _spark_frame(spark, rows, int_ids=True).createOrReplaceTempView("visits_view")
    got = rr.patient_features(spark.sql("select * from visits_view"), "2024-03-31", window=window)
    assert_identical(numpy_features(rows, "2024-03-31", window), got)
