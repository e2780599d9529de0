"""DataFrames in and out: one place that turns columns into pandas, Polars or Arrow tables,
and DataFrames or Arrow tables into numpy columns.

Out: every result that can list itself as columns (``to_columns()``) gets
``to_pandas()``, ``to_polars()`` and ``to_arrow()`` from :class:`FrameViews`,
with the same dtype rules everywhere: dates stay dates (``datetime64[D]``,
Polars ``Date``, Arrow ``date32``), instants stay instants, integer ids stay
integers and text ids text, and the columns a result names in
``FRAME_CATEGORIES`` (levels, segments, reasons) become categoricals. Numeric
columns are handed over without a copy where the library allows it.

In: :func:`frame_columns` reads pandas and Polars DataFrames, pyarrow Tables,
DuckDB relations and anything that speaks the Arrow PyCapsule stream
interface (``__arrow_c_stream__``), or that narwhals understands, as one
numpy array per column (no copy for numeric columns without nulls).
Timezone-aware times become naive UTC, like every other time in the library.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from rfm_retention._optional import import_optional, import_pandas
from rfm_retention.errors import ConfigError

__all__ = [
    "FrameViews",
    "frame_columns",
    "is_frame",
    "to_arrow",
    "to_pandas",
    "to_polars",
]

Columns = Mapping[str, Any]


# ---------------------------------------------------------------- out
def _as_numpy(values: Any) -> npt.NDArray[Any]:
    """One output column as a numpy array: lists of dates become ``datetime64[D]``, lists of
    text an object array (so no fixed-width copy is made), arrays stay as they are."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "T":
            return values.astype(object)
        if values.dtype.kind == "M" and np.datetime_data(values.dtype)[0] in ("Y", "M", "W"):
            return values.astype("datetime64[D]")  # months as their first day: a frame date
        return values
    items = list(values)
    present = [v for v in items if v is not None]
    if present and all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in present):
        return np.array([np.datetime64("NaT") if v is None else v for v in items], "datetime64[D]")
    if present and all(isinstance(v, dt.datetime) for v in present):
        return np.array([np.datetime64("NaT") if v is None else v for v in items], "datetime64[s]")
    if any(isinstance(v, str) for v in present) or any(v is None for v in items):
        return _objects(items)
    return np.asarray(items)


def _objects(items: list[Any]) -> npt.NDArray[Any]:
    """``items`` as an object array, each item kept as it is (no fixed-width text copy, no
    nesting of sequences into a second dimension)."""
    out = np.empty(len(items), object)
    out[:] = items
    return out


def _frame_columns_out(
    columns: Columns, categories: Iterable[str]
) -> Iterator[tuple[str, npt.NDArray[Any], bool]]:
    """(name, numpy array, whether it becomes a categorical) of every output column: what
    each frame library's converter starts from."""
    wanted = set(categories)
    for name, values in columns.items():
        yield name, _as_numpy(values), name in wanted


def to_pandas(
    columns: Columns, *, categories: Iterable[str] = (), purpose: str = "to_pandas"
) -> Any:
    """A pandas DataFrame of ``columns`` (numeric columns not copied).

    Example:
        >>> import numpy as np
        >>> df = to_pandas({"id": np.array([1, 2]), "level": ["high", "low"]},
        ...                categories=["level"])
        >>> [str(t) for t in df.dtypes]
        ['int64', 'category']
    """
    pd = import_pandas(purpose)
    data: dict[str, Any] = {}
    for name, arr, category in _frame_columns_out(columns, categories):
        if arr.dtype.kind == "U":
            arr = arr.astype(object)
        data[name] = pd.Categorical(arr) if category else arr
    return pd.DataFrame(data, copy=False)


def to_polars(
    columns: Columns, *, categories: Iterable[str] = (), purpose: str = "to_polars"
) -> Any:
    """A Polars DataFrame of ``columns`` (dates as ``Date``, categories as ``Categorical``).

    Example:
        >>> import numpy as np
        >>> df = to_polars({"day": np.array(["2024-01-02"], "datetime64[D]"), "n": [3]})
        >>> [str(t) for t in df.dtypes]
        ['Date', 'Int64']
    """
    pl = import_optional("polars", "polars", purpose)
    series = []
    for name, arr, category in _frame_columns_out(columns, categories):
        if arr.dtype.kind == "M" and np.datetime_data(arr.dtype)[0] == "s":
            arr = arr.astype("datetime64[ms]")  # Polars has no seconds resolution
        column = pl.Series(name, arr.tolist() if arr.dtype.kind == "O" else arr)
        if category:
            column = column.cast(pl.Utf8).cast(pl.Categorical)
        series.append(column)
    return pl.DataFrame(series)


def to_arrow(
    columns: Columns, *, categories: Iterable[str] = (), purpose: str = "to_arrow"
) -> Any:
    """A pyarrow Table of ``columns`` (dates as ``date32``, categories dictionary-encoded).

    Example:
        >>> import numpy as np
        >>> t = to_arrow({"day": np.array(["2024-01-02"], "datetime64[D]"), "id": ["a"]},
        ...              categories=["id"])
        >>> [str(t) for t in t.schema.types]
        ['date32[day]', 'dictionary<values=string, indices=int32, ordered=0>']
    """
    pa = import_optional("pyarrow", "arrow", purpose)
    arrays: dict[str, Any] = {}
    for name, arr, category in _frame_columns_out(columns, categories):
        if arr.dtype.kind == "O":
            column = pa.array(arr.tolist())
        elif arr.dtype.kind == "f":
            column = pa.array(arr, from_pandas=False)
        else:
            column = pa.array(arr)
        if category:
            column = column.cast(pa.string()).dictionary_encode()
        arrays[name] = column
    return pa.table(arrays)


class FrameViews:
    """``to_pandas()``, ``to_polars()`` and ``to_arrow()`` for a result with ``to_columns()``.

    A result class inherits this and, where it has level/segment/reason
    columns, names them in ``FRAME_CATEGORIES``; every DataFrame view of every
    result then follows the same dtype rules (see the module docstring).
    """

    __slots__ = ()
    FRAME_CATEGORIES: ClassVar[Sequence[str]] = ()

    def _frame_columns(self) -> Columns:
        columns: Columns = self.to_columns()  # type: ignore[attr-defined]
        return columns

    def _view(self, convert: Callable[..., Any], method: str) -> Any:
        """The result's columns through one of the converters above, named for its errors."""
        return convert(
            self._frame_columns(),
            categories=self.FRAME_CATEGORIES,
            purpose=f"{type(self).__name__}.{method}",
        )

    def to_pandas(self) -> Any:
        """The result as a pandas DataFrame (needs pandas: ``pip install 'rfm-retention[pandas]'``).
        """
        return self._view(to_pandas, "to_pandas")

    def to_polars(self) -> Any:
        """The result as a Polars DataFrame (needs polars: ``pip install 'rfm-retention[polars]'``).
        """
        return self._view(to_polars, "to_polars")

    def to_arrow(self) -> Any:
        """The result as a pyarrow Table (needs pyarrow: ``pip install 'rfm-retention[arrow]'``).
        """
        return self._view(to_arrow, "to_arrow")


# ---------------------------------------------------------------- in
_FRAME_MODULES = frozenset({"pandas", "polars", "pyarrow", "duckdb", "narwhals", "modin", "dask"})


def is_frame(value: Any) -> bool:
    """Whether ``value`` is a DataFrame-like table (pandas, Polars, Arrow, DuckDB, ...).

    Example:
        >>> is_frame({"patient_id": [1]}), is_frame([1, 2])
        (False, False)
    """
    module = type(value).__module__.split(".")[0]
    return module in _FRAME_MODULES or hasattr(value, "__arrow_c_stream__")


def frame_columns(frame: Any, names: Mapping[str, str]) -> dict[str, npt.NDArray[Any]]:
    """``{field: numpy column}`` for each ``field: frame column`` in ``names`` the frame has.

    Example:
        >>> import pandas as pd
        >>> cols = frame_columns(pd.DataFrame({"PID": [3, 4], "x": [0, 0]}), {"patient_id": "PID"})
        >>> {k: v.tolist() for k, v in cols.items()}
        {'patient_id': [3, 4]}
    """
    module = type(frame).__module__.split(".")[0]
    if module == "pandas":
        return _from_pandas(frame, names)
    if module == "polars":
        return _from_polars(frame.collect() if hasattr(frame, "collect") else frame, names)
    if module == "pyarrow":
        return _from_arrow(frame, names)
    if module == "duckdb":
        table = frame.arrow()  # a Table, or a RecordBatchReader in newer DuckDB releases
        return _from_arrow(table.read_all() if hasattr(table, "read_all") else table, names)
    if hasattr(frame, "__arrow_c_stream__"):
        pa = import_optional("pyarrow", "arrow", "from_frame on an Arrow stream")
        return _from_arrow(pa.table(frame), names)
    if module in _FRAME_MODULES:
        nw = import_optional("narwhals", "narwhals", f"from_frame on a {module} frame")
        native = nw.from_native(frame)
        if hasattr(native, "collect"):
            native = native.collect()
        return _from_arrow(native.to_arrow(), names)
    raise ConfigError(
        f"from_frame needs a pandas/Polars DataFrame, an Arrow table or a DuckDB relation, "
        f"not {type(frame).__name__}; for a mapping of columns use from_columns"
    )


def _present(available: Iterable[str], names: Mapping[str, str]) -> dict[str, str]:
    have = set(available)
    return {field: column for field, column in names.items() if column in have}


def _from_pandas(frame: Any, names: Mapping[str, str]) -> dict[str, npt.NDArray[Any]]:
    out: dict[str, npt.NDArray[Any]] = {}
    for field, column in _present(frame.columns, names).items():
        series = frame[column]
        tz = getattr(series.dtype, "tz", None)
        if tz is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        kind = getattr(series.dtype, "kind", "O")
        if str(series.dtype) in ("Int64", "Int32", "Float64", "boolean") and series.isna().any():
            out[field] = series.to_numpy(dtype=object, na_value=None)
        elif kind in "iufbM":
            out[field] = series.to_numpy(copy=False)
        else:
            out[field] = series.to_numpy(dtype=object)
    return out


def _from_polars(frame: Any, names: Mapping[str, str]) -> dict[str, npt.NDArray[Any]]:
    pl = import_optional("polars", "polars", "from_frame on a Polars DataFrame")
    out: dict[str, npt.NDArray[Any]] = {}
    for field, column in _present(frame.columns, names).items():
        series = frame.get_column(column)
        if isinstance(series.dtype, pl.Datetime) and series.dtype.time_zone is not None:
            series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        if series.dtype.is_numeric() or series.dtype in (pl.Date, pl.Boolean) or isinstance(
            series.dtype, pl.Datetime
        ):
            if series.null_count() and series.dtype.is_integer():
                out[field] = np.array(series.to_list(), dtype=object)
            else:
                out[field] = series.to_numpy()
        else:
            out[field] = _objects(series.cast(pl.Utf8).to_list())
    return out


def _from_arrow(table: Any, names: Mapping[str, str]) -> dict[str, npt.NDArray[Any]]:
    pa = import_optional("pyarrow", "arrow", "from_frame on an Arrow table")
    out: dict[str, npt.NDArray[Any]] = {}
    for field, column in _present(table.column_names, names).items():
        chunked = table.column(column)
        kind = chunked.type
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            chunked = chunked.cast(pa.timestamp(kind.unit))  # Arrow keeps UTC underneath
            kind = chunked.type
        numeric = (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                   or pa.types.is_timestamp(kind) or pa.types.is_date(kind)
                   or pa.types.is_boolean(kind))
        if numeric and not (chunked.null_count and pa.types.is_integer(kind)):
            out[field] = chunked.to_numpy()
        else:
            out[field] = _objects(chunked.to_pylist())
    return out
