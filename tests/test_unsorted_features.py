"""Features from unsorted visits with dense patient codes equal the sorted visit log's."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from unittest import mock

import numpy as np
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

import rfm_retention as rr
from rfm_retention._unsorted_features import (
    CodedText,
    _extremes,
    _extremes_at,
    unsorted_features,
)
from rfm_retention.data import VisitLog
from rfm_retention.features import FEATURE_COLUMNS, PatientFeatures, _FeatureBounds

Row = tuple[str, dt.datetime, float, str, str, str]

_EDGE_DAYS = [dt.date(2024, 2, 29), dt.date(2024, 3, 31), dt.date(2024, 6, 30),
              dt.date(2024, 9, 30), dt.date(2024, 12, 31)]
_day = st.one_of(st.sampled_from(_EDGE_DAYS),
                 st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2025, 1, 31)))
_time = st.builds(lambda d, s: dt.datetime.combine(d, dt.time()) + dt.timedelta(seconds=s),
                  _day, st.sampled_from([0, 0, 1, 43_200, 86_399]))  # many same-time visits
_text = st.sampled_from(["", "icu", "cardiology"])
_amount = st.integers(min_value=0, max_value=40).map(lambda q: q / 4)  # exact sums, many ties
_rows = st.lists(st.tuples(st.sampled_from(["p1", "p2", "007", "7"]), _time, _amount, _text,
                           _text, st.sampled_from(["v1", "v2", "v3"])), max_size=50)
_as_of = st.one_of(st.sampled_from(_EDGE_DAYS),
                   st.dates(min_value=dt.date(2023, 6, 1), max_value=dt.date(2025, 3, 1)))
_window = st.one_of(st.none(), st.integers(min_value=1, max_value=400),
                    st.builds(relativedelta, months=st.integers(min_value=1, max_value=15)))
_present = st.sets(st.sampled_from(["department", "diagnosis", "visit_id"]))


def _columns(rows: list[Row], present: set[str]) -> dict[str, Any]:
    columns: dict[str, Any] = {
        "patient_id": np.array([r[0] for r in rows], "U3"),
        "visit_time": np.array([r[1] for r in rows], "M8[s]"),
        "amount": np.array([r[2] for r in rows], np.float64),
    }
    for at, name in ((3, "department"), (4, "diagnosis")):
        if name in present:
            columns[name] = np.array([r[at] for r in rows], "U10")
    if "visit_id" in present:  # unique, as the log requires: the tie-break's last key
        columns["visit_id"] = np.array([f"{r[5]}-{i}" for i, r in enumerate(rows)])
    return columns


def _unsorted(columns: dict[str, Any], as_of: Any, window: Any, coded: bool = False
              ) -> PatientFeatures:
    ids, codes = np.unique(columns["patient_id"], return_inverse=True)
    texts = {name: columns.get(name) for name in ("department", "diagnosis", "visit_id")}
    if coded:  # each text column as its sorted distinct values and each row's rank
        texts = {name: None if col is None
                 else CodedText(*np.unique(col, return_inverse=True)[::-1])
                 for name, col in texts.items()}
    return unsorted_features(
        _FeatureBounds.of(as_of, window, 365), 365, patient_ids=ids, codes=codes,
        seconds=columns["visit_time"].view(np.int64), amount=columns["amount"], **texts,
    )


def _assert_identical(expected: PatientFeatures, got: PatientFeatures) -> None:
    assert (got.as_of, got.window_days, len(got)) == (expected.as_of, expected.window_days,
                                                       len(expected))
    for name in FEATURE_COLUMNS:
        a, b = getattr(expected, name), getattr(got, name)
        assert a.dtype.kind == b.dtype.kind, (name, a.dtype, b.dtype)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (name, a, b)


@given(_rows, _as_of, _window, _present, st.booleans(), st.randoms(use_true_random=False))
def test_unsorted_visits_give_the_sorted_logs_features(
    rows: list[Row], as_of: dt.date, window: Any, present: set[str], coded: bool,
    rnd: random.Random,
) -> None:
    """Any row order, same-time visits included, text columns as values or coded, gives the
    visit log's features exactly."""
    rnd.shuffle(rows)
    columns = _columns(rows, present)
    want = rr.patient_features(VisitLog.from_columns(columns), as_of, window=window)
    _assert_identical(want, _unsorted(columns, as_of, window, coded))


def test_same_time_visits_take_the_logs_last_department() -> None:
    """Among visits at the last time the last department is the one the log sorts last."""
    columns = {
        "patient_id": np.array(["a", "a", "a", "b", "b"]),
        "visit_time": np.array(["2024-05-01"] * 3 + ["2024-05-02"] * 2, "M8[s]"),
        "amount": np.array([5.0, 9.0, 9.0, 1.0, 1.0]),
        "department": np.array(["zeta", "icu", "cardiology", "b", "a"]),
    }
    got = _unsorted(columns, "2024-06-30", None)
    want = rr.patient_features(VisitLog.from_columns(columns), "2024-06-30")
    assert got.last_department.tolist() == want.last_department.tolist() == ["icu", "b"]
    assert got.last_interval_days.tolist() == [0.0, 0.0]


def test_a_large_random_log_matches_to_the_written_decimals() -> None:
    """100k visits with cent amounts: counts and days equal, spends equal to 9 decimals."""
    rng = np.random.default_rng(3)
    n = 100_000
    columns = {
        "patient_id": rng.integers(0, 10_000, n).astype(str),
        "visit_time": (np.datetime64("2022-01-01", "s")
                       + rng.integers(0, 1100 * 86_400, n).astype("m8[s]")),
        "amount": np.round(rng.lognormal(4, 1, n), 2),
    }
    want = rr.patient_features(VisitLog.from_columns(columns), "2024-12-31")
    got = _unsorted(columns, "2024-12-31", None)
    for name in FEATURE_COLUMNS:
        a, b = getattr(want, name), getattr(got, name)
        if name.startswith("spend"):
            assert np.array_equal(np.round(a, 9), np.round(b, 9), equal_nan=True), name
        else:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name


def test_patients_seen_only_after_as_of_are_left_out() -> None:
    """A patient whose visits are all after as_of has no row; the others keep theirs."""
    columns = {
        "patient_id": np.array(["late", "early", "late"]),
        "visit_time": np.array(["2025-01-02", "2024-01-02", "2025-03-01"], "M8[s]"),
        "amount": np.array([1.0, 2.0, 3.0]),
    }
    got = _unsorted(columns, "2024-12-31", None)
    assert got.patient_id.tolist() == ["early"]
    assert got.total_visits.tolist() == [1]


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(-(2**40), 2**40)), max_size=40),
       st.integers(6, 9))
def test_the_packed_sort_and_the_scatter_give_the_same_extremes(
    visits: list[tuple[int, int]], size: int
) -> None:
    """Visits, first, last and second-to-last times agree between the two ways to find them
    (the sorted key read in blocks of three rows, so groups cross blocks)."""
    codes = np.array([v[0] for v in visits], np.int64)
    seconds = np.array([v[1] for v in visits], np.int64)
    with mock.patch("rfm_retention._unsorted_features._BLOCK", 3):
        packed = _extremes(codes, seconds, size)
    scattered = _extremes_at(codes, seconds, size)
    present = packed[0] > 0
    assert packed[0].tolist() == scattered[0].tolist()
    for a, b in zip(packed[1:], scattered[1:], strict=True):
        assert a[present].tolist() == b[present].tolist()
