"""Factorising patient ids and ordering rows by (patient, time): the two costs of building
a table, each done in vectorised passes with at most one sort of the rows.

Factorisation avoids sorting strings: integer ids in a dense range are counted
(``bincount``), and short text ids are packed into one unsigned 64-bit number
per id whose numeric order is the text's order, then factorised as integers.
Ordering packs (patient, time, input row) into one 64-bit key where the bits
allow, so one ``np.sort`` of plain integers yields the order, the ties and the
sorted patients and times at once; wider keys fall back to one ``argsort``.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

__all__ = ["RowOrder", "factorise", "order_rows"]

IntArray = npt.NDArray[np.int64]
_DAY = 86_400
_BLOCK = 1 << 18


def _whole_days(relative: IntArray) -> bool:
    """Whether every value is a multiple of a day; a sample first, then block by block, so
    times with seconds answer at once and no n-row temporary is made."""
    step = max(relative.shape[0] // 4096, 1)
    if np.any(relative[::step] % _DAY):
        return False
    return not any(
        np.any(relative[at : at + _BLOCK] % _DAY) for at in range(0, relative.shape[0], _BLOCK)
    )


def factorise(ids: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], IntArray]:
    """(sorted distinct ids, code of each row) with ``uniques[codes] == ids``.

    Example:
        >>> import numpy as np
        >>> uniques, codes = factorise(np.array(["b", "a", "b"]))
        >>> uniques.tolist(), codes.tolist()
        (['a', 'b'], [1, 0, 1])
        >>> uniques, codes = factorise(np.array([70, 3, 70, 5]))
        >>> uniques.tolist(), codes.tolist()
        ([3, 5, 70], [2, 0, 2, 1])
    """
    n = ids.shape[0]
    if n == 0:
        return ids[:0], np.empty(0, np.int64)
    if ids.dtype.kind in "iu":
        low, high = int(ids.min()), int(ids.max())
        if high - low <= 2 * n + 1024:
            return _dense_range(ids, low, high)
        return _by_sort(ids)
    packed = _packed_text(ids)
    if packed is not None:
        keys, codes = _by_sort(packed)
        first = np.zeros(keys.shape[0], np.int64)
        first[codes[::-1]] = np.arange(n - 1, -1, -1, dtype=np.int64)  # a row of each key
        return ids[first], codes
    return _by_sort(ids)


def _dense_range(ids: npt.NDArray[Any], low: int, high: int) -> tuple[npt.NDArray[Any], IntArray]:
    offset = ids.astype(np.int64, copy=False) - low
    present = np.bincount(offset, minlength=high - low + 1) > 0
    rank = np.cumsum(present, dtype=np.int64) - 1
    uniques = (np.flatnonzero(present) + low).astype(ids.dtype)
    return uniques, rank[offset]


def _by_sort(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], IntArray]:
    if values.dtype.kind not in "iu":
        uniques, inverse = np.unique(values, return_inverse=True)
        return uniques, inverse.reshape(-1).astype(np.int64, copy=False)
    order = np.argsort(values)  # numbers: one argsort, then ranks scattered back
    ordered = values[order]
    first = np.empty(ordered.shape[0], bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    codes = np.empty(ordered.shape[0], np.int64)
    codes[order] = np.cumsum(first) - 1
    return ordered[first], codes


def _packed_text(ids: npt.NDArray[Any]) -> npt.NDArray[np.uint64] | None:
    """Short ASCII text ids as uint64 numbers ordered like the text, else None.

    Each character takes one byte, most significant first, padded with zero
    bytes: comparing the numbers compares the texts (a prefix sorts first).
    """
    codes: npt.NDArray[np.unsignedinteger[Any]] | None
    if ids.dtype.kind == "U":
        width = ids.dtype.itemsize // 4
        codes = ids.view(np.uint32).reshape(ids.shape[0], width) if width else None
    elif ids.dtype.kind == "S":
        width = ids.dtype.itemsize
        codes = ids.view(np.uint8).reshape(ids.shape[0], width) if width else None
    else:
        return None
    if codes is None or width > 8 or int(codes.max()) > 127:
        return None
    packed = np.zeros(ids.shape[0], np.uint64)
    for k in range(width):
        packed |= codes[:, k].astype(np.uint64) << np.uint64(8 * (7 - k))
    return packed


@attrs.frozen
class RowOrder:
    """Rows ordered by (patient code, time, input row), with what the sort already knew.

    ``ties`` marks rows whose (patient, time) equals the next row's, in the new
    order; ``codes`` and ``seconds`` are the patient codes and times in the new
    order (read back from the sort key, not gathered).
    """

    order: npt.NDArray[np.intp]
    codes: IntArray
    seconds: IntArray
    ties: npt.NDArray[np.bool_]


def order_rows(codes: IntArray, n_codes: int, seconds: IntArray) -> RowOrder:
    """Order rows by (patient code, time), input order among equal pairs.

    Example:
        >>> import numpy as np
        >>> o = order_rows(np.array([1, 0, 1, 0]), 2, np.array([5, 9, 5, 2]))
        >>> o.order.tolist(), o.codes.tolist(), o.seconds.tolist(), o.ties.tolist()
        ([3, 1, 0, 2], [0, 0, 1, 1], [2, 9, 5, 5], [False, False, True, False])
    """
    n = codes.shape[0]
    if n == 0:
        return RowOrder(np.empty(0, np.intp), codes, seconds, np.zeros(0, bool))
    low = int(seconds.min())
    span = int(seconds.max()) - low
    relative = seconds - low
    unit = 1
    if span and _whole_days(relative):  # count days: the key needs fewer bits
        unit = _DAY
        np.floor_divide(relative, _DAY, out=relative)
    time_bits = (span // unit).bit_length()
    code_bits = max(n_codes - 1, 0).bit_length()
    row_bits = max(n - 1, 0).bit_length()
    if code_bits + time_bits + row_bits <= 63:
        key = np.left_shift(codes, time_bits + row_bits, dtype=np.int64)
        np.left_shift(relative, row_bits, out=relative)
        key |= relative
        for at in range(0, n, _BLOCK):  # the input row, block by block (no n-row temporary)
            key[at : at + _BLOCK] |= np.arange(at, min(at + _BLOCK, n), dtype=np.int64)
        key.sort()
        order = key & np.int64((1 << row_bits) - 1)
        key >>= np.int64(row_bits)
        ties = np.zeros(n, bool)
        np.equal(key[1:], key[:-1], out=ties[:-1])
        sorted_codes = key >> np.int64(time_bits)
        key &= np.int64((1 << time_bits) - 1)
        if unit != 1:
            key *= np.int64(unit)
        key += np.int64(low)
        return RowOrder(order.astype(np.intp, copy=False), sorted_codes, key, ties)
    if code_bits + time_bits <= 63:
        key = (codes.astype(np.int64) << np.int64(time_bits)) | relative
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort((seconds, codes))
    sorted_codes, sorted_seconds = codes[order], seconds[order]
    ties = np.zeros(n, bool)
    ties[:-1] = (sorted_codes[1:] == sorted_codes[:-1]) & (
        sorted_seconds[1:] == sorted_seconds[:-1]
    )
    return RowOrder(order, sorted_codes, sorted_seconds, ties)
