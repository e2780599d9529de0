"""Writing a table of columns as CSV with pyarrow (the ``fast`` extra): the same bytes as
:func:`~rfm_retention.cli._columns_csv.write_columns`, without a Python string per number.

Numbers, dates and times are formatted by arrow's compute kernels and joined
into lines by arrow; only the cells where arrow's text would differ from the
numpy writer's are made by Python: floats arrow writes in exponent form (or
that Python does: below 1e-4, from 1e16), infinities. Text and flag columns are
the numpy writer's own cells (formula-safe, quoted where they must be, in bulk)
handed to arrow as they are. Whole floats get Python's ``.0``.
Columns are formatted on threads, one per core (arrow's kernels release the GIL), a
block ahead of the lines being joined and written.

Every arrow array is made from numpy buffers (``Array.from_buffers``) and read
back from its buffers, never through ``pa.array`` or ``to_numpy``: those make
pyarrow import pandas, which would cost the command more than writing the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from rfm_retention._arrow_bits import bitmap_flags
from rfm_retention._optional import import_optional
from rfm_retention.cli._cell_bytes import Cells

__all__ = ["write_columns_arrow"]

_ROWS_PER_BLOCK = 1 << 16  # small blocks: their buffers are reused, not faulted in anew
_DISTINCT_FROM = 1 << 13  # floats in blocks of at least this many rows: distinct ones written


def write_columns_arrow(
    handle: IO[bytes], header: str, columns: Mapping[str, Any], *, decimals: int | None
) -> None:
    """Write ``header`` (one CSV line, no line break) and the rows of ``columns`` to ``handle``.

    Example:
        >>> import io, numpy as np
        >>> out = io.BytesIO()
        >>> write_columns_arrow(out, "id,x", {"id": np.array([1, 2]),
        ...                                   "x": np.array([0.5, np.nan])}, decimals=9)
        >>> out.getvalue()
        b'id,x\\n1,0.5\\n2,\\n'
    """
    arrow = _Arrow()
    handle.write(header.encode("utf-8") + b"\n")
    arrays = list(columns.values())
    n = len(arrays[0]) if arrays else 0
    workers = min(len(arrays), os.cpu_count() or 1) or 1
    # arrow's kernels release the GIL: the threads format the next block's columns while
    # this one joins and writes the lines of the block before
    with ThreadPoolExecutor(workers) as pool:
        pending: list[Future[Any]] = []
        for at in range(0, n, _ROWS_PER_BLOCK):
            formatting = [pool.submit(arrow.cells, a[at : at + _ROWS_PER_BLOCK], decimals)
                          for a in arrays]
            if pending:
                arrow.write_lines(handle, [cells.result() for cells in pending])
            pending = formatting
        if pending:
            arrow.write_lines(handle, [cells.result() for cells in pending])


class _Arrow:
    """pyarrow's modules and the few constant strings the writer joins with, as arrow
    scalars (a Python ``str`` argument to a compute function would import pandas)."""

    def __init__(self) -> None:
        self.pa = import_optional("pyarrow", "fast", "writing CSV files with pyarrow")
        self.pc = import_optional("pyarrow.compute", "fast", "writing CSV files with pyarrow")
        self.csv = import_optional("pyarrow.csv", "fast", "writing CSV files with pyarrow")
        self.unquoted = self.csv.WriteOptions(include_header=False, quoting_style="none")
        # malloc's pool: arrow's default (mimalloc) returns and re-faults its pages on
        # every call, which costs more system time than the formatting
        self.pool = self.pa.system_memory_pool()
        self.comma, self.newline, self.empty, self.point_zero = self.strings(
            [",", "\n", "", ".0"])

    # ------------------------------------------------------------ numpy -> arrow
    def fixed(self, kind: Any, values: npt.NDArray[Any],
              valid: npt.NDArray[np.bool_] | None = None) -> Any:
        """A fixed-width arrow array over ``values``' bytes, null where ``valid`` is False."""
        data = np.ascontiguousarray(values)
        n = data.shape[0]
        if valid is None or valid.all():
            return self.pa.Array.from_buffers(kind, n, [None, self.pa.py_buffer(data)],
                                              null_count=0)
        return self.pa.Array.from_buffers(
            kind, n, [self.mask(valid), self.pa.py_buffer(data)],
            null_count=n - int(np.count_nonzero(valid)),
        )

    def mask(self, flags: npt.NDArray[np.bool_]) -> Any:
        """An arrow bitmap (validity or boolean values) of ``flags``."""
        return self.pa.py_buffer(np.packbits(flags, bitorder="little"))

    def flags(self, flags: npt.NDArray[np.bool_]) -> Any:
        """An arrow boolean array of ``flags``."""
        return self.pa.Array.from_buffers(self.pa.bool_(), flags.shape[0],
                                          [None, self.mask(flags)], null_count=0)

    def from_cells(self, cells: Cells) -> Any:
        """An arrow string array of the numpy writer's cells (their bytes, unchanged)."""
        offsets, data = cells.packed()
        kind = self.pa.string() if offsets[-1] < 2**31 else self.pa.large_string()
        width = np.int32 if kind == self.pa.string() else np.int64
        return self.pa.Array.from_buffers(
            kind, offsets.shape[0] - 1,
            [None, self.pa.py_buffer(offsets.astype(width)), self.pa.py_buffer(data)],
            null_count=0,
        )

    def strings(self, texts: list[str]) -> Any:
        """An arrow string array of Python strings."""
        encoded = [t.encode("utf-8") for t in texts]
        offsets = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)), out=offsets[1:])
        return self.pa.Array.from_buffers(
            self.pa.string(), len(encoded),
            [None, self.pa.py_buffer(offsets.astype(np.int32)),
             self.pa.py_buffer(b"".join(encoded))],
            null_count=0,
        )

    @staticmethod
    def to_flags(array: Any) -> npt.NDArray[np.bool_]:
        """A null-free arrow boolean array's values as numpy booleans."""
        return bitmap_flags(array.buffers()[1], array.offset, len(array))

    def text_of(self, values: Any) -> Any:
        """Numbers, dates or times as arrow's text of them, an empty cell where null."""
        text = self.pc.cast(values, self.pa.string(), memory_pool=self.pool)
        if not values.null_count:
            return text
        return self.pc.coalesce(text, self.empty, memory_pool=self.pool)

    # ------------------------------------------------------------ cells and lines
    def cells(self, values: Any, decimals: int | None) -> Any:
        """One block of one column as an arrow string array of CSV cells."""
        from rfm_retention.cli._columns_csv import column_cells

        pa = self.pa
        arr = values if isinstance(values, np.ndarray) else None
        kind = arr.dtype.kind if arr is not None else ""
        if arr is not None and kind == "f":
            return self.float_cells(arr.astype(np.float64, copy=False), decimals)
        if arr is not None and kind == "i":
            return self.text_of(self.fixed(pa.int64(), arr.astype(np.int64, copy=False)))
        if arr is not None and kind == "u":
            return self.text_of(self.fixed(pa.uint64(), arr.astype(np.uint64, copy=False)))
        if arr is not None and arr.dtype == np.dtype("datetime64[D]"):
            days, valid = arr.view(np.int64), ~np.isnat(arr)
            if (np.abs(days[valid]) >= 2**31).any():  # beyond arrow's 32-bit dates
                return self.from_cells(column_cells(arr, decimals=decimals))
            stamps = self.fixed(pa.date32(), days.astype(np.int32), valid)
            return self.text_of(stamps)
        if arr is not None and arr.dtype == np.dtype("datetime64[s]"):
            stamps = self.fixed(pa.timestamp("s"), arr.view(np.int64), ~np.isnat(arr))
            return self.text_of(stamps)
        return self.from_cells(column_cells(values, decimals=decimals))

    def float_cells(self, arr: npt.NDArray[np.float64], decimals: int | None) -> Any:
        """Floats as the numpy writer writes them: rounded, Python's shortest form, NaN empty.

        A column of whole numbers (with NaN: intervals, counts) is written by
        arrow's integer kernel with ``.0``, twice as fast as its float one."""
        with np.errstate(over="ignore", invalid="ignore"):
            shown = np.round(arr, decimals) if decimals is not None else arr
        if shown.shape[0] >= _DISTINCT_FROM and self.repeats(shown[:_DISTINCT_FROM]):
            # many features repeat a few values (rates, intervals, zeros): each distinct
            # value (arrow's hash of the bits) is written once, then the cells gathered
            encoded = self.pc.dictionary_encode(self.fixed(self.pa.float64(), shown),
                                                memory_pool=self.pool)
            distinct = encoded.dictionary
            if 2 * len(distinct) <= shown.shape[0]:
                values = np.frombuffer(distinct.buffers()[1], np.float64)[
                    distinct.offset : distinct.offset + len(distinct)]
                return self.pc.take(self.rounded_cells(values), encoded.indices,
                                    memory_pool=self.pool)
        return self.rounded_cells(shown)

    def repeats(self, sample: npt.NDArray[np.float64]) -> bool:
        """Whether at most half of a sample's values are distinct (bit for bit)."""
        distinct = self.pc.count_distinct(self.fixed(self.pa.float64(), sample),
                                          memory_pool=self.pool)
        return bool(2 * int(distinct.as_py()) <= sample.shape[0])

    def rounded_cells(self, shown: npt.NDArray[np.float64]) -> Any:
        """Rounded floats as :meth:`float_cells` writes them, value by value."""
        finite = ~np.isnan(shown)
        values = shown[finite] if not finite.all() else shown
        with np.errstate(invalid="ignore"):
            whole = bool((np.abs(values) < 1e16).all() and (values == np.trunc(values)).all()
                         and not ((values == 0) & np.signbit(values)).any())
        if not whole:
            return self.shortest_cells(shown)
        numbers = self.fixed(self.pa.int64(), np.where(finite, shown, 0).astype(np.int64),
                             finite)
        digits = self.pc.cast(numbers, self.pa.string(), memory_pool=self.pool)
        text = self.pc.binary_join_element_wise(digits, self.point_zero, self.empty,
                                                memory_pool=self.pool)  # null where NaN
        return self.pc.coalesce(text, self.empty, memory_pool=self.pool)

    def shortest_cells(self, shown: npt.NDArray[np.float64]) -> Any:
        """Rounded floats in arrow's shortest text, fixed where Python's ``repr`` differs:
        exponent forms and infinities by ``repr``, whole numbers with ``.0``, NaN empty."""
        pa, pc = self.pa, self.pc
        text = self.text_of(self.fixed(pa.float64(), shown))
        size = np.abs(shown)
        with np.errstate(invalid="ignore"):
            python = ~np.isfinite(shown) | ((size < 1e-4) & (size > 0)) | (size >= 1e16)
            whole = ~python & (shown == np.trunc(shown))
        python |= self.to_flags(pc.match_substring(text, "e", memory_pool=self.pool))
        whole &= ~python
        if whole.any():
            with_point = pc.binary_join_element_wise(text, self.point_zero, self.empty,
                                                     memory_pool=self.pool)
            text = pc.if_else(self.flags(whole), with_point, text, memory_pool=self.pool)
        rows = np.flatnonzero(python)
        if rows.shape[0]:
            replaced = ["" if v != v else repr(v) for v in shown[rows].tolist()]
            text = pc.replace_with_mask(text, self.flags(python), self.strings(replaced),
                                        memory_pool=self.pool)
        return text

    def write_lines(self, handle: IO[bytes], cells: list[Any]) -> None:
        """Join one block's cell arrays into CSV lines and write their bytes: by arrow's CSV
        writer, told never to quote (the cells are written as they are), or, for a block
        with a cell that writer refuses unquoted (one the numpy writer quoted), by joining
        the cells element-wise."""
        table = self.pa.Table.from_arrays(cells, names=[str(k) for k in range(len(cells))])
        sink = self.pa.BufferOutputStream(memory_pool=self.pool)
        try:
            self.csv.write_csv(table, sink, write_options=self.unquoted, memory_pool=self.pool)
        except self.pa.ArrowInvalid:
            self.join_lines(handle, cells)
            return
        handle.write(memoryview(sink.getvalue()))

    def join_lines(self, handle: IO[bytes], cells: list[Any]) -> None:
        """Join one block's cell arrays into CSV lines element-wise and write their bytes."""
        pa, pc = self.pa, self.pc
        separators = [self.comma, self.empty, self.newline]
        if any(c.type == pa.large_string() for c in cells):  # cells of 2 GiB and more
            cells = [c.cast(pa.large_string()) for c in cells]
            separators = [s.cast(pa.large_string()) for s in separators]
        comma, empty, newline = separators
        joined = cells[0]
        if len(cells) > 1:
            joined = pc.binary_join_element_wise(*cells, comma, memory_pool=self.pool)
        joined = pc.binary_join_element_wise(joined, empty, newline, memory_pool=self.pool)
        wide = np.int64 if joined.type == pa.large_string() else np.int32
        offsets = np.frombuffer(joined.buffers()[1], wide)
        start, stop = int(offsets[joined.offset]), int(offsets[joined.offset + len(joined)])
        handle.write(memoryview(joined.buffers()[2])[start:stop])
