"""Writing a table of columns as CSV with pyarrow (the ``fast`` extra): the same bytes as
:func:`~rfm_retention.cli._columns_csv.write_columns`, without a Python string per number.

Numbers, dates and times are formatted by arrow's compute kernels and joined
into lines by arrow; only the cells where arrow's text would differ from the
numpy writer's are made by Python: floats arrow writes in exponent form (or
that Python does: below 1e-4, from 1e16), infinities, and text columns, which
go through the numpy writer's own cell rules (formula-safe, quoted where they
must be). Whole floats get Python's ``.0``, ``True``/``False`` their capitals.
Columns are formatted on threads, one per core (arrow's kernels release the GIL).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from rfm_retention._optional import import_optional

__all__ = ["write_columns_arrow"]

_ROWS_PER_BLOCK = 1 << 20


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
    pa = import_optional("pyarrow", "fast", "writing CSV files with pyarrow")
    pc = import_optional("pyarrow.compute", "fast", "writing CSV files with pyarrow")
    handle.write(header.encode("utf-8") + b"\n")
    arrays = list(columns.values())
    n = len(arrays[0]) if arrays else 0
    workers = min(len(arrays), os.cpu_count() or 1) or 1
    with ThreadPoolExecutor(workers) as pool:  # arrow's kernels release the GIL
        for at in range(0, n, _ROWS_PER_BLOCK):
            part = [a[at : at + _ROWS_PER_BLOCK] for a in arrays]
            cells = list(pool.map(lambda values: _cells(pa, pc, values, decimals), part))
            _write_lines(pc, handle, cells)


def _write_lines(pc: Any, handle: IO[bytes], cells: list[Any]) -> None:
    """Join one block's cell arrays into lines and write their bytes."""
    lines = pc.binary_join_element_wise(*cells, ",") if len(cells) > 1 else cells[0]
    lines = pc.binary_join_element_wise(lines, "", "\n")
    offsets = np.frombuffer(lines.buffers()[1], np.int32)
    start, stop = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    handle.write(memoryview(lines.buffers()[2])[start:stop])


def _cells(pa: Any, pc: Any, values: Any, decimals: int | None) -> Any:
    """One block of one column as an arrow string array of CSV cells."""
    from rfm_retention.cli._columns_csv import column_text

    arr = values if isinstance(values, np.ndarray) else None
    kind = arr.dtype.kind if arr is not None else ""
    if arr is not None and kind == "f":
        return _float_cells(pa, pc, arr.astype(np.float64, copy=False), decimals)
    if arr is not None and kind in "iu":
        return pc.cast(pa.array(arr), pa.string())
    if arr is not None and kind == "b":
        return pa.array(np.where(arr, "True", "False").astype(object), pa.string())
    if arr is not None and arr.dtype in (np.dtype("datetime64[D]"), np.dtype("datetime64[s]")):
        text = pc.cast(pa.array(arr), pa.string())
        return pc.fill_null(text, "")
    return pa.array(column_text(values, decimals=decimals), pa.string())


def _float_cells(pa: Any, pc: Any, arr: npt.NDArray[np.float64], decimals: int | None) -> Any:
    """Floats as the numpy writer writes them: rounded, Python's shortest form, NaN empty."""
    with np.errstate(over="ignore", invalid="ignore"):
        shown = np.round(arr, decimals) if decimals is not None else arr
    text = pc.cast(pa.array(shown), pa.string())
    size = np.abs(shown)
    with np.errstate(invalid="ignore"):
        python = ~np.isfinite(shown) | ((size < 1e-4) & (size > 0)) | (size >= 1e16)
        whole = ~python & (shown == np.trunc(shown))
    python |= pc.match_substring(text, "e").to_numpy(zero_copy_only=False)
    whole &= ~python
    if whole.any():
        text = pc.if_else(pa.array(whole), pc.binary_join_element_wise(text, ".0", ""), text)
    rows = np.flatnonzero(python)
    if rows.shape[0]:
        replaced = ["" if v != v else repr(v) for v in shown[rows].tolist()]
        text = pc.replace_with_mask(text, pa.array(python), pa.array(replaced, pa.string()))
    return text

