"""Win-back rate, the control-group draw and uplift, with hand-computed numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.metrics import (
    CaseColumns,
    draw_control_group,
    win_back_rate,
    win_back_uplift,
)
from rfm_retention.risk.levels import RiskLevel


@pytest.fixture
def log() -> VisitLog:
    return VisitLog.from_arrays(
        patient_id=["a", "b", "c", "d", "e"],
        visit_time=[
            "2024-03-31T10:00:00",  # a: exactly 30 days after contact -> inside
            "2024-03-31T10:00:01",  # b: one second past the window -> outside
            "2024-03-01T10:00:00",  # c: at the contact instant -> not "after"
            "2024-03-05",  # d: low risk, ignored
            "2024-05-20",  # e: contacted late, window still open on as_of
        ],
        amount=[1.0] * 5,
    )


def test_win_back_window_edges(log: VisitLog) -> None:
    """Visits strictly after the first contact and at most N days later count."""
    cases = CaseColumns.from_arrays(
        patient_id=["a", "b", "c", "d", "e", "f"],
        level=["high", "medium", "high", "low", "medium", "high"],
        first_contact_at=["2024-03-01T10:00:00"] * 4 + ["2024-05-15T00:00:00", None],
    )
    r = win_back_rate(log, cases, as_of="2024-05-31")
    # contacted: a, b, c, e (d is low, f never contacted); e's window ends 06-14 -> censored
    assert (r.contacted, r.censored, r.won_back, r.eligible) == (4, 1, 1, 3)
    assert r.rate == pytest.approx(1 / 3)
    wider = win_back_rate(log, cases, as_of="2024-05-31", within_days=31)
    assert wider.won_back == 2


def test_win_back_levels_parameter(log: VisitLog) -> None:
    """Choosing the levels changes which cases count."""
    cases = CaseColumns.from_arrays(patient_id=["d"], level=[RiskLevel.LOW],
                                    first_contact_at=["2024-03-01T00:00:00"])
    assert win_back_rate(log, cases, as_of="2024-12-31").contacted == 0
    low = win_back_rate(log, cases, as_of="2024-12-31", levels=(RiskLevel.LOW,))
    assert (low.contacted, low.won_back) == (1, 1)


def test_uplift_and_interval_by_hand(log: VisitLog) -> None:
    """Uplift = treated rate - control rate, with the normal-approximation interval."""
    treated = CaseColumns.from_arrays(
        patient_id=["a", "b"], level=["high", "high"],
        first_contact_at=["2024-03-01T10:00:00"] * 2,
    )
    up = win_back_uplift(
        log, treated,
        control_patient_id=["c", "x"], control_level=["medium", "high"],
        control_warned_at=np.array(["2024-02-20T00:00", "2024-02-20T00:00"], "datetime64[s]"),
        as_of="2024-12-31",
    )
    # treated: a won, b not -> 1/2; control: c visits 03-01 within 30 days of 02-20, x never
    assert (up.treated.won_back, up.treated.eligible) == (1, 2)
    assert (up.control.won_back, up.control.eligible) == (1, 2)
    assert up.uplift == 0.0
    half = 1.96 * math.sqrt(0.25 / 2 + 0.25 / 2)
    assert up.confidence_interval == pytest.approx((-half, half))


def test_control_group_is_reproducible_and_order_free() -> None:
    """Same (id, seed) -> same assignment, whatever the list's order or other members."""
    ids = np.array([f"patient-{i}" for i in range(5000)])
    mask = draw_control_group(ids, fraction=0.2, seed=7)
    perm = np.random.default_rng(0).permutation(len(ids))
    assert np.array_equal(draw_control_group(ids[perm], fraction=0.2, seed=7), mask[perm])
    assert np.array_equal(draw_control_group(ids[:10], fraction=0.2, seed=7), mask[:10])
    assert 900 < int(mask.sum()) < 1100
    other = draw_control_group(ids, fraction=0.2, seed=8)
    assert not np.array_equal(other, mask)


def test_control_group_integer_ids_match_text() -> None:
    """Integer id 42 and text id "42" are the same patient for the draw."""
    ints = draw_control_group(np.arange(1000), fraction=0.5, seed=3)
    texts = draw_control_group([str(i) for i in range(1000)], fraction=0.5, seed=3)
    assert np.array_equal(ints, texts)


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=40, unique=True),
       st.floats(0.0, 1.0), st.integers(0, 2**40))
def test_control_group_is_nested_in_fraction(ids: list[str], fraction: float, seed: int) -> None:
    """A larger fraction keeps every patient a smaller one put in control."""
    small = draw_control_group(ids, fraction=fraction / 2, seed=seed)
    large = draw_control_group(ids, fraction=fraction, seed=seed)
    assert not (small & ~large).any()
    assert draw_control_group(ids, fraction=1.0, seed=seed).all()
    assert not draw_control_group(ids, fraction=0.0, seed=seed).any()


def test_control_group_bad_arguments() -> None:
    """Fractions outside [0, 1] and negative seeds are refused."""
    with pytest.raises(ConfigError, match="fraction"):
        draw_control_group(["a"], fraction=1.5, seed=1)
    with pytest.raises(ConfigError, match="seed"):
        draw_control_group(["a"], fraction=0.5, seed=-1)
