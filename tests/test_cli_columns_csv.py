"""Bulk CSV writing gives exactly the file the cell-by-cell writer gives for the same rows."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.cli._columns_csv import column_cells, write_columns
from rfm_retention.cli._common import columns_to_rows, write_csv


def _cell_by_cell(columns: dict[str, Any], decimals: int) -> str:
    cells: dict[str, Any] = {}
    for name, values in columns.items():
        if values.dtype.kind == "f":
            with np.errstate(over="ignore", invalid="ignore"):
                rounded = np.round(values, decimals).astype(object)
            rounded[np.isnan(values)] = None
            cells[name] = rounded
        elif values.dtype.kind == "M":
            cells[name] = np.array([None if v is None else v for v in values.tolist()], object)
        else:
            cells[name] = values
    out = io.StringIO()
    header, rows = columns_to_rows(cells)
    write_csv("-", header, rows, stdout=out)
    return out.getvalue()


@given(st.lists(st.tuples(
    st.floats(allow_infinity=False, width=64) | st.just(float("nan")),
    st.integers(-(2**62), 2**62),
    st.text(alphabet='ab,"\n=+-@\' 1.', max_size=6),
    st.integers(-1000, 30000),
), min_size=1, max_size=40))
def test_bulk_writer_matches_the_cell_by_cell_writer(rows: list[tuple[Any, ...]]) -> None:
    """Floats (rounded, NaN empty), ints, dates and formula-like or quoted text come out alike."""
    columns = {
        "x": np.array([r[0] for r in rows], np.float64),
        "n": np.array([r[1] for r in rows], np.int64),
        "t": np.array([r[2] for r in rows], dtype=str),
        "d": np.array([r[3] for r in rows], "datetime64[D]"),
    }
    columns["d"][0] = np.datetime64("NaT")
    out = io.StringIO()
    write_columns("-", columns, decimals=9, stdout=out)
    assert out.getvalue() == _cell_by_cell(columns, 9)


@given(st.lists(st.tuples(
    st.floats(min_value=-1e7, max_value=1e7) | st.sampled_from([0.0, -0.0, 1e-4, 9.9e-5]),
    st.booleans(),
    st.text(alphabet="aé,ü=\"\u4e2d -", max_size=5),
    st.integers(-(2**35), 2**35),  # seconds: years 881 to 3058
), min_size=1, max_size=40))
def test_bulk_writer_matches_for_decimals_flags_unicode_and_instants(
    rows: list[tuple[Any, ...]]
) -> None:
    """Floats near the digit-by-digit limits, flags, non-ASCII text and instants come out alike."""
    columns = {
        "x": np.array([r[0] for r in rows], np.float64),
        "raw": np.array([r[0] / 3 for r in rows], np.float64),
        "flag": np.array([r[1] for r in rows]),
        "t": np.array([r[2] for r in rows], dtype=str),
        "at": np.array([r[3] for r in rows], "datetime64[s]"),
    }
    for decimals in (9, 2):
        out = io.StringIO()
        write_columns("-", columns, decimals=decimals, stdout=out)
        assert out.getvalue() == _cell_by_cell(columns, decimals)


def test_dates_are_written_as_numpy_writes_them_in_every_year() -> None:
    """Days and seconds from year 1 to 9999 come out as numpy's ISO text (a space before
    the time); NaT is empty, and a year outside 1-9999 still gets numpy's text."""
    from rfm_retention.cli._cell_bytes import date_cells

    days = np.datetime64("0001-01-01") + np.arange(0, 3_652_059, 97).astype("timedelta64[D]")
    days = np.concatenate((days, np.array(["9999-12-31", "NaT"], "datetime64[D]")))
    expected = [t if t != "NaT" else "" for t in days.astype(str).tolist()]
    assert column_cells(days).texts() == expected
    seconds = days.astype("datetime64[s]") + np.arange(days.shape[0]).astype("timedelta64[s]")
    expected = [t.replace("T", " ") if t != "NaT" else "" for t in seconds.astype(str).tolist()]
    assert column_cells(seconds).texts() == expected
    far = np.array(["10000-01-01", "-0001-01-01"], "datetime64[D]")
    assert date_cells(far) is None
    assert column_cells(far).texts() == far.astype(str).tolist()


def test_floats_are_written_as_repr_writes_them() -> None:
    """Rounded and raw floats of every magnitude, signs and the fast path's edges come out
    exactly as ``repr``."""
    rng = np.random.default_rng(11)
    raw = rng.lognormal(0, 6, 20_000) * rng.choice([-1.0, 1.0], 20_000)
    edges = np.array([2.0**22, 2.0**22 - 2.0**-30, 4194303.999999999, 1e-4, 9.999999999e-5,
                      0.0, -0.0, 1e-9, 123456.000000001, np.inf, -np.inf])
    for values in (raw, np.round(raw, 9), np.round(raw, 2), edges, np.nextafter(edges, 0)):
        assert column_cells(values).texts() == [repr(v) for v in values.tolist()]
