"""Features at realistic volume agree with an independent pandas computation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rfm_retention.data import VisitLog
from rfm_retention.features import patient_features


@pytest.mark.slow
def test_two_million_visits_match_pandas() -> None:
    """200k patients / 2M visits: counts, sums, last visit and windows equal pandas' groupby."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(11)
    n, p = 2_000_000, 200_000
    ids = rng.integers(0, p, n).astype(np.int64)
    times = np.datetime64("2021-01-01T00:00:00") + rng.integers(0, 4 * 365 * 86400, n).astype(
        "timedelta64[s]")
    amounts = np.round(rng.lognormal(4.0, 1.0, n), 2)
    log = VisitLog.from_arrays(patient_id=ids, visit_time=times, amount=amounts)
    as_of = dt.date(2023, 7, 15)
    f = patient_features(log, as_of, window=180)

    frame = pd.DataFrame({"id": ids, "day": times.astype("datetime64[D]"), "amount": amounts})
    frame = frame[frame["day"] <= np.datetime64(as_of)]
    in_window = frame[frame["day"] > np.datetime64(as_of) - np.timedelta64(180, "D")]
    expected = frame.groupby("id").agg(last=("day", "max"), n=("amount", "size"))
    window = in_window.groupby("id")["amount"].agg(["size", "sum"]).reindex(expected.index,
                                                                             fill_value=0)
    np.testing.assert_array_equal(f.patient_id, expected.index.to_numpy())
    np.testing.assert_array_equal(f.total_visits, expected["n"].to_numpy())
    np.testing.assert_array_equal(f.last_visit, expected["last"].to_numpy().astype("datetime64[D]"))
    np.testing.assert_array_equal(f.visits_in_window, window["size"].to_numpy())
    np.testing.assert_allclose(f.spend_in_window, window["sum"].to_numpy(), rtol=1e-12, atol=1e-9)


@pytest.mark.benchmark
def test_features_benchmark_smoke() -> None:
    """The features benchmark runs end to end on small data."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import bench_features

    bench_features.main(small=True)
