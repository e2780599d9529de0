"""Visits on a dataframe engine, pulled once into a local :class:`~rfm_retention.data.VisitLog`.

The steps that read every visit (the per-visit behaviour indicators, the
backtest's outcomes, the trained model's inputs) run in numpy over local
arrays. For them the engine selects and types only the visit columns the
library reads (patient id, time, amount, and department, diagnosis and visit
id when the table has them) and sends those rows once; nothing else of the
table leaves the engine.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from rfm_retention._engines._sources import to_lazy_visits
from rfm_retention.data._sources import VisitLog

__all__ = ["engine_visit_log"]


def engine_visit_log(
    source: Any, mapping: Mapping[str, str] | None = None, *, connection: Any = None
) -> VisitLog:
    """The visits of an engine table as a local log (only the library's visit columns travel).

    ``source`` and ``mapping`` are as for :func:`~rfm_retention.features.patient_features`.

    Example:
        >>> import polars as pl
        >>> frame = pl.LazyFrame({"PID": [2, 1], "amount": [5.0, 7.5], "note": ["x", "y"],
        ...     "visit_time": pl.Series(["2024-01-02", "2024-01-03"]).str.to_datetime()})
        >>> log = engine_visit_log(frame, {"patient_id": "PID"})
        >>> log.patient_ids.tolist(), log.amount.tolist()
        ([1, 2], [7.5, 5.0])
    """
    lazy = to_lazy_visits(source, mapping or {}, connection=connection, fill_absent=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*narwhals-dask.*", category=FutureWarning)
        local = lazy.collect(backend="pyarrow").to_native()
    return VisitLog.from_frame(local)
