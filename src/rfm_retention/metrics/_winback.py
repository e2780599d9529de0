"""Win-back rate of medium/high-risk cases, a reproducible control group, and uplift.

Definitions:

* **Win-back rate** = cases won back ÷ cases contacted, over cases of the
  chosen levels (medium and high by default) with a first contact. A case
  is **won back** when its patient has a visit strictly after the first
  contact and no later than ``within_days`` days after it. A case whose
  window ends after ``as_of`` is **censored** (left out of both counts).
  A case whose patient the host marks deceased or transferred
  (:class:`~rfm_retention.metrics.Exclusions`) on or before the calendar
  day the window ends is **excluded** (left out of both counts) unless the
  patient came back first: a visit on or before the exclusion day wins the
  case back, as for the revisit rate. Censoring is decided first.
  ``rate = won back / (contacted - censored - excluded)``.
* **Control group**: a random share of warned patients the host leaves
  untreated, drawn by :func:`draw_control_group`. The draw hashes each
  patient id with the seed, so a patient's assignment never depends on who
  else is in the list or in what order: re-running next month keeps the same
  patients in control.
* **Uplift** = win-back rate of contacted cases − the same rate for control
  patients (:class:`ControlGroup`), measured from their warning time instead
  of a contact, with the same levels, window, censoring and exclusions. With
  the 95 % confidence interval of a difference of two proportions (Wald,
  normal approximation: ``d ± 1.96 * sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)``,
  clipped to ``[-1, 1]``), so
  a host can see whether the programme beats doing nothing. The treated side
  counts only cases that were reached (a first contact), so the uplift is the
  effect of the contact on those reached, not of the whole programme on every
  warned patient.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.data._sources import VisitLog
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._cases import CaseColumns, parse_levels, parse_time_column
from rfm_retention.metrics._exclusions import Exclusions
from rfm_retention.metrics._visits import (
    NO_DAY,
    as_id_array,
    next_visit_after,
    patient_positions,
)
from rfm_retention.time import SECONDS_PER_DAY, TimeLike, as_instant
from rfm_retention.vocabulary import RiskLevel

__all__ = [
    "WIN_BACK_DAYS",
    "WIN_BACK_LEVELS",
    "ControlGroup",
    "Uplift",
    "WinBackRate",
    "control_win_back",
    "difference_interval",
    "draw_control_group",
    "win_back_rate",
    "win_back_uplift",
]

WIN_BACK_DAYS = 30
"""Default window: medium risk gets a monthly follow-up, so a month is the natural unit."""
WIN_BACK_LEVELS = (RiskLevel.MEDIUM, RiskLevel.HIGH)
"""The levels the win-back KPI is about (the staff KPI of the source documents)."""

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@attrs.frozen
class WinBackRate:
    """Win-back counts of one group of cases (see the module docstring).

    Attributes:
        contacted: cases of the chosen levels with a first contact (or a
            warning time, for a control group) on or before ``as_of``.
        censored: of those, cases whose window ends after ``as_of``.
        won_back: cases whose patient came back within the window.
        excluded: cases whose patient was marked deceased/transferred by the
            window's last day without coming back first.

    Examples:
        >>> r = WinBackRate(contacted=10, censored=2, won_back=3, excluded=1)
        >>> r.eligible, round(r.rate, 3)
        (7, 0.429)
    """

    contacted: int
    censored: int
    won_back: int
    excluded: int = 0

    @property
    def eligible(self) -> int:
        """The denominator: contacted cases whose window has closed and who still count."""
        return self.contacted - self.censored - self.excluded

    def __add__(self, other: WinBackRate) -> WinBackRate:
        """Counts of two disjoint groups of cases together (e.g. two months)."""
        return WinBackRate(
            self.contacted + other.contacted,
            self.censored + other.censored,
            self.won_back + other.won_back,
            self.excluded + other.excluded,
        )

    @property
    def rate(self) -> float:
        """``won_back / eligible``; NaN with no eligible case."""
        return self.won_back / self.eligible if self.eligible else float("nan")


def _win_back_counts(
    visits: VisitLog,
    patient_id: Any,
    level: Any,
    started_at: Any,
    *,
    as_of: TimeLike,
    within_days: int,
    levels: tuple[RiskLevel, ...],
    exclusions: Exclusions | None,
) -> WinBackRate:
    if isinstance(within_days, bool) or not isinstance(within_days, int) or within_days < 1:
        raise ConfigError(f"within_days must be a positive whole number, got {within_days!r}")
    cutoff = as_instant(as_of)
    start = np.asarray(started_at).astype("datetime64[s]")
    lv = parse_levels(level)
    if not (len(start) == len(lv) == len(np.asarray(patient_id))):
        raise ConfigError("win-back: patient_id, level and contact times need equal lengths")
    chosen = np.isin(lv, [int(v) for v in levels]) & ~np.isnat(start) & (start <= cutoff)
    # compare as whole seconds: the window ends exactly within_days * 24 h after the start
    window_end = start.astype(np.int64) + within_days * SECONDS_PER_DAY
    censored = chosen & (window_end > cutoff.astype(np.int64))
    pos = patient_positions(visits.patient_ids, patient_id, what="cases")
    nxt = next_visit_after(visits, pos, start)
    ex = exclusions or Exclusions.none()
    marked = patient_positions(ex.patient_id, patient_id, what="exclusions")
    excl_day = np.full(len(marked), NO_DAY, np.int64)
    excl_day[marked >= 0] = ex.since_day[marked[marked >= 0]]
    nxt_day = nxt.astype("datetime64[D]").astype(np.int64)
    end_day = (start.astype(np.int64) + within_days * SECONDS_PER_DAY) // SECONDS_PER_DAY
    won = (
        chosen & ~censored & ~np.isnat(nxt) & (nxt.astype(np.int64) <= window_end)
        & (nxt_day <= excl_day)
    )
    excluded = chosen & ~censored & ~won & (excl_day <= end_day)
    return WinBackRate(
        int(chosen.sum()), int(censored.sum()), int(won.sum()), int(excluded.sum())
    )


def win_back_rate(
    visits: VisitLog,
    cases: CaseColumns,
    *,
    as_of: TimeLike,
    within_days: int = WIN_BACK_DAYS,
    levels: tuple[RiskLevel, ...] = WIN_BACK_LEVELS,
    exclusions: Exclusions | None = None,
) -> WinBackRate:
    """Win-back rate of the cases' first contacts (see the module docstring).

    Cases only need ``patient_id``, ``level`` and ``first_contact_at``:
    ``CaseColumns.from_arrays(patient_id=..., level=..., first_contact_at=...)``.
    With ``exclusions``, cases of patients marked deceased/transferred by the
    window's last day (and not back before) leave both counts.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(
        ...     patient_id=["a", "a", "b"], amount=[1.0, 1.0, 1.0],
        ...     visit_time=["2024-01-02", "2024-03-20", "2024-01-05"])
        >>> cases = CaseColumns.from_arrays(
        ...     patient_id=["a", "b", "c"], level=["high", "medium", "low"],
        ...     first_contact_at=["2024-03-01T10:00:00"] * 3)
        >>> win_back_rate(log, cases, as_of="2024-06-30")
        WinBackRate(contacted=2, censored=0, won_back=1, excluded=0)
        >>> gone = Exclusions.from_records([("b", "2024-03-15", "deceased")])
        >>> r = win_back_rate(log, cases, as_of="2024-06-30", exclusions=gone)
        >>> r.excluded, r.eligible, r.rate
        (1, 1, 1.0)
    """
    return _win_back_counts(
        visits, cases.patient_id, cases.level, cases.first_contact_at,
        as_of=as_of, within_days=within_days, levels=levels, exclusions=exclusions,
    )


@attrs.frozen(eq=False)
class ControlGroup:
    """Warned patients the host kept untreated: who, at what level, warned when.

    Each row is one warning of a control patient (like a case of the treated
    side): the win-back window starts at ``warned_at``.

    Examples:
        >>> control = ControlGroup.from_arrays(
        ...     patient_id=["p7", "p9"], level=["high", "medium"],
        ...     warned_at=["2024-03-01T08:00:00", "2024-03-04"])
        >>> len(control), control.level.tolist()
        (2, [3, 2])
    """

    patient_id: IdArray
    level: npt.NDArray[np.int64]
    warned_at: npt.NDArray[np.datetime64]

    def __len__(self) -> int:
        return int(self.level.shape[0])

    @classmethod
    def from_arrays(cls, *, patient_id: Any, level: Any, warned_at: Any) -> ControlGroup:
        """From one sequence per field (levels as names or ints; times as datetimes or ISO text).

        A bad level or time raises ConfigError naming the row.
        """
        ids = as_id_array(patient_id)
        if ids.ndim != 1:
            raise ConfigError("control group: patient ids must be one-dimensional")
        levels = parse_levels(level, what="control group")
        if len(levels) != len(ids):
            raise ConfigError(
                f"control group: level has {len(levels)} values for {len(ids)} patients"
            )
        times = parse_time_column(warned_at, "warned_at", len(ids), what="control group")
        if np.isnat(times).any():
            row = int(np.flatnonzero(np.isnat(times))[0])
            raise ConfigError(f"control group row {row}: warned_at is missing")
        return cls(ids, levels, times)

    def take(self, mask: npt.NDArray[np.bool_]) -> ControlGroup:
        """The rows where ``mask`` is True."""
        return ControlGroup(self.patient_id[mask], self.level[mask], self.warned_at[mask])


def control_win_back(
    visits: VisitLog,
    control: ControlGroup,
    *,
    as_of: TimeLike,
    within_days: int = WIN_BACK_DAYS,
    levels: tuple[RiskLevel, ...] = WIN_BACK_LEVELS,
    exclusions: Exclusions | None = None,
) -> WinBackRate:
    """The win-back counts of control patients, each window starting at the warning.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["p7"], amount=[1.0],
        ...                            visit_time=["2024-03-20"])
        >>> control = ControlGroup.from_arrays(
        ...     patient_id=["p7", "p9"], level=["high", "medium"],
        ...     warned_at=["2024-03-01", "2024-03-01"])
        >>> control_win_back(log, control, as_of="2024-06-30")
        WinBackRate(contacted=2, censored=0, won_back=1, excluded=0)
    """
    return _win_back_counts(
        visits, control.patient_id, control.level, control.warned_at,
        as_of=as_of, within_days=within_days, levels=levels, exclusions=exclusions,
    )


def _stable_uniform(patient_ids: Any, seed: int) -> npt.NDArray[np.float64]:
    """A number in [0, 1) per id that depends only on (id, seed): FNV-1a, then splitmix64."""
    text = np.asarray(patient_ids).astype(str)
    n = len(text)
    width = text.dtype.itemsize // 4
    lengths = np.char.str_len(text) if n else np.zeros(0, np.int64)
    codes = (
        text.view(np.uint32).reshape(n, width).astype(np.uint64)
        if n and width else np.zeros((n, 0), np.uint64)
    )
    seed_mix = np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
    h = np.full(n, _FNV_OFFSET ^ seed_mix, np.uint64)
    with np.errstate(over="ignore"):
        for c in range(width):
            mixed = (h ^ codes[:, c]) * _FNV_PRIME
            h = np.where(c < lengths, mixed, h)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    out: npt.NDArray[np.float64] = (h >> np.uint64(11)).astype(np.float64) / float(2**53)
    return out


def draw_control_group(patient_ids: Any, *, fraction: float, seed: int) -> npt.NDArray[np.bool_]:
    """Which patients go to the untreated control group (True = control).

    Reproducible and stable: the same (id, seed) always gives the same
    answer, whatever the other ids or their order; integer id 7 and text
    ``"7"`` are the same patient. Choose the seed once per programme and keep it.

    Examples:
        >>> mask = draw_control_group([f"p{i}" for i in range(10_000)], fraction=0.1, seed=42)
        >>> 900 < int(mask.sum()) < 1100
        True
        >>> bool(draw_control_group(["p5"], fraction=0.1, seed=42)[0]) == bool(mask[5])
        True
    """
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"fraction must be between 0 and 1, got {fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative whole number, got {seed!r}")
    return _stable_uniform(patient_ids, int(seed)) < fraction


def difference_interval(p1: float, n1: int, p2: float, n2: int) -> tuple[float, float]:
    """95 % Wald interval of ``p1 - p2``: ``d ± 1.96 * sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)``.

    Clipped to ``[-1, 1]``; NaN when either side has no observation.

    Examples:
        >>> [round(x, 3) for x in difference_interval(0.4, 100, 0.25, 100)]
        [0.022, 0.278]
    """
    if not n1 or not n2:
        return (float("nan"), float("nan"))
    half = 1.96 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    d = p1 - p2
    return (max(d - half, -1.0), min(d + half, 1.0))


@attrs.frozen
class Uplift:
    """Treated vs control win-back, with the difference's 95 % confidence interval.

    Examples:
        >>> up = Uplift(WinBackRate(100, 0, 40), WinBackRate(100, 0, 25))
        >>> round(up.uplift, 2), [round(x, 3) for x in up.confidence_interval]
        (0.15, [0.022, 0.278])
    """

    treated: WinBackRate
    control: WinBackRate

    @property
    def uplift(self) -> float:
        """``treated.rate - control.rate`` (NaN when either side has no eligible case)."""
        return self.treated.rate - self.control.rate

    @property
    def confidence_interval(self) -> tuple[float, float]:
        """95 % interval of the uplift: ``d ± 1.96 * sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)``.

        Clipped to ``[-1, 1]`` (a difference of two rates cannot leave it); NaN
        when either side has no eligible case. The normal approximation is
        rough below about ten wins and ten losses per side: read small months
        through the pooled figure of the report.
        """
        return difference_interval(
            self.treated.rate, self.treated.eligible, self.control.rate, self.control.eligible
        )


def win_back_uplift(
    visits: VisitLog,
    treated: CaseColumns,
    control_patient_id: Any = None,
    control_level: Any = None,
    control_warned_at: Any = None,
    *,
    control: ControlGroup | None = None,
    as_of: TimeLike,
    within_days: int = WIN_BACK_DAYS,
    levels: tuple[RiskLevel, ...] = WIN_BACK_LEVELS,
    exclusions: Exclusions | None = None,
) -> Uplift:
    """Uplift of contacted cases over untreated control patients.

    The control side is a :class:`ControlGroup` (``control=``) or three
    plain arrays (patient, level, warning time). Control patients have no
    contact, so their window starts when they were warned. The same levels,
    window, censoring and exclusions apply to both sides.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "c"], amount=[1.0, 1.0],
        ...                            visit_time=["2024-03-10", "2024-05-01"])
        >>> treated = CaseColumns.from_arrays(patient_id=["a", "b"], level=["high"] * 2,
        ...     first_contact_at=["2024-03-01T10:00:00"] * 2)
        >>> control = ControlGroup.from_arrays(patient_id=["c", "d"], level=["high"] * 2,
        ...     warned_at=["2024-03-01", "2024-03-01"])
        >>> up = win_back_uplift(log, treated, control=control, as_of="2024-06-30")
        >>> up.treated.rate, up.control.rate, up.uplift
        (0.5, 0.0, 0.5)
    """
    arrays = (control_patient_id, control_level, control_warned_at)
    if control is None:
        if any(a is None for a in arrays):
            raise ConfigError(
                "win_back_uplift: give control= or all of control_patient_id, control_level "
                "and control_warned_at"
            )
        control = ControlGroup.from_arrays(
            patient_id=control_patient_id, level=control_level, warned_at=control_warned_at
        )
    elif any(a is not None for a in arrays):
        raise ConfigError("win_back_uplift: give control= or the three arrays, not both")
    options: dict[str, Any] = dict(  # as_of converted once for both arms
        as_of=as_instant(as_of), within_days=within_days, levels=levels, exclusions=exclusions
    )
    return Uplift(
        win_back_rate(visits, treated, **options),
        control_win_back(visits, control, **options),
    )
