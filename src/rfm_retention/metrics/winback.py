"""Win-back rate of medium/high-risk cases, a reproducible control group, and uplift.

Definitions:

* **Win-back rate** = cases won back ÷ cases contacted, over cases of the
  chosen levels (medium and high by default) with a first contact. A case
  is **won back** when its patient has a visit strictly after the first
  contact and no later than ``within_days`` days after it. A case whose
  window ends after ``as_of`` is **censored** (left out of both counts).
* **Control group**: a random share of warned patients the host leaves
  untreated, drawn by :func:`draw_control_group`. The draw hashes each
  patient id with the seed, so a patient's assignment never depends on who
  else is in the list or in what order: re-running next month keeps the same
  patients in control.
* **Uplift** = win-back rate of contacted cases − the same rate for control
  patients, measured from their warning time instead of a contact. With the
  95 % confidence interval of a difference of two proportions (normal
  approximation), so a host can see whether the programme beats doing
  nothing.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.data._time import to_instant
from rfm_retention.data.sources import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._calendar import DateLike
from rfm_retention.metrics._visits import next_visit_after, patient_positions
from rfm_retention.metrics.cases import CaseColumns, parse_levels
from rfm_retention.risk.levels import RiskLevel

__all__ = [
    "WIN_BACK_DAYS",
    "WIN_BACK_LEVELS",
    "Uplift",
    "WinBackRate",
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
    """

    contacted: int
    censored: int
    won_back: int

    @property
    def eligible(self) -> int:
        """The denominator: contacted cases whose window has closed."""
        return self.contacted - self.censored

    @property
    def rate(self) -> float:
        """``won_back / eligible``; NaN with no eligible case."""
        return self.won_back / self.eligible if self.eligible else float("nan")


def _won_back_masks(
    visits: VisitLog,
    patient_id: Any,
    level: Any,
    started_at: Any,
    *,
    as_of: DateLike,
    within_days: int,
    levels: tuple[RiskLevel, ...],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    if isinstance(within_days, bool) or not isinstance(within_days, int) or within_days < 1:
        raise ConfigError(f"within_days must be a positive whole number, got {within_days!r}")
    cutoff = to_instant(as_of)
    start = np.asarray(started_at).astype("datetime64[s]")
    lv = parse_levels(level)
    if not (len(start) == len(lv) == len(np.asarray(patient_id))):
        raise ConfigError("win-back: patient_id, level and contact times need equal lengths")
    chosen = np.isin(lv, [int(v) for v in levels]) & ~np.isnat(start) & (start <= cutoff)
    # compare as whole seconds: the window ends exactly within_days * 24 h after the start
    window_end = start.astype(np.int64) + within_days * 86400
    censored = chosen & (window_end > cutoff.astype(np.int64))
    pos = patient_positions(visits.patient_ids, patient_id, what="cases")
    nxt = next_visit_after(visits, pos, start)
    won = chosen & ~censored & ~np.isnat(nxt) & (nxt.astype(np.int64) <= window_end)
    return chosen, censored, won


def win_back_rate(
    visits: VisitLog,
    cases: CaseColumns,
    *,
    as_of: DateLike,
    within_days: int = WIN_BACK_DAYS,
    levels: tuple[RiskLevel, ...] = WIN_BACK_LEVELS,
) -> WinBackRate:
    """Win-back rate of the cases' first contacts (see the module docstring).

    Cases only need ``patient_id``, ``level`` and ``first_contact_at``:
    ``CaseColumns.from_arrays(patient_id=..., level=..., first_contact_at=...)``.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(
        ...     patient_id=["a", "a", "b"], amount=[1.0, 1.0, 1.0],
        ...     visit_time=["2024-01-02", "2024-03-20", "2024-01-05"])
        >>> cases = CaseColumns.from_arrays(
        ...     patient_id=["a", "b", "c"], level=["high", "medium", "low"],
        ...     first_contact_at=["2024-03-01T10:00:00"] * 3)
        >>> win_back_rate(log, cases, as_of="2024-06-30")
        WinBackRate(contacted=2, censored=0, won_back=1)
    """
    chosen, censored, won = _won_back_masks(
        visits, cases.patient_id, cases.level, cases.first_contact_at,
        as_of=as_of, within_days=within_days, levels=levels,
    )
    return WinBackRate(int(chosen.sum()), int(censored.sum()), int(won.sum()))


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


@attrs.frozen
class Uplift:
    """Treated vs control win-back, with the difference's 95 % confidence interval."""

    treated: WinBackRate
    control: WinBackRate

    @property
    def uplift(self) -> float:
        """``treated.rate - control.rate`` (NaN when either side has no eligible case)."""
        return self.treated.rate - self.control.rate

    @property
    def confidence_interval(self) -> tuple[float, float]:
        """95 % interval of the uplift: ``d ± 1.96 * sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)``."""
        n1, n2 = self.treated.eligible, self.control.eligible
        if not n1 or not n2:
            return (float("nan"), float("nan"))
        p1, p2 = self.treated.rate, self.control.rate
        half = 1.96 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        return (self.uplift - half, self.uplift + half)


def win_back_uplift(
    visits: VisitLog,
    treated: CaseColumns,
    control_patient_id: Any,
    control_level: Any,
    control_warned_at: Any,
    *,
    as_of: DateLike,
    within_days: int = WIN_BACK_DAYS,
    levels: tuple[RiskLevel, ...] = WIN_BACK_LEVELS,
) -> Uplift:
    """Uplift of contacted cases over untreated control patients.

    The control side is given as plain arrays (patient, level, warning
    time): control patients have no contact, so their window starts when
    they were warned. The same levels, window and censoring apply to both.
    """
    chosen, censored, won = _won_back_masks(
        visits, control_patient_id, control_level,
        np.asarray(control_warned_at, dtype="datetime64[s]"),
        as_of=as_of, within_days=within_days, levels=levels,
    )
    control = WinBackRate(int(chosen.sum()), int(censored.sum()), int(won.sum()))
    return Uplift(
        win_back_rate(visits, treated, as_of=as_of, within_days=within_days, levels=levels),
        control,
    )
