"""The CSV half of the ingest benchmark alone: ``python benchmarks/run.py ingest_csv``.

``rfm-retention features`` on 2M- and 10M-row CSV files (``--small``: 20k, 100k), as
installed and numpy-only, against pandas and Polars in the same run, with peak memory.
"""

from __future__ import annotations

from bench_ingest import csv_only


def main(small: bool = False) -> None:
    """Run the CSV benchmark of :mod:`bench_ingest`."""
    csv_only(small)
