"""Lifetime-model fits for 1M patients, next to lifetimes' fitters on the same summary.

One run:

- draws 1M patients' visits from an MBG/NBD process (gamma visit rates, a beta
  chance of leaving after each visit, first visits spread over two years,
  three years observed) with log-normal amounts;
- ours, the whole job: ``VisitLog.from_arrays`` -> ``btyd_summary`` (days) ->
  ``fit`` of BG/NBD, MBG/NBD and Gamma-Gamma (Pareto/NBD with ``--pareto``),
  and ``lifetime_scores`` end to end;
- lifetimes (if installed): ``BetaGeoFitter``, ``ModifiedBetaGeoFitter`` and
  ``GammaGammaFitter`` on the same summary (the summary handed over as a
  DataFrame; its building is not counted for lifetimes);

prints times, the ratios and the largest relative parameter difference. The
table build (``VisitLog.from_arrays``) is its own line, and the whole job
(build, summary, the three fits) is compared with lifetimes' whole job from
the same arrays (its DataFrame and ``summary_data_from_transaction_data``,
then its three fits).

``python benchmarks/run.py btyd [--small]`` (``--small``: 10k patients).
"""

from __future__ import annotations

import datetime as dt
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from _harness import Result, report, whole_job

from rfm_retention.btyd import (
    BGNBDModel,
    GammaGammaModel,
    MBGNBDModel,
    ParetoNBDModel,
    lifetime_scores,
)
from rfm_retention.data import VisitLog

START = np.datetime64("2021-01-01T00:00:00", "s")
END = dt.date(2023, 12, 31)
DAYS = 3 * 365


def make_visits(n_patients: int, seed: int = 11) -> dict[str, Any]:
    """Visits drawn from MBG/NBD (r=0.7, alpha=60 days, a=0.6, b=2.5), first visits in 2 years."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.7, 1.0 / 60.0, n_patients)
    drop = rng.beta(0.6, 2.5, n_patients)
    now = rng.uniform(0, 2 * 365, n_patients)
    ids: list[np.ndarray] = []
    times: list[np.ndarray] = []
    alive = np.arange(n_patients)
    while alive.size:
        ids.append(alive)
        times.append(now[alive])
        stays = rng.random(alive.size) >= drop[alive]
        alive = alive[stays]
        now[alive] += rng.exponential(1.0, alive.size) / rate[alive]
        alive = alive[now[alive] < DAYS]
    patient = np.concatenate(ids)
    seconds = (np.concatenate(times) * 86_400).astype(np.int64)
    amount = np.round(rng.lognormal(4.5, 0.6, patient.size), 2)
    return {"patient_id": patient * 7919 + 1_000_000,
            "visit_time": START + seconds.astype("timedelta64[s]"), "amount": amount}


def _timed(name: str, fn: Callable[[], Any]) -> Result:
    start = time.perf_counter()
    value = fn()
    return Result(name, time.perf_counter() - start, value)


def _lifetimes_fits(frame: Any) -> list[Result] | None:
    try:
        import lifetimes
    except ImportError:
        print("lifetimes is not installed: only our times are shown "
              "(pip install lifetimes to compare)")
        return None
    warnings.simplefilter("ignore")
    repeat = frame[frame["frequency"] > 0]
    return [
        _timed("lifetimes BetaGeoFitter", lambda: lifetimes.BetaGeoFitter().fit(
            frame["frequency"], frame["recency"], frame["T"])),
        _timed("lifetimes ModifiedBetaGeoFitter", lambda: lifetimes.ModifiedBetaGeoFitter().fit(
            frame["frequency"], frame["recency"], frame["T"])),
        _timed("lifetimes GammaGammaFitter", lambda: lifetimes.GammaGammaFitter().fit(
            repeat["frequency"], repeat["monetary_value"])),
    ]


def _lifetimes_whole_job(arrays: dict[str, Any], fits: list[Result]) -> tuple[Result, ...]:
    """lifetimes from the same arrays: a DataFrame, its summary (days), then the three fits."""
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    def summary() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return summary_data_from_transaction_data(
                pd.DataFrame(arrays), "patient_id", "visit_time", "amount",
                observation_period_end=END.isoformat(), freq="D")

    built = _timed("lifetimes DataFrame + summary_data_from_transaction_data", summary)
    return (Result("lifetimes: DataFrame + summary + 3 fits",
                   built.seconds + sum(f.seconds for f in fits)),)


def _largest_difference(ours: dict[str, float], theirs: Any) -> float:
    return max(abs(ours[k] / float(theirs[k]) - 1.0) for k in ours)


def main(small: bool = False) -> None:
    """Time the lifetime fits on one simulated log, ours next to lifetimes'."""
    n_patients = 10_000 if small else 1_000_000
    print(f"drawing visits of {n_patients:,} patients ...", flush=True)
    arrays = make_visits(n_patients)
    table = _timed("VisitLog.from_arrays", lambda: VisitLog.from_arrays(**arrays))
    arrays_log = table.value
    print(f"{len(arrays_log):,} visits", flush=True)
    build = _timed("ours: btyd_summary (days)", lambda: arrays_log.btyd_summary(END))
    summary = build.value
    ours = [
        table,
        build,
        _timed("ours: BGNBDModel.fit", lambda: BGNBDModel().fit(summary)),
        _timed("ours: MBGNBDModel.fit", lambda: MBGNBDModel().fit(summary)),
        _timed("ours: GammaGammaModel.fit", lambda: GammaGammaModel().fit(summary)),
        _timed("ours: lifetime_scores (summary + MBG/NBD + Gamma-Gamma + 4 scores)",
               lambda: lifetime_scores(arrays_log, END, horizon_days=90)),
    ]
    if os.environ.get("BTYD_BENCH_PARETO") or small:
        ours.append(_timed("ours: ParetoNBDModel.fit", lambda: ParetoNBDModel().fit(summary)))
    for r in ours[2:5]:
        print(f"  {r.name}: {r.value!r}, {r.value.n_iter_} iterations")
    print(f"== lifetime models, {n_patients:,} patients ({len(summary):,} in the summary)")
    for r in ours:
        print(f"  {r.name:<70} {r.seconds:9.3f} s")
    theirs = _lifetimes_fits(summary.to_pandas())
    peers: tuple[Result, ...] = ()
    if theirs:
        peers = _lifetimes_whole_job(arrays, theirs)
    whole_job(f"summary + BG/NBD + MBG/NBD + Gamma-Gamma, {n_patients:,} patients", table,
              *ours[1:5], peers=peers)
    if theirs:
        for mine, other in zip(ours[2:5], theirs, strict=True):
            report(f"{mine.name.removeprefix('ours: ')} vs {other.name}", mine, other)
            diff = _largest_difference(mine.value.params_, other.value.params_)
            print(f"  largest relative parameter difference {diff:.1e}")
