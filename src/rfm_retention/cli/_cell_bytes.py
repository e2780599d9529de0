"""CSV cells as bytes, formatted and joined into lines in bulk (no Python call per cell).

A column of cells is a :class:`Cells`: a byte matrix with one row per cell and,
per row, where the cell's bytes start and how many there are. Numbers and
dates are written digit by digit (one vectorised pass per digit position, in
``uint32``, whose division numpy does several times faster than ``int64``'s),
so formatting costs a few numpy operations per character column, not one
Python call per value. :func:`join_lines` then copies each cell as one
fixed-size record into its place in the lines (see there).

Floats come out as Python's ``repr`` writes them (its shortest round-trip
form). A float is written from its digits when it is zero or its magnitude is
in ``[1e-4, 2**22)`` and it has a decimal form with at most 9 decimals that
reads back as the same float: there, that form is the shortest (decimals 1e-9
apart are further apart than the float's spacing, so only one of them can read
back as the float), so it is the float times ``10**9``, rounded, with its
trailing zeros dropped. Every other float (an exponent, more digits) goes
through ``repr`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

__all__ = ["Cells", "date_cells", "float_cells", "int_cells", "join_lines", "text_cells_bytes"]

IntArray = npt.NDArray[np.int64]
UintArray = npt.NDArray[np.uint32]
_POWERS = 10 ** np.arange(19, dtype=np.int64)
_FAST_FLOAT_LIMIT = float(2**22)
_MAX_DECIMALS = 9
_NINE_DECIMALS = float(10**9)
_FIRST_DAY, _LAST_DAY = -719162, 2932896  # 0001-01-01 and 9999-12-31, in days from 1970


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


def _digit_count(values: IntArray | UintArray) -> IntArray:
    """Decimal digits of non-negative integers (1 for 0)."""
    count = np.ones(values.shape[0], np.int64)
    for power in _POWERS[1:]:
        above = values >= power
        if not above.any():
            break
        count += above
    return count


def _write_digits(
    matrix: npt.NDArray[np.uint8], rest: IntArray | UintArray, stop: int, width: int
) -> None:
    """Write the last ``width`` decimal digits of each number in ``rest`` as ASCII into
    columns ``stop - width`` to ``stop - 1`` of ``matrix``, one pass per digit position
    (``rest`` is used up: it ends as the numbers' leading digits)."""
    for column in range(stop - 1, stop - 1 - width, -1):
        np.remainder(rest, 10, out=matrix[:, column], casting="unsafe")
        rest //= 10
    matrix[:, stop - width : stop] += 48


def _right_aligned(magnitude: IntArray, negative: npt.NDArray[np.bool_]) -> Cells:
    """``[-]digits`` written from the right of a byte matrix."""
    length = _digit_count(magnitude) + negative
    width = int(length.max()) if length.shape[0] else 1
    matrix = np.zeros((magnitude.shape[0], width), np.uint8)
    small = not magnitude.shape[0] or int(magnitude.max()) < 2**32
    rest = magnitude.astype(np.uint32) if small else magnitude.copy()  # uint32: fast division
    _write_digits(matrix, rest, width, width)
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
    return _right_aligned(np.abs(as_int), as_int < 0)


def float_cells(values: npt.NDArray[np.floating]) -> Cells:
    """Floats as ``repr`` writes them, NaN as an empty cell.

    Example:
        >>> float_cells(np.array([0.5, -3.0, np.nan, 1e-05, 123.456])).texts()
        ['0.5', '-3.0', '', '1e-05', '123.456']
    """
    x = values.astype(np.float64, copy=False)
    n = x.shape[0]
    magnitude = np.abs(x)
    with np.errstate(invalid="ignore", over="ignore"):
        todo = (magnitude == 0) | ((magnitude >= 1e-4) & (magnitude < _FAST_FLOAT_LIMIT))
        # the one decimal form with 9 decimals that may read back as the float; its
        # shortest form drops the trailing zeros (see the module's notes)
        nines = np.rint(np.where(todo, magnitude, 0.0) * _NINE_DECIMALS)
        fast = todo & (nines / _NINE_DECIMALS == magnitude)
    missed = np.flatnonzero(todo & ~fast)
    if missed.shape[0]:  # the product was rounded off the form: try each count of decimals
        found, digits = _decimal_forms(magnitude[missed])
        nines[missed[found]] = digits[found]
        fast[missed[found]] = True
    nines[~fast] = 0
    whole, fraction = _split_nines(nines)
    decimals = np.full(n, _MAX_DECIMALS, np.int64)  # at least one: 3 -> "3.0", as repr
    for k in range(1, _MAX_DECIMALS):
        zeros = fraction % np.uint32(10**k) == 0
        if not zeros.any():
            break
        decimals -= zeros
    cells = _point_aligned(whole, fraction, decimals, np.signbit(x) & fast)
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


def _decimal_forms(magnitude: npt.NDArray[np.float64]
                   ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """For each float, whether some decimal form with at most 9 decimals reads back as it,
    and that form's digits scaled to 9 decimals (the fewest decimals tried first)."""
    found = np.zeros(magnitude.shape[0], bool)
    digits = np.zeros(magnitude.shape[0], np.float64)
    for k in range(_MAX_DECIMALS + 1):
        candidate = np.rint(magnitude * _POWERS[k])
        exact = ~found & (candidate / _POWERS[k] == magnitude)
        digits[exact] = candidate[exact] * float(_POWERS[_MAX_DECIMALS - k])
        found |= exact
    return found, digits


def _split_nines(nines: npt.NDArray[np.float64]) -> tuple[UintArray, UintArray]:
    """Whole numbers below ``2**22 * 10**9`` (exact in a float) as their whole part and
    nine-digit fraction in ``10**9`` units, each as ``uint32`` (whose division is fast)."""
    whole = np.floor(nines / _NINE_DECIMALS)
    fraction = nines - whole * _NINE_DECIMALS  # exact: every term is a whole float < 2**53
    low, high = fraction < 0, fraction >= _NINE_DECIMALS  # the quotient's rounding, undone
    whole[low] -= 1
    fraction[low] += _NINE_DECIMALS
    whole[high] += 1
    fraction[high] -= _NINE_DECIMALS
    return whole.astype(np.uint32), fraction.astype(np.uint32)


def _point_aligned(
    whole: UintArray, fraction: UintArray, decimals: IntArray, negative: npt.NDArray[np.bool_]
) -> Cells:
    """``[-]whole.fraction`` with the first ``decimals`` of the fraction's 9 digits, the
    points of every row in one byte column (one pass per digit position)."""
    n = whole.shape[0]
    digits = _digit_count(whole)
    widest = int(digits.max()) if n else 1
    places = int(decimals.max()) if n else 1
    sign = int(bool(negative.any()))
    point = sign + widest
    matrix = np.empty((n, point + 1 + places), np.uint8)
    _write_digits(matrix, whole.copy(), point, widest)
    matrix[:, point] = ord(".")
    _write_digits(matrix, fraction // np.uint32(10 ** (_MAX_DECIMALS - places)),
                  point + 1 + places, places)
    start = point - digits - negative
    if sign:
        signed = np.flatnonzero(negative)
        matrix[signed, start[signed]] = 45
    return Cells(matrix, start.astype(np.int64), (point + 1 + decimals) - start)


def date_cells(values: npt.NDArray[np.datetime64]) -> Cells | None:
    """Days as ``YYYY-MM-DD`` and seconds as ``YYYY-MM-DD HH:MM:SS``, NaT as an empty cell;
    None for other units or years outside 1-9999.

    Example:
        >>> date_cells(np.array(["2024-03-01", "NaT"], "datetime64[D]")).texts()
        ['2024-03-01', '']
        >>> date_cells(np.array(["2024-03-01T08:05:09"], "datetime64[s]")).texts()
        ['2024-03-01 08:05:09']
    """
    unit = np.datetime_data(values.dtype)[0]
    if unit not in ("D", "s"):
        return None
    raw = values.view(np.int64)
    missing = np.isnat(values)
    count = raw.shape[0]
    if unit == "D":
        days = np.where(missing, 0, raw)
    else:
        days, seconds = np.divmod(np.where(missing, 0, raw), 86400)
    if count and (int(days.min()) < _FIRST_DAY or int(days.max()) > _LAST_DAY):
        return None
    year, month, day = _civil(days)
    matrix = np.empty((count, 10 if unit == "D" else 19), np.uint8)
    fields = [(year, 0, 4), (month, 5, 2), (day, 8, 2)]
    matrix[:, [4, 7]] = ord("-")
    if unit == "s":
        hours, rest = np.divmod(seconds.astype(np.uint32), 3600)
        fields += [(hours, 11, 2), (rest // 60, 14, 2), (rest % 60, 17, 2)]
        matrix[:, 10] = ord(" ")
        matrix[:, [13, 16]] = ord(":")
    for number, at, width in fields:
        _write_digits(matrix, number.copy(), at + width, width)
    length = np.where(missing, 0, matrix.shape[1]).astype(np.int64)
    return Cells(matrix, np.zeros(count, np.int64), length)


def _civil(days: IntArray) -> tuple[UintArray, UintArray, UintArray]:
    """Proleptic Gregorian (year, month, day) of days from 1970-01-01 in years 1-9999
    (years counted from March; ``uint32``, whose division is fast)."""
    z = (days + 719468).astype(np.uint32)
    era = z // 146097
    day_of_era = z - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524
                   - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted = (5 * day_of_year + 2) // 153  # months from March
    day = day_of_year - (153 * shifted + 2) // 5 + 1
    month = np.where(shifted < 10, shifted + 3, shifted - 9).astype(np.uint32)
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, day


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
    n, count = columns[0].length.shape[0], len(columns)
    if n == 0:
        return b""
    # Each cell is copied as one record of ``width`` bytes that ends where the cell ends
    # (whatever comes before the cell in its matrix rides along). The records are laid
    # into the output from the last cell of the last line backwards, each ending where its
    # cell ends in the line, so a record's leading bytes land only on cells written after
    # it, which overwrite them; the separators go in last.
    width = max(c.matrix.shape[1] for c in columns)
    record = np.dtype((np.void, width))
    by_column = np.empty((count, n), record)
    sizes = np.empty((count, n), np.int64)  # each cell's bytes and its separator
    for at, cells in enumerate(columns):
        w = cells.matrix.shape[1]
        flat = np.empty(width + n * w, np.uint8)
        flat[width:] = cells.matrix.reshape(-1)
        windows = np.ndarray((flat.shape[0] - width + 1,), record, flat, strides=(1,))
        end = cells.start + cells.length
        if (end == w).all():  # right-aligned: the records are evenly spaced
            by_column[at] = windows[w : w + n * w : w]
        else:
            by_column[at] = windows[np.arange(0, n * w, w) + end]
        np.add(cells.length, 1, out=sizes[at])
    records = by_column.T.reshape(-1)  # line by line
    ends = np.cumsum(sizes.T.reshape(-1))
    out = np.empty(width + int(ends[-1]), np.uint8)
    slots = np.ndarray((out.shape[0] - width + 1,), record, out, strides=(1,))
    slots[ends[::-1] - 1] = records[::-1]
    separators = np.full(count, ord(","), np.uint8)
    separators[-1] = ord("\n")
    out[width - 1 + ends] = np.broadcast_to(separators, (n, count)).reshape(-1)
    return out[width:].tobytes()
