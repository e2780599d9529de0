"""Split strategies on hand-computed cohorts, cut-point validation and monotonicity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.errors import ConfigError
from rfm_retention.segmentation import (
    Cuts,
    FixedScores,
    FixedSplit,
    MedianSplit,
    QuantileSplit,
    ScoreSplit,
    Split,
)
from rfm_retention.segmentation._splits import spread_labels

DAYS = np.array([3.0, 10, 10, 40, 95, 200, 400])
VISITS = np.array([1.0, 1, 1, 1, 2, 3, 8])


def test_median_split_recency_is_reversed():
    """Median of days is 40; strictly fewer days than that is high (recent)."""
    cuts = MedianSplit().fit(DAYS, higher_is_better=False)
    assert cuts.edges == (40.0,)
    assert cuts.apply(DAYS).tolist() == [1, 1, 1, 0, 0, 0, 0]


def test_median_split_with_one_visit_majority():
    """Median visits is 1: one visit is low, two or more are high."""
    assert MedianSplit().fit(VISITS, higher_is_better=True).apply(VISITS).tolist() == [
        0, 0, 0, 0, 1, 1, 1]


def test_median_split_even_count_interpolates():
    """With an even count the median lies between the two middle values."""
    spend = np.array([100.0, 200, 300, 400])
    cuts = MedianSplit().fit(spend, higher_is_better=True)
    assert cuts.edges == (250.0,)
    assert cuts.apply(spend).tolist() == [0, 0, 1, 1]


def test_quantile_split_top_fifth():
    """q=0.8 on 1..10: the cut is 8.2 and the top two are high."""
    spend = np.arange(1.0, 11.0)
    assert QuantileSplit(0.8).fit(spend, higher_is_better=True).apply(spend).tolist() == [
        0] * 8 + [1, 1]


def test_quantile_split_recency_uses_the_low_tail_of_days():
    """q=0.8 on recency: the 20% most recent (days below the 0.2-quantile) are high."""
    days = np.arange(0.0, 10.0)
    cuts = QuantileSplit(0.8).fit(days, higher_is_better=False)
    assert cuts.edges == (pytest.approx(1.8),)
    assert cuts.apply(days).tolist() == [1, 1] + [0] * 8


@pytest.mark.parametrize("q", [0.0, 1.0, -0.1, 2, "half"])
def test_quantile_split_rejects_bad_q(q):
    """q must be strictly between 0 and 1."""
    with pytest.raises(ConfigError, match="0 < q < 1"):
        QuantileSplit(q)


def test_fixed_split_in_days_visits_and_money():
    """Fixed thresholds are inclusive on the good side in each unit."""
    assert FixedSplit(90).fit(DAYS, higher_is_better=False).apply(DAYS).tolist() == [
        1, 1, 1, 1, 0, 0, 0]
    assert FixedSplit(2).fit(VISITS, higher_is_better=True).apply(VISITS).tolist() == [
        0, 0, 0, 0, 1, 1, 1]
    spend = np.array([999.99, 1000.0, 5000.0])
    assert FixedSplit(1000).fit(spend, higher_is_better=True).apply(spend).tolist() == [0, 1, 1]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "90", True, None])
def test_fixed_split_rejects_non_numbers(bad):
    """A threshold must be a finite number."""
    with pytest.raises(ConfigError, match="finite number"):
        FixedSplit(bad)


def test_fixed_scores_recency_bands():
    """Recency bands 30/90/180/365 days score 5 down to 1."""
    days = np.array([0.0, 30, 31, 90, 91, 180, 365, 366])
    cuts = FixedScores((30, 90, 180, 365)).fit(days, higher_is_better=False)
    assert cuts.apply(days).tolist() == [5, 5, 4, 4, 3, 3, 2, 1]


def test_fixed_scores_reject_unsorted_thresholds():
    """Thresholds must be strictly ascending and non-empty."""
    with pytest.raises(ConfigError, match="ascending"):
        FixedScores((90, 30))
    with pytest.raises(ConfigError, match="at least one"):
        FixedScores(())


def test_score_split_quintiles_without_ties():
    """Ten distinct spends: two per score, highest spend scores 5."""
    spend = np.arange(10.0, 110.0, 10.0)
    assert ScoreSplit(5).fit(spend, higher_is_better=True).apply(spend).tolist() == [
        1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_score_split_recency_reversed():
    """The most recent patients score 5; tied days share a score."""
    days = np.array([0.0, 1, 1, 5, 9, 30, 30, 100])
    cuts = ScoreSplit(5).fit(days, higher_is_better=False)
    assert cuts.apply(days).tolist() == [5, 4, 4, 3, 3, 2, 2, 1]


def test_score_split_heavy_ties_spread_labels():
    """Only two distinct visit counts: two levels, scored 1 and 5 (not 1 and 2)."""
    visits = np.array([1.0] * 9 + [2.0])
    cuts = ScoreSplit(5).fit(visits, higher_is_better=True)
    assert cuts.labels == (1, 5)
    assert cuts.apply(visits).tolist() == [1] * 9 + [5]


def test_score_split_all_tied_gets_middle_score():
    """Everyone tied: one level, the middle score."""
    assert ScoreSplit(5).fit(np.ones(4), higher_is_better=True).apply(np.ones(4)).tolist() == [
        3] * 4


@pytest.mark.parametrize("k", [1, 10, 2.5, True])
def test_score_split_rejects_bad_k(k):
    """k runs from 2 to 9 (single-digit scores)."""
    with pytest.raises(ConfigError):
        ScoreSplit(k)


def test_spread_labels_ends_fixed():
    """Fewer levels than scores keep 1 and k at the ends."""
    assert spread_labels(4, 5) == (1, 2, 4, 5)
    assert spread_labels(3, 9) == (1, 5, 9)


def test_every_strategy_is_a_split():
    """Built-in strategies satisfy the Split protocol."""
    for split in (MedianSplit(), QuantileSplit(0.7), FixedSplit(1), FixedScores((1, 2)),
                  ScoreSplit()):
        assert isinstance(split, Split)


def test_cuts_validate_and_round_trip():
    """Cuts refuse unsorted edges or a wrong label count and round-trip through dicts."""
    with pytest.raises(ConfigError, match="ascending"):
        Cuts(edges=(2.0, 1.0), labels=(1, 2, 3))
    with pytest.raises(ConfigError, match="one label per level"):
        Cuts(edges=(2.0,), labels=(1, 2, 3))
    with pytest.raises(ConfigError, match="missing the key 'labels'"):
        Cuts.from_dict({"edges": [1.0], "higher_is_better": True})
    cuts = Cuts(edges=(1.5, 7.25), labels=(1, 3, 5), higher_is_better=False, strict=True)
    assert Cuts.from_dict(cuts.to_dict()) == cuts


finite = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(st.lists(finite, min_size=1, max_size=60), finite, st.floats(0, 1e5))
def test_more_spend_never_lowers_the_flag(values, spend, extra):
    """With fixed cut points, more spend never moves a patient from M-high to M-low."""
    arr = np.array(values)
    for split in (MedianSplit(), QuantileSplit(0.8), FixedSplit(500.0)):
        cuts = split.fit(arr, higher_is_better=True)
        before, after = cuts.apply(np.array([spend, spend + extra])).tolist()
        assert after >= before


@given(st.lists(st.integers(0, 400), min_size=1, max_size=60), st.integers(0, 400),
       st.integers(0, 50))
def test_more_days_never_raises_recency_score(values, days, extra):
    """With fixed cut points, a longer absence never raises the recency score."""
    cuts = ScoreSplit(5).fit(np.array(values, dtype=float), higher_is_better=False)
    before, after = cuts.apply(np.array([days, days + extra], dtype=float)).tolist()
    assert after <= before


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40, unique=True),
       st.lists(st.floats(-2e3, 2e3), min_size=1, max_size=50), st.booleans(), st.booleans())
def test_apply_matches_counting_edges(edges, values, higher, strict):
    """Both apply paths (comparisons for few edges, searchsorted for many) count edges exactly."""
    edges = sorted(edges)
    cuts = Cuts(edges=edges, labels=range(len(edges) + 1), higher_is_better=higher,
                strict=strict)
    arr = np.array(values)
    e = np.array(edges)
    if higher:
        expected = [(v > e).sum() if strict else (v >= e).sum() for v in arr]
    else:
        expected = [(v < e).sum() if strict else (v <= e).sum() for v in arr]
    assert cuts.apply(arr).tolist() == expected
