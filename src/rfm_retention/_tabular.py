"""The one result convention: typed columns, display rows, and a row per key.

Every result with a table inside (features, BTYD summary, segmentation,
indicator panel, warning list, KPI report, backtest ...) answers the same four
questions the same way:

* ``to_columns()``: ``{name: numpy array}``, typed (numbers as numbers, dates
  as ``datetime64``, text as text), what a program or a DataFrame reads
  (``to_pandas()``/``to_polars()``/``to_arrow()`` are built on it);
* ``to_rows()``: ``(header, rows)`` with every cell a display string, what a
  terminal table or a spreadsheet-bound CSV shows (the CSV commands write
  exactly these cells);
* ``row_of(key)``: the position of one row (a patient, a month, a segment
  ...), raising ``KeyError`` for an unknown key;
* ``get(key)``: that row as a record, or ``None`` for an unknown key.

A result inherits :class:`Tabular`, implements ``to_columns()`` (or, when it
is assembled row by row, ``_cells()``: the values every row shows) and names
its key column in ``ROW_KEY``; the rest comes from here.
"""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from rfm_retention._display import Display
from rfm_retention._frames import FrameViews

__all__ = ["Tabular", "row_position", "text_rows", "typed_column", "typed_columns"]

Columns = dict[str, npt.NDArray[Any]]
Cells = Mapping[str, Sequence[Any] | npt.NDArray[Any]]


def _cell_text(value: Any) -> str:
    """The display text of one value: ``str(value)``, ``""`` for None."""
    return "" if value is None else str(value)


def text_rows(cells: Cells) -> tuple[list[str], list[list[str]]]:
    """Header and rows of display strings from columns of values (lists or arrays).

    Example:
        >>> text_rows({"id": ["a", "b"], "n": np.array([1, 2]), "x": [0.5, None]})
        (['id', 'n', 'x'], [['a', '1', '0.5'], ['b', '2', '']])
    """
    header = list(cells)
    texts = [[_cell_text(v) for v in column] for column in cells.values()]
    return header, [list(row) for row in zip(*texts, strict=True)]


def typed_column(values: Sequence[Any] | npt.NDArray[Any]) -> npt.NDArray[Any]:
    """One column of values as a typed numpy array.

    Booleans stay booleans, whole numbers ``int64``, numbers ``float64`` (a
    missing one, ``None`` or ``""``, is NaN), dates ``datetime64[D]``,
    ``datetime64`` values keep their unit, text is text; anything else is an
    object array.

    Example:
        >>> [typed_column(v).dtype.str for v in ([True], [1, 2], [1, 0.5, None], ["a"])]
        ['|b1', '<i8', '<f8', '<U1']
    """
    if isinstance(values, np.ndarray):
        return values
    items = list(values)
    present = [v for v in items if v is not None and not (isinstance(v, str) and v == "")]
    if not items:
        return np.zeros(0, np.float64)
    if present and all(isinstance(v, bool | np.bool_) for v in present) and len(present) == len(
        items
    ):
        return np.array(items, bool)
    if present and all(_is_number(v) for v in present):
        whole = all(isinstance(v, numbers.Integral) for v in present)
        if whole and len(present) == len(items):
            return np.array(items, np.int64)
        return np.array([np.nan if v is None or v == "" else v for v in items], np.float64)
    if present and all(isinstance(v, np.datetime64) for v in present):
        return np.array([np.datetime64("NaT") if v is None or v == "" else v for v in items])
    if present and all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in present):
        return np.array([v if v else np.datetime64("NaT") for v in items], "datetime64[D]")
    if all(isinstance(v, str) for v in items):
        return np.array(items, dtype=str)
    out = np.empty(len(items), object)
    out[:] = items
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def typed_columns(cells: Cells) -> Columns:
    """Every column of ``cells`` through :func:`typed_column`.

    Example:
        >>> typed = typed_columns({"n": [1], "day": [dt.date(2024, 1, 2)]})
        >>> {name: column.dtype.kind for name, column in typed.items()}
        {'n': 'i', 'day': 'M'}
    """
    return {name: typed_column(values) for name, values in cells.items()}


def row_position(keys: npt.NDArray[Any], key: Any, missing: str, *, ordered: bool = True) -> int:
    """Position of ``key`` in ``keys``; ``KeyError(missing)`` when it is not there.

    ``ordered`` keys (sorted ascending, as patient ids are in every result)
    are searched by bisection, others scanned. An id of the other kind (text
    for integer ids, or an integer for text ids) is nobody.

    Example:
        >>> row_position(np.array([3, 7]), 7, "no such patient")
        1
    """
    numeric = keys.dtype.kind in "iu"
    is_int = isinstance(key, int | np.integer) and not isinstance(key, bool | np.bool_)
    if keys.dtype.kind in "iuUTO" and keys.shape[0] and numeric != is_int:
        raise KeyError(missing)
    if ordered:
        pos = int(np.searchsorted(keys, key))
        if pos < keys.shape[0] and keys[pos] == key:
            return pos
        raise KeyError(missing)
    hits = np.flatnonzero(keys == key)
    if not hits.shape[0]:
        raise KeyError(missing)
    return int(hits[0])


class Tabular(FrameViews):
    """Base of every result with a table: ``to_rows``, ``row_of`` and ``get`` from the columns.

    A subclass implements ``to_columns()`` or ``_cells()`` (at least one) and
    ``_display()`` (what ``repr`` and a notebook show; an attrs class leaves
    ``repr=False`` so that these are used), and sets ``ROW_KEY`` (the column
    whose values :meth:`row_of` looks up); ``ROW_KEYS_ORDERED`` says whether
    that column is sorted. Subclasses with
    typed records override :meth:`record` (and may override :meth:`row_of`
    where a key is not a single column value).
    """

    __slots__ = ()
    ROW_KEY: ClassVar[str | tuple[str, ...]] = "patient_id"
    ROW_KEYS_ORDERED: ClassVar[bool] = True

    def __repr__(self) -> str:
        return self._display().text()

    def _repr_html_(self) -> str:
        return self._display().html()

    def _display(self) -> Display:
        """What the result shows at the prompt and in a notebook (default: its columns)."""
        return Display(type(self).__name__, self.to_columns())

    def to_columns(self) -> Columns:
        """Column name -> typed numpy array (see the module docstring)."""
        return typed_columns(self._cells())

    def _cells(self) -> Cells:
        """The values every row shows, column by column (default: the typed columns)."""
        return self.to_columns()

    def to_rows(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows of display strings, for a terminal table or a CSV file."""
        return text_rows(self._cells())

    def row_of(self, key: Any) -> int:
        """Row of one key (a patient id unless the result says otherwise); KeyError if absent.

        A result keyed by several columns (``ROW_KEY`` a tuple: a month and a
        group, a scan date and a method) takes a tuple, each part matched
        against the text its column shows in :meth:`to_rows`.
        """
        missing = f"no {self.ROW_KEY} {key!r} in this {type(self).__name__}"
        if isinstance(self.ROW_KEY, tuple):
            return _text_key_position(self._cells(), self.ROW_KEY, key, missing)
        keys: npt.NDArray[Any] = self.to_columns()[self.ROW_KEY]
        return row_position(keys, key, missing, ordered=self.ROW_KEYS_ORDERED)

    def record(self, row: int) -> Any:
        """One row as a record (default: ``{column: value}`` with Python values)."""
        return {name: _python(column[row]) for name, column in self.to_columns().items()}

    def get(self, key: Any) -> Any:
        """The record of one key, or None when the result has no such row."""
        try:
            row = self.row_of(key)
        except KeyError:
            return None
        return self.record(row)


def _text_key_position(cells: Cells, names: tuple[str, ...], key: Any, missing: str) -> int:
    """The first row whose ``names`` columns show the parts of ``key`` (matched as text)."""
    if not isinstance(key, tuple) or len(key) != len(names):
        raise KeyError(missing)
    wanted = [_cell_text(part) for part in key]
    columns = [[_cell_text(v) for v in cells[name]] for name in names]
    for row, shown in enumerate(zip(*columns, strict=True)):
        if list(shown) == wanted:
            return row
    raise KeyError(missing)


def _python(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (dates as dates, instants as datetimes)."""
    return value.item() if isinstance(value, np.generic) else value
