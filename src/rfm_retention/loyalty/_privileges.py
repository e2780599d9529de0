"""Returning-patient privileges: who gets the returning-patient package and the green channel.

The SPEC's point is differentiation: a returning patient is treated better
than a new one. Each privilege is data: what it gives, and the rules (any
one suffices) that grant it, read from the patient's visits and the ledger.
The decision names the rule that decided, so staff can explain it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
import numpy as np

from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.loyalty._events import Event, EventKind
from rfm_retention.time import TimeLike, as_instant

if TYPE_CHECKING:
    from rfm_retention.loyalty._ledger import PointsLedger
    from rfm_retention.loyalty._tiers import TierScheme

__all__ = [
    "GREEN_CHANNEL",
    "RETURNING_PACKAGE",
    "SPEC_PRIVILEGES",
    "PatientPrivileges",
    "Privilege",
    "PrivilegeDecision",
    "PrivilegeRule",
    "privileges",
]


@attrs.frozen
class PrivilegeRule:
    """One way to qualify: every condition set must hold.

    Attributes:
        name: shown to staff as the reason ("has visited before").
        min_visits: visits on or before ``as_of`` (within ``within_days`` if set).
        within_days: only count visits in the last N days; None counts all.
        min_points_earned: points earned in the branch (earns not reversed).

    Example:
        >>> rule = PrivilegeRule("regular", min_visits=3, within_days=365)
    """

    name: str
    min_visits: int = 1
    within_days: int | None = None
    min_points_earned: int = 0

    def __attrs_post_init__(self) -> None:
        if self.min_visits < 0 or self.min_points_earned < 0:
            raise ConfigError(f"privilege rule {self.name!r}: minimums must be >= 0")
        if self.within_days is not None and self.within_days <= 0:
            raise ConfigError(f"privilege rule {self.name!r}: within_days must be positive")

    def check(self, visit_times: np.ndarray, as_of: np.datetime64, points: int) -> str:
        """'' when the rule holds, else what is missing."""
        times = visit_times
        if self.within_days is not None:
            times = times[times > as_of - np.timedelta64(self.within_days, "D")]
        span = f" in the last {self.within_days} days" if self.within_days else ""
        if len(times) < self.min_visits:
            return f"{len(times)} visit(s){span}, needs {self.min_visits}"
        if points < self.min_points_earned:
            return f"{points} point(s) earned, needs {self.min_points_earned}"
        return ""


@attrs.frozen
class Privilege:
    """A benefit for returning patients and the rules that grant it (any one suffices)."""

    code: str
    name: str
    benefits: tuple[str, ...]
    rules: tuple[PrivilegeRule, ...]
    discount: float = 0.0

    def __attrs_post_init__(self) -> None:
        if not self.rules:
            raise ConfigError(f"privilege {self.code!r} needs at least one rule")
        if not 0.0 <= self.discount < 1.0:
            raise ConfigError(f"privilege {self.code!r}: discount must be in [0, 1)")


RETURNING_PACKAGE = Privilege(
    "returning_package",
    "Returning-patient package",
    ("package price 20% below the ordinary price",),
    rules=(PrivilegeRule("has visited before", min_visits=1),),
    discount=0.20,
)
"""SPEC: returning patients buy packages 20% below the ordinary price."""

GREEN_CHANNEL = Privilege(
    "green_channel",
    "Revisit green channel",
    ("priority booking", "priority examination", "priority consultation"),
    rules=(PrivilegeRule("has visited before", min_visits=1),),
)
"""SPEC: priority booking, examination and consultation for returning patients."""

SPEC_PRIVILEGES = (RETURNING_PACKAGE, GREEN_CHANNEL)


@attrs.frozen
class PrivilegeDecision:
    """Whether one privilege applies, and the rule that decided.

    ``rule`` is the first rule that held when granted; when refused, it is the
    first rule and ``reason`` says what was missing.
    """

    privilege: Privilege
    granted: bool
    rule: str
    reason: str


@attrs.frozen
class PatientPrivileges:
    """Every privilege decision for one patient at ``as_of`` (and the tier, under a tier scheme).

    ``as_of`` is the instant judged (``datetime64[s]``, as every result
    reports it). ``tier`` and ``tier_rule`` say which membership tier the
    patient holds and the rule that put them there, when :func:`privileges`
    was given ``tiers``.
    """

    patient_id: str
    as_of: np.datetime64
    visits: int
    points_earned: int
    decisions: tuple[PrivilegeDecision, ...]
    tier: str | None = None
    tier_rule: str = ""

    def granted(self, code: str) -> bool:
        """Whether the privilege with this code applies."""
        return self.decision(code).granted

    def decision(self, code: str) -> PrivilegeDecision:
        """The decision for one privilege code."""
        for d in self.decisions:
            if d.privilege.code == code:
                return d
        raise ConfigError(f"no privilege {code!r} was evaluated")


def _patient_rows(visits: VisitLog, patient_id: str) -> slice:
    """The rows of one patient in ``visits`` (empty when the log does not know them)."""
    ids = visits.patient_ids
    key: int | str = patient_id
    if ids.dtype.kind in "iu":
        try:
            key = int(patient_id)
        except ValueError:
            return slice(0, 0)
    pos = int(np.searchsorted(ids, np.asarray([key], dtype=ids.dtype))[0])
    if pos >= len(ids) or ids[pos] != key:
        return slice(0, 0)
    return slice(int(visits.group_starts[pos]), int(visits.group_starts[pos + 1]))


def _earned_points(events: Sequence[Event], start: dt.datetime | None = None,
                  end: dt.datetime | None = None) -> int:
    """Points of the earns among ``events`` that were not reversed (earned after ``start``
    and up to ``end`` when given)."""
    reversed_keys = {e.reverses for e in events if e.kind is EventKind.REVERSE}
    return sum(e.points for e in events if e.kind is EventKind.EARN
               and e.key not in reversed_keys
               and (start is None or e.at > start) and (end is None or e.at <= end))


def _visit_times(visits: VisitLog, patient_id: str, as_of: np.datetime64) -> np.ndarray:
    times = visits.time[_patient_rows(visits, patient_id)]
    return times[times <= as_of]


def _earned(ledger: PointsLedger | None, pid: str) -> int:
    """Points the patient earned in the branch (earns not reversed)."""
    return 0 if ledger is None else _earned_points(ledger.history(pid))


def privileges(
    patient_id: str | int,
    visits: VisitLog,
    *,
    as_of: TimeLike,
    ledger: PointsLedger | None = None,
    catalogue: tuple[Privilege, ...] = SPEC_PRIVILEGES,
    tiers: TierScheme | None = None,
) -> PatientPrivileges:
    """Decide a patient's returning-patient privileges from their visits (and points).

    With ``tiers`` (e.g. :data:`~rfm_retention.loyalty.SPEC_TIERS`), the
    privileges are those of the patient's membership tier instead of
    ``catalogue``'s own rules, and the result names the tier and its rule.

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["p1"] * 2, amount=[90.0, 60.0],
        ...                            visit_time=["2024-01-02", "2024-03-01"])
        >>> p = privileges("p1", log, as_of="2024-06-30")
        >>> p.as_of, p.visits
        (np.datetime64('2024-06-30T23:59:59'), 2)
        >>> p.granted("green_channel"), p.decision("green_channel").rule
        (True, 'has visited before')
    """
    pid = str(patient_id)
    instant = as_instant(as_of)  # the one conversion; the tiers get the instant
    times = _visit_times(visits, pid, instant)
    if tiers is not None:
        from rfm_retention.loyalty._tiers import membership

        m = membership(pid, visits, as_of=instant, ledger=ledger, scheme=tiers)
        earned = _earned(ledger, pid)
        return PatientPrivileges(pid, m.as_of, len(times), earned, m.decisions, m.tier, m.rule)
    points = _earned(ledger, pid)
    decisions = []
    for privilege in catalogue:
        decision = None
        for rule in privilege.rules:
            if not rule.check(times, instant, points):
                decision = PrivilegeDecision(privilege, True, rule.name, "")
                break
        if decision is None:
            first = privilege.rules[0]
            decision = PrivilegeDecision(privilege, False, first.name,
                                         first.check(times, instant, points))
        decisions.append(decision)
    return PatientPrivileges(pid, instant, len(times), points, tuple(decisions))
