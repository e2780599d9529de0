"""The neutral vocabulary: risk levels, indicator dimensions, churn reasons and their precedence.

Shared by indicators, policies, the scan, interventions, loyalty and the
KPIs, so that each speaks of the same things by the same names. It imports
nothing of the library: any capability may import it without pulling in
another (interventions and metrics need the words, not the risk engine).

Example:
    >>> RiskLevel.parse("high") > RiskLevel.MEDIUM, REASON_PRECEDENCE[0].value
    (True, 'efficacy')
"""

from __future__ import annotations

import enum

__all__ = ["REASON_PRECEDENCE", "Dimension", "ReasonCode", "RiskLevel"]


class RiskLevel(enum.IntEnum):
    """How likely a patient is to drift away; ordered, so ``max()`` is "the worse"."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        """Lower-case name for files and messages (``"high"``)."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> RiskLevel:
        """``"high"``/``"HIGH"`` -> ``RiskLevel.HIGH``; ValueError for anything else."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            known = ", ".join(m.label for m in cls)
            raise ValueError(f"unknown risk level {text!r}; known: {known}") from None


class Dimension(enum.StrEnum):
    """What an indicator looks at (SPEC section 4), with the score policy's default weight."""

    BEHAVIOUR = "behaviour"
    EXPERIENCE = "experience"
    EFFICACY = "efficacy"
    REPUTATION = "reputation"


class ReasonCode(enum.StrEnum):
    """Why a patient is drifting away: the root causes the source documents report.

    Efficacy below expectation (45 % of churn), service attitude or experience
    (37 %), price, competition (convenience, specialty), loss of trust
    (communication, opacity, over-treatment), or behaviour alone (the patient
    just stopped coming, no stated cause).
    """

    EFFICACY = "efficacy"
    SERVICE = "service"
    PRICE = "price"
    COMPETITION = "competition"
    TRUST = "trust"
    BEHAVIOUR_ONLY = "behaviour_only"


REASON_PRECEDENCE: tuple[ReasonCode, ...] = (
    ReasonCode.EFFICACY,
    ReasonCode.SERVICE,
    ReasonCode.PRICE,
    ReasonCode.COMPETITION,
    ReasonCode.TRUST,
    ReasonCode.BEHAVIOUR_ONLY,
)
"""Reason codes by precedence, written out (never the enum's declaration order).

Ties between equally severe cause signals go to the earlier reason: the
causes in the order of how often the documents report them (efficacy 45 %,
service 37 %, then price, competition, trust), ``behaviour_only`` last (it
is never a cause). Positions in this tuple are the reason numbers indicator
results carry.
"""
