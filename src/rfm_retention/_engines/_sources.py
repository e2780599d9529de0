"""Engine tables in, one narwhals LazyFrame of visits out, with the library's column names.

Each field of the visits schema is looked up under its mapped name, given the
type the numpy path stores (integer or text ids, naive-UTC times, float
amounts, stripped text with '' for missing), so that the aggregation that
follows sees the same values a :class:`~rfm_retention.data.VisitLog` would.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from rfm_retention._optional import import_optional
from rfm_retention.errors import ConfigError

__all__ = ["ENGINE_MODULES", "FIELDS", "is_engine_source", "to_lazy_visits"]

ENGINE_MODULES = ("duckdb", "polars", "pyspark", "dask", "pandas", "pyarrow", "narwhals")
"""Top-level packages whose frames are accepted (pandas and pyarrow run eagerly, as Polars)."""

FIELDS = ("patient_id", "visit_time", "amount", "department", "diagnosis", "visit_id")
_REQUIRED = ("patient_id", "visit_time", "amount")
_TEXT = ("department", "diagnosis", "visit_id")


def is_engine_source(source: object) -> bool:
    """True for a DuckDB, Polars, PySpark, Dask (or pandas/pyarrow) frame, or SQL text.

    Example:
        >>> is_engine_source("select * from visits"), is_engine_source([1, 2])
        (True, False)
    """
    if isinstance(source, str):
        return True
    root = type(source).__module__.split(".")[0]
    return root in ENGINE_MODULES


def _duckdb_relation(source: str, connection: Any) -> Any:
    """A DuckDB relation for a table name or a query on ``connection``."""
    duckdb = import_optional("duckdb", "duckdb", "patient_features on a DuckDB table or query")
    con = connection if connection is not None else duckdb.default_connection()
    text = source.strip()
    is_query = any(ch.isspace() for ch in text) or text.lower().startswith(("select", "with"))
    try:
        return con.sql(text) if is_query else con.table(text)
    except duckdb.Error as exc:
        raise ConfigError(f"DuckDB could not read {text!r}: {exc}") from None


def to_lazy_visits(
    source: Any, mapping: Mapping[str, str], *, connection: Any = None, fill_absent: bool = True
) -> Any:
    """A narwhals LazyFrame with columns ``FIELDS`` (missing optional text as '').

    With ``fill_absent=False`` an optional field the table lacks is left out
    instead of filled with '' (what a local :class:`~rfm_retention.data.VisitLog`
    reads as "the host has no such column").

    Raises ConfigError for an unknown field in ``mapping``, a missing required
    column, or a column of the wrong type (text times, for example).
    """
    nw = import_optional("narwhals", "narwhals", "patient_features on a dataframe engine")
    unknown = set(mapping) - set(FIELDS)
    if unknown:
        raise ConfigError(
            f"visits: mapping names unknown field(s) {sorted(unknown)}; fields are {list(FIELDS)}"
        )
    native = _duckdb_relation(source, connection) if isinstance(source, str) else source
    with warnings.catch_warnings():
        # Narwhals announces a future split of its Dask backend; the backend works as is.
        warnings.filterwarnings("ignore", message=".*narwhals-dask.*", category=FutureWarning)
        try:
            frame = nw.from_native(native)
        except TypeError:
            raise ConfigError(
                f"patient_features: cannot read visits from a {type(source).__name__}; give a "
                "VisitLog, a DuckDB relation, table name or query, a Polars, PySpark or Dask "
                "DataFrame"
            ) from None
        lazy = frame.lazy()
    schema = dict(lazy.collect_schema())
    columns = []
    for field in FIELDS:
        name = mapping.get(field, field)
        if name not in schema:
            if field in _REQUIRED or field in mapping:
                raise ConfigError(
                    f"visits: no column {name!r} for field {field!r}; the table has "
                    f"{sorted(schema)}. Hint: mapping={{{field!r}: 'COLUMN'}}"
                )
            if fill_absent:
                columns.append(nw.lit("").alias(field))
            continue
        columns.append(_typed(nw, nw.col(name), schema[name], field, name).alias(field))
    return lazy.select(*columns)


def _typed(nw: Any, col: Any, dtype: Any, field: str, name: str) -> Any:
    """``col`` converted to the type the numpy path stores for ``field``."""
    if field == "visit_time":
        if dtype == nw.Date:
            return col.cast(nw.Datetime("us"))
        if isinstance(dtype, nw.Datetime):
            if dtype.time_zone is not None:
                col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            return col.dt.truncate("1s")  # the numpy path keeps whole seconds
        raise ConfigError(
            f"visits: column {name!r} (visit_time) is {dtype}, not a date or datetime; "
            "parse it on the engine first (e.g. CAST(... AS TIMESTAMP))"
        )
    if field == "amount":
        if not dtype.is_numeric():
            raise ConfigError(f"visits: column {name!r} (amount) is {dtype}, not a number")
        return col.cast(nw.Float64)
    if field == "patient_id":
        if dtype.is_integer():
            return col.cast(nw.Int64)
        if dtype == nw.String:
            return col.str.strip_chars()
        raise ConfigError(
            f"visits: column {name!r} (patient_id) is {dtype}; ids are integers or text"
        )
    return col.cast(nw.String).fill_null("").str.strip_chars()
