"""The lapse rule: when a patient counts as lost, derived from the visit log alone.

A patient **lapses** when they go longer than their *expected interval* plus
a *grace period* without a visit. The lapse happens on the first day the gap
exceeds that length: ``lapse_day = last_visit_day + floor(expected + grace) + 1``.

The expected interval after a visit day is, in order of preference:

1. the patient's own mean interval so far, ``(day - first_day) / k`` where
   ``k`` is the number of intervals up to that day, once ``k >=
   min_intervals``;
2. otherwise the care norm of the day's diagnosis, from the same
   :class:`~rfm_retention.risk._care_intervals.CareIntervals` the warning
   indicators use (hypertension every 1-2 months, diabetes every 2-3 months):
   the norm's upper end (``max_days``), since beyond it churn may begin;
3. otherwise ``default_interval_days`` (180: memory of the hospital has
   faded by 95 % after 6 months without contact).

Only what was known at each visit is used: the expected interval after the
third visit never looks at the fourth.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray, IntArray
from rfm_retention.data._sources import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._visits import VisitDays, visit_days
from rfm_retention.risk._care_intervals import SPEC_CARE_INTERVALS, CareIntervals
from rfm_retention.time import TimeLike, as_instant, day_number

__all__ = ["LapseEvents", "LapseRule", "lapse_days", "lapse_events"]


@attrs.frozen
class LapseRule:
    """When silence means a patient is lost (see the module docstring).

    Examples:
        >>> rule = LapseRule(grace_days=14)
        >>> rule.norm_for("I10.9"), rule.norm_for("E11"), rule.norm_for("J06")
        (60.0, 90.0, 180.0)
    """

    grace_days: float = 30.0
    min_intervals: int = 2
    default_interval_days: float = 180.0
    norms: CareIntervals = SPEC_CARE_INTERVALS

    def __attrs_post_init__(self) -> None:
        if not self.grace_days >= 0:
            raise ConfigError(f"grace_days must be >= 0, got {self.grace_days!r}")
        if not self.default_interval_days > 0:
            raise ConfigError("default_interval_days must be positive")
        if self.min_intervals < 1:
            raise ConfigError("min_intervals must be at least 1")

    def norm_for(self, diagnosis: str) -> float:
        """Expected interval after a visit with this diagnosis when history is too short."""
        return float(self.norms_of(np.array([diagnosis]))[0])

    def norms_of(self, diagnoses: npt.NDArray[np.str_]) -> FloatArray:
        """:meth:`norm_for` of a whole column (each distinct diagnosis matched once)."""
        days, _ = self.norms.max_days_of(diagnoses)
        out: FloatArray = np.where(np.isnan(days), self.default_interval_days, days)
        return out


def lapse_days(vd: VisitDays, rule: LapseRule) -> tuple[FloatArray, IntArray]:
    """For each visit day: (expected interval after it, day the patient lapses if silent)."""
    norm = rule.norms_of(vd.diagnosis)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = (vd.day - vd.first_day) / np.maximum(vd.ordinal, 1)
    expected = np.where(vd.ordinal >= rule.min_intervals, own, norm).astype(np.float64)
    lapse = vd.day + np.floor(expected + rule.grace_days).astype(np.int64) + 1
    return expected, lapse


@attrs.frozen(eq=False)
class LapseEvents:
    """Every lapse observed by ``as_of``, one row per event, sorted by (patient, day).

    A patient can lapse, come back and lapse again: each is an event.

    Attributes:
        patient: position of the patient in the log's ``patient_ids``.
        last_visit_day: day number of the visit the silence started after.
        lapse_day: day number of the lapse (first day the gap exceeded the limit).
        expected_days: the expected interval that applied.
        as_of: the instant the lapses are observed until (``datetime64[s]``).
    """

    patient: IntArray
    last_visit_day: IntArray
    lapse_day: IntArray
    expected_days: FloatArray
    as_of: np.datetime64 = attrs.field(kw_only=True)

    def __len__(self) -> int:
        return int(self.patient.shape[0])


def lapse_events(
    visits: VisitLog, *, as_of: TimeLike, rule: LapseRule | None = None
) -> LapseEvents:
    """The lapses that had happened by ``as_of`` (visits after it are ignored).

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(
        ...     patient_id=["a", "a"], visit_time=["2024-01-01", "2024-03-01"],
        ...     amount=[1.0, 1.0], diagnosis=["I10", "I10"],
        ... )
        >>> ev = lapse_events(log, as_of="2024-12-31", rule=LapseRule(grace_days=0))
        >>> [str(np.datetime64(int(d), "D")) for d in ev.lapse_day]
        ['2024-05-01']
        >>> ev.as_of
        np.datetime64('2024-12-31T23:59:59')
    """
    rule = rule or LapseRule()
    instant = as_instant(as_of)
    as_of_day = day_number(instant)
    vd = visit_days(visits, as_of_day)
    expected, lapse = lapse_days(vd, rule)
    happened = (vd.next_day >= lapse) & (lapse <= as_of_day)
    return LapseEvents(
        patient=vd.patient[happened],
        last_visit_day=vd.day[happened],
        lapse_day=lapse[happened],
        expected_days=expected[happened],
        as_of=instant,
    )
