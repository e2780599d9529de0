"""Properties of validated tables that must hold for any input."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.data import VisitLog

_day = st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2025, 12, 31))
_row = st.tuples(
    st.sampled_from(["p1", "p2", "p3", "", "p10"]),
    st.one_of(_day.map(dt.date.isoformat), st.just("2024-02-30"), st.just("")),
    st.one_of(st.floats(min_value=0, max_value=1e6), st.just(-1.0), st.just(float("nan"))),
)


def _build(rows: list[tuple[str, str, float]]) -> VisitLog:
    return VisitLog.from_arrays(
        patient_id=[r[0] for r in rows], visit_time=[r[1] for r in rows],
        amount=[r[2] for r in rows], on_error="quarantine",
    )


@given(st.lists(_row, max_size=40))
def test_every_row_is_kept_or_rejected_never_both(rows: list[tuple[str, str, float]]) -> None:
    """Quarantine partitions the input: each row is in the table or in the report."""
    log = _build(rows)
    kept = set(log.source_row.tolist())
    assert kept.isdisjoint(log.rejected.rows)
    assert kept | set(log.rejected.rows) == set(range(len(rows)))
    assert len(kept) == len(log)


@given(st.lists(_row, max_size=40))
def test_rows_are_grouped_and_sorted(rows: list[tuple[str, str, float]]) -> None:
    """Rows are sorted by (patient, time), and group_starts delimit each patient's rows."""
    log = _build(rows)
    assert np.all(np.diff(log.patient_index) >= 0)
    same = log.patient_index[1:] == log.patient_index[:-1]
    assert np.all(log.time[1:][same] >= log.time[:-1][same])
    counts = np.diff(log.group_starts)
    assert np.all(counts > 0)
    assert counts.sum() == len(log)
    for k, (lo, hi) in enumerate(zip(log.group_starts[:-1], log.group_starts[1:], strict=True)):
        assert set(log.patient_index[lo:hi].tolist()) == {k}


@given(st.lists(_row, max_size=30), st.randoms(use_true_random=False))
def test_input_order_does_not_change_the_table(rows: list[tuple[str, str, float]],
                                              rnd: random.Random) -> None:
    """Shuffling the input gives the same columns in the same order (source_row aside)."""
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    a, b = _build(rows), _build(shuffled)
    assert a.patient_ids.tolist() == b.patient_ids.tolist()
    assert a.group_starts.tolist() == b.group_starts.tolist()
    for name in a.columns:
        np.testing.assert_array_equal(a.columns[name], b.columns[name], err_msg=name)
