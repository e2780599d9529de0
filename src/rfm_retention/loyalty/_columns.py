"""Ledger values as typed numpy columns, for the results' ``to_columns()`` (and DataFrames).

Text stays a text column even when empty (so an empty history is still a
table of strings in pandas, Polars and Arrow), and times become
``datetime64[us]`` with NaT for a missing expiry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["instants", "texts"]


def texts(values: Sequence[str]) -> npt.NDArray[np.str_]:
    """Text values as a numpy text column.

    Example:
        >>> texts([]).dtype.kind, texts(["p1"]).tolist()
        ('U', ['p1'])
    """
    return np.array(values, dtype=str)


def instants(values: Sequence[Any]) -> npt.NDArray[np.datetime64]:
    """Datetimes (or None) as a ``datetime64[us]`` column, None as NaT.

    Example:
        >>> import datetime as dt
        >>> instants([dt.datetime(2024, 3, 1, 9), None]).tolist()
        [datetime.datetime(2024, 3, 1, 9, 0), None]
    """
    return np.array([np.datetime64("NaT") if v is None else v for v in values],
                    dtype="datetime64[us]")
