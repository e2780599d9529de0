"""CSV cells as bytes, formatted and joined into lines in bulk (no Python call per cell).

A column of cells is a :class:`Cells`: a byte matrix with one row per cell and,
per row, where the cell's bytes start and how many there are. Numbers are
written digit by digit from the right (one vectorised pass per digit), so
formatting costs a few numpy operations per character column, not one Python
call per value; :func:`join_lines` then lays the columns side by side with
the commas and line breaks and keeps each cell's bytes in one masked read.

Floats come out as Python's ``repr`` writes them (its shortest round-trip
form). A float is written from its digits when it is zero or its magnitude is
in ``[1e-4, 2**22)`` and it has a decimal form with at most 9 decimals that
reads back as the same float: there, that form is the shortest (decimals 1e-9
apart are further apart than the float's spacing, so only one of them can read
back as the float). Every other float (an exponent, more digits) goes through
``repr`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

__all__ = ["Cells", "float_cells", "int_cells", "join_lines", "text_cells_bytes"]

IntArray = npt.NDArray[np.int64]
_POWERS = 10 ** np.arange(19, dtype=np.int64)
_FAST_FLOAT_LIMIT = float(2**22)
_MAX_DECIMALS = 9


@attrs.frozen
class Cells:
    """One column's cells: cell ``i`` is ``matrix[i, start[i] : start[i] + length[i]]``."""

    matrix: npt.NDArray[np.uint8]
    start: IntArray
    length: IntArray

    def kept(self) -> npt.NDArray[np.bool_]:
        """Which bytes of :attr:`matrix` belong to a cell (row by row)."""
        column = np.arange(self.matrix.shape[1], dtype=np.int64)[None, :]
        if not self.start.any():  # left-aligned cells
            return column < self.length[:, None]
        keep: npt.NDArray[np.bool_] = (column >= self.start[:, None]) & (
            column < (self.start + self.length)[:, None]
        )
        return keep

    def packed(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
        """Every cell's bytes one after another, and the ``n + 1`` offsets where each cell
        starts and the last ends (the layout of an Arrow string array).

        Example:
            >>> offsets, data = int_cells(np.array([7, -12])).packed()
            >>> offsets.tolist(), data.tobytes()
            ([0, 1, 4], b'7-12')
        """
        offsets = np.zeros(self.length.shape[0] + 1, np.int64)
        np.cumsum(self.length, out=offsets[1:])
        if not offsets[-1]:
            return offsets, np.zeros(0, np.uint8)
        return offsets, self.matrix[self.kept()]

    def texts(self) -> list[str]:
        """Each cell as text (for checks and small outputs; not the bulk path)."""
        return [bytes(row[a : a + n]).decode("utf-8") for row, a, n in
                zip(self.matrix, self.start.tolist(), self.length.tolist(), strict=True)]


def _digit_count(values: IntArray) -> IntArray:
    """Decimal digits of non-negative integers (1 for 0)."""
    count = np.ones(values.shape[0], np.int64)
    for power in _POWERS[1:]:
        above = values >= power
        if not above.any():
            break
        count += above
    return count


def _right_aligned(
    magnitude: IntArray, negative: npt.NDArray[np.bool_], decimals: IntArray | None
) -> Cells:
    """``[-]digits`` (with a point before the last ``decimals`` digits, zero-padded so one
    digit precedes it) written from the right of a byte matrix."""
    digits = _digit_count(magnitude)
    if decimals is not None:
        digits = np.maximum(digits, decimals + 1)
    length = digits + negative + (0 if decimals is None else 1)
    width = int(length.max()) if length.shape[0] else 1
    matrix = np.zeros((magnitude.shape[0], width), np.uint8)
    rest = magnitude.copy()
    for column in range(width - 1, -1, -1):
        from_right = width - 1 - column
        if decimals is None:
            matrix[:, column] = rest % 10 + 48
            rest //= 10
            continue
        point = decimals == from_right
        matrix[:, column] = np.where(point, 46, rest % 10 + 48)
        rest = np.where(point, rest, rest // 10)
    start = width - length
    signed = np.flatnonzero(negative)
    matrix[signed, start[signed]] = 45
    return Cells(matrix, start.astype(np.int64), length.astype(np.int64))


def int_cells(values: npt.NDArray[np.integer]) -> Cells:
    """Integers as ``str(int)`` writes them.

    Example:
        >>> int_cells(np.array([0, -12, 345])).texts()
        ['0', '-12', '345']
        >>> int_cells(np.array([2**64 - 1], np.uint64)).texts()
        ['18446744073709551615']
    """
    beyond = values.dtype.kind == "u" and values.shape[0] and int(values.max()) >= 2**63
    as_int = values.astype(np.int64, copy=False)
    lowest = as_int == np.iinfo(np.int64).min
    if beyond or lowest.any():  # no int64 magnitude: text of its own
        return text_cells_bytes(np.array([str(v) for v in values.tolist()]))
    return _right_aligned(np.abs(as_int), as_int < 0, None)


def float_cells(values: npt.NDArray[np.floating]) -> Cells:
    """Floats as ``repr`` writes them, NaN as an empty cell.

    Example:
        >>> float_cells(np.array([0.5, -3.0, np.nan, 1e-05, 123.456])).texts()
        ['0.5', '-3.0', '', '1e-05', '123.456']
    """
    x = values.astype(np.float64, copy=False)
    n = x.shape[0]
    magnitude = np.abs(x)
    with np.errstate(invalid="ignore"):
        todo = (magnitude == 0) | ((magnitude >= 1e-4) & (magnitude < _FAST_FLOAT_LIMIT))
    decimals = np.full(n, -1, np.int64)
    scaled = np.zeros(n, np.int64)
    for k in range(_MAX_DECIMALS + 1):
        if not todo.any():
            break
        candidate = np.rint(magnitude[todo] * _POWERS[k])
        exact = candidate / _POWERS[k] == magnitude[todo]
        rows = np.flatnonzero(todo)[exact]
        decimals[rows] = k
        scaled[rows] = candidate[exact].astype(np.int64)
        todo[rows] = False
    fast = decimals >= 0
    at_least_one = np.maximum(decimals, 1)  # 3 -> "3.0": one decimal, as repr writes it
    scaled = np.where(fast, scaled * _POWERS[np.clip(at_least_one - decimals, 0, 1)], 0)
    cells = _right_aligned(scaled, np.signbit(x) & fast, np.where(fast, at_least_one, 0))
    empty = np.isnan(x)
    slow = np.flatnonzero(~fast & ~empty)
    length = np.where(empty, 0, cells.length)
    if not slow.shape[0]:
        return Cells(cells.matrix, cells.start, length)
    texts = [repr(v) for v in x[slow].tolist()]
    widest = max(len(t) for t in texts)
    matrix = cells.matrix
    if widest > matrix.shape[1]:
        matrix = np.concatenate(
            (matrix, np.zeros((n, widest - matrix.shape[1]), np.uint8)), axis=1
        )
    start = cells.start.copy()
    for row, text in zip(slow.tolist(), texts, strict=True):
        matrix[row, : len(text)] = np.frombuffer(text.encode("ascii"), np.uint8)
        start[row] = 0
        length[row] = len(text)
    return Cells(matrix, start, length)


def text_cells_bytes(texts: npt.NDArray[np.str_]) -> Cells:
    """Finished cell texts (``str_``) as UTF-8 bytes.

    Example:
        >>> text_cells_bytes(np.array(["a", "", "m\\u00e9"])).texts()
        ['a', '', 'mé']
    """
    n = texts.shape[0]
    width = texts.dtype.itemsize // 4
    if n == 0 or width == 0:
        return Cells(np.zeros((n, 1), np.uint8), np.zeros(n, np.int64), np.zeros(n, np.int64))
    codes = texts.view(np.uint32).reshape(n, width)
    if int(codes.max()) < 128:
        matrix = codes.astype(np.uint8)
        length = np.strings.str_len(texts).astype(np.int64)
    else:
        encoded = np.strings.encode(texts, "utf-8")
        matrix = encoded.view(np.uint8).reshape(n, encoded.dtype.itemsize)
        length = np.strings.str_len(encoded).astype(np.int64)
    return Cells(matrix, np.zeros(n, np.int64), length)


def join_lines(columns: Sequence[Cells]) -> bytes:
    """The rows of ``columns`` as CSV lines: cells joined by commas, each line ending in
    a line break.

    Example:
        >>> join_lines([int_cells(np.array([1, 22])), float_cells(np.array([0.5, np.nan]))])
        b'1,0.5\\n22,\\n'
    """
    if not columns:
        return b""
    n = columns[0].length.shape[0]
    # Every column's matrix side by side, a separator column after each; a mask keeps
    # each cell's bytes, and reading the kept bytes row by row gives the lines in order.
    width = sum(c.matrix.shape[1] + 1 for c in columns)
    side_by_side = np.empty((n, width), np.uint8)
    keep = np.empty((n, width), bool)
    at = 0
    for cells in columns:
        w = cells.matrix.shape[1]
        side_by_side[:, at : at + w] = cells.matrix
        column = np.arange(w, dtype=np.int64)[None, :]
        end = cells.start + cells.length
        if not cells.start.any():  # left-aligned cells
            np.less(column, cells.length[:, None], out=keep[:, at : at + w])
        elif (end == w).all():  # right-aligned cells
            np.greater_equal(column, cells.start[:, None], out=keep[:, at : at + w])
        else:
            np.logical_and(column >= cells.start[:, None], column < end[:, None],
                           out=keep[:, at : at + w])
        side_by_side[:, at + w] = ord(",")
        keep[:, at + w] = True
        at += w + 1
    side_by_side[:, -1] = ord("\n")
    return side_by_side[keep].tobytes()
