"""Dense patient codes of an arrow column of text ids by arrow's hash: one pass over the rows.

Ids that are not plain digits (``p0123``, UUIDs) are coded by arrow's hash
table (``dictionary_encode``), each distinct id once; only the distinct ids
are then sorted (arrow sorts text by its bytes, the order the visit log gives
text ids) and checked as validation would check them. An id validation would
reject, or trimmed spaces would make one with another (``" p2"`` and ``"p2"``),
gives None: the caller's general path then reads the file, with validation's
own words for any problem.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from rfm_retention._optional import import_optional
from rfm_retention.data._arrow_csv import _numpy_column, _values, hash_encoded
from rfm_retention.data._digit_ids import DigitIds
from rfm_retention.data._schema import _edges_clean

__all__ = ["hashed_ids"]


def hashed_ids(column: Any) -> DigitIds | None:
    """Dense codes of an arrow string column of text ids, the distinct ids (as ``str_``) in
    text order, or None when validation would trim or reject an id.

    Example:
        >>> import pyarrow as pa
        >>> ids = hashed_ids(pa.chunked_array([["p2", "b", "p2"], ["a1"]]))
        >>> ids.patient_ids.tolist(), ids.codes.tolist()
        (['a1', 'b', 'p2'], [2, 1, 2, 0])
        >>> hashed_ids(pa.chunked_array([["p2", " p2"]])) is None
        True
    """
    pa = import_optional("pyarrow", "fast", "reading CSV files with reader='arrow'")
    pc = import_optional("pyarrow.compute", "fast", "reading CSV files with reader='arrow'")
    chunks = [c for c in column.chunks if len(c)]
    if not chunks:
        return DigitIds(np.empty(0, "U1"), np.empty(0, np.int64))
    pool = pa.system_memory_pool()
    encoded = hash_encoded(pa.chunked_array(chunks))
    distinct = encoded.chunk(0).dictionary
    sorting = pc.sort_indices(distinct, memory_pool=pool)  # an arrow array: no pandas import
    order = _indices(sorting)
    sorted_ids = pc.take(distinct, sorting, memory_pool=pool)
    cells = _numpy_column(pa.chunked_array([sorted_ids]), "id", True, True)
    if not _valid_as_given(cells):
        return None
    rank = np.empty(order.shape[0], np.int64)
    rank[order] = np.arange(order.shape[0], dtype=np.int64)
    codes = rank[_values([c.indices for c in encoded.chunks], np.int32, 0)]
    return DigitIds(_as_str(cells), codes)


def _indices(array: Any) -> npt.NDArray[np.int64]:
    """A null-free arrow uint64 index array as numpy int64."""
    values = np.frombuffer(array.buffers()[1], np.uint64)[array.offset : array.offset + len(array)]
    return values.astype(np.int64)


def _valid_as_given(cells: npt.NDArray[Any]) -> bool:
    """Whether the distinct ids' cells (as the reader gives them: spaces around a cell
    trimmed) are still distinct and in order, none empty, and validation keeps each as it
    is (nothing more to trim)."""
    if cells.dtype.kind not in "SU" or cells.shape[0] == 0:
        return bool(cells.shape[0] == 0)
    empty = b"" if cells.dtype.kind == "S" else ""
    return (bool((cells[1:] > cells[:-1]).all()) and not bool((cells == empty).any())
            and bool(_edges_clean(cells)))


def _as_str(cells: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The ids as ``str_``: ASCII bytes (validation kept only ASCII ``bytes_``) widened to
    their code points, not decoded one by one."""
    if cells.dtype.kind == "U":
        return cells
    width = max(cells.dtype.itemsize, 1)
    chars = np.zeros((cells.shape[0], width), np.uint8)
    chars[:, : cells.dtype.itemsize] = np.ascontiguousarray(cells).view(np.uint8).reshape(
        cells.shape[0], cells.dtype.itemsize)
    return chars.astype(np.uint32).view(f"<U{width}").reshape(-1)
