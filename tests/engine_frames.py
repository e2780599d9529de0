"""Visit rows as frames of every engine the library runs features on (shared by engine tests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import polars as pl

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
