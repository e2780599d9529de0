"""From the day's warning list to cases: one intake per warning, counted.

Reads any warning records with ``patient_id``, ``level``, ``reason``,
``score``, ``evidence`` and ``change`` - the risk scan's
:class:`~rfm_retention.risk.PatientWarning` or rows of its CSV output - so that
cases do not depend on how the warnings were produced.

A warning marked ``new`` (the patient was not warned in the previous scan)
starts a new episode; ``escalated`` / ``unchanged`` / ``de-escalated`` continue
the current one; with no change information at all, warnings are treated as
continuing (a closed case is not reopened by the same ongoing warning).
Patients who dropped off the list keep their open case: only staff close cases.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol

import attrs

from rfm_retention.errors import ConfigError
from rfm_retention.interventions._casebook import CaseBook, Intake, IntakeAction
from rfm_retention.time import to_datetime

__all__ = ["IntakeReport", "WarningLike", "intake_warnings"]


class WarningLike(Protocol):
    """What :func:`intake_warnings` reads from one warning."""

    @property
    def patient_id(self) -> Any: ...

    @property
    def level(self) -> Any: ...

    @property
    def reason(self) -> Any: ...

    @property
    def score(self) -> Any: ...

    @property
    def evidence(self) -> str: ...

    @property
    def change(self) -> Any: ...


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


def _change(value: Any) -> str:
    if value is None:
        return ""
    return str(getattr(value, "value", value)).strip().lower()


def intake_warnings(
    book: CaseBook,
    warnings: Iterable[WarningLike],
    *,
    warned_at: Any = None,
    actor: str = "risk-scan",
    summary_chars: int = 300,
) -> IntakeReport:
    """Open or update a case for every warning of a list.

    Example:
        >>> import datetime as dt
        >>> from types import SimpleNamespace as W
        >>> from rfm_retention.interventions import CaseBook, InMemoryCaseStore
        >>> book = CaseBook(InMemoryCaseStore())
        >>> day = [W(patient_id=7, level="high", reason="price", score=85.0,
        ...          evidence="last visit 120 days ago", change="new")]
        >>> report = intake_warnings(book, day, warned_at=dt.datetime(2024, 5, 6, 7))
        >>> report.counts[IntakeAction.OPENED], book.get("7#1").summary
        (1, 'last visit 120 days ago')

    Args:
        book: The case book to write to.
        warnings: The warnings (a :class:`~rfm_retention.risk.WarningList` works).
        warned_at: When the warnings were raised (deadlines count from it);
            ``None`` takes the list's own ``as_of`` when it has one.
        actor: Recorded as the author of openings and escalations.
        summary_chars: The evidence is cut to this many characters for the summary.
    """
    if warned_at is None:
        warned_at = getattr(warnings, "as_of", None)
        if warned_at is None:
            raise ConfigError("intake_warnings: give warned_at= (this list has no as_of)")
    at = to_datetime(warned_at, field="warned_at")
    results = []
    for warning in warnings:
        evidence = str(warning.evidence or "")
        if len(evidence) > summary_chars:
            evidence = evidence[: summary_chars - 1] + "…"
        score = warning.score
        results.append(
            book.intake(
                warning.patient_id,
                warning.level,
                warning.reason,
                at,
                score=None if score is None or score == "" else float(score),
                summary=evidence,
                new_episode=_change(warning.change) == "new",
                actor=actor,
            )
        )
    return IntakeReport(tuple(results))
