"""FeatureState: any split of the visits, merged in any order, gives the one-pass features."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

import rfm_retention as rr
from rfm_retention import FeatureState
from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.features import FEATURE_COLUMNS, PatientFeatures

Row = tuple[Any, dt.datetime, float, str, str]

_EDGE_DAYS = [dt.date(2024, 2, 29), dt.date(2024, 2, 28), dt.date(2024, 3, 1),
              dt.date(2024, 5, 31), dt.date(2024, 8, 31), dt.date(2023, 12, 31)]
_day = st.one_of(st.sampled_from(_EDGE_DAYS),
                 st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2024, 8, 31)))
_time = st.builds(lambda d, s: dt.datetime.combine(d, dt.time()) + dt.timedelta(seconds=s),
                  _day, st.sampled_from([0, 1, 43_200, 86_399]))
_text = st.sampled_from(["", "cardiology", "icu"])
_amount = st.integers(min_value=0, max_value=4_000).map(lambda q: q / 4)  # exact sums
_rows = st.lists(st.tuples(st.sampled_from(["p1", "p2", "p3"]), _time, _amount, _text, _text),
                 min_size=1, max_size=40)
_as_of = st.one_of(st.sampled_from([dt.date(2024, 8, 31), dt.date(2024, 9, 30),
                                    dt.date(2024, 11, 30), dt.date(2025, 2, 28)]),
                   st.dates(min_value=dt.date(2024, 9, 1), max_value=dt.date(2025, 6, 1)))
_window = st.one_of(st.none(), st.integers(min_value=1, max_value=500),
                    st.builds(relativedelta, months=st.integers(min_value=1, max_value=15)))


def _log(rows: list[Row]) -> VisitLog:
    if not rows:
        return VisitLog.empty()
    return VisitLog.from_arrays(
        patient_id=[r[0] for r in rows], visit_time=[r[1] for r in rows],
        amount=[r[2] for r in rows], department=[r[3] for r in rows],
        diagnosis=[r[4] for r in rows],
    )


def _assert_identical(expected: PatientFeatures, got: PatientFeatures) -> None:
    assert (got.as_of, got.window_days, len(got)) == (expected.as_of, expected.window_days,
                                                       len(expected))
    for name in FEATURE_COLUMNS:
        a, b = getattr(expected, name), getattr(got, name)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (name, a, b)


@given(_rows, _as_of, _window, st.integers(min_value=1, max_value=5),
       st.randoms(use_true_random=False))
def test_any_split_any_order_gives_the_one_pass_features(
    rows: list[Row], as_of: dt.date, window: Any, parts: int, rnd: random.Random
) -> None:
    """Visits split at random into chunks, states merged in a random order and grouping."""
    chunks: list[list[Row]] = [[] for _ in range(parts)]
    for row in rows:
        chunks[rnd.randrange(parts)].append(row)
    states = [FeatureState.from_visits(_log(c)) for c in chunks]
    rnd.shuffle(states)
    while len(states) > 1:  # merge random neighbours: any bracketing
        i = rnd.randrange(len(states) - 1)
        states[i:i + 2] = [states[i] | states[i + 1]]
    want = rr.patient_features(_log(rows), as_of, window=window)
    _assert_identical(want, states[0].features(as_of, window=window))


@given(_rows, st.sampled_from(["split by time", "split by patient"]))
def test_time_ranges_and_patient_shards_merge_alike(rows: list[Row], how: str) -> None:
    """A time-range split and a patient-shard split both rebuild the one-pass state."""
    cut = dt.datetime(2024, 1, 1)
    first = [r for r in rows if (r[1] < cut if how == "split by time" else r[0] == "p1")]
    rest = [r for r in rows if r not in first]
    whole = FeatureState.from_visits(_log(rows))
    merged = FeatureState.from_visits(_log(rest)).merge(FeatureState.from_visits(_log(first)))
    for name in ("patient_id", "count", "spend", "first", "last", "second", "last_department",
                 "bucket_patient", "bucket_day", "bucket_count", "bucket_spend"):
        assert np.array_equal(getattr(whole, name), getattr(merged, name)), name


@given(_rows, _as_of)
def test_nightly_update_and_compact_match_a_full_recompute(rows: list[Row],
                                                           as_of: dt.date) -> None:
    """Day-by-day updates with compaction after each night equal features from all visits."""
    window = relativedelta(years=1)
    state = FeatureState.empty()
    for day in sorted({r[1].date() for r in rows}):
        state = state.update(_log([r for r in rows if r[1].date() == day]))
        state = state.compact(day, window=window)
    _assert_identical(rr.patient_features(_log(rows), as_of, window=window),
                      state.features(as_of, window=window))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    """A saved state loads back equal and keeps answering; the file holds no pickle."""
    rows: list[Row] = [(7, dt.datetime(2024, 1, 2, 8), 12.5, "icu", "I10"),
                       (7, dt.datetime(2024, 3, 4), 3.0, "er", ""),
                       (9, dt.datetime(2024, 2, 29), 1.0, "", "")]
    log = VisitLog.from_arrays(patient_id=[r[0] for r in rows], visit_time=[r[1] for r in rows],
                               amount=[r[2] for r in rows], department=[r[3] for r in rows],
                               diagnosis=[r[4] for r in rows])
    state = FeatureState.from_visits(log).compact("2024-03-04")
    path = tmp_path / "state.npz"
    state.save(path)
    loaded = FeatureState.load(path)
    assert loaded.retained_after == state.retained_after
    _assert_identical(state.features("2024-06-30"), loaded.features("2024-06-30"))
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


def test_load_refuses_other_files_and_versions(tmp_path: Path) -> None:
    """A file of another format or version is a clear ConfigError."""
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(ConfigError, match="not a FeatureState file"):
        FeatureState.load(other)
    future = tmp_path / "future.npz"
    np.savez(future, header=np.array('{"format": "rfm_retention.FeatureState", "version": 99}'))
    with pytest.raises(ConfigError, match="version 99"):
        FeatureState.load(future)


def test_as_of_before_the_latest_visit_is_refused() -> None:
    """A state cannot take visits back out: an as_of before its latest visit is an error."""
    log = VisitLog.from_arrays(patient_id=[1, 1], amount=[1.0, 1.0],
                               visit_time=["2024-01-01", "2024-05-01T10:00:00"])
    state = FeatureState.from_visits(log)
    with pytest.raises(ConfigError, match="after as_of 2024-04-30"):
        state.features("2024-04-30")
    assert state.features("2024-05-01").total_visits.tolist() == [2]


def test_windows_older_than_the_compacted_days_are_refused() -> None:
    """After compacting for a 1-year window, a 2-year window names the days it lacks."""
    log = VisitLog.from_arrays(patient_id=[1, 1], amount=[1.0, 1.0],
                               visit_time=["2022-01-01", "2024-05-01"])
    state = FeatureState.from_visits(log).compact("2024-06-30", window=relativedelta(years=1))
    assert state.features("2024-07-31", window=365).visits_in_window.tolist() == [1]
    with pytest.raises(ConfigError, match="keeps daily counts only after 2023-06-30"):
        state.features("2024-07-31", window=relativedelta(years=2))


def test_merging_integer_and_text_ids_is_refused() -> None:
    """States of integer and text patient ids do not mix."""
    a = FeatureState.from_visits(VisitLog.from_arrays(patient_id=[1], amount=[1.0],
                                                      visit_time=["2024-01-01"]))
    b = FeatureState.from_visits(VisitLog.from_arrays(patient_id=["x"], amount=[1.0],
                                                      visit_time=["2024-01-01"]))
    with pytest.raises(ConfigError, match="integers in one state and text"):
        a.merge(b)


def test_states_of_polars_frame_chunks_merge_into_the_log_features() -> None:
    """File-like chunks given as Polars frames (renamed columns) merge into the one-pass result."""
    import polars as pl

    rng = np.random.default_rng(4)
    n = 3000
    frame = pl.DataFrame({
        "PID": rng.integers(0, 150, n),
        "WHEN": (np.datetime64("2023-01-01T00:00:00")
                 + rng.integers(0, 600 * 86_400, n).astype("timedelta64[s]")
                 ).astype("datetime64[us]"),
        "COST": rng.integers(0, 4000, n) / 4,
    })
    mapping = {"patient_id": "PID", "visit_time": "WHEN", "amount": "COST"}
    state = FeatureState.empty()
    for chunk in frame.iter_slices(700):
        state = state.update(chunk, mapping=mapping)
    want = rr.patient_features(VisitLog.from_frame(frame, mapping=mapping), "2024-12-31",
                               window=relativedelta(years=1))
    _assert_identical(want, state.features("2024-12-31", window=relativedelta(years=1)))
