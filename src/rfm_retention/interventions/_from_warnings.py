"""From the day's warning list to cases: one intake per warning, counted.

Reads typed warnings - a :class:`~rfm_retention.risk.WarningList` (through its
``to_records()``) or :class:`~rfm_retention.risk.WarningRecord`\\ s, such as
:func:`~rfm_retention.risk.read_warnings_csv` reads from the scan's CSV - so
that cases do not depend on how the warnings were produced.

A warning marked ``new`` (the patient was not warned in the previous scan)
starts a new episode; ``escalated`` / ``unchanged`` / ``de-escalated`` continue
the current one; with no change information at all, warnings are treated as
continuing (a closed case is not reopened by the same ongoing warning).
Patients who dropped off the list keep their open case: only staff close cases.
"""

from __future__ import annotations

from collections.abc import Iterable

from rfm_retention.interventions._casebook import CaseBook
from rfm_retention.interventions._intake import IntakeReport
from rfm_retention.risk._records import WarningRecord
from rfm_retention.risk._warnings import WarningList
from rfm_retention.time import TimeLike

__all__ = ["intake_warnings"]


def intake_warnings(
    book: CaseBook,
    warnings: WarningList | Iterable[WarningRecord],
    *,
    warned_at: TimeLike | None = None,
    actor: str = "risk-scan",
    summary_chars: int = 300,
) -> IntakeReport:
    """Open or update a case for every warning of a list (:meth:`CaseBook.intake` on it).

    Example:
        >>> import datetime as dt
        >>> from rfm_retention.interventions import CaseBook, InMemoryCaseStore, IntakeAction
        >>> from rfm_retention.risk import WarningRecord
        >>> from rfm_retention.vocabulary import ReasonCode, RiskLevel
        >>> book = CaseBook(InMemoryCaseStore())
        >>> day = [WarningRecord(7, RiskLevel.HIGH, ReasonCode.PRICE, 85.0,
        ...                      "last visit 120 days ago", "new")]
        >>> report = intake_warnings(book, day, warned_at=dt.datetime(2024, 5, 6, 7))
        >>> report.counts[IntakeAction.OPENED], book.get("7#1").summary
        (1, 'last visit 120 days ago')

    Args:
        book: The case book to write to.
        warnings: A :class:`~rfm_retention.risk.WarningList` or warning records.
        warned_at: When the warnings were raised (deadlines count from it);
            ``None`` takes the list's own ``as_of`` when it has one.
        actor: Recorded as the author of openings and escalations.
        summary_chars: The evidence is cut to this many characters for the summary.
    """
    return book.intake(warnings, warned_at, actor=actor, summary_chars=summary_chars)
