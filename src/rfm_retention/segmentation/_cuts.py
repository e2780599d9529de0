"""Fitted cut points of one dimension, and how a value finds its level.

A :class:`Cuts` is what a split strategy learns: a few numbers in the
dimension's own unit (days, visits, money), so a host can read them, store
them as JSON and apply them to tomorrow's patients without refitting.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.errors import ConfigError
from rfm_retention.segmentation._reading import reading

__all__ = ["Cuts", "LabelArray"]

LabelArray = npt.NDArray[np.int8]
"""Per-patient labels of one dimension: 0/1 flags or 1..k scores."""

_FEW_EDGES = 16


def _edges(value: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in value)


def _labels(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


@attrs.frozen
class Cuts:
    """Cut points of one dimension: ``len(edges) + 1`` levels, each with a label.

    Levels run from worst to best. Where "better" means higher
    (``higher_is_better=True``: visits, spend) a value's level is the number of
    edges it reaches; where lower is better (days since the last visit) it is
    the number of edges the value stays within. "Reaches" is ``>=`` and "stays
    within" is ``<=``; with ``strict=True`` they become ``>`` and ``<`` (the
    median and quantile splits: only values strictly better than the median are
    high).

    Attributes:
        edges: cut points, ascending, in the dimension's unit.
        labels: the label of each level, worst level first (``(0, 1)`` for a
            low/high split, ``(1, 2, 3, 4, 5)`` for quintile scores).
        higher_is_better: False for recency in days.
        strict: whether a value equal to an edge stays on the worse side.

    Example:
        >>> import numpy as np
        >>> recent = Cuts(edges=(30.0,), labels=(0, 1), higher_is_better=False)
        >>> recent.apply(np.array([0, 30, 31, 400])).tolist()
        [1, 1, 0, 0]
    """

    edges: tuple[float, ...] = attrs.field(converter=_edges)
    labels: tuple[int, ...] = attrs.field(converter=_labels)
    higher_is_better: bool = True
    strict: bool = False

    def __attrs_post_init__(self) -> None:
        if len(self.labels) != len(self.edges) + 1:
            raise ConfigError(
                f"cut points need one label per level: {len(self.edges)} edge(s) make "
                f"{len(self.edges) + 1} level(s), got {len(self.labels)} label(s)"
            )
        if not all(math.isfinite(e) for e in self.edges):
            raise ConfigError(f"cut points must be finite numbers, got {self.edges}")
        if any(b <= a for a, b in itertools.pairwise(self.edges)):
            raise ConfigError(f"cut points must be strictly ascending, got {self.edges}")
        if any(not -128 <= label <= 127 for label in self.labels):
            raise ConfigError(f"labels must fit in a small integer, got {self.labels}")

    @property
    def levels(self) -> int:
        """How many levels these cut points make."""
        return len(self.labels)

    def apply(self, values: npt.ArrayLike) -> LabelArray:
        """The label of every value: one comparison per edge (``np.searchsorted`` if many)."""
        arr = np.asarray(values, dtype=np.float64)
        labels = np.asarray(self.labels, dtype=np.int8)
        if len(self.edges) <= _FEW_EDGES:
            # A few full-array comparisons beat a binary search per value by ~8x.
            count = np.zeros(arr.shape, dtype=np.int8)
            for edge in self.edges:
                if self.higher_is_better:
                    count += (arr > edge) if self.strict else (arr >= edge)
                else:
                    count += (arr < edge) if self.strict else (arr <= edge)
            return labels[count]
        edges = np.asarray(self.edges, dtype=np.float64)
        level: npt.NDArray[np.intp]
        if self.higher_is_better:
            level = np.searchsorted(edges, arr, side="left" if self.strict else "right")
        else:
            level = len(self.edges) - np.searchsorted(
                edges, arr, side="right" if self.strict else "left"
            )
        return labels[level]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; :meth:`from_dict` reads it back exactly."""
        return {
            "edges": list(self.edges),
            "labels": list(self.labels),
            "higher_is_better": self.higher_is_better,
            "strict": self.strict,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cuts:
        """Inverse of :meth:`to_dict`; ConfigError naming the missing or bad key."""
        with reading("cut points"):
            return cls(
                edges=data["edges"],
                labels=data["labels"],
                higher_is_better=bool(data["higher_is_better"]),
                strict=bool(data.get("strict", False)),
            )
