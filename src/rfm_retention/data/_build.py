"""Factorising patient ids and ordering rows by (patient, time): the two costs of building
a table, each done in vectorised passes with at most one sort of the rows.

Factorisation avoids sorting strings: integer ids in a dense range are counted
(``bincount``), and short text ids are packed into one unsigned 64-bit number
per id whose numeric order is the text's order, then factorised as integers.
Ordering packs (patient, time, input row) into one 64-bit key where the bits
allow, so one ``np.sort`` of plain integers yields the order, the ties and the
sorted patients and times at once; wider keys fall back to one ``argsort``.

Building a large table is bound by memory, not arithmetic: every fresh n-row
array costs page faults, and at 10M rows each pass that leaves the cache costs
more than its arithmetic. So the elementwise work (codes, key packing, key
unpacking, tie detection) runs block by block through small scratch buffers
that stay in cache, and the only n-row arrays made are the sort key (which
becomes the sorted time column), the order and the gathered columns. Each
row's patient code is not one of them: the groups' starts say it, and a
table derives it only when it is read (:func:`group_codes`). A table of
millions of rows packs, reads back and gathers in two halves on two threads
while a core is idle (``data/_parallel.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.data._parallel import halves, split_rows

__all__ = [
    "LazyColumns",
    "RowLayout",
    "RowOrder",
    "char_matrix",
    "factorise",
    "gather",
    "group_codes",
    "layout_rows",
    "order_rows",
    "value_range",
]

IntArray = npt.NDArray[np.int64]
_DAY = 86_400
_BLOCK = 1 << 16  # rows per block: a few 512 KiB scratch buffers stay in the core's cache
_TICK_SECONDS = {"D": _DAY, "h": 3_600, "m": 60, "s": 1}


def _blocks(n: int) -> range:
    return range(0, n, _BLOCK)


def value_range(values: npt.NDArray[Any], *, ignore_nan: bool = False) -> tuple[Any, Any]:
    """(least, greatest) of a non-empty column in one pass over memory, block by block.

    Two whole-column reductions read a large column from memory twice; block
    by block, the second reduction reads the block from the cache. A NaN makes
    both NaN unless ``ignore_nan`` (then NaN only when every value is NaN).

    Example:
        >>> import numpy as np
        >>> value_range(np.array([3.0, np.nan, 1.0]), ignore_nan=True)
        (np.float64(1.0), np.float64(3.0))
    """
    low, high = (np.fmin, np.fmax) if ignore_nan else (np.minimum, np.maximum)
    n = values.shape[0]
    if n <= _BLOCK:
        return low.reduce(values), high.reduce(values)
    lows = np.empty((n + _BLOCK - 1) // _BLOCK, values.dtype)
    highs = np.empty_like(lows)
    for k, at in enumerate(_blocks(n)):
        part = values[at : at + _BLOCK]
        lows[k], highs[k] = low.reduce(part), high.reduce(part)
    return low.reduce(lows), high.reduce(highs)


# ---------------------------------------------------------------- factorisation
@attrs.frozen
class _Coder:
    """A number per row whose order is the ids' order, written block by block.

    ``rank[id - low]`` (``rank`` None: ``id - low``), so integer ids never need
    an n-row array of codes. ``bits`` is how wide the numbers are.
    """

    ids: npt.NDArray[Any]
    low: int = 0
    rank: IntArray | None = None
    high: int | None = None
    """The greatest id when known (read with the least in one pass), else None."""

    @property
    def bits(self) -> int:
        if self.rank is not None:
            return max(int(self.rank[-1]), 0).bit_length()
        if not self.ids.size:
            return 0
        high = int(self.ids.max()) if self.high is None else self.high
        return max(high - self.low, 0).bit_length()

    def write(self, at: int, out: IntArray, scratch: IntArray) -> None:
        """Codes of rows ``at .. at + len(out)`` into ``out``."""
        ids = self.ids[at : at + out.shape[0]]
        if self.rank is None:
            np.subtract(ids, self.low, out=out, dtype=np.int64, casting="unsafe")
            return
        part = scratch[: out.shape[0]]
        np.subtract(ids, self.low, out=part, dtype=np.int64, casting="unsafe")
        np.take(self.rank, part, out=out)

    def codes(self) -> IntArray:
        """Every row's code, as one array."""
        if self.rank is None and self.low == 0 and self.ids.dtype == np.int64:
            return self.ids
        out = np.empty(self.ids.shape[0], np.int64)
        scratch = np.empty(min(_BLOCK, out.shape[0]), np.int64)
        for at in _blocks(out.shape[0]):
            self.write(at, out[at : at + _BLOCK], scratch)
        return out


@attrs.frozen
class _TextCoder:
    """Short ASCII text ids as numbers ordered like the text, written block by block.

    Each character becomes its rank among the characters the column uses
    (the padding NUL ranks 0, below every character), most significant first:
    comparing the numbers compares the texts, and ids made of few distinct
    characters (digits, say) take few bits, leaving room in the sort key.
    """

    chars: npt.NDArray[np.unsignedinteger[Any]]
    rank: IntArray
    char_bits: int

    @property
    def bits(self) -> int:
        return self.char_bits * int(self.chars.shape[1])

    def write(self, at: int, out: IntArray, scratch: IntArray) -> None:
        """Packed ids of rows ``at .. at + len(out)`` into ``out``."""
        block = self.chars[at : at + out.shape[0]]
        part = scratch[: out.shape[0]]
        out[:] = 0
        for k in range(block.shape[1]):
            np.take(self.rank, block[:, k], out=part)
            out <<= np.int64(self.char_bits)
            out |= part


def char_matrix(text: npt.NDArray[Any]) -> npt.NDArray[np.unsignedinteger[Any]] | None:
    """A fixed-width text column as an (n, width) matrix of its character codes (a view:
    ``uint32`` for ``str_``, ``uint8`` for ``bytes_``), None for other dtypes or width 0.

    Example:
        >>> char_matrix(np.array(["ab", "c"])).tolist()
        [[97, 98], [99, 0]]
    """
    code: type[np.unsignedinteger[Any]]
    if text.dtype.kind == "U":
        width, code = text.dtype.itemsize // 4, np.uint32
    elif text.dtype.kind == "S":
        width, code = text.dtype.itemsize, np.uint8
    else:
        return None
    if not width or not text.flags.c_contiguous:
        return None
    matrix: Any = text.view(code).reshape(text.shape[0], width)
    return matrix  # type: ignore[no-any-return]


def _text_coder(ids: npt.NDArray[Any]) -> _TextCoder | None:
    """A coder for ASCII text ids no wider than 63 bits once packed, else None."""
    chars = char_matrix(ids)
    if chars is None or ids.shape[0] == 0:
        return None
    width = chars.shape[1]
    used = np.zeros(128, bool)
    step = max(_BLOCK // width, 1)
    for at in range(0, ids.shape[0], step):
        seen = np.bincount(chars[at : at + step].reshape(-1), minlength=128)
        if seen.shape[0] > 128:  # not ASCII
            return None
        used |= seen > 0
    used[0] = True
    rank = np.cumsum(used, dtype=np.int64) - 1
    char_bits = int(rank[-1]).bit_length()
    if char_bits * width > 63:
        return None
    return _TextCoder(chars, rank, char_bits)


@attrs.frozen
class _Factors:
    """Sorted distinct ids and how to code each row."""

    uniques: npt.NDArray[Any]
    coder: _Coder
    owned: bool = False
    """Whether ``coder.ids`` is a code array made here (free to overwrite)."""


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
    factors = _factors(ids)
    codes = factors.coder.codes()
    return factors.uniques, codes.copy() if codes is ids else codes


def _factors(ids: npt.NDArray[Any]) -> _Factors:
    n = ids.shape[0]
    if n == 0:
        return _Factors(ids[:0], _Coder(np.empty(0, np.int64)))
    if ids.dtype.kind in "iu":
        low, high = int(ids.min()), int(ids.max())
        if high - low <= 2 * n + 1024 and high < 2**63:
            return _dense_range(ids.astype(np.int64) if ids.dtype == np.uint64 else ids, low, high)
        uniques, codes = _by_sort(ids)
        return _Factors(uniques, _Coder(codes), owned=True)
    packed = _packed_text(ids)
    if packed is not None:
        keys, codes = _by_sort(packed)
        first = np.zeros(keys.shape[0], np.int64)
        first[codes[::-1]] = np.arange(n - 1, -1, -1, dtype=np.int64)  # a row of each key
        return _Factors(ids[first], _Coder(codes), owned=True)
    uniques, codes = _by_sort(ids)
    return _Factors(uniques, _Coder(codes), owned=True)


def _dense_range(ids: npt.NDArray[Any], low: int, high: int) -> _Factors:
    """Ids within a range not much wider than the row count: counted, never sorted."""
    if 0 <= low <= 2 * ids.shape[0] + 1024:  # count the ids themselves: no offset array
        counts = np.bincount(ids, minlength=high + 1)[low:]
    else:
        counts = np.bincount(ids - low, minlength=high - low + 1)
    present = counts > 0
    if present.all():  # every id in the range is there: the code is the id minus low
        return _Factors(np.arange(low, high + 1).astype(ids.dtype), _Coder(ids, low))
    rank = np.cumsum(present, dtype=np.int64) - 1
    uniques = (np.flatnonzero(present) + low).astype(ids.dtype)
    return _Factors(uniques, _Coder(ids, low, rank))


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
    codes = char_matrix(ids)
    if codes is None or ids.shape[0] == 0:
        return None
    width = codes.shape[1]
    if width > 8 or int(codes.max()) > 127:
        return None
    packed = np.zeros(ids.shape[0], np.uint64)
    for k in range(width):
        packed |= codes[:, k].astype(np.uint64) << np.uint64(8 * (7 - k))
    return packed


# ---------------------------------------------------------------- ordering
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


@attrs.frozen
class RowLayout:
    """A table's rows factorised and ordered: everything a table needs besides its columns.

    ``order`` is None when the rows came in (patient, time) order already, so
    no column needs a gather; otherwise ``order[i]`` is the input row that
    goes to position ``i``. ``tied`` lists the positions ``i`` whose
    (patient, time) equals row ``i + 1``'s. ``group_starts`` has one entry per
    patient plus the row count. Each row's patient code is not stored: the
    groups say it (:attr:`codes`, :func:`group_codes`).
    """

    patient_ids: npt.NDArray[Any]
    seconds: IntArray
    tied: IntArray
    group_starts: IntArray
    order: npt.NDArray[np.intp] | None

    @property
    def codes(self) -> IntArray:
        """The patient code (position in ``patient_ids``) of every row, in the new order."""
        return group_codes(self.group_starts)

    def row_ids(self) -> npt.NDArray[Any]:
        """The patient id of every row, in the new order."""
        return np.repeat(self.patient_ids, np.diff(self.group_starts))

    def first_rows(self) -> npt.NDArray[np.intp]:
        """The input row of each patient's first row."""
        starts = self.group_starts[:-1]
        return starts if self.order is None else self.order[starts]


def group_codes(group_starts: IntArray) -> IntArray:
    """Each row's group number from the groups' starts (one entry per group plus the row
    count): the row-level patient code a table derives only when it is read.

    Example:
        >>> group_codes(np.array([0, 2, 3])).tolist()
        [0, 0, 1]
    """
    return np.repeat(np.arange(group_starts.shape[0] - 1, dtype=np.int64),
                     np.diff(group_starts))


def order_rows(codes: IntArray, n_codes: int, seconds: IntArray) -> RowOrder:
    """Order rows by (patient code, time), input order among equal pairs.

    Example:
        >>> import numpy as np
        >>> o = order_rows(np.array([1, 0, 1, 0]), 2, np.array([5, 9, 5, 2]))
        >>> o.order.tolist(), o.codes.tolist(), o.seconds.tolist(), o.ties.tolist()
        ([3, 1, 0, 2], [0, 0, 1, 1], [2, 9, 5, 5], [False, False, True, False])
    """
    n = codes.shape[0]
    coder = _Coder(codes)
    code_bits = max(n_codes - 1, 0).bit_length()
    if n == 0:
        empty = np.empty(0, np.int64)
        return RowOrder(empty.astype(np.intp), codes, empty, np.zeros(0, bool))
    shape = _key_shape(seconds, 1)
    layout = _ordered(coder, code_bits, seconds, shape, owned=False)
    if layout is None:
        layout = _ordered_wide(coder.codes(), code_bits, seconds, shape)
    order = layout.order if layout.order is not None else np.arange(n)
    sorted_codes = codes[order]  # the codes as given, not renumbered
    ties = np.zeros(n, bool)
    ties[layout.tied] = True
    return RowOrder(order, sorted_codes, layout.seconds, ties)


def layout_rows(
    ids: npt.NDArray[Any], times: npt.NDArray[np.datetime64],
    *, time_range: tuple[int, int] | None = None,
) -> RowLayout:
    """Factorise ``ids`` and order the rows by (patient, time), input order among ties.

    ``times`` may be ``datetime64`` in days, hours, minutes or seconds (no
    NaT); the layout's times are seconds. Integer ids and short ASCII text ids
    go straight into one packed sort key with the time and the input row, so
    one sort of integers factorises and orders at once; other ids are
    factorised first. ``time_range`` is (least, greatest) of ``times`` as integers when
    the caller has read it already (validation does), so the times are not read again.

    Example:
        >>> import numpy as np
        >>> layout = layout_rows(np.array([7, 3, 7]),
        ...                      np.array(["2024-01-02", "2024-01-05", "2024-01-01"], "M8[D]"))
        >>> layout.patient_ids.tolist(), layout.order.tolist(), layout.group_starts.tolist()
        ([3, 7], [1, 2, 0], [0, 1, 3])
        >>> layout.seconds.view("M8[s]").astype("M8[D]").astype(str).tolist()
        ['2024-01-05', '2024-01-01', '2024-01-02']
    """
    unit, count = np.datetime_data(times.dtype)
    if unit not in _TICK_SECONDS:  # finer than seconds, or months and years
        times, unit, count, time_range = times.astype("datetime64[s]"), "s", 1, None
    ticks, tick_seconds = times.view(np.int64), _TICK_SECONDS[unit] * count
    if ticks.shape[0] == 0:
        empty = np.empty(0, np.int64)
        return RowLayout(_as_str(ids[:0]), empty, empty, np.zeros(1, np.int64), None)
    shape = _key_shape(ticks, tick_seconds, time_range)
    direct = _direct_coder(ids)
    if direct is not None:
        layout = _ordered(direct, direct.bits, ticks, shape, owned=False)
        if layout is not None:
            return attrs.evolve(layout, patient_ids=_direct_ids(direct, ids, layout))
    factors = _factors(ids)
    code_bits = max(factors.uniques.shape[0] - 1, 0).bit_length()
    layout = _ordered(factors.coder, code_bits, ticks, shape, owned=factors.owned)
    if layout is None:
        layout = _ordered_wide(factors.coder.codes(), code_bits, ticks, shape)
    return attrs.evolve(layout, patient_ids=_as_str(factors.uniques))


def _as_str(ids: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """ASCII ``bytes_`` ids as ``str_`` (only the distinct ids are decoded); others as they
    are."""
    return ids.astype(f"U{max(ids.dtype.itemsize, 1)}") if ids.dtype.kind == "S" else ids


def _direct_ids(
    coder: _Coder | _TextCoder, ids: npt.NDArray[Any], layout: RowLayout
) -> npt.NDArray[Any]:
    """The distinct ids of a layout sorted straight from the ids: integer ids from each
    patient's code field (the id minus the least, read from the key: no gather), text ids
    from each patient's first row."""
    if isinstance(coder, _Coder):
        heads: npt.NDArray[Any] = (layout.patient_ids + coder.low).astype(ids.dtype)
        return heads
    return _as_str(ids[layout.first_rows()])


def _direct_coder(ids: npt.NDArray[Any]) -> _Coder | _TextCoder | None:
    """A coder that needs no factorisation: integer ids minus the least, or packed text."""
    if ids.shape[0] == 0:
        return None
    if ids.dtype.kind == "i":
        low, high = value_range(ids)
        return _Coder(ids, int(low), high=int(high))
    return _text_coder(ids)


@attrs.frozen
class _KeyShape:
    """How (code, time, row) share the bits of one int64 key, and how times map back."""

    time_bits: int
    row_bits: int
    low: int
    """The earliest time, in ticks."""
    per_key: int
    """Ticks per unit of the key's time field (a day when every time is a whole day)."""
    tick_seconds: int

    @property
    def row_mask(self) -> np.int64:
        return np.int64((1 << self.row_bits) - 1)

    @property
    def time_mask(self) -> np.int64:
        return np.int64((1 << self.time_bits) - 1)


def _key_shape(
    ticks: IntArray, tick_seconds: int, known_range: tuple[int, int] | None = None
) -> _KeyShape:
    """The key's time and row fields for these times (whole days counted as days);
    ``known_range`` is their (least, greatest) when already read."""
    low, high = (int(v) for v in (known_range or value_range(ticks)))
    per_key = 1
    day = _DAY // tick_seconds if _DAY % tick_seconds == 0 else 0
    if high > low and day > 1 and _whole(ticks, low, day):  # count days: fewer bits
        per_key = day
    time_bits = ((high - low) // per_key).bit_length()
    row_bits = max(ticks.shape[0] - 1, 0).bit_length()
    return _KeyShape(time_bits, row_bits, low, per_key, tick_seconds)


def _whole(ticks: IntArray, low: int, step: int) -> bool:
    """Whether every tick minus ``low`` is a multiple of ``step``; a sample first, then block
    by block, so times with seconds answer at once and no n-row temporary is made."""
    sample = ticks[:: max(ticks.shape[0] // 4096, 1)]
    if np.any((sample - low) % step):
        return False
    scratch = np.empty(min(_BLOCK, ticks.shape[0]), np.int64)
    for at in _blocks(ticks.shape[0]):
        part = scratch[: min(_BLOCK, ticks.shape[0] - at)]
        np.subtract(ticks[at : at + _BLOCK], low, out=part)
        np.remainder(part, step, out=part)
        if part.any():
            return False
    return True


def _ordered(
    coder: _Coder | _TextCoder, code_bits: int, ticks: IntArray, shape: _KeyShape,
    *, owned: bool,
) -> RowLayout | None:
    """Rows (at least one) ordered by one sort of a packed (code, time, row) key; None
    when it needs more than 63 bits."""
    if code_bits + shape.time_bits + shape.row_bits > 63:
        return None
    key = _packed_key(coder, ticks, shape, reuse=owned)
    in_order = _non_decreasing(key)
    if not in_order:
        key.sort()
    return _unpacked(key, shape, in_order)


def _packed_key(
    coder: _Coder | _TextCoder, ticks: IntArray, shape: _KeyShape, *, reuse: bool
) -> IntArray:
    """``code << (time + row bits) | time << row bits | row``, block by block (a large
    table in two halves on two threads).

    With ``reuse`` the coder's own code array becomes the key (it is ours to
    overwrite), so the key costs no new n-row array.
    """
    n = ticks.shape[0]
    key = coder.ids if reuse and isinstance(coder, _Coder) else np.empty(n, np.int64)
    code_shift = np.int64(shape.time_bits + shape.row_bits)
    row_shift = np.int64(shape.row_bits)

    def pack(start: int, stop: int) -> None:
        scratch = np.empty(min(_BLOCK, n), np.int64)  # one per thread
        rows = np.arange(min(_BLOCK, n), dtype=np.int64)
        for at in range(start, stop, _BLOCK):
            part = key[at : min(at + _BLOCK, stop)]
            m = part.shape[0]
            coder.write(at, part, scratch)
            part <<= code_shift
            time = scratch[:m]
            np.subtract(ticks[at : at + m], shape.low, out=time)
            if shape.per_key != 1:
                time //= np.int64(shape.per_key)
            time <<= row_shift
            part |= time
            np.add(rows[:m], at, out=time)
            part |= time

    split_rows(halves(n, _BLOCK), pack)
    return key


def _non_decreasing(key: IntArray) -> bool:
    """Whether ``key`` is sorted already; answers at the first block that is not."""
    for at in _blocks(key.shape[0]):
        part = key[at : at + _BLOCK + 1]
        if np.any(part[1:] < part[:-1]):
            return False
    return True


@attrs.frozen
class _Unpacked:
    """What a range of the sorted key says: its group starts and their code fields, and
    its rows tied to the next row."""

    starts: list[IntArray]
    heads: list[IntArray]
    tied: list[IntArray]


def _unpacked(key: IntArray, shape: _KeyShape, in_order: bool) -> RowLayout:
    """Read order, ties, group starts and seconds back from the sorted key, block by
    block (a large key in two halves on two threads); the key's own buffer ends up
    holding the sorted times in seconds.

    Patients are numbered 0, 1, 2... in id order whatever numbers the key's
    code field held (offset ids with gaps, packed text): a new group starts
    where the field changes, and no row-level code array is written. The
    layout's ``patient_ids`` are each patient's code field, for the caller to
    turn into ids.
    """
    n = key.shape[0]
    order = None if in_order else np.empty(n, np.intp)
    ranges = halves(n, _BLOCK)
    row_shift = shape.row_bits
    before = {start: (int(key[start - 1]) >> row_shift,  # read before any range changes
                      int(key[start - 1]) >> (row_shift + shape.time_bits))
              for start, _ in ranges[1:]}

    def unpack(start: int, stop: int) -> _Unpacked:
        return _unpack_range(key, order, shape, start, stop, before.get(start, (-1, -1)))

    parts = split_rows(ranges, unpack)
    group_starts = np.concatenate([*(s for p in parts for s in p.starts), [n]])
    return RowLayout(np.concatenate([h for p in parts for h in p.heads]), key,
                     np.concatenate([t for p in parts for t in p.tied]).astype(np.int64,
                                                                                copy=False),
                     group_starts.astype(np.int64, copy=False), order)


def _unpack_range(
    key: IntArray, order: npt.NDArray[np.intp] | None, shape: _KeyShape,
    start: int, stop: int, before: tuple[int, int],
) -> _Unpacked:
    """:func:`_unpacked` for rows ``start .. stop``; ``before`` is the (code, time) pair
    and the code field of the row before ``start`` (-1, -1 for the first row)."""
    m_max = min(_BLOCK, stop - start)
    same = np.empty(m_max, bool)
    field = np.empty(m_max, np.int64)
    found = _Unpacked([], [], [])
    row_shift, time_shift = np.int64(shape.row_bits), np.int64(shape.time_bits)
    seconds_per_key = np.int64(shape.per_key * shape.tick_seconds)
    first_second = np.int64(shape.low * shape.tick_seconds)
    last_pair, last_field = before
    for at in range(start, stop, _BLOCK):
        part = key[at : min(at + _BLOCK, stop)]
        m = part.shape[0]
        if order is not None:
            np.bitwise_and(part, shape.row_mask, out=order[at : at + m])
        part >>= row_shift  # now (code, time): equal neighbours are ties
        np.equal(part[1:], part[:-1], out=same[1:m])
        same[0] = last_pair == int(part[0])  # the previous block's last row and this first
        last_pair = int(part[-1])
        found.tied.append(np.flatnonzero(same[:m]) + (at - 1))
        np.right_shift(part, time_shift, out=field[:m])
        np.not_equal(field[1:m], field[: m - 1], out=same[1:m])
        same[0] = int(field[0]) != last_field
        last_field = int(field[m - 1])
        local = np.flatnonzero(same[:m])
        found.starts.append(local + at)
        found.heads.append(field[local])  # a take of the few starts, not a mask of the block
        part &= shape.time_mask
        part *= seconds_per_key
        part += first_second
    return found


def _ordered_wide(
    codes: IntArray, code_bits: int, ticks: IntArray, shape: _KeyShape
) -> RowLayout:
    """Keys too wide for one int64 with the row: one stable argsort (or a lexsort)."""
    tick_seconds = shape.tick_seconds
    relative = ticks - shape.low
    if shape.per_key != 1:
        relative //= np.int64(shape.per_key)
    if code_bits + shape.time_bits <= 63:
        order = np.argsort((codes << np.int64(shape.time_bits)) | relative, kind="stable")
    else:
        order = np.lexsort((relative, codes))
    sorted_codes = codes[order]
    seconds = ticks[order] * np.int64(tick_seconds)
    tied = np.flatnonzero((sorted_codes[1:] == sorted_codes[:-1]) & (seconds[1:] == seconds[:-1]))
    starts = np.flatnonzero(np.diff(sorted_codes, prepend=-1))
    group_starts = np.append(starts, codes.shape[0]).astype(np.int64)
    return RowLayout(np.empty(0, np.int64), seconds, tied, group_starts, order)


def gather(column: npt.NDArray[Any], order: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
    """``column[order]`` for an ``order`` whose every entry is a row of ``column`` (a
    table's order), without numpy's per-index bounds check, which at 10M rows costs a
    third of the gather; a large numeric column in two halves on two threads.

    Example:
        >>> gather(np.array(["a", "b", "c"]), np.array([2, 0])).tolist()
        ['c', 'a']
    """
    if column.dtype.kind not in "biufmM":  # text and objects: one take
        return np.take(column, order, mode="clip")
    out = np.empty(order.shape[0], column.dtype)

    def take(start: int, stop: int) -> None:
        np.take(column, order[start:stop], out=out[start:stop], mode="clip")

    split_rows(halves(order.shape[0]), take)
    return out


class LazyColumns(Mapping[str, npt.NDArray[Any]]):
    """A table's columns, some of them made the first time they are read.

    The patient id of every row is a full n-row column that most work never
    reads (it uses ``patient_ids`` and ``group_starts``); it is made on
    first use and kept.

    Example:
        >>> import numpy as np
        >>> cols = LazyColumns({"a": np.arange(2)}, {"b": lambda: np.ones(2)})
        >>> list(cols), cols["b"].tolist()
        (['a', 'b'], [1.0, 1.0])
    """

    def __init__(
        self,
        ready: Mapping[str, npt.NDArray[Any]],
        later: Mapping[str, Callable[[], npt.NDArray[Any]]],
        names: tuple[str, ...] | None = None,
    ) -> None:
        self._names = names if names is not None else (*ready, *later)
        self._ready = dict(ready)
        self._later = dict(later)

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        if name not in self._ready:
            make = self._later.pop(name, None)
            if make is None:
                raise KeyError(name)
            self._ready[name] = make()
        return self._ready[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._ready or name in self._later
