"""The tie rule: levels never separate equal values, use every level they can, stay balanced."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.segmentation._ties import (
    balanced_levels,
    balanced_starts,
    distinct_counts,
    level_sizes,
)

# Values with heavy ties: small integers drawn from a narrow range, like visit counts.
tied_values = st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=200)
levels_k = st.integers(min_value=1, max_value=9)


def test_counts_distinct_values():
    """distinct_counts returns sorted distinct values with their multiplicities."""
    distinct, counts = distinct_counts(np.array([3.0, 1, 3, 2, 3]))
    assert distinct.tolist() == [1.0, 2.0, 3.0]
    assert counts.tolist() == [1, 1, 3]


def test_one_visit_majority_keeps_five_levels():
    """Six one-visit patients form level 0; each other distinct value gets its own level."""
    visits = np.array([1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 7])
    assert balanced_levels(visits, 5).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]


def test_no_ties_splits_like_quintiles():
    """Ten distinct values into five levels: two per level."""
    assert balanced_levels(np.arange(10), 5).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_uneven_sizes_put_extra_values_high():
    """Twelve distinct values into five levels: sizes 2,2,2,3,3 (earliest boundaries win ties)."""
    assert np.bincount(balanced_levels(np.arange(12), 5)).tolist() == [2, 2, 2, 3, 3]


def test_heavy_block_then_singletons_rebalances_the_rest():
    """A 70-patient tie takes one level; the other 30 patients share the remaining four evenly."""
    values = np.array([1] * 70 + list(range(2, 32)))
    assert np.bincount(balanced_levels(values, 5)).tolist() == [70, 7, 7, 8, 8]


def test_all_equal_is_one_level():
    """When every value is the same there is one level."""
    assert balanced_levels(np.full(7, 3.0), 5).tolist() == [0] * 7


def test_rejects_zero_levels():
    """Asking for zero levels is a programming error."""
    with pytest.raises(ValueError, match="at least 1"):
        balanced_starts(np.array([1.0]), np.array([1]), 0)


@given(tied_values, levels_k, st.randoms(use_true_random=False))
def test_permutation_invariant(values, k, rnd):
    """The level of each value does not depend on the order of the rows."""
    arr = np.array(values, dtype=float)
    perm = np.array(rnd.sample(range(len(values)), len(values)))
    assert balanced_levels(arr[perm], k).tolist() == balanced_levels(arr, k)[perm].tolist()


@given(tied_values, levels_k)
def test_ties_share_a_level_and_order_is_kept(values, k):
    """Equal values get equal levels, and a larger value never gets a lower level."""
    arr = np.array(values, dtype=float)
    lv = balanced_levels(arr, k)
    order = np.argsort(arr, kind="stable")
    assert np.all(np.diff(lv[order]) >= 0)
    for v in np.unique(arr):
        assert len(set(lv[arr == v].tolist())) == 1


@given(tied_values, levels_k)
def test_uses_as_many_levels_as_distinct_values_allow(values, k):
    """Exactly min(k, distinct values) levels are used, numbered 0..L-1, none empty."""
    arr = np.array(values, dtype=float)
    lv = balanced_levels(arr, k)
    used = min(k, len(set(values)))
    assert sorted(set(lv.tolist())) == list(range(used))


@given(st.integers(min_value=1, max_value=300), levels_k)
def test_without_ties_sizes_differ_by_at_most_one(n, k):
    """With all values distinct, level sizes differ by at most one (quantile-like bins)."""
    sizes = np.bincount(balanced_levels(np.arange(n, dtype=float), k))
    assert sizes.max() - sizes.min() <= 1


@given(tied_values, st.integers(min_value=2, max_value=6))
def test_never_fewer_levels_than_qcut_with_dropped_duplicates(values, k):
    """The rule keeps at least as many levels as pd.qcut(duplicates="drop") would."""
    pd = pytest.importorskip("pandas")
    arr = np.array(values, dtype=float)
    qcut = np.asarray(pd.qcut(arr, k, labels=False, duplicates="drop"), dtype=float)
    qcut_levels = len(set(qcut[~np.isnan(qcut)].tolist()))  # all-equal input gives NaN bins
    assert len(set(balanced_levels(arr, k).tolist())) >= qcut_levels


def test_greedy_trap_is_avoided():
    """Blocks 8,8,5,20,1,20 into four levels: 8|13|20|21, not the nearest-first 16|25|1|20."""
    counts = np.array([8, 8, 5, 20, 1, 20], dtype=np.int64)
    starts = balanced_starts(np.arange(6, dtype=float), counts, 4)
    assert level_sizes(counts, starts) == [8, 13, 20, 21]


@given(st.lists(st.sampled_from([1, 1, 2, 3, 5, 8, 20, 50]), min_size=1, max_size=8),
       st.integers(min_value=1, max_value=6))
def test_most_balanced_cut_by_brute_force(counts, k):
    """No cut into min(k, m) levels has a smaller sum of squared sizes; ties take the first."""
    counts_arr = np.array(counts, dtype=np.int64)
    m = len(counts)
    levels = min(k, m)
    starts = balanced_starts(np.arange(m, dtype=float), counts_arr, k)
    ours = (sum(s * s for s in level_sizes(counts_arr, starts)), starts.tolist())
    best = min(
        (sum(s * s for s in level_sizes(counts_arr, np.array(cut, dtype=np.int64))), list(cut))
        for cut in itertools.combinations(range(1, m), levels - 1)
    )
    assert ours == best


def reference_cut(counts, k):
    """Plain O(k m²) dynamic programme: least sum of squares, then earliest boundaries."""
    m = len(counts)
    levels = min(k, m)
    cum = [0, *itertools.accumulate(counts)]
    # best[l][t]: (cost, boundaries) of the first t blocks cut into l levels
    best = {(0, 0): (0, ())}
    for level in range(1, levels + 1):
        for t in range(level, m + 1):
            options = [
                (best[(level - 1, s)][0] + (cum[t] - cum[s]) ** 2, (*best[(level - 1, s)][1], s))
                for s in range(level - 1, t)
                if (level - 1, s) in best
            ]
            best[(level, t)] = min(options)
    cost, bounds = best[(levels, m)]
    return cost, list(bounds[1:])


@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=40),
       st.integers(min_value=1, max_value=9))
def test_matches_a_plain_dynamic_programme(counts, k):
    """Up to 40 blocks: same cut as an unpruned dynamic programme (cost, then earliest)."""
    counts_arr = np.array(counts, dtype=np.int64)
    starts = balanced_starts(np.arange(len(counts), dtype=float), counts_arr, k)
    cost = sum(s * s for s in level_sizes(counts_arr, starts))
    assert (cost, starts.tolist()) == reference_cut(counts, k)


def test_one_huge_tie_among_many_distinct_values_stays_fast():
    """Half the patients on one fee, the rest all different: exact, and no quadratic blow-up."""
    rng = np.random.default_rng(5)
    values = np.concatenate([np.full(100_000, 50.0), rng.uniform(0, 1e4, 100_000)])
    levels = balanced_levels(values, 5)
    sizes = np.bincount(levels).tolist()
    assert len(sizes) == 5
    assert len(set(levels[values == 50.0].tolist())) == 1
    rest = sorted(sizes)[:4]  # the fee's level also takes the few smaller values before it
    assert rest[-1] - rest[0] <= 1
