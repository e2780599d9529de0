"""Earning rules as data: how many points each visit earns (SPEC preset: 100 per revisit)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._frozen import frozen_mapping
from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.loyalty._events import MAX_POINTS

__all__ = ["REVISIT_POINTS", "EarningRules"]


@attrs.frozen
class EarningRules:
    """What a visit earns. Change a copy with ``attrs.evolve(REVISIT_POINTS, ...)``.

    Attributes:
        points_per_revisit: points for a visit that is not the patient's first.
        first_visit_points: points for the patient's earliest visit (0: a first
            visit is not a revisit).
        department_points: per-department override of ``points_per_revisit``.
        min_amount: visits charged less than this earn nothing (e.g. 0.01 to
            skip free follow-ups); 0 means every visit counts.
        expires_after_days: points expire this many days after the visit;
            ``None`` means they never expire.

    Example:
        >>> import attrs
        >>> rules = attrs.evolve(REVISIT_POINTS, expires_after_days=365)
        >>> rules.points_per_revisit
        100
    """

    points_per_revisit: int = 100
    first_visit_points: int = 0
    department_points: Mapping[str, int] = attrs.field(factory=dict, converter=frozen_mapping)
    min_amount: float = 0.0
    expires_after_days: int | None = None

    def __attrs_post_init__(self) -> None:
        amounts = {"points_per_revisit": self.points_per_revisit,
                   "first_visit_points": self.first_visit_points,
                   **{f"department_points[{k!r}]": v for k, v in self.department_points.items()}}
        for name, value in amounts.items():
            if (isinstance(value, bool) or not isinstance(value, int) or value < 0
                    or value > MAX_POINTS):
                raise ConfigError(f"EarningRules.{name} must be a non-negative integer "
                                  f"of at most {MAX_POINTS}, "
                                  f"got {value!r}")
        if self.expires_after_days is not None and self.expires_after_days <= 0:
            raise ConfigError("EarningRules.expires_after_days must be positive or None")
        if not np.isfinite(self.min_amount) or self.min_amount < 0:
            raise ConfigError("EarningRules.min_amount must be a non-negative number")

    def points(self, visits: VisitLog) -> npt.NDArray[np.int64]:
        """Points earned by each row of ``visits`` (vectorised; rows in the log's order).

        The first row of each patient's group is their earliest visit (the log
        is sorted by patient, then time), so it earns ``first_visit_points``.
        """
        n = len(visits)
        points = np.full(n, self.points_per_revisit, dtype=np.int64)
        if self.department_points and n:
            department = visits.department
            for name, value in self.department_points.items():
                points[department == name] = value
        first = visits.group_starts[:-1]
        points[first] = self.first_visit_points
        if self.min_amount > 0:
            points[visits.amount < self.min_amount] = 0
        return points


REVISIT_POINTS = EarningRules()
"""SPEC preset: 100 points per revisit, nothing for a first visit, no expiry."""
