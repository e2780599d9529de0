"""Writing a table of columns as CSV in bulk: each column is formatted a block of rows at a
time (so memory stays bounded whatever the row count), and only the text cells that need it
go through the cell-by-cell rules.

The result is the file :func:`~rfm_retention.cli._common.write_csv` writes for
the same rows (numbers in their shortest form, NaN and NaT as empty cells,
formula-safe text through :func:`~rfm_retention.cli._common.safe_cell`, quoting
as the :mod:`csv` module does it), without one Python call per cell.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from rfm_retention.cli._cell_bytes import (
    Cells,
    date_cells,
    float_cells,
    int_cells,
    join_lines,
    text_cells_bytes,
)
from rfm_retention.cli._common import safe_cell
from rfm_retention.data._arrow_csv import arrow_available

__all__ = ["column_cells", "write_columns"]

_ROWS_PER_WRITE = 65_536
_FORMULA_CODES = np.array([ord(c) for c in "=+-@\t\r'"], np.uint32)
_NEEDS_QUOTES = (",", '"', "\n", "\r")
_QUOTE_CODES = np.array([ord(c) for c in _NEEDS_QUOTES], np.uint32)


def column_cells(values: Any, *, decimals: int | None = None) -> Cells:
    """The CSV cells of every value of one column, as bytes.

    Floats are rounded to ``decimals`` (when given) and written in their
    shortest form, NaN as an empty cell; dates as ``YYYY-MM-DD``, instants as
    ``YYYY-MM-DD HH:MM:SS``, NaT as empty; text through
    :func:`~rfm_retention.cli._common.safe_cell` where it could start a
    formula, and quoted where it holds a comma, quote or line break.

    Example:
        >>> import numpy as np
        >>> column_cells(np.array([0.1 + 0.2, np.nan, -3.0]), decimals=9).texts()
        ['0.3', '', '-3.0']
        >>> column_cells(np.array(["a,b", "=1+1", "x"])).texts()
        ['"a,b"', "'=1+1", 'x']
    """
    arr = values if isinstance(values, np.ndarray) else _array(values)
    return _cells(arr, decimals)


def _cells(arr: npt.NDArray[Any], decimals: int | None) -> Cells:
    """One column's cells as bytes, formatted in bulk."""
    kind = arr.dtype.kind
    if kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            shown = np.round(arr, decimals) if decimals is not None else arr
        return float_cells(shown)
    if kind in "iu":
        return int_cells(arr)
    if kind == "b":
        return text_cells_bytes(np.where(arr, "True", "False"))
    if kind == "M":
        dates = date_cells(arr)
        if dates is not None:
            return dates
        text = arr.astype(str)
        if arr.dtype != np.dtype("datetime64[D]"):
            text = np.char.replace(text, "T", " ")
        text[np.isnat(arr)] = ""
        return text_cells_bytes(text)
    return text_cells_bytes(_text_cells(arr))


def _array(values: Any) -> npt.NDArray[Any]:
    items = list(values)
    if all(isinstance(v, float) for v in items) and items:
        return np.array(items, np.float64)
    out = np.empty(len(items), object)
    out[:] = items
    return out


def _text_cells(arr: npt.NDArray[Any]) -> npt.NDArray[np.str_]:
    """Text cells: formula-safe and quoted; the cell-by-cell rules run only where needed."""
    if arr.dtype.kind == "U" and arr.shape[0]:
        width = arr.dtype.itemsize // 4
        if width == 0 or (width == 1 and not arr.view(np.uint32).any()):  # all empty
            return arr
        codes = arr.view(np.uint32).reshape(arr.shape[0], width)
        risky = np.isin(codes[:, 0], _FORMULA_CODES)
        special = np.isin(codes, _QUOTE_CODES).any(axis=1)
        fix = np.flatnonzero(risky | special)
        if not fix.shape[0]:
            return arr
        cells: list[str] = arr.tolist()
        for row in fix.tolist():
            cells[row] = _quoted(safe_cell(cells[row]))
        return np.array(cells, dtype=str)
    return np.array([_quoted(safe_cell(None if _missing(v) else v)) for v in arr.tolist()],
                    dtype=str)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _quoted(text: str) -> str:
    """The cell as the csv module writes it in a row (quoted only where it must be)."""
    if any(mark in text for mark in _NEEDS_QUOTES):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow([text, ""])
        return buffer.getvalue()[:-2]
    return text


def write_columns(
    path: str | None,
    columns: Mapping[str, Any],
    *,
    decimals: int | None = None,
    stdout: TextIO | None = None,
) -> None:
    """Write ``columns`` (equal-length arrays or lists) as CSV to ``path`` (``-``/None: stdout).

    A file is written by pyarrow when the ``fast`` extra is installed (the
    same bytes, formatted by arrow's kernels instead of one Python call per
    cell).

    Example:
        >>> import io, numpy as np
        >>> out = io.StringIO()
        >>> write_columns("-", {"id": np.array([1, 2]), "x": [0.5, float("nan")]}, stdout=out)
        >>> out.getvalue()
        'id,x\\n1,0.5\\n2,\\n'
    """
    header = ",".join(_quoted(safe_cell(h)) for h in columns)
    if path is not None and path != "-" and arrow_available():  # the same bytes, faster
        from rfm_retention.cli._arrow_columns_csv import write_columns_arrow

        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as binary:
            write_columns_arrow(binary, header, columns, decimals=decimals)
        return
    arrays = [v if isinstance(v, np.ndarray) else _array(v) for v in columns.values()]
    if path is None or path == "-":
        handle = stdout or sys.stdout
        handle.write(header + "\n")
        for lines in _line_blocks(arrays, decimals):
            handle.write(lines.decode("utf-8"))
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as binary:  # the lines are UTF-8 bytes already
        binary.write(header.encode("utf-8") + b"\n")
        for lines in _line_blocks(arrays, decimals):
            binary.write(lines)


def _line_blocks(arrays: list[npt.NDArray[Any]], decimals: int | None) -> Iterator[bytes]:
    """The CSV lines of the rows, a block of rows at a time (bounded memory); the next
    block's cells are formatted on a second thread while one block is joined and written
    (numpy releases the GIL in its loops)."""
    n = arrays[0].shape[0] if arrays else 0
    starts = range(0, n, _ROWS_PER_WRITE)

    def cells(at: int) -> list[Cells]:
        return [_cells(a[at : at + _ROWS_PER_WRITE], decimals) for a in arrays]

    if len(starts) <= 1:
        yield from (join_lines(cells(at)) for at in starts)
        return
    with ThreadPoolExecutor(1) as formatting:
        upcoming = formatting.submit(cells, starts[0])
        for at in starts[1:]:
            block = upcoming.result()
            upcoming = formatting.submit(cells, at)
            yield join_lines(block)
        yield join_lines(upcoming.result())
