"""The daily scan: every indicator, one policy, the day's warning list."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import attrs
import numpy as np

from rfm_retention._progress import Progress, ProgressEvent, report_progress
from rfm_retention.data import PatientData, VisitLog, as_patient_data
from rfm_retention.errors import ConfigError
from rfm_retention.risk._indicator import Indicator
from rfm_retention.risk._odds import ChurnEstimator, ChurnOdds, LifetimeOdds
from rfm_retention.risk._panel import IndicatorPanel, evaluate
from rfm_retention.risk._policy import RiskPolicy, WorstOf
from rfm_retention.risk._reasons import primary_reasons
from rfm_retention.risk._registry import IndicatorSet
from rfm_retention.risk._rules import RulePolicy
from rfm_retention.risk._score import ScorePolicy
from rfm_retention.risk._warnings import PreviousLevels, WarningList, reason_values
from rfm_retention.time import TimeLike, as_instant
from rfm_retention.vocabulary import RiskLevel

__all__ = ["DEFAULT_LAPSED_AFTER_DAYS", "default_policy", "scan", "warnings_from_panel"]

DEFAULT_LAPSED_AFTER_DAYS = 365
"""The early-warning window: a patient last seen more than a year ago has left.

Such patients are win-back work (the segmentation's lost and dormant
segments), not early warning; grading them floods the high-risk list with
patients whose huge interval extensions say only that they are gone.
"""


def default_policy(indicators: IndicatorSet | None = None) -> RiskPolicy:
    """The worse of the documents' rule table and their weighted score."""
    return WorstOf((RulePolicy.spec(indicators), ScorePolicy()))


def scan(
    data: PatientData | VisitLog | Any,
    as_of: TimeLike,
    indicators: IndicatorSet | Iterable[Indicator] | None = None,
    policy: RiskPolicy | None = None,
    *,
    previous: WarningList | PreviousLevels | None = None,
    lapsed_after_days: int | None = DEFAULT_LAPSED_AFTER_DAYS,
    model: ChurnEstimator | Literal["auto"] | None = "auto",
    progress: Progress | None = None,
) -> WarningList:
    """Judge every patient as of ``as_of`` and list those at level low or above.

    Only patients within the early-warning window are listed: a patient whose
    last visit is more than ``lapsed_after_days`` calendar days before the day
    of ``as_of`` has already left, is kept off the list and is reported in
    ``WarningList.lapsed`` (beyond early warning: hand to win-back). A patient
    with no visit by ``as_of`` (known only from other sources) is inside the
    window: there is no silence to measure, and their signals are current.

    Args:
        data: visits plus whichever sources the host has (a bare
            :class:`~rfm_retention.data.VisitLog`, or a table of visits on a
            dataframe engine, pulled once by
            :func:`~rfm_retention.data.as_patient_data`, is the bundle of
            visits alone); an absent source
            means "no signal" for the indicators that need it, and those
            indicators are listed in ``WarningList.skipped``.
        as_of: the day (or instant) of the scan; rows after it are ignored.
        indicators: the indicators to run (default: every built-in, with the
            documents' thresholds).
        policy: how levels are graded (default: :func:`default_policy`, the
            worse of the rule table and the weighted score).
        previous: yesterday's list (or ``{patient_id: level}``) to mark each
            warning new / escalated / unchanged / de-escalated and list the
            resolved ones.
        lapsed_after_days: the early-warning window in days (default 365);
            exactly that many days since the last visit is still inside.
            None grades every patient, however long ago they were seen.
        model: where P(churn) comes from: a trained risk model
            (:class:`~rfm_retention.model.RiskModel`, its calibrated odds),
            :class:`~rfm_retention.risk.LifetimeOdds`, or ``"auto"`` (the
            default): the patient-lifetime model fitted to the visits up to
            ``as_of``, when they identify one (some patients with repeat
            visits and a fit that converges), otherwise no odds. ``None``
            means no odds. The odds order patients within a level and go with
            each warning (P(churn), expected 12-month spend, value at risk).
        progress: a :data:`~rfm_retention.Progress` callback, told of each
            step (stage ``"scan"``): every indicator, the odds, the grading.

    Returns:
        The warning list, sorted by level (high first), then P(churn), then
        value at risk (both highest first, when there are odds), then score,
        then days since the last visit (longest first); patient id decides
        only between patients equal on all of these.

    Example:
        >>> from rfm_retention.data import PatientData, VisitLog
        >>> log = VisitLog.from_arrays(
        ...     patient_id=["a", "a", "a", "b", "b"],
        ...     visit_time=["2024-01-01", "2024-02-01", "2024-03-01", "2024-05-01", "2024-06-01"],
        ...     amount=[50, 50, 50, 80, 80])
        >>> warnings = scan(PatientData(visits=log), "2024-06-15")
        >>> len(warnings), warnings[0].patient_id, warnings[0].level.label
        (1, 'a', 'high')
        >>> warnings[0].indicators[0].evidence
        'last visit 106 days ago; usual interval 30 days (+253%)'
    """
    instant = as_instant(as_of)  # the one conversion; everything inward gets the instant
    data = as_patient_data(data, what="scan")
    chosen = IndicatorSet.of(indicators)
    grader = policy if policy is not None else default_policy(chosen)
    grader.validate(chosen)
    total = len(chosen) + 2  # each indicator, the odds, the grading

    def indicator_done(event: ProgressEvent) -> None:
        report_progress(progress, "scan", event.done, total)

    panel = evaluate(data, instant, chosen, progress=None if progress is None else indicator_done)
    estimator = LifetimeOdds() if isinstance(model, str) and model == "auto" else model
    if estimator is not None and not isinstance(estimator, ChurnEstimator):
        raise ConfigError(
            f"model must be a churn estimator (a trained RiskModel, LifetimeOdds()), "
            f"'auto' or None, got {model!r}"
        )
    odds = estimator.churn_odds(data, instant, panel) if estimator is not None else None
    report_progress(progress, "scan", total - 1, total)
    result = warnings_from_panel(panel, grader, lapsed_after_days=lapsed_after_days, odds=odds)
    report_progress(progress, "scan", total, total)
    notes = _past_the_data(data, result.as_of, lapsed_after_days)
    if notes:
        result = attrs.evolve(result, notes=notes)
    return result if previous is None else result.compared_with(previous)


def _past_the_data(
    data: PatientData, as_of: np.datetime64, lapsed_after_days: int | None
) -> tuple[str, ...]:
    """A note when the scan date is past the data's last visit by more than the window.

    Then every patient has lapsed and the list is empty because of the date,
    not because nobody is at risk: a quiet 0 would mislead.
    """
    times = data.visits.time
    if lapsed_after_days is None or not len(times):
        return ()
    last = times.max().astype("datetime64[D]")
    day = as_of.astype("datetime64[D]")
    gap = int((day - last).astype(np.int64))
    if gap <= lapsed_after_days:
        return ()
    return (
        f"the scan date {day} is {gap} days after the data's last visit ({last}), beyond "
        f"the {lapsed_after_days}-day early-warning window: every patient has lapsed; scan a "
        "date within the data",
    )


def warnings_from_panel(
    panel: IndicatorPanel,
    policy: RiskPolicy,
    *,
    lapsed_after_days: int | None = DEFAULT_LAPSED_AFTER_DAYS,
    odds: ChurnOdds | None = None,
) -> WarningList:
    """The warning list of an already evaluated panel (scan without re-running indicators).

    Useful to grade the same indicator results with several policies. The
    early-warning window is applied as in :func:`scan`, from the panel's
    last visits (a panel without them puts everyone inside the window).
    """
    window = _checked_window(lapsed_after_days)
    verdict = policy.assess(panel)
    n = len(panel)
    if verdict.level.shape != (n,) or verdict.score.shape != (n,):
        raise ConfigError(f"policy {policy.name!r} must return one level and score per patient")
    level = verdict.level.astype(np.int8)
    score = np.asarray(verdict.score, np.float64)
    if np.any((level < RiskLevel.NONE) | (level > RiskLevel.HIGH)):
        raise ConfigError(f"policy {policy.name!r} returned levels outside none..high")
    beyond = np.zeros(n, bool)
    if window is not None:
        beyond = panel.days_since_last_visit() > window  # NaN (no visit) is inside
    warned = np.flatnonzero((level > RiskLevel.NONE) & ~beyond)
    if odds is not None and odds.probability.shape != (n,):
        raise ConfigError(f"churn odds from {odds.source} must give one value per patient ({n})")
    # Level first, then P(churn), then value at risk, then score (0-100), then the
    # silence, then patient id: rows are in id order and lexsort is stable (its last
    # key sorts first). Value at risk and silence are the finer keys that keep
    # patients with equal odds (same visit pattern) from falling back to id order.
    silence = np.nan_to_num(panel.days_since_last_visit()[warned], nan=-1.0)
    if odds is None:
        prob = value = np.zeros(len(warned))
    else:
        prob = np.nan_to_num(odds.probability[warned])
        value = np.nan_to_num(odds.value_at_risk[warned])
    order = np.lexsort(
        (-silence, -np.clip(score[warned], 0.0, 100.0), -value, -prob, -level[warned])
    )
    rows = warned[order].astype(np.int64)
    reasons = reason_values(primary_reasons(panel)[rows])
    return WarningList(
        as_of=panel.as_of,
        policy=policy.name,
        patient_id=panel.patients[rows],
        level=level[rows],
        score=score[rows],
        reason=reasons,
        change=np.zeros(rows.shape[0], dtype="U12"),  # all "" (zero bytes), no fill pass
        rows=rows,
        panel=panel,
        assessment=verdict,
        skipped=panel.skipped,
        rules=policy,
        lapsed=panel.patients[beyond],
        lapsed_after_days=window,
        odds=odds,
    )


def _checked_window(days: int | None) -> int | None:
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 1:
        raise ConfigError(
            f"lapsed_after_days must be a whole number of days >= 1 (None warns about "
            f"everyone), got {days!r}"
        )
    return int(days)
