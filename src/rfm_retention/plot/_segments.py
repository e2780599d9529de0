"""Segment pictures: sizes beside spend, the R x F heat map, and who moved where."""

from __future__ import annotations

from typing import Any

import numpy as np

from rfm_retention.plot._axes import axes
from rfm_retention.segmentation import MigrationMatrix, Segmentation, SegmentSummary
from rfm_retention.time import as_date

__all__ = ["migration_matrix", "rfm_grid", "segment_sizes"]


def segment_sizes(segments: Segmentation | SegmentSummary, *, ax: Any = None) -> Any:
    """Each segment's share of the patients beside its share of the spend (two bars each).

    Shows at a glance where the money is: a segment with few patients and a
    large spend share is the one to keep.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> from rfm_retention.testing import synthetic_cohort
        >>> from rfm_retention.segmentation import eight_segments
        >>> f = synthetic_cohort(200, seed=3).data.visits.features("2024-06-30")
        >>> ax = segment_sizes(eight_segments().fit(f).assign(f), ax=Figure().subplots())
        >>> len(ax.patches)  # 8 segments x (patients, spend)
        16
    """
    summary = segments.summary() if isinstance(segments, Segmentation) else segments
    ax = axes(ax, "plot.segment_sizes")
    names = [r.name for r in summary.rows]
    y = np.arange(len(names))
    ax.barh(y - 0.2, [r.share * 100 for r in summary.rows], height=0.4,
            label="patients", color="#2980b9")
    ax.barh(y + 0.2, [r.monetary_share * 100 for r in summary.rows], height=0.4,
            label="spend", color="#27ae60")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel("share (%)")
    ax.set_title(f"Segments as of {as_date(summary.as_of)}: {summary.patients:,} patients")
    ax.legend(loc="lower right")
    return ax


def _annotated_grid(ax: Any, counts: Any) -> Any:
    image = ax.imshow(counts, cmap="Blues", origin="lower", aspect="auto")
    top = counts.max() if counts.size else 0
    for (i, j), n in np.ndenumerate(counts):
        ax.text(j, i, f"{int(n):,}", ha="center", va="center",
                color="white" if top and n > top / 2 else "black", fontsize=9)
    return image


def rfm_grid(segments: Segmentation, *, ax: Any = None) -> Any:
    """The classic RFM heat map: patients in each (R, F) cell, with the count written in it.

    Rows are the recency labels, columns the frequency labels (flags 0/1 or
    scores 1..k, as the segmenter made them); higher is better on both.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> from rfm_retention.testing import synthetic_cohort
        >>> from rfm_retention.segmentation import score_segments
        >>> f = synthetic_cohort(300, seed=3).data.visits.features("2024-06-30")
        >>> ax = rfm_grid(score_segments().fit(f).assign(f), ax=Figure().subplots())
        >>> len(ax.texts), ax.get_xlabel()
        (25, 'F label')
    """
    ax = axes(ax, "plot.rfm_grid")
    r_values = np.unique(segments.r)
    f_values = np.unique(segments.f)
    ri = np.searchsorted(r_values, segments.r)
    fi = np.searchsorted(f_values, segments.f)
    counts = np.zeros((len(r_values), len(f_values)), np.int64)
    np.add.at(counts, (ri, fi), 1)
    _annotated_grid(ax, counts)
    ax.set_xticks(range(len(f_values)), [str(int(v)) for v in f_values])
    ax.set_yticks(range(len(r_values)), [str(int(v)) for v in r_values])
    ax.set_xlabel("F label")
    ax.set_ylabel("R label")
    ax.set_title(f"Patients by recency x frequency, {as_date(segments.as_of)}")
    return ax


def migration_matrix(matrix: MigrationMatrix, *, ax: Any = None) -> Any:
    """Patients from each segment (rows, earlier snapshot) to each segment (columns, later).

    The diagonal stayed put; everything off it moved. Counts are written in
    every cell.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> from rfm_retention.testing import synthetic_cohort
        >>> from rfm_retention.segmentation import eight_segments, migration
        >>> log = synthetic_cohort(200, seed=3).data.visits
        >>> seg = eight_segments()
        >>> a, b = log.features("2023-12-31"), log.features("2024-06-30")
        >>> m = migration(seg.fit(a).assign(a), seg.fit(a).assign(b))
        >>> len(migration_matrix(m, ax=Figure().subplots()).texts)
        64
    """
    ax = axes(ax, "plot.migration_matrix")
    _annotated_grid(ax, matrix.counts)
    ticks = range(len(matrix.codes))
    ax.set_xticks(ticks, matrix.codes, rotation=45, ha="right")
    ax.set_yticks(ticks, matrix.codes)
    ax.invert_yaxis()
    ax.set_xlabel(f"segment on {matrix.after}")
    ax.set_ylabel(f"segment on {matrix.before}")
    ax.set_title(f"Segment migration: {matrix.moved():,} patients moved")
    return ax
