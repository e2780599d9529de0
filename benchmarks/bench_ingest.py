"""Ingest: arrays and CSV files to features, next to Polars, DuckDB and pandas in the same run.

For 1M, 3M, 10M and 30M visits (``--small``: 10k, 30k, 100k, 300k) one run times:

- arrays: ``VisitLog.from_arrays`` -> ``features`` (the build included) against Polars and
  DuckDB computing the same core features (first/last visit, count, spend, last interval,
  3-month windows) from the same numpy arrays, and the build alone of the visit log and of
  a ratings table from the same arrays (every signal table goes the visit log's way);
- CSV, at 2M and 10M rows (``--small``: 20k, 100k): ``rfm-retention features`` on a CSV
  file of the same visits (read, build, features, write) against Polars (read, the same
  features, write) and pandas (``read_csv`` + groupby + ``to_csv``), each as its own
  process. The command line runs twice: as installed, and on the numpy-only path (pyarrow
  hidden from the process, so neither the ``fast`` reader nor the arrow writer is used);

and prints the ratios, the table build alone (arrays -> ``VisitLog``, and
CSV -> ``VisitLog`` with ``from_csv``) beside each whole job, the build's
growth (10M/1M, 30M/10M) and each process's peak memory (its maximum resident
set). Goals: arrays >= 2x Polars (1.5x at least), build growth <= 12 and <= 3.5,
the numpy-only CLI within 3x pandas, CLI peak under 1.5 GB at 10M rows.

``python benchmarks/run.py ingest [--small]`` (``ingest_csv`` runs the CSV part alone);
the 30M size needs about 10 GB free.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from _harness import Result, best_time, peak_memory, report

from rfm_retention.data import RatingTable, VisitLog

AS_OF = np.datetime64("2024-12-31")


def make_visits(n_visits: int, seed: int = 5) -> dict[str, npt.NDArray[Any]]:
    """Integer patient ids (10 visits each on average), day-level times, log-normal spend."""
    rng = np.random.default_rng(seed)
    return {
        "patient_id": rng.integers(0, max(n_visits // 10, 1), n_visits),
        "visit_time": np.datetime64("2022-01-01")
        + rng.integers(0, 1000, n_visits).astype("timedelta64[D]"),
        "amount": np.round(rng.lognormal(4, 1, n_visits), 2),
    }


def _polars_features(visits: dict[str, npt.NDArray[Any]]) -> Any:
    import polars as pl

    d = pl.col("d")
    in3 = d > np.datetime64("2024-09-30")
    in6 = (d > np.datetime64("2024-06-30")) & ~in3
    frame = pl.DataFrame(
        {"p": visits["patient_id"], "d": visits["visit_time"], "a": visits["amount"]}
    )
    return _polars_query(frame.lazy(), d, in3, in6).collect()


def _polars_query(lazy: Any, d: Any, in3: Any, in6: Any) -> Any:
    import polars as pl

    return (
        lazy.filter(d <= AS_OF).group_by("p").agg(
            d.min().alias("first"), d.max().alias("last"), pl.len().alias("n"),
            pl.col("a").sum().alias("s"), d.sort().slice(-2, 1).first().alias("prev"),
            in3.sum().alias("v3"), in6.sum().alias("v6"),
            pl.col("a").filter(in3).sum().alias("s3"), pl.col("a").filter(in6).sum().alias("s6"),
        ).with_columns(
            mean_int=(pl.col("last") - pl.col("first")).dt.total_days() / (pl.col("n") - 1),
            last_int=(pl.col("last") - pl.col("prev")).dt.total_days(),
        ).sort("p")
    )


_DUCK_SQL = """
select p, min(d) first, max(d) last, count(*) n, sum(a) s,
       sum(case when d > date '2024-09-30' then 1 else 0 end) v3,
       sum(case when d > date '2024-06-30' and d <= date '2024-09-30' then 1 else 0 end) v6,
       sum(case when d > date '2024-09-30' then a else 0 end) s3,
       sum(case when d > date '2024-06-30' and d <= date '2024-09-30' then a else 0 end) s6,
       (max(d) - min(d)) / nullif(count(*) - 1, 0) mean_int,
       max(d) - arg_max(d, d, 2)[2] last_int
from {source} where d <= date '2024-12-31' group by p order by p
"""


def _duckdb_features(visits: dict[str, npt.NDArray[Any]]) -> Any:
    import duckdb

    frame = {"p": visits["patient_id"], "d": visits["visit_time"], "a": visits["amount"]}
    con = duckdb.connect()
    con.register("v", __import__("pyarrow").table(frame))
    try:
        return con.sql(_DUCK_SQL.format(source="v")).fetchnumpy()
    finally:
        con.close()


def _optional(name: str, fn: Callable[[], Any]) -> Result | None:
    try:
        return best_time(name, fn, repeat=2)
    except ImportError as exc:
        print(f"  ({name}: {exc.name} is not installed; pip install '.[test]')")
        return None


def _build_time(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) of ``repeat`` builds.

    The build is single-threaded numpy, so its CPU time is its own work: on a
    shared machine a long run is preempted more often than a short one, which
    inflates wall-clock growth ratios but not CPU-time ones.
    """
    wall = cpu = float("inf")
    for _ in range(repeat):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu = min(cpu, time.process_time() - start_cpu)
        wall = min(wall, time.perf_counter() - start)
    return wall, cpu


def bench_arrays(n: int) -> dict[str, tuple[float, float]]:
    """Arrays -> VisitLog -> features against Polars and DuckDB on the same arrays; the
    visit-log build and a signal-table build (ratings, the same path) timed alone."""
    visits = make_visits(n)
    repeat = 5 if n < 20_000_000 else 3
    ratings = {"patient_id": visits["patient_id"], "rated_at": visits["visit_time"],
               "score": np.minimum(visits["amount"], 100.0)}
    builds = {"visit log": _build_time(lambda: VisitLog.from_arrays(**visits), repeat),
              "ratings table": _build_time(lambda: RatingTable.from_arrays(**ratings), repeat)}
    ours = best_time(
        f"rfm_retention arrays -> features ({n:,})",
        lambda: VisitLog.from_arrays(**visits).features("2024-12-31"),
        repeat=3,
    )
    peers = [r for r in (_optional("polars, same features", lambda: _polars_features(visits)),
                         _optional("duckdb, same features", lambda: _duckdb_features(visits)))
             if r is not None]
    report(f"arrays -> features, {n:,} visits", ours, *peers)
    for table, (wall, cpu) in builds.items():
        print(f"  build alone, {table}: {wall:.3f} s wall, {cpu:.3f} s CPU (best of {repeat})",
              flush=True)
    peak = peak_memory(lambda: VisitLog.from_arrays(**visits).features("2024-12-31"))
    given = sum(a.nbytes for a in visits.values())
    print(f"  peak memory of ours (numpy allocations traced): {peak / 2**20:,.0f} MiB, "
          f"{peak / given:.1f}x the input arrays ({given / 2**20:,.0f} MiB)", flush=True)
    return builds


def _timed_process(args: list[str], repeat: int = 2) -> tuple[float, float, float]:
    """(wall seconds, peak resident MiB, CPU seconds) of a child process, the best of
    ``repeat`` runs (the least disturbed one) for each.

    The child runs under ``/usr/bin/time`` when it is there: a child forked
    straight from this (large) process would report this process's peak. CPU
    time (user + system, the child's and its children's) says what the work
    costs when the machine is shared and wall time mostly measures waiting.
    """
    timer = ["/usr/bin/time", "-f", "%M"] if os.path.exists("/usr/bin/time") else []
    runs = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([*timer, *args], check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        lines = done.stderr.strip().splitlines()
        peak_kib = float(lines[-1]) if timer and lines and lines[-1].isdigit() else float("nan")
        runs.append((seconds, peak_kib / 1024, cpu))
    return min(r[0] for r in runs), max(r[1] for r in runs), min(r[2] for r in runs)


_PANDAS = """
import sys, pandas as pd
d = pd.read_csv(sys.argv[1], parse_dates=["visit_time"])
d.groupby("patient_id").agg(last=("visit_time", "max"), n=("amount", "size"),
                            s=("amount", "sum")).to_csv(sys.argv[2])
"""

_POLARS = """
import sys, numpy as np, polars as pl
sys.path.insert(0, sys.argv[3])
from bench_ingest import _polars_query
d = pl.col("d")
in3 = d > np.datetime64("2024-09-30"); in6 = (d > np.datetime64("2024-06-30")) & ~in3
lazy = pl.scan_csv(sys.argv[1], try_parse_dates=True).rename(
    {"patient_id": "p", "visit_time": "d", "amount": "a"})
_polars_query(lazy, d, in3, in6).collect().write_csv(sys.argv[2])
"""


# The command line with pyarrow hidden from the process: the numpy-only path.
_NUMPY_ONLY_CLI = """
import sys
sys.modules["pyarrow"] = None  # import pyarrow fails, find_spec("pyarrow") finds nothing
from rfm_retention.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def write_visits_csv(visits: dict[str, npt.NDArray[Any]], path: str) -> None:
    """The visits as a CSV file (patient_id, visit_time as an ISO date, amount)."""
    n = visits["patient_id"].shape[0]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("patient_id,visit_time,amount\n")
        for at in range(0, n, 1_000_000):
            part = slice(at, at + 1_000_000)
            rows = zip(visits["patient_id"][part].tolist(),
                       visits["visit_time"][part].astype(str).tolist(),
                       visits["amount"][part].tolist(), strict=True)
            handle.write("".join(f"{p},{d},{a}\n" for p, d, a in rows))


def bench_csv(n: int, folder: str) -> None:
    """The CLI (as installed and numpy-only) on a CSV file against Polars and pandas reading,
    aggregating and writing the same."""
    path = os.path.join(folder, f"visits_{n}.csv")
    write_visits_csv(make_visits(n), path)
    out = os.path.join(folder, "out.csv")
    args = ["features", "--visits", path, "--as-of", "2024-12-31", "--out", out]
    cli = os.path.join(os.path.dirname(sys.executable), "rfm-retention")
    runs = [("rfm-retention features, numpy-only", [sys.executable, "-c", _NUMPY_ONLY_CLI]),
            ("rfm-retention features, as installed", [cli])]
    timed = [(name, *_timed_process([*command, *args])) for name, command in runs]
    ours = Result(f"{timed[0][0]} ({n:,} rows)", timed[0][1])
    peers = [Result(timed[1][0], timed[1][1])]
    peaks = [f"CLI numpy-only {timed[0][2]:,.0f} MiB", f"CLI as installed {timed[1][2]:,.0f} MiB"]
    cpus = {"numpy-only CLI": timed[0][3], "CLI as installed": timed[1][3]}
    here = os.path.dirname(os.path.abspath(__file__))
    for name, code, extra in (("pandas read_csv + groupby + to_csv", _PANDAS, []),
                              ("polars scan_csv + same features + write", _POLARS, [here])):
        try:
            wall, their_peak, cpu = _timed_process([sys.executable, "-c", code, path, out,
                                                    *extra])
        except subprocess.CalledProcessError as exc:
            print(f"  ({name} failed: {exc.stderr[-200:]})")
            continue
        peers.append(Result(name, wall))
        peaks.append(f"{name.split()[0]} {their_peak:,.0f} MiB")
        cpus[name.split()[0]] = cpu
    report(f"CSV -> features CSV, {n:,} rows", ours, *peers)
    print("  CPU seconds (user + system): "
          + ", ".join(f"{who} {cpu:.2f}" for who, cpu in cpus.items()), flush=True)
    pandas = next((p for p in peers if p.name.startswith("pandas")), None)
    if pandas is not None:
        print(f"  numpy-only CLI / pandas: {ours.seconds / pandas.seconds:.2f}x wall, "
              f"{cpus['numpy-only CLI'] / cpus['pandas']:.2f}x CPU (goal <= 3x)", flush=True)
    polars = next((p for p in peers if p.name.startswith("polars")), None)
    if polars is not None:  # below 1: the installed CLI is slower than Polars
        print(f"  CLI as installed, speed relative to polars: {polars.seconds / timed[1][1]:.2f}x "
              f"wall, {cpus['polars'] / cpus['CLI as installed']:.2f}x CPU "
              "(goal with the fast extra >= 1.0x)", flush=True)
    print(f"  peak resident memory: {', '.join(peaks)} (CLI goal < 1536 MiB at 10M rows)",
          flush=True)
    build = best_time("VisitLog.from_csv", lambda: VisitLog.from_csv(path), repeat=1)
    print(f"  table build alone (CSV -> VisitLog, in this process) {build.seconds:.3f} s: "
          f"{build.seconds / ours.seconds:.0%} of the numpy-only CLI's whole job", flush=True)
    os.remove(path)


def csv_only(small: bool = False) -> None:
    """The CSV part alone: 2M and 10M rows (``--small``: 20k and 100k)."""
    with tempfile.TemporaryDirectory() as folder:
        for n in (20_000, 100_000) if small else (2_000_000, 10_000_000):
            bench_csv(n, folder)
    print(f"== done {dt.datetime.now(dt.UTC):%H:%M:%S} UTC", flush=True)


def main(small: bool = False) -> None:
    """Arrays at four sizes and CSV at two; the build's growth from size to size."""
    sizes = ((10_000, 30_000, 100_000, 300_000) if small
             else (1_000_000, 3_000_000, 10_000_000, 30_000_000))
    builds = {n: bench_arrays(n) for n in sizes}
    small_n, _, mid_n, big_n = sizes
    report_growth(builds, (small_n, mid_n, big_n))
    report_memory_floor((small_n, mid_n, big_n))
    csv_only(small)


def report_growth(
    builds: dict[int, dict[str, tuple[float, float]]], sizes: tuple[int, int, int], label: str = ""
) -> None:
    """The growth of each table's build time (wall and CPU) from the small size to the
    middle one (goal <= 12 for 10x the rows) and from the middle to the big one (<= 3.5)."""
    small_n, mid_n, big_n = sizes
    for table in next(iter(builds.values())):
        for k, clock in enumerate(("wall", "CPU")):
            t = {n: by_table[table][k] for n, by_table in builds.items()}
            print(f"== {table} build growth{label} ({clock} time): {mid_n // small_n}x rows -> "
                  f"{t[mid_n] / t[small_n]:.1f}x time (goal <= 12), {big_n // mid_n}x rows "
                  f"-> {t[big_n] / t[mid_n]:.1f}x time (goal <= 3.5)", flush=True)


def report_memory_floor(sizes: tuple[int, int, int]) -> None:
    """The growth, on this machine, of the three passes no table build can do without:
    a fresh copy of a column, a gather of a column into a random order and one sort of
    int64 keys (CPU time, best of several). The build's growth reads against these: at
    the small size every array stays in the processor's caches, at the larger ones each
    pass goes to main memory and first touches fresh pages, so even a copy grows faster
    than the row count there."""
    floors = {n: _floor_times(n) for n in sizes}
    small_n, mid_n, big_n = sizes
    for step in floors[small_n]:
        t = {n: by_step[step] for n, by_step in floors.items()}
        print(f"== memory floor, {step} (CPU time): {mid_n // small_n}x rows -> "
              f"{t[mid_n] / t[small_n]:.1f}x time, {big_n // mid_n}x rows -> "
              f"{t[big_n] / t[mid_n]:.1f}x time", flush=True)


def _floor_times(n: int) -> dict[str, float]:
    """CPU seconds of the floor passes of :func:`report_memory_floor` on ``n`` rows."""
    visits = make_visits(n)
    ids, amounts = visits["patient_id"], visits["amount"]
    order = np.random.default_rng(7).permutation(n)
    key = (ids << 20) | np.arange(n) % (1 << 20)
    repeat = 5 if n < 20_000_000 else 3
    return {"a fresh copy of a column": _build_time(ids.copy, repeat)[1],
            "a gather into a random order": _build_time(lambda: amounts[order], repeat)[1],
            "one sort of int64 keys": _build_time(lambda: np.sort(key), repeat)[1]}
