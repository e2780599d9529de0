"""The tie rule: split sorted values into score levels without ever separating equal values.

Real patient data is full of ties: most patients have exactly one visit, many
pay the same registration fee, hundreds were last seen on the same day. A
plain quantile cut either puts equal values into different bins (so the score
depends on row order) or, like ``pd.qcut(duplicates="drop")``, silently
collapses five bins into two. This module implements the rule every score in
the library uses instead.

The rule, exactly:

1. Count each distinct value: ``u[0] < u[1] < ... < u[m-1]`` with counts
   ``c[0..m-1]``; ``n = sum(c)``. Equal values are one block and are never split.
2. The number of levels is ``L = min(k, m)``: as many as asked for, unless
   there are fewer distinct values than that. Every level gets at least one
   block.
3. Among all ways to cut the ``m`` blocks into ``L`` contiguous levels, take
   the most balanced one: the one whose level sizes ``s_1..s_L`` have the
   smallest sum of squares ``s_1² + ... + s_L²`` (the same as the smallest
   variance around ``n / L``).
4. If several cuts are equally balanced, take the one whose boundaries come
   first (compare the first boundary, then the second, ...).

Consequences (each one is a tested property): the result depends only on the
multiset of values (not on row order); equal values share a level; exactly
``min(k, m)`` levels are used; with no ties, level sizes differ by at most
one (quantiles); with ties, no other cut is more balanced (checked against
brute force).

How it is computed, exactly and fast: a greedy pass (each level ends at the
block end nearest the ideal size of what is left) gives a cut and its sum of
squares ``U``. Any cut at least as good must keep each boundary where a lower
bound on the cost (perfect balance on each side of the boundary, except that
the largest block on a side cannot be split) stays within ``U``. That leaves
a handful of candidate boundaries on real data, and an exact dynamic
programme over them finds the optimum. Work is ``O(m)`` per level plus the
programme over the candidates, after the ``O(n log n)`` count.

Example:
    >>> import numpy as np
    >>> visits = np.array([1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 7])
    >>> balanced_starts(*distinct_counts(visits), 5)
    array([1, 2, 3, 4])

    Six one-visit patients cannot be split, so they form level 1 and each of
    the four other values gets a level: five levels, ties together (where
    ``pd.qcut(visits, 5, duplicates="drop")`` gives three).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import IntArray

__all__ = ["balanced_levels", "balanced_starts", "distinct_counts", "level_sizes"]


_INF = np.iinfo(np.int64).max // 4
_MAX_PATIENTS = 10**9  # keeps every sum of squares exact in int64


def distinct_counts(
    values: npt.NDArray[Any],
) -> tuple[npt.NDArray[np.float64], IntArray]:
    """Sorted distinct values and how often each occurs (step 1 of the rule)."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))  # order of equal values is moot
    if ordered.shape[0] == 0:
        return ordered, np.empty(0, np.int64)
    new = np.empty(ordered.shape[0], dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, ordered.shape[0])).astype(np.int64)
    return ordered[starts], counts


def level_sizes(counts: IntArray, starts: IntArray) -> list[int]:
    """Patients per level, for blocks ``counts`` cut before the blocks in ``starts``."""
    return [int(part.sum()) for part in np.split(counts, starts)]


def _greedy_starts(cum: IntArray, levels: int) -> list[int]:
    """A good first cut: each level ends at the block end nearest the ideal size of the rest."""
    m = cum.shape[0] - 1
    n = int(cum[-1])
    starts: list[int] = []
    first = 1  # smallest allowed boundary (block index) for the level being filled
    taken = 0
    for j in range(levels - 1):
        left = levels - j
        goal = taken * left + (n - taken)  # ideal end, times ``left``, in integers
        lo, hi = first, m - left + 1
        pos = int(np.searchsorted(cum, goal / left))
        below = min(max(pos - 1, lo), hi)
        above = min(max(pos, lo), hi)
        end = below if abs(int(cum[below]) * left - goal) <= abs(int(cum[above]) * left - goal) \
            else above
        starts.append(end)
        taken = int(cum[end])
        first = end + 1
    return starts


def _side_bound(size: npt.NDArray[np.float64], biggest: npt.NDArray[np.float64],
                levels: int) -> npt.NDArray[np.float64]:
    """Least sum of squares of ``levels`` levels of ``size`` patients with a block ``biggest``."""
    if levels == 1:
        return size * size
    even = size * size / levels
    rest = size - biggest
    lumpy = biggest * biggest + rest * rest / (levels - 1)
    return np.where(biggest * levels <= size, even, lumpy)


def _candidates(cum: IntArray, counts: IntArray, levels: int, upper: int) -> list[IntArray]:
    """Per boundary, the block indexes a cut costing at most ``upper`` could use."""
    m = counts.shape[0]
    n = float(cum[-1])
    slack = float(upper) * (1.0 + 1e-9) + 1.0  # float bounds: keep a superset, never lose one
    # biggest block before / from each boundary t (blocks < t, blocks >= t)
    before = np.concatenate(([0], np.maximum.accumulate(counts)))
    after = np.concatenate((np.maximum.accumulate(counts[::-1])[::-1], [0]))
    out = [np.zeros(1, np.int64)]
    for level in range(1, levels):
        rest = levels - level
        # Perfect balance on both sides, p²/level + (n-p)²/rest <= upper, bounds p to an
        # interval; only boundaries inside it need the finer (block-aware) bound.
        a = 1.0 / level + 1.0 / rest
        b = -2.0 * n / rest
        c = n * n / rest - slack
        root = np.sqrt(max(b * b - 4.0 * a * c, 0.0))
        p_lo, p_hi = (-b - root) / (2.0 * a), (-b + root) / (2.0 * a)
        t_lo = max(level, int(np.searchsorted(cum, p_lo - 1.0, side="left")))
        t_hi = min(m - rest, int(np.searchsorted(cum, p_hi + 1.0, side="right")) - 1)
        t = np.arange(t_lo, t_hi + 1, dtype=np.int64)
        pos = cum[t].astype(np.float64)
        bound = _side_bound(pos, before[t].astype(np.float64), level) + _side_bound(
            n - pos, after[t].astype(np.float64), rest)
        out.append(t[bound <= slack])
    out.append(np.array([m], dtype=np.int64))
    return out


def _best_rest(cum: IntArray, here: IntArray, there: IntArray,
               cost_there: IntArray) -> IntArray:
    """For each boundary in ``here``: least cost of the next level (to ``there``) plus the rest.

    Row ``r`` (a boundary in ``here``) against column ``c`` (one in ``there``)
    costs ``(cum[c] - cum[r])² + cost_there[c]`` when ``c`` is after ``r``. A
    squared size makes this matrix Monge, so each row's leftmost best column
    never comes before the previous row's: divide and conquer on rows, all
    rows of one depth at once, keeps the work near ``(rows + columns) * log(rows)``.
    """
    n_rows, n_cols = here.shape[0], there.shape[0]
    best = np.full(n_rows, _INF, dtype=np.int64)
    row_pos = cum[here]
    col_pos = cum[there]
    lo_r = np.zeros(1, np.int64)
    hi_r = np.full(1, n_rows, np.int64)  # rows [lo_r, hi_r)
    lo_c = np.zeros(1, np.int64)
    hi_c = np.full(1, n_cols - 1, np.int64)  # columns [lo_c, hi_c]
    while lo_r.shape[0]:
        mid = (lo_r + hi_r) // 2
        width = hi_c - lo_c + 1
        seg = np.repeat(np.arange(mid.shape[0]), width)
        first = np.cumsum(width) - width
        cols = lo_c[seg] + (np.arange(seg.shape[0]) - first[seg])
        size = col_pos[cols] - row_pos[mid[seg]]
        value = np.where(size > 0, size * size + cost_there[cols], _INF)
        low = np.minimum.reduceat(value, first)
        hit = np.flatnonzero(value == low[seg])
        arg = cols[hit[np.searchsorted(seg[hit], np.arange(mid.shape[0]))]]
        arg = np.where(low >= _INF, hi_c, arg)  # no column after this row: no constraint
        best[mid] = low
        left = mid > lo_r
        right = mid + 1 < hi_r
        lo_r = np.concatenate((lo_r[left], mid[right] + 1))
        hi_r = np.concatenate((mid[left], hi_r[right]))
        lo_c, hi_c = (np.concatenate((lo_c[left], arg[right])),
                      np.concatenate((arg[left], hi_c[right])))
    return best


def balanced_starts(
    distinct: npt.NDArray[np.float64], counts: IntArray, k: int
) -> IntArray:
    """Index of the first distinct value of levels 2..L (length ``L - 1``; steps 2-4).

    ``distinct`` is only used for its length; the choice depends on ``counts``.
    """
    if k < 1:
        raise ValueError(f"the number of levels must be at least 1, not {k}")
    m = int(counts.shape[0])
    levels = min(k, m)
    if levels <= 1:
        return np.empty(0, np.int64)
    cum = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    if int(cum[-1]) > _MAX_PATIENTS:
        raise ValueError(f"at most {_MAX_PATIENTS:,} values can be scored at once")
    greedy = _greedy_starts(cum, levels)
    upper = sum(s * s for s in level_sizes(counts, np.asarray(greedy, np.int64)))
    allowed = _candidates(cum, counts, levels, upper)
    # rest[l][i]: least cost of levels l+1..L starting at boundary allowed[l][i]
    rest: list[IntArray] = [np.empty(0, np.int64)] * levels + [np.zeros(1, np.int64)]
    for level in range(levels - 1, -1, -1):
        rest[level] = _best_rest(cum, allowed[level], allowed[level + 1], rest[level + 1])
    # walk forward, taking the first boundary that keeps the optimum (step 4)
    starts: list[int] = []
    at, owed = 0, int(rest[0][0])
    for level in range(1, levels):
        nxt = allowed[level]
        size = cum[nxt] - cum[at]
        total = np.where(size > 0, size * size + rest[level], _INF)
        pick = int(np.flatnonzero(total == owed)[0])
        starts.append(int(nxt[pick]))
        at, owed = int(nxt[pick]), int(rest[level][pick])
    return np.asarray(starts, dtype=np.int64)


def balanced_levels(values: npt.NDArray[Any], k: int) -> IntArray:
    """The level (0-based, low values low) of every value under the tie rule.

    A reference for tests and analysts; the segmenters store cut points
    instead and apply them to any snapshot.

    Example:
        >>> balanced_levels(np.array([5.0, 1.0, 1.0, 3.0]), 3).tolist()
        [2, 0, 0, 1]
    """
    arr = np.asarray(values, dtype=np.float64)
    distinct, counts = distinct_counts(arr)
    starts = balanced_starts(distinct, counts, k)
    edges = distinct[starts]
    return np.searchsorted(edges, arr, side="right").astype(np.int64)
