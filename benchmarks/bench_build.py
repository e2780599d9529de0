"""The table build alone: ``python benchmarks/run.py build`` (``--small``: 100x less data).

Builds a visit log and a ratings table from the ingest benchmark's arrays (integer
patient ids, 10 visits each on average, day-level times) at 1M, 10M and 30M rows, and
prints each build's best wall and CPU time and their growth from size to size (goals:
<= 12x for 10x the rows, <= 3.5x for 3x), then, for comparison, the growth of a plain
copy, a random gather and a sort at the same sizes on the same machine. Each size runs
as installed (a large table splits its passes over two threads when a core is idle) and
on one thread (``RFM_RETENTION_THREADS=1``), alternating, so both see the same machine. The 30M
size needs about 4 GB free.
"""

from __future__ import annotations

import os

import numpy as np
from bench_ingest import _build_time, make_visits, report_growth, report_memory_floor

from rfm_retention.data import RatingTable, VisitLog

_VARIABLE = "RFM_RETENTION_THREADS"
_MODES = ("", ", one thread")


def _set_threads(value: str | None) -> None:
    if value is None:
        os.environ.pop(_VARIABLE, None)
    else:
        os.environ[_VARIABLE] = value


def bench_builds(n: int) -> dict[str, dict[str, tuple[float, float]]]:
    """{mode: {table: (best wall, best CPU)}} for ``n`` rows."""
    visits = make_visits(n)
    ratings = {"patient_id": visits["patient_id"], "rated_at": visits["visit_time"],
               "score": np.minimum(visits["amount"], 100.0)}
    jobs = {"visit log": lambda: VisitLog.from_arrays(**visits),
            "ratings table": lambda: RatingTable.from_arrays(**ratings)}
    best: dict[str, dict[str, tuple[float, float]]] = {mode: {} for mode in _MODES}
    as_installed = os.environ.get(_VARIABLE)
    try:
        for _ in range(5 if n < 20_000_000 else 3):
            for mode, setting in zip(_MODES, (as_installed, "1"), strict=True):
                _set_threads(setting)
                for table, job in jobs.items():
                    wall, cpu = _build_time(job, 1)
                    old = best[mode].get(table, (float("inf"), float("inf")))
                    best[mode][table] = (min(old[0], wall), min(old[1], cpu))
    finally:
        _set_threads(as_installed)
    print(f"== build alone, {n:,} rows (load average {os.getloadavg()[0]:.1f})", flush=True)
    for mode, tables in best.items():
        for table, (wall, cpu) in tables.items():
            print(f"  {table}{mode or ', as installed'}: {wall:.3f} s wall, {cpu:.3f} s CPU")
    return best


def main(small: bool = False) -> None:
    """The build alone at three sizes, as installed and on one thread, and its growth."""
    sizes = (10_000, 100_000, 300_000) if small else (1_000_000, 10_000_000, 30_000_000)
    runs = {n: bench_builds(n) for n in sizes}
    for mode in _MODES:
        report_growth({n: run[mode] for n, run in runs.items()}, sizes, mode)
    report_memory_floor(sizes)
