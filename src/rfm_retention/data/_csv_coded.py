"""A visits file's batches from the numpy reader, held as dense patient codes when they fit.

Sort-free features (:func:`~rfm_retention._unsorted_features.unsorted_features`)
need every row's patient as a dense code, and a file of plain digit ids (the
usual medical record numbers) gets its codes from the ids' numbers
(:func:`~rfm_retention.data._digit_ids.coded_ids`) once the whole file is
read. :func:`coded_visits` reads the numpy reader's batches and keeps, per
row, the id's number, its time and its amount (24 bytes a row, against a few
hundred for a batch's table build). It hands the batches back, untouched, for
the general path whenever a batch is not that simple (other columns, text that
is not plain digits, a time or amount that did not convert), or the file has
more than :data:`CODED_MAX_ROWS` rows, so memory stays bounded either way.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray, IntArray
from rfm_retention.data._csv import CsvColumns
from rfm_retention.data._csv_options import IdType
from rfm_retention.data._digit_ids import _MAX_DIGITS, DigitIds, coded_ids

__all__ = ["CODED_MAX_ROWS", "CodedVisits", "coded_visits"]

_BLOCK_ROWS = 1 << 16

CODED_MAX_ROWS = 12 << 20
"""The most rows held as codes (about 300 MB with the batches kept for the general path);
a longer file is streamed batch by batch."""


@attrs.frozen
class CodedVisits:
    """Every row of a file: its patient's dense code (and the distinct ids), time, amount."""

    ids: DigitIds
    times: npt.NDArray[np.datetime64]
    amount: FloatArray


@attrs.frozen
class _DigitCells:
    """One batch's digit ids: their numbers, the shortest and longest id, whether an id of
    two digits or more starts with 0."""

    values: IntArray
    shortest: int
    longest: int
    leading_zero: bool


def coded_visits(
    batches: Iterator[CsvColumns],
    id_type: IdType,
    fields: tuple[str, str, str],
) -> tuple[CodedVisits | None, Iterator[CsvColumns]]:
    """The rows of ``batches`` as codes, or None; and the batches for the general path (all
    of them, the ones read so far first). ``fields`` names the id, time and amount columns,
    which must be a batch's only columns.

    Example:
        >>> import numpy as np
        >>> batch = CsvColumns({"patient_id": np.array([b"10", b"9", b"10"]),
        ...                     "visit_time": np.array(["2024-01-05"] * 3, "datetime64[s]"),
        ...                     "amount": np.array([1.0, 2.0, 3.0])}, np.arange(2, 5))
        >>> coded, rest = coded_visits(iter([batch]), "text",
        ...                            ("patient_id", "visit_time", "amount"))
        >>> coded.ids.patient_ids.tolist(), coded.ids.codes.tolist(), len(list(rest))
        (['10', '9'], [0, 1, 0], 1)
    """
    held: list[CsvColumns] = []
    digits: list[_DigitCells] = []
    rows = 0
    for batch in batches:
        held.append(batch)
        rows += batch.lines.shape[0]
        cells = _digit_cells(batch, fields) if rows <= CODED_MAX_ROWS else None
        if cells is None:
            return None, itertools.chain(held, batches)
        digits.append(cells)
    coded = _coded(held, digits, id_type, fields) if rows else None
    return coded, iter(held)


def _digit_cells(batch: CsvColumns, fields: tuple[str, str, str]) -> _DigitCells | None:
    """The batch's ids as numbers when the batch is simple (see the module), else None."""
    id_field, time_field, amount_field = fields
    columns = batch.columns
    if set(columns) != set(fields) or columns[time_field].dtype.kind != "M":
        return None
    if columns[amount_field].dtype.kind != "f" or columns[id_field].dtype.kind != "S":
        return None
    ids = columns[id_field]
    n, width = ids.shape[0], ids.dtype.itemsize
    if n == 0 or width > _MAX_DIGITS:
        return None
    raw = ids.view(np.uint8).reshape(n, width)
    values = np.empty(n, np.int64)
    shortest, longest, leading_zero = width, 0, False
    for at in range(0, n, _BLOCK_ROWS):  # small temporaries: they stay in cache
        block = _digit_block(raw[at : at + _BLOCK_ROWS], values[at : at + _BLOCK_ROWS])
        if block is None:
            return None
        shortest, longest = min(shortest, block[0]), max(longest, block[1])
        leading_zero = leading_zero or block[2]
    return _DigitCells(values, shortest, longest, leading_zero)


def _digit_block(
    raw: npt.NDArray[np.uint8], out: IntArray
) -> tuple[int, int, bool] | None:
    """Write the numbers of a block of id cells (left-aligned bytes, zero-padded) to
    ``out``; (shortest, longest, leading zero) of the ids, or None unless each cell is one
    digit or more, then padding only (no NUL inside a cell)."""
    width = raw.shape[1]
    digit = raw - np.uint8(48)
    if not (digit[:, 0] < 10).all():
        return None  # an empty cell, or one that starts with another byte
    np.copyto(out, digit[:, 0])
    lengths = np.ones(raw.shape[0], np.uint8)
    ended = np.zeros(raw.shape[0], bool)
    for at in range(1, width):
        column = digit[:, at]
        is_digit = column < 10
        pad = raw[:, at] == 0
        ended |= pad
        if not (is_digit | pad).all() or (ended != pad).any():
            return None  # another byte, or a byte after a NUL (padding only at the end)
        # a digit: one place to the left and this digit; padding: as it was
        np.copyto(out, out * 10 + column, where=is_digit)
        lengths += is_digit
    shortest, longest = int(lengths.min()), int(lengths.max())
    leading_zero = bool(((raw[:, 0] == 48) & (lengths > 1)).any())
    return shortest, longest, leading_zero


def _coded(
    held: list[CsvColumns], digits: list[_DigitCells], id_type: IdType,
    fields: tuple[str, str, str],
) -> CodedVisits | None:
    """Every batch's rows as codes, or None when text ids could not be coded by number
    (``007`` and ``7`` both present: two patients with one number)."""
    shortest = min(d.shortest for d in digits)
    longest = max(d.longest for d in digits)
    if id_type == "text" and shortest != longest and any(d.leading_zero for d in digits):
        return None
    values = np.concatenate([d.values for d in digits])
    ids = coded_ids(values, shortest, longest, id_type)
    _, time_field, amount_field = fields
    times = np.concatenate([b.columns[time_field] for b in held])
    amount = np.concatenate([b.columns[amount_field] for b in held])
    return CodedVisits(ids, times.astype("datetime64[s]", copy=False), amount)
