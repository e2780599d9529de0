"""What taking in warnings did: an :class:`Intake` per warning, a report per list."""

from __future__ import annotations

import enum
from collections import Counter

import attrs

from rfm_retention.interventions._records import Case

__all__ = ["Intake", "IntakeAction", "IntakeReport"]


class IntakeAction(enum.StrEnum):
    """What taking in one warning did."""

    OPENED = "opened"
    ESCALATED = "escalated"
    UNCHANGED = "unchanged"
    SUPPRESSED = "suppressed"
    IGNORED = "ignored"


@attrs.frozen
class Intake:
    """The result of taking in one warning: what happened, and the case concerned (if any)."""

    action: IntakeAction
    case: Case | None


@attrs.frozen
class IntakeReport:
    """What a batch intake did: every result in list order, and counts per action."""

    results: tuple[Intake, ...]

    @property
    def counts(self) -> dict[IntakeAction, int]:
        """How many warnings led to each action (every action present, 0 when none)."""
        found = Counter(r.action for r in self.results)
        return {action: found.get(action, 0) for action in IntakeAction}

    @property
    def opened(self) -> tuple[Intake, ...]:
        """The intakes that opened a case."""
        return tuple(r for r in self.results if r.action is IntakeAction.OPENED)
