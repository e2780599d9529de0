"""The CLI's CSV -> features CSV with each CSV reader, next to Polars, DuckDB and pandas.

For 2M and 10M visit rows (``--small``: 20k and 100k) one run times, each as its
own process (start-up and imports included, as a user pays them):

- ``rfm-retention features --csv-reader arrow`` (the ``fast`` extra: pyarrow
  reads the file and writes the features) and ``--csv-reader numpy`` (no extra);
- Polars: ``scan_csv`` + the same core features + ``write_csv``;
- DuckDB: ``read_csv`` + the same core features + ``COPY ... TO`` a CSV file;
- pandas: ``read_csv`` + groupby + ``to_csv`` (the outside check's baseline);

and prints the ratios, each process's peak resident memory and CPU time. Goals: with the
``fast`` extra within 1.0x Polars at 10M rows and within 2x pandas at 2M; the
numpy reader within 3x pandas.

``python benchmarks/run.py csv_readers [--small]``
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile

from _harness import Result, report
from bench_ingest import _DUCK_SQL, _PANDAS, _POLARS, _timed_process, make_visits

_DUCKDB = """
import sys, duckdb
sys.path.insert(0, sys.argv[3])
from bench_ingest import _DUCK_SQL
source = ("(select patient_id p, visit_time::date d, amount a from read_csv('"
          + sys.argv[1] + "'))")
duckdb.sql("copy (" + _DUCK_SQL.format(source=source) + ") to '" + sys.argv[2]
           + "' (header, delimiter ',')")
"""


def write_visits_csv(path: str, n: int) -> None:
    """The benchmark's visits (integer ids, ISO dates, amounts with cents) as a CSV file."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    visits = make_visits(n)
    table = pa.table({
        "patient_id": visits["patient_id"],
        "visit_time": pa.array(visits["visit_time"].astype("datetime64[D]")),
        "amount": visits["amount"],
    })
    with open(path, "wb") as handle:  # arrow would quote the header's names
        handle.write(b"patient_id,visit_time,amount\n")
        pacsv.write_csv(table, handle,
                        pacsv.WriteOptions(include_header=False, quoting_style="none"))


def bench(n: int, folder: str) -> None:
    """One row count: our CLI with each reader, then the peers, each in its own process."""
    path = os.path.join(folder, f"visits_{n}.csv")
    write_visits_csv(path, n)
    out = os.path.join(folder, "out.csv")
    here = os.path.dirname(os.path.abspath(__file__))
    cli = os.path.join(os.path.dirname(sys.executable), "rfm-retention")
    runs: dict[str, tuple[float, float, float]] = {}
    for reader in ("arrow", "numpy"):
        runs[f"rfm-retention features, --csv-reader {reader}"] = _timed_process(
            [cli, "features", "--visits", path, "--as-of", "2024-12-31", "--out", out,
             "--csv-reader", reader])
    peers = (("polars scan_csv + same features + write_csv", _POLARS),
             ("duckdb read_csv + same features + COPY TO csv", _DUCKDB),
             ("pandas read_csv + groupby + to_csv", _PANDAS))
    for name, code in peers:
        try:
            runs[name] = _timed_process([sys.executable, "-c", code, path, out, here])
        except subprocess.CalledProcessError as exc:
            print(f"  ({name} failed: {exc.stderr[-300:]})")
    names = list(runs)
    results = [Result(name, runs[name][0]) for name in names]
    report(f"CSV -> features CSV, {n:,} rows, fast extra (arrow reader)", results[0],
           *results[2:])
    report(f"CSV -> features CSV, {n:,} rows, numpy reader", results[1], *results[2:])
    for name in names:
        print(f"  peak resident memory {runs[name][1]:8,.0f} MiB, CPU (user + system) "
              f"{runs[name][2]:6.2f} s  {name}")
    # On a shared machine wall time mostly measures waiting for a core: the work compares
    # by CPU time (a multithreaded peer's CPU time is more than its wall time when idle).
    for ours in names[:2]:
        print(f"  CPU ratio, {ours}: " + ", ".join(
            f"{peer.split()[0]} {runs[peer][2] / runs[ours][2]:.2f}x" for peer in names[2:]))
    print(flush=True)
    os.remove(path)


def main(small: bool = False) -> None:
    """Both sizes, one run each."""
    assert _DUCK_SQL  # the DuckDB child formats the same query from bench_ingest
    with tempfile.TemporaryDirectory() as folder:
        for n in (20_000, 100_000) if small else (2_000_000, 10_000_000):
            bench(n, folder)
    print(f"== done {dt.datetime.now(dt.UTC):%H:%M:%S} UTC", flush=True)
