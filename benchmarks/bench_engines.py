"""Patient features on DuckDB, Polars (lazy) and Spark (local[2]) next to the numpy path,
and the nightly incremental update of a FeatureState next to a full recompute.

One run, for 10M and 30M visits (1M and 3M patients, five years) written once to
a Parquet file, times the whole user job from that file to a ``PatientFeatures``:

- numpy: read the Parquet columns (pyarrow), ``VisitLog.from_arrays`` (the table
  build, printed as its own line), then ``features``; the whole job is the two;
- DuckDB: ``patient_features(con.sql("select * from read_parquet(...)"), as_of)``;
- Polars lazy: ``patient_features(pl.scan_parquet(...), as_of)``;
- Spark local[2]: ``patient_features(spark.read.parquet(...), as_of)`` (session start not timed);

each engine's result is checked against the numpy result (every count and day
column equal) so that no contender times less than the real job. Then, on the 10M
visits: a saved 10M-visit ``FeatureState`` loaded, updated with one day's visits
(~5,500), asked for the features and saved again, against rebuilding the
``VisitLog`` of all visits plus that day and computing the features from scratch.

``python benchmarks/run.py engines [--small]`` (``--small``: 100k and 300k visits).
Heavy: run it under ``flock /work/bench.lock`` on a shared machine.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _harness import Result, best_time, report, whole_job
from bench_features import make_visits

import rfm_retention as rr
from rfm_retention import FeatureState
from rfm_retention.data import VisitLog

AS_OF = dt.date(2025, 1, 1)
EXACT = ("total_visits", "visits_in_window", "days_since_last_visit", "tenure_days",
         "visits_last_3_months", "visits_prior_3_months", "last_interval_days")


def _write_parquet(arrays: dict[str, Any], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "patient_id": arrays["patient_id"],
        "visit_time": arrays["visit_time"].astype("datetime64[us]"),
        "amount": arrays["amount"],
    })
    pq.write_table(table, path, row_group_size=1_000_000)


def _numpy_build(path: Path) -> VisitLog:
    """The numpy path's table build: the Parquet columns (pyarrow) into a ``VisitLog``."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return VisitLog.from_arrays(**{name: table[name].to_numpy() for name in table.column_names})


def _same(reference: rr.PatientFeatures, got: rr.PatientFeatures, name: str) -> None:
    """Fail loudly when an engine's result is not the numpy result."""
    assert np.array_equal(reference.patient_id, got.patient_id), name
    for column in EXACT:
        a, b = getattr(reference, column), getattr(got, column)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (name, column)
    np.testing.assert_allclose(reference.spend_in_window, got.spend_in_window, rtol=1e-9)


def _spark_session() -> Any | None:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        print("pyspark is not installed: no Spark contender (pip install '.[spark]')")
        return None
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("rfm_retention-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "6g")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _features_run(n_patients: int, n_visits: int, folder: Path, spark: Any) -> None:
    import duckdb
    import polars as pl

    print(f"building {n_visits:,} visits of {n_patients:,} patients ...", flush=True)
    path = folder / f"visits-{n_visits}.parquet"
    _write_parquet(make_visits(n_patients, n_visits), path)
    build = best_time(f"numpy: parquet -> VisitLog ({n_visits:,})", lambda: _numpy_build(path),
                      repeat=1)
    ours = best_time("numpy: features", lambda: build.value.features(AS_OF), repeat=1)
    contenders: list[tuple[str, Callable[[], Any]]] = [
        ("duckdb: patient_features(read_parquet)",
         lambda: rr.patient_features(
             duckdb.connect().sql(f"select * from read_parquet('{path}')"), AS_OF)),
        ("polars lazy: patient_features(scan_parquet)",
         lambda: rr.patient_features(pl.scan_parquet(path), AS_OF)),
    ]
    if spark is not None:
        contenders.append(("spark local[2]: patient_features(read.parquet)",
                           lambda: rr.patient_features(spark.read.parquet(str(path)), AS_OF)))
    results: list[Result] = []
    for name, job in contenders:
        result = best_time(name, job, repeat=1)
        _same(ours.value, result.value, name)
        results.append(result)
    whole_job(f"features of {n_patients:,} patients from {n_visits:,} visits (same Parquet file)",
              build, ours, peers=tuple(results))


def _incremental_run(n_patients: int, n_visits: int, folder: Path) -> None:
    arrays = make_visits(n_patients, n_visits)
    rng = np.random.default_rng(3)
    n_day = max(n_visits // 1825, 10)
    day = {
        "patient_id": arrays["patient_id"][rng.integers(0, n_visits, n_day)],
        "visit_time": np.datetime64("2025-01-01T08:00:00", "s")
        + rng.integers(0, 10 * 3600, n_day).astype("timedelta64[s]"),
        "amount": np.round(rng.lognormal(4.5, 0.8, n_day), 2),
    }
    state_file = folder / "state.npz"
    FeatureState.from_visits(VisitLog.from_arrays(**arrays)).compact(AS_OF).save(state_file)
    print(f"state of {n_visits:,} visits: {state_file.stat().st_size / 2**20:,.0f} MiB on disk",
          flush=True)

    def nightly() -> rr.PatientFeatures:
        state = FeatureState.load(state_file).update(VisitLog.from_arrays(**day))
        state.save(folder / "state-next.npz")
        return state.features(AS_OF)

    def recompute() -> rr.PatientFeatures:
        both = {k: np.concatenate([arrays[k], day[k]]) for k in arrays}
        return VisitLog.from_arrays(**both).features(AS_OF)

    ours = best_time(f"FeatureState: load, update {n_day:,} visits, features, save",
                     nightly, repeat=3)
    full = best_time(f"full recompute: VisitLog of {n_visits + n_day:,} visits, features",
                     recompute, repeat=1)
    _same(full.value, ours.value, "incremental")
    report(f"nightly job: one day's visits into a {n_visits:,}-visit state", ours, full)


def main(small: bool = False) -> None:
    """Features on every engine at two sizes, then the incremental nightly update."""
    scale = 100 if small else 1
    spark = _spark_session()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for n_visits in (10_000_000 // scale, 30_000_000 // scale):
                _features_run(n_visits // 10, n_visits, folder, spark)
            _incremental_run(1_000_000 // scale, 10_000_000 // scale, folder)
    finally:
        if spark is not None:
            spark.stop()
