"""The daily churn scan for 1M patients / 10M visits vs a pandas version of three indicators.

One run builds a visit log and proportionate signal tables (ratings,
complaints, appointments, courses, outcomes, reviews) from arrays (the build
timed as its own line), then times:

- ours: the full daily scan: all 11 indicators evaluated, graded by both the
  rule policy and the score policy (two warning lists);
- pandas: three indicators only (interval extension, visit frequency drop,
  consecutive low satisfaction) written with idiomatic groupbys;

and prints the ratio, then the whole job (table build + scan) against the
pandas whole job (its DataFrames from the same arrays + its three
indicators). Goal: the whole scan faster than the pandas three.

``python benchmarks/run.py scan [--small]`` (``--small``: 10k patients / 100k visits).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
from _harness import Result, best_time, report, whole_job
from bench_features import START, YEARS, make_visits

from rfm_retention.data import (
    AppointmentTable,
    AssessmentTable,
    ComplaintTable,
    CourseTable,
    PatientData,
    RatingTable,
    ReviewTable,
    VisitLog,
)
from rfm_retention.risk import RulePolicy, ScorePolicy, default_indicators, evaluate, scan
from rfm_retention.risk._scan import warnings_from_panel

SPAN = YEARS * 365 * 86_400


def _rows(rng: np.random.Generator, ids: npt.NDArray[Any], n: int) -> dict[str, Any]:
    """``n`` rows for random patients at random times."""
    return {
        "patient_id": rng.choice(ids, n),
        "time": START + rng.integers(0, SPAN, n).astype("timedelta64[s]"),
    }


def make_arrays(n_patients: int, n_visits: int, seed: int = 11) -> dict[str, dict[str, Any]]:
    """Columns of visits plus signal tables sized in proportion (per 10 visits: 2 ratings,
    3 appointments, 0.2 complaints, 0.3 courses, 0.5 assessments, 0.2 reviews)."""
    rng = np.random.default_rng(seed)
    visits = make_visits(n_patients, n_visits)
    diagnoses = np.array(["", "I10", "E11.9", "J45", "M17"])
    visits["diagnosis"] = diagnoses[rng.integers(0, 5, n_visits)]
    ids = np.unique(visits["patient_id"])

    def size(per_ten: float) -> int:
        return int(n_visits * per_ten / 10)

    r = _rows(rng, ids, size(2))
    ratings = {"patient_id": r["patient_id"], "rated_at": r["time"],
               "score": rng.integers(40, 101, len(r["time"])).astype(float)}
    r = _rows(rng, ids, size(0.2))
    n = len(r["time"])
    handling = np.where(rng.random(n) < 0.5, rng.integers(0, 101, n), np.nan)
    complaints = {"patient_id": r["patient_id"], "filed_at": r["time"],
                  "valid": rng.random(n) < 0.7, "handling_satisfaction": handling}
    r = _rows(rng, ids, size(3))
    appointments = {
        "patient_id": r["patient_id"],
        "scheduled_at": r["time"],
        "status": np.array(["attended", "no_show", "cancelled", "booked"])[
            rng.choice(4, len(r["time"]), p=[0.8, 0.1, 0.07, 0.03])
        ],
    }
    r = _rows(rng, ids, size(0.3))
    n = len(r["time"])
    prescribed = rng.integers(1, 21, n)
    courses = {
        "patient_id": r["patient_id"],
        "prescribed_at": r["time"],
        "prescribed_sessions": prescribed,
        "completed_sessions": rng.integers(0, prescribed + 1),
        "expected_end": r["time"] + (prescribed * 7).astype("timedelta64[D]"),
        "status": np.array(["active", "completed", "abandoned"])[
            rng.choice(3, n, p=[0.3, 0.55, 0.15])
        ],
    }
    r = _rows(rng, ids, size(0.5))
    n = len(r["time"])
    expected = rng.integers(10, 101, n).astype(float)
    outcomes = {
        "patient_id": r["patient_id"],
        "assessed_at": r["time"],
        "outcome_score": rng.integers(30, 101, n).astype(float),
        "expected_progress": expected,
        "actual_progress": np.clip(expected + rng.normal(0, 15, n), 0, 100).round(),
    }
    r = _rows(rng, ids, size(0.2))
    reviews = {"patient_id": r["patient_id"], "posted_at": r["time"],
               "score": rng.integers(0, 101, len(r["time"])).astype(float)}
    return {"visits": visits, "ratings": ratings, "complaints": complaints,
            "appointments": appointments, "courses": courses, "outcomes": outcomes,
            "reviews": reviews}


TABLES = {"visits": VisitLog, "ratings": RatingTable, "complaints": ComplaintTable,
          "appointments": AppointmentTable, "courses": CourseTable, "outcomes": AssessmentTable,
          "reviews": ReviewTable}


def build_tables(arrays: dict[str, dict[str, Any]]) -> PatientData:
    """Every table built from its columns, as a host's daily run does from fresh data."""
    return PatientData(**{name: TABLES[name].from_arrays(**columns)
                          for name, columns in arrays.items()})


def make_data(n_patients: int, n_visits: int, seed: int = 11) -> PatientData:
    """Visits plus proportionate signal tables (see :func:`make_arrays`), built."""
    return build_tables(make_arrays(n_patients, n_visits, seed))


def full_scan(data: PatientData, as_of: dt.date) -> tuple[int, int]:
    """Every indicator, both policies; returns the two lists' lengths."""
    # Every run builds its own snapshot, so the features are timed too, as in a daily run.
    panel = evaluate(data, as_of, default_indicators())
    by_rules = warnings_from_panel(panel, RulePolicy.spec())
    by_score = warnings_from_panel(panel, ScorePolicy())
    return len(by_rules), len(by_score)


def pandas_three(visits: Any, ratings: Any, as_of: dt.date) -> int:
    """Interval extension, frequency drop and low satisfaction with pandas groupbys.

    Returns how many patients at least one of the three fires for.
    """
    import pandas as pd

    cutoff = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    v = visits[visits["visit_time"] < cutoff]
    g = v.groupby("patient_id")["visit_time"]
    per = pd.DataFrame({"first": g.min(), "last": g.max(), "n": g.size()})
    usual = (per["last"] - per["first"]).dt.days / (per["n"] - 1)
    gap = (pd.Timestamp(as_of) - per["last"].dt.normalize()).dt.days
    interval = (gap / usual.where(per["n"] >= 2) - 1) > 0.5

    three = pd.Timestamp(as_of) - pd.DateOffset(months=3) + pd.Timedelta(days=1)
    six = pd.Timestamp(as_of) - pd.DateOffset(months=6) + pd.Timedelta(days=1)
    recent = v[v["visit_time"] >= six]
    window = np.where(recent["visit_time"] >= three, "last", "prior")
    counts = recent.groupby(["patient_id", window]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=["last", "prior"], fill_value=0)
    drop = (1 - counts["last"] / counts["prior"].where(counts["prior"] > 0)) >= 0.3

    r = ratings[ratings["rated_at"] < cutoff].sort_values(["patient_id", "rated_at"])
    good = (r["score"] >= 80).astype(int)
    block = good.groupby(r["patient_id"]).cumsum()
    last_block = block.groupby(r["patient_id"]).transform("last")
    run = ((block == last_block) & (good == 0)).groupby(r["patient_id"]).sum()
    low = run >= 2

    fired = pd.concat([interval, drop, low], axis=1).fillna(False).astype(bool).any(axis=1)
    return int(fired.sum())


def warned_scan(n: int) -> int:
    """Scan n one-visit patients (nearly all warned) and build the list's CSV rows, as the CLI."""
    rng = np.random.default_rng(1)
    days = np.datetime64("2024-01-01") + rng.integers(0, 300, n).astype("timedelta64[D]")
    log = VisitLog.from_arrays(patient_id=np.arange(n), visit_time=days, amount=np.full(n, 50.0))
    warnings = scan(PatientData(visits=log), "2024-12-31")
    warnings.to_rows()
    return len(warnings)


def warned_scaling(small: bool) -> None:
    """Cost by number of warned patients: linear (10x the patients, about 10x the time)."""
    sizes = (10_000, 100_000) if small else (100_000, 1_000_000)
    timed = [best_time(f"scan + to_rows, {n:,} one-visit patients", lambda n=n: warned_scan(n),
                       repeat=1) for n in sizes]
    print(f"  {timed[1].seconds / timed[0].seconds:.1f}x the time for 10x the warned patients "
          f"({timed[0].value:,} and {timed[1].value:,} warnings)", flush=True)


def main(small: bool = False) -> None:
    """Build the tables (timed); time the full scan, the pandas baseline and both whole jobs."""
    warned_scaling(small)
    n_patients, n_visits = (10_000, 100_000) if small else (1_000_000, 10_000_000)
    print(
        f"building {n_visits:,} visits of {n_patients:,} patients + signal tables ...", flush=True
    )
    arrays = make_arrays(n_patients, n_visits)
    build = best_time("7 tables from arrays (visits + 6 signals)",
                      lambda: build_tables(arrays), repeat=2)
    data = build.value
    sizes = ", ".join(f"{name} {len(t):,}" for name, t in data.sources())
    print(f"  rows: {sizes}", flush=True)
    as_of = dt.date(2020 + YEARS, 1, 1)
    ours = best_time(
        "rfm_retention scan: 11 indicators, 2 policies", lambda: full_scan(data, as_of), repeat=3
    )
    print(f"  warnings: rules {ours.value[0]:,}, score {ours.value[1]:,}", flush=True)
    title = f"daily scan, {n_patients:,} patients / {n_visits:,} visits"
    try:
        import pandas as pd
    except ImportError:
        print("  pandas is not installed: baseline skipped")
        whole_job(title, build, ours)
        return
    raw_visits, raw_ratings = arrays["visits"], arrays["ratings"]
    frames = best_time("pandas DataFrames from the arrays (visits, ratings)", lambda: (
        pd.DataFrame({"patient_id": raw_visits["patient_id"],
                      "visit_time": raw_visits["visit_time"]}),
        pd.DataFrame({name: raw_ratings[name] for name in ("patient_id", "rated_at", "score")}),
    ))
    visits, ratings = frames.value
    baseline: Result = best_time(
        "pandas: 3 indicators (interval, frequency, rating)",
        lambda: pandas_three(visits, ratings, as_of),
        repeat=3,
    )
    print(f"  pandas fired for {baseline.value:,} patients", flush=True)
    report(title, ours, baseline)
    pandas_job = Result("pandas: DataFrames + 3 indicators", frames.seconds + baseline.seconds)
    whole_job(title, build, ours, peers=(pandas_job,))
