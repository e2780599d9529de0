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
   there are fewer distinct values than that.
3. Blocks are assigned to levels from the lowest value up, one boundary at a
   time. With ``t`` values already assigned and ``g`` levels still to fill, the
   ideal size of the next level is ``(n - t) / g``. The level ends after the
   block whose cumulative count is closest to ``t + (n - t) / g``; when two
   block ends are equally close the lower one wins. The level always gets at
   least one block and leaves at least one block for each level after it.

Consequences (each one is a tested property): the result depends only on the
multiset of values (not on row order); equal values share a level; exactly
``min(k, m)`` levels are used; with no ties, level sizes differ by at most
one; the work is ``O(k log m)`` after the ``O(n log n)`` count.

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

__all__ = ["balanced_levels", "balanced_starts", "distinct_counts"]


def distinct_counts(
    values: npt.NDArray[Any],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
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


def balanced_starts(
    distinct: npt.NDArray[np.float64], counts: npt.NDArray[np.int64], k: int
) -> npt.NDArray[np.int64]:
    """Index of the first distinct value of levels 2..L (length ``L - 1``; steps 2-3).

    ``distinct`` is only used for its length; the choice depends on ``counts``.
    """
    if k < 1:
        raise ValueError(f"the number of levels must be at least 1, not {k}")
    m = int(counts.shape[0])
    levels = min(k, m)
    if levels <= 1:
        return np.empty(0, np.int64)
    cum = np.cumsum(counts)
    n = int(cum[-1])
    starts: list[int] = []
    first = 0  # first block of the level being filled
    taken = 0  # values assigned to the levels already filled
    for j in range(levels - 1):
        left = levels - j  # levels still to fill, this one included
        target = taken + (n - taken) / left
        lo, hi = first, m - left  # this level ends at a block in [lo, hi]
        pos = int(np.searchsorted(cum, target))
        above = min(max(pos, lo), hi)
        below = min(max(pos - 1, lo), hi)
        # exact comparison of |cum - target| * left, in integers
        goal = taken * left + (n - taken)
        dist_below = abs(int(cum[below]) * left - goal)
        dist_above = abs(int(cum[above]) * left - goal)
        end = below if dist_below <= dist_above else above
        starts.append(end + 1)
        taken = int(cum[end])
        first = end + 1
    return np.asarray(starts, dtype=np.int64)


def balanced_levels(values: npt.NDArray[Any], k: int) -> npt.NDArray[np.int64]:
    """The level (0-based, low values low) of every value under the tie rule.

    A reference implementation for tests and analysts; the segmenters store
    cut points instead and apply them with ``np.searchsorted``.

    Example:
        >>> balanced_levels(np.array([5.0, 1.0, 1.0, 3.0]), 3).tolist()
        [2, 0, 0, 1]
    """
    arr = np.asarray(values, dtype=np.float64)
    distinct, counts = distinct_counts(arr)
    starts = balanced_starts(distinct, counts, k)
    edges = distinct[starts]
    return np.searchsorted(edges, arr, side="right").astype(np.int64)
