"""The reward catalogue (SPEC preset), vouchers, and optional redemption caps."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping

import attrs

from rfm_retention._frozen import frozen_mapping
from rfm_retention.errors import ConfigError, LedgerError

__all__ = [
    "NO_CAPS",
    "SPEC_REWARDS",
    "RedemptionCaps",
    "Reward",
    "RewardCatalogue",
    "Voucher",
    "voucher_code",
]


@attrs.frozen
class Reward:
    """Something a patient can redeem points for.

    Example:
        >>> Reward("massage", "Free massage session", 500).points
        500
    """

    code: str
    name: str
    points: int

    def __attrs_post_init__(self) -> None:
        if not self.code or not self.code.strip():
            raise ConfigError("a reward needs a non-empty code")
        if isinstance(self.points, bool) or not isinstance(self.points, int) or self.points <= 0:
            raise ConfigError(f"reward {self.code!r}: points must be a positive integer")


def _rewards(value: Iterable[Reward]) -> tuple[Reward, ...]:
    rewards = tuple(value)
    codes = [r.code for r in rewards]
    if len(set(codes)) != len(codes):
        raise ConfigError(f"reward codes must be unique, got {codes}")
    return rewards


@attrs.frozen
class RewardCatalogue:
    """The rewards on offer; the host extends it with :meth:`with_reward`.

    Example:
        >>> catalogue = SPEC_REWARDS.with_reward(Reward("massage", "Massage", 500))
        >>> catalogue.get("massage").points
        500
    """

    rewards: tuple[Reward, ...] = attrs.field(converter=_rewards)

    def get(self, code: str) -> Reward:
        """The reward with this code; LedgerError naming the known codes otherwise."""
        for reward in self.rewards:
            if reward.code == code:
                return reward
        known = ", ".join(r.code for r in self.rewards)
        raise LedgerError(f"unknown reward {code!r}; the catalogue has: {known}")

    def with_reward(self, reward: Reward) -> RewardCatalogue:
        """A copy with ``reward`` added (or replacing the one with the same code)."""
        kept = [r for r in self.rewards if r.code != reward.code]
        return RewardCatalogue((*kept, reward))


SPEC_REWARDS = RewardCatalogue((
    Reward("health_assessment", "Free health assessment", 1000),
    Reward("half_price_exam", "Half-price physical examination", 2000),
))
"""SPEC preset: 1,000 points for a free health assessment, 2,000 for a half-price exam."""


def _counts(value: Mapping[str, int]) -> Mapping[str, int]:
    return frozen_mapping(value)


@attrs.frozen
class RedemptionCaps:
    """Limits on what one patient may redeem per calendar year (of the redemption time).

    Some jurisdictions cap the value of inducements offered to patients; both
    caps are off by default. Cancelled redemptions do not count.

    Attributes:
        max_points_per_year: most points one patient may redeem in a calendar year.
        max_per_reward_per_year: most redemptions of a reward (by code) per year.

    Example:
        >>> caps = RedemptionCaps(max_per_reward_per_year={"health_assessment": 1})
    """

    max_points_per_year: int | None = None
    max_per_reward_per_year: Mapping[str, int] = attrs.field(factory=dict, converter=_counts)

    def __attrs_post_init__(self) -> None:
        limits = [self.max_points_per_year, *self.max_per_reward_per_year.values()]
        if any(v is not None and (not isinstance(v, int) or v < 0) for v in limits):
            raise ConfigError("redemption caps must be non-negative integers")


NO_CAPS = RedemptionCaps()
"""No caps (the default)."""


def voucher_code(branch: str, key: str) -> str:
    """A short code derived from the redemption (so a retry gets the same code).

    Example:
        >>> len(voucher_code("main", "r1"))
        14
    """
    digest = hashlib.sha256(f"{branch}\x1f{key}".encode()).digest()
    text = base64.b32encode(digest).decode()[:12]
    return f"{text[:4]}-{text[4:8]}-{text[8:]}"


@attrs.frozen
class Voucher:
    """What a redemption hands the patient: present the code to get the reward.

    ``key`` is the redemption's idempotency key; pass the voucher (or the key)
    to ``PointsLedger.cancel_voucher`` to give the points back.
    """

    code: str
    key: str
    reward: str
    reward_name: str
    points: int
    issued_at: dt.datetime
    patient_id: str
    branch: str
