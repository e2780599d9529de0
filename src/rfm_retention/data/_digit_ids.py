"""Dense patient codes straight from an arrow column of digit ids, without a text sort or hash.

Most hospital ids are numbers written as text (medical record numbers). When
every id of a file is plain digits and the text of an id is one with its
number (no leading zeros, or every id as wide as the others, so ``007`` and
``7`` never meet), the ids are factorised as numbers, as the table build
factorises integer ids (counted in their range when it is dense, else one
sort of integers). The distinct ids are then put in text order, the order the
visit log gives text ids (``"10"`` before ``"9"``), by sorting only them, and
their text is made back from the numbers: the same ids, codes and order as
factorising the text, at the cost of counting integers.

Any other id column (letters, signs, spaces, empty cells, ids of 18 digits
or more) gives None, for the caller's general path.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import IntArray
from rfm_retention._optional import import_optional
from rfm_retention.data._build import _factors, value_range
from rfm_retention.data._csv_options import IdType

__all__ = ["DigitIds", "coded_ids", "digit_ids"]

_MAX_DIGITS = 17  # text-order keys of the distinct ids stay within int64
_POW10 = 10 ** np.arange(_MAX_DIGITS + 1, dtype=np.int64)


@attrs.frozen
class DigitIds:
    """The distinct ids in the visit log's order and each row's position among them."""

    patient_ids: npt.NDArray[Any]
    codes: IntArray


def digit_ids(column: Any, id_type: IdType) -> DigitIds | None:
    """Dense codes of an arrow string column of digit ids, or None when an id is not plain
    digits (or, for text ids, when two texts could name one number).

    ``id_type="text"`` gives the ids as text in text order; ``"int"`` as
    ``int64`` numbers in numeric order (``007`` and ``7`` are one patient).

    Example:
        >>> import pyarrow as pa
        >>> ids = digit_ids(pa.chunked_array([["10", "9", "10"], ["2"]]), "text")
        >>> ids.patient_ids.tolist(), ids.codes.tolist()
        (['10', '2', '9'], [0, 2, 0, 1])
        >>> digit_ids(pa.chunked_array([["007", "7"]]), "text") is None
        True
        >>> digit_ids(pa.chunked_array([["007", "7"]]), "int").patient_ids.tolist()
        [7]
    """
    if len(column) == 0:
        return DigitIds(np.empty(0, "U1" if id_type == "text" else np.int64),
                        np.empty(0, np.int64))
    shape = _digit_shape(column)
    if shape is None:
        return None
    shortest, longest, leading_zero = shape
    if id_type == "text" and leading_zero and shortest != longest:
        return None  # "007" and "7" are two patients, with one number
    return coded_ids(_numbers(column), shortest, longest, id_type)


def coded_ids(values: IntArray, shortest: int, longest: int, id_type: IdType) -> DigitIds:
    """The codes of digit ids given as their numbers, with the shortest and longest id's
    digit count (for text ids, leading zeros only where every id is as wide).

    The numbers are factorised as the table build factorises integer ids
    (counted in a dense range, else sorted); for text ids of several widths the
    distinct ids are then put in text order by composing that order with the
    build's coder, so the rows are gathered once."""
    as_text = id_type == "text"
    factors = _factors(values)
    uniques, coder = factors.uniques, factors.coder
    if as_text and shortest != longest:  # text order differs from numeric order
        order = np.argsort(_text_keys(uniques), kind="stable")
        uniques = uniques[order]
        text_rank = np.empty(order.shape[0], np.int64)
        text_rank[order] = np.arange(order.shape[0], dtype=np.int64)
        coder = attrs.evolve(coder, rank=text_rank if coder.rank is None
                             else text_rank[coder.rank])
    codes = coder.codes()
    if not as_text:
        return DigitIds(uniques, codes)
    return DigitIds(_texts(uniques, longest if shortest == longest else None), codes)


def _digit_shape(column: Any) -> tuple[int, int, bool] | None:
    """(shortest id, longest id, whether an id of two digits or more starts with 0), or None
    unless every cell is 1 to :data:`_MAX_DIGITS` ASCII digits."""
    shortest, longest, leading_zero = _MAX_DIGITS, 0, False
    for chunk in column.chunks:
        n = len(chunk)
        if n == 0:
            continue
        if chunk.null_count:
            return None
        buffers = chunk.buffers()
        offsets = np.frombuffer(buffers[1], np.int32)[chunk.offset : chunk.offset + n + 1]
        lengths = np.diff(offsets)
        low, high = value_range(lengths)
        if low < 1 or high > _MAX_DIGITS:
            return None
        data = np.frombuffer(buffers[2], np.uint8)[offsets[0] : offsets[-1]]
        if int(np.subtract(data, 48, dtype=np.uint8).max()) > 9:
            return None
        firsts = data[offsets[:-1] - offsets[0]]
        leading_zero = leading_zero or bool(((firsts == 48) & (lengths > 1)).any())
        shortest, longest = min(shortest, int(low)), max(longest, int(high))
    return shortest, longest, leading_zero


def _numbers(column: Any) -> IntArray:
    """The ids' numbers (arrow's cast, for cells checked to be plain digits), cast a chunk
    at a time into one array (each chunk's cast is a small buffer the allocator reuses, not
    a second copy of the column in fresh memory)."""
    pa = import_optional("pyarrow", "fast", "reading CSV files with reader='arrow'")
    pc = import_optional("pyarrow.compute", "fast", "reading CSV files with reader='arrow'")
    pool, kind = pa.system_memory_pool(), pa.int64()
    out = np.empty(len(column), np.int64)
    at = 0
    for chunk in column.chunks:
        n = len(chunk)
        if n:
            numbers = pc.cast(chunk, kind, memory_pool=pool)
            out[at : at + n] = np.frombuffer(numbers.buffers()[1], np.int64)[
                numbers.offset : numbers.offset + n]
        at += n
    return out


def _digits(values: IntArray) -> IntArray:
    """How many digits each non-negative number has (0 has one)."""
    counts: IntArray = np.maximum(np.searchsorted(_POW10, values, side="right"), 1)
    return counts


def _text_keys(values: IntArray) -> IntArray:
    """Numbers whose order is the order of the values' decimal text: the digits left-aligned
    to a common width, then the length (a prefix sorts first)."""
    digits = _digits(values)
    widest = int(digits.max())
    keys: IntArray = values * _POW10[widest - digits] * 32 + digits
    return keys


def _texts(values: IntArray, width: int | None) -> npt.NDArray[np.str_]:
    """The decimal text of non-negative numbers, zero-padded to ``width`` when given: every
    number written right-aligned digit by digit, then the shorter ones moved left (one
    slice per length)."""
    if values.shape[0] == 0:
        return np.empty(0, "U1")
    digits = _digits(values)
    widest = int(digits.max()) if width is None else width
    chars = np.empty((values.shape[0], widest), np.uint8)  # NUL-padded on the right
    rest = values.copy()
    for k in range(widest - 1, -1, -1):
        chars[:, k] = rest % 10
        rest //= 10
    chars += 48
    if width is None:
        for shift in np.flatnonzero(np.bincount(widest - digits)).tolist():
            if shift:
                rows = np.flatnonzero(digits == widest - shift)
                moved = chars[rows]
                moved[:, : widest - shift] = moved[:, shift:]
                moved[:, widest - shift :] = 0
                chars[rows] = moved
    # ASCII digits are their own code points: widened to 4 bytes they are numpy's str_
    # (a per-value decode of bytes_ to str_ costs far more)
    return chars.astype(np.uint32).view(f"<U{widest}").reshape(-1)
