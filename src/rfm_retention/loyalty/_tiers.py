"""Membership tiers as data: member, silver, gold, and the privileges each carries.

A :class:`TierScheme` lists tiers from lowest to highest. A tier is reached
by any one of its :class:`TierRule` (visit days, points earned or spend over
a rolling window, a year by default), and carries privileges (the
returning-patient package and the green channel are tier privileges in the
preset). :func:`membership` says which tier a patient holds at a moment, the
rule that put them there, what the next tier needs, and every privilege
decision, so staff can explain it.

**Enrolment** (the documents' low-risk action "membership enrolment") is a
recorded event: :func:`enrol` writes it to the points ledger as the member's
welcome earn under the key ``enrol:<branch>:<patient>`` (once per patient,
append-only, audited like every other event). A scheme that requires
enrolment gives no tier, and so no tier privilege, to a patient who has not
enrolled.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.loyalty._events import Event
from rfm_retention.loyalty._privileges import (
    GREEN_CHANNEL,
    RETURNING_PACKAGE,
    Privilege,
    PrivilegeDecision,
    PrivilegeRule,
    _earned_points,
    _patient_rows,
)
from rfm_retention.time import TimeLike, as_instant

if TYPE_CHECKING:
    from rfm_retention.loyalty._ledger import PointsLedger

__all__ = [
    "HEALTH_STEWARD",
    "SPEC_TIERS",
    "WELCOME_POINTS",
    "Membership",
    "Tier",
    "TierRule",
    "TierScheme",
    "enrol",
    "enrolment",
    "enrolment_key",
    "membership",
]

WELCOME_POINTS = 100
"""Points the enrolment event carries (one revisit's worth); the documents give no figure."""


@attrs.frozen
class TierRule:
    """One way to reach a tier over the last ``window_days``: every minimum set must hold.

    Example:
        >>> TierRule("6+ visits a year", min_visits=6).window_days
        365
    """

    name: str
    min_visits: int = 0
    min_points_earned: int = 0
    min_spend: float = 0.0
    window_days: int = 365

    def __attrs_post_init__(self) -> None:
        if self.min_visits < 0 or self.min_points_earned < 0 or not self.min_spend >= 0:
            raise ConfigError(f"tier rule {self.name!r}: minimums must be >= 0")
        if self.window_days <= 0:
            raise ConfigError(f"tier rule {self.name!r}: window_days must be positive")

    def check(self, visit_days: int, points: int, spend: float) -> str:
        """'' when the rule holds, else what is missing (figures are over the window)."""
        span = f" in the last {self.window_days} days"
        if visit_days < self.min_visits:
            return f"{visit_days} visit day(s){span}, needs {self.min_visits}"
        if points < self.min_points_earned:
            return f"{points} point(s) earned{span}, needs {self.min_points_earned}"
        if spend < self.min_spend:
            return f"{spend:,.2f} spent{span}, needs {self.min_spend:,.2f}"
        return ""


@attrs.frozen
class Tier:
    """A membership tier: how to reach it (any rule) and the privileges it carries."""

    code: str
    name: str
    rules: tuple[TierRule, ...]
    privileges: tuple[Privilege, ...] = ()

    def __attrs_post_init__(self) -> None:
        if not self.rules:
            raise ConfigError(f"tier {self.code!r} needs at least one rule")


@attrs.frozen
class TierScheme:
    """Tiers from lowest to highest; ``requires_enrolment`` gates every tier on enrolment."""

    tiers: tuple[Tier, ...]
    requires_enrolment: bool = True

    def __attrs_post_init__(self) -> None:
        if not self.tiers:
            raise ConfigError("a tier scheme needs at least one tier")
        codes = [t.code for t in self.tiers]
        if len(set(codes)) != len(codes):
            raise ConfigError(f"tier codes must be distinct, got {codes}")


HEALTH_STEWARD = Privilege(
    "health_steward",
    "Dedicated health steward",
    ("a dedicated health steward", "1:1 health management", "revisit reminders"),
    rules=(PrivilegeRule("gold member", min_visits=0),),
)
"""The core segment's exclusive service, as the top tier's privilege."""

SPEC_TIERS = TierScheme((
    Tier("member", "Member", (TierRule("enrolled"),)),
    Tier("silver", "Silver", (TierRule("returning patient: a visit in the last year",
                                       min_visits=1),),
         (RETURNING_PACKAGE, GREEN_CHANNEL)),
    Tier("gold", "Gold", (TierRule("6+ visit days in the last year", min_visits=6),
                          TierRule("2,000+ points earned in the last year",
                                   min_points_earned=2000),
                          TierRule("10,000+ spent in the last year", min_spend=10_000.0)),
         (RETURNING_PACKAGE, GREEN_CHANNEL, HEALTH_STEWARD)),
))
"""Preset: member on enrolment; silver for a returning patient (the SPEC's returning-patient
package and green channel); gold for the frequent or high-value (adds a health steward)."""


@attrs.frozen
class Membership:
    """A patient's tier at ``as_of``, the rule behind it, and their privileges.

    Attributes:
        as_of: the instant judged (``datetime64[s]``, as every result reports it).
        tier: the tier code held, or None (not enrolled / no rule met).
        rule: the rule that granted the tier ('' without a tier).
        next_tier: the next tier up and what it still needs ('' at the top).
        enrolled_at: when the patient enrolled (None if never): the enrolment event's
            time, a naive-UTC datetime as the ledger's records hold it.
        decisions: one :class:`PrivilegeDecision` per privilege of the scheme.
    """

    patient_id: str
    as_of: np.datetime64
    tier: str | None
    rule: str
    next_tier: str
    enrolled_at: dt.datetime | None
    decisions: tuple[PrivilegeDecision, ...]

    def granted(self, code: str) -> bool:
        """Whether the privilege with this code comes with the patient's tier."""
        return any(d.granted for d in self.decisions if d.privilege.code == code)


def enrolment_key(branch: str, patient_id: str | int) -> str:
    """The ledger key of a patient's enrolment event.

    Example:
        >>> enrolment_key("main", "p1")
        'enrol:main:p1'
    """
    return f"enrol:{branch}:{patient_id}"


def enrol(ledger: PointsLedger, patient_id: str | int, *, at: TimeLike, actor: str,
          welcome_points: int = WELCOME_POINTS) -> Event:
    """Record the patient's enrolment (once: a second call returns the same event).

    Example:
        >>> from rfm_retention.loyalty import MemoryStore, PointsLedger
        >>> ledger = PointsLedger(MemoryStore())
        >>> enrol(ledger, "p1", at="2024-03-01T10:30:00", actor="front desk").key
        'enrol:main:p1'
        >>> enrolment(ledger, "p1").isoformat()
        '2024-03-01T10:30:00'
    """
    return ledger.earn(patient_id, welcome_points, key=enrolment_key(ledger.branch, patient_id),
                       at=at, actor=actor, reason="membership enrolment")


def enrolment(ledger: PointsLedger, patient_id: str | int) -> dt.datetime | None:
    """When the patient enrolled (None if they never did, or the enrolment was reversed).

    Example:
        >>> from rfm_retention.loyalty import MemoryStore, PointsLedger
        >>> enrolment(PointsLedger(MemoryStore()), "p9") is None
        True
    """
    key = enrolment_key(ledger.branch, patient_id)
    with ledger.store.transaction() as tx:
        found = tx.get([key, f"reverse:{key}"])
    if key not in found or f"reverse:{key}" in found:
        return None
    return found[key].at


def _window(times: npt.NDArray[np.datetime64], amounts: npt.NDArray[np.float64],
            as_of: np.datetime64, days: int) -> tuple[int, float]:
    inside = (times <= as_of) & (times > as_of - np.timedelta64(days, "D"))
    visit_days = len(np.unique(times[inside].astype("datetime64[D]")))
    return visit_days, float(amounts[inside].sum())


def membership(
    patient_id: str | int,
    visits: VisitLog,
    *,
    as_of: TimeLike,
    ledger: PointsLedger | None = None,
    scheme: TierScheme = SPEC_TIERS,
) -> Membership:
    """The patient's tier and privileges at ``as_of`` (see the module docstring).

    Points and enrolment are read from ``ledger``; without one, points count
    as 0 and a scheme requiring enrolment gives no tier.

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> from rfm_retention.loyalty import MemoryStore, PointsLedger
        >>> ledger = PointsLedger(MemoryStore())
        >>> _ = enrol(ledger, "p1", at="2024-01-02", actor="desk")
        >>> log = VisitLog.from_arrays(patient_id=["p1"] * 2, amount=[90.0, 60.0],
        ...                            visit_time=["2024-01-02", "2024-03-01"])
        >>> m = membership("p1", log, as_of="2024-06-30", ledger=ledger)
        >>> m.as_of
        np.datetime64('2024-06-30T23:59:59')
        >>> m.tier, m.rule, m.granted("green_channel")
        ('silver', 'returning patient: a visit in the last year', True)
        >>> m.next_tier
        'gold: 2 visit day(s) in the last 365 days, needs 6'
        >>> membership("p2", log, as_of="2024-06-30", ledger=ledger).next_tier
        'member: not enrolled'
    """
    pid = str(patient_id)
    instant = as_instant(as_of)  # the one conversion
    moment: dt.datetime = instant.astype(dt.datetime)  # the same instant as a record holds it
    rows = _patient_rows(visits, pid)
    times, amounts = visits.time[rows], visits.amount[rows]
    events = ledger.history(pid) if ledger is not None else ()
    enrolled = enrolment(ledger, pid) if ledger is not None else None
    if enrolled is not None and enrolled > moment:
        enrolled = None
    gate = not scheme.requires_enrolment or enrolled is not None
    held, rule, next_tier = None, "", ""
    for tier in scheme.tiers:
        missing = []
        passed = ""
        for r in tier.rules:
            visit_days, spend = _window(times, amounts, instant, r.window_days)
            earned = _earned_points(events, moment - dt.timedelta(days=r.window_days), moment)
            why = r.check(visit_days, earned, spend)
            if not why:
                passed = r.name
                break
            missing.append(why)
        if gate and passed:
            held, rule = tier.code, passed
        else:
            next_tier = f"{tier.code}: " + ("not enrolled" if not gate else missing[0])
            break
    granted = {p.code for t in scheme.tiers if t.code == held for p in t.privileges}
    decisions = []
    seen: set[str] = set()
    for tier in scheme.tiers:
        for p in tier.privileges:
            if p.code in seen:
                continue
            seen.add(p.code)
            ok = p.code in granted
            owner = next(t for t in scheme.tiers if p in t.privileges)
            decisions.append(PrivilegeDecision(
                p, ok, f"{held} tier: {rule}" if ok else f"{owner.code} tier",
                "" if ok else f"comes with the {owner.code} tier",
            ))
    return Membership(pid, instant, held, rule, next_tier, enrolled, tuple(decisions))
