"""Patient features for 1M patients / 10M visits vs a bare pandas groupby and lifetimes.

One run times, on the same visits:

- ours: ``patient_features(log, as_of)``, the full feature set (20 columns);
- ours: ``btyd_summary(log, as_of)``, the BTYD summary;
- pandas: a groupby computing only the last visit, the visit count and the spend sum;
- lifetimes: ``summary_data_from_transaction_data`` (if the package is installed);

prints the ratios, and the peak memory of ``features`` against the size of the
input arrays (ids, times, amounts). Goals: features no slower than the bare
groupby, >= 20x faster than lifetimes, peak memory < 3x the input arrays.

The table build (``VisitLog.from_arrays`` on the same arrays) is timed as its
own line too, and the whole job (build + features, build + BTYD summary) is
compared with the peers' whole jobs (the pandas DataFrame built from the same
arrays, then the groupby or the lifetimes summary).

``python benchmarks/run.py features [--small]`` (``--small``: 10k patients / 100k visits).
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
from _harness import Result, best_time, peak_memory, report, whole_job

from rfm_retention.btyd import btyd_summary
from rfm_retention.data import VisitLog
from rfm_retention.features import patient_features

START = np.datetime64("2020-01-01T00:00:00", "s")
YEARS = 5


def make_visits(
    n_patients: int, n_visits: int, seed: int = 7
) -> dict[str, npt.NDArray[Any]]:
    """Visits with int64 patient ids: every patient at least once, log-normal spend."""
    rng = np.random.default_rng(seed)
    ids = np.concatenate(
        [np.arange(n_patients), rng.integers(0, n_patients, n_visits - n_patients)]
    ).astype(np.int64)
    rng.shuffle(ids)
    seconds = rng.integers(0, YEARS * 365 * 86_400, n_visits)
    times = START + seconds.astype("timedelta64[s]")
    amounts = np.round(rng.lognormal(mean=4.5, sigma=0.8, size=n_visits), 2)
    return {"patient_id": ids * 7919 + 1_000_000, "visit_time": times, "amount": amounts}


def _mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MiB"


def _with_frame(frame_build: Result, step: Result) -> Result:
    """A pandas peer's whole job: its DataFrame built from the arrays, then its step."""
    return Result(f"{step.name} + DataFrame", frame_build.seconds + step.seconds)


def main(small: bool = False) -> None:
    """Time features, the BTYD summary and the baselines on one synthetic visit log."""
    n_patients, n_visits = (10_000, 100_000) if small else (1_000_000, 10_000_000)
    print(f"building {n_visits:,} visits of {n_patients:,} patients ...", flush=True)
    arrays = make_visits(n_patients, n_visits)
    input_bytes = sum(a.nbytes for a in arrays.values())
    build = best_time("VisitLog.from_arrays", lambda: VisitLog.from_arrays(**arrays), repeat=2)
    log = build.value
    as_of = dt.date(2020 + YEARS, 1, 1)

    ours = best_time("rfm_retention features (20 columns)", lambda: patient_features(log, as_of))
    btyd = best_time("rfm_retention btyd_summary", lambda: btyd_summary(log, as_of))
    assert len(ours.value) == n_patients
    assert len(btyd.value) == n_patients

    baselines: list[Result] = []
    frame_build: Result | None = None
    try:
        import pandas as pd
    except ImportError:
        print("pandas is not installed: no groupby baseline (pip install '.[bench]')")
    else:
        frame_build = best_time("pandas DataFrame from the arrays", lambda: pd.DataFrame(arrays))
        frame = frame_build.value

        def groupby() -> Any:
            return frame.groupby("patient_id").agg(
                last_visit=("visit_time", "max"),
                visits=("amount", "size"),
                spend=("amount", "sum"),
            )

        grouped = best_time("pandas groupby (last, count, sum only)", groupby)
        np.testing.assert_allclose(grouped.value["spend"].to_numpy(), ours.value.spend_in_window)
        baselines.append(grouped)

    lifetimes_result: Result | None = None
    try:
        with warnings.catch_warnings():  # lifetimes uses pandas options pandas now deprecates
            warnings.simplefilter("ignore")
            from lifetimes.utils import summary_data_from_transaction_data
    except ImportError:
        print("lifetimes is not installed (pip install lifetimes): no lifetimes baseline")
    else:
        def lifetimes_summary() -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return summary_data_from_transaction_data(
                    frame, "patient_id", "visit_time", "amount",
                    observation_period_end=as_of.isoformat(), freq="D",
                )

        lifetimes_result = best_time("lifetimes summary_data_from_transaction_data",
                                     lifetimes_summary, repeat=1)
        summary = lifetimes_result.value.sort_index()
        np.testing.assert_array_equal(summary["frequency"].to_numpy(), btyd.value.frequency)
        np.testing.assert_array_equal(summary["T"].to_numpy(), btyd.value.T)
        baselines.append(lifetimes_result)

    title = f"features, {n_patients:,} patients / {n_visits:,} visits"
    report(title, ours, *baselines)
    if lifetimes_result is not None:
        report("BTYD summary, same data", btyd, lifetimes_result)
    peers = tuple(_with_frame(frame_build, b) for b in baselines) if frame_build else ()
    whole_job(title, build, ours, peers=peers)
    if lifetimes_result is not None and frame_build is not None:
        whole_job("BTYD summary", build, btyd, peers=(_with_frame(frame_build, lifetimes_result),))

    peak = peak_memory(lambda: patient_features(log, as_of))
    print(
        f"  peak memory of features: {_mib(peak)} = {peak / input_bytes:.2f}x the input "
        f"arrays ({_mib(input_bytes)}: ids, times, amounts)",
        flush=True,
    )


if __name__ == "__main__":
    main(small=True)
