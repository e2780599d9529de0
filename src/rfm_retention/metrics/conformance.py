"""The conformance kit for backtest scorers: the promises of :class:`Scorer`, as named checks.

Each check takes the scorer, the host's sample data and a scan date, cuts
the data to that date the way :func:`~rfm_retention.metrics.backtest` does,
and raises :class:`~rfm_retention.errors.ConformanceError` naming the first
patient that breaks the promise (never a bare ``assert``, so the kit checks
under ``python -O`` too). :data:`SCORER_CHECKS` lists them by name for
:func:`~rfm_retention.testing.run_checks`,
:func:`~rfm_retention.testing.parametrize_with_checks` and the pytest
plugin's ``scorer_check`` argument.

Example:
    >>> from rfm_retention.metrics import DaysSinceLastVisit
    >>> from rfm_retention.data import PatientData, VisitLog
    >>> from rfm_retention.testing import run_checks
    >>> log = VisitLog.from_arrays(patient_id=["a", "a", "b", "c"], amount=[5.0] * 4,
    ...     visit_time=["2024-01-01", "2024-03-01", "2024-02-01", "2024-07-01"])
    >>> run_checks(SCORER_CHECKS, DaysSinceLastVisit(), PatientData(visits=log), "2024-06-30")
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from rfm_retention._conformance import (
    equal_or_both_nan,
    expect,
    expect_no_error,
    expect_nobody,
    unknown_levels,
)
from rfm_retention._frozen import frozen_mapping
from rfm_retention.data._bundle import PatientData
from rfm_retention.metrics._backtest import Scorer, Scores
from rfm_retention.metrics._replay import data_until
from rfm_retention.time import TimeLike, as_date, day_end
from rfm_retention.vocabulary import RiskLevel

__all__ = [
    "SCORER_CHECKS",
    "check_finite_scores",
    "check_higher_is_riskier",
    "check_scorer_protocol",
    "check_scores_deterministic",
    "check_scores_each_patient_once",
]

def _score(scorer: Scorer, data: PatientData, day: dt.date, check: str) -> Scores:
    """What ``scorer`` says on ``data`` cut to ``day`` (as the backtest calls it), well formed.

    The check converted its ``at`` once (:func:`~rfm_retention.time.as_date`); the
    cut is that day's instant, so a check reads each time input once.
    """
    past = data_until(data, day_end(day))
    scores = expect_no_error(lambda: scorer.score(past, day), check, "score(data, at)")
    expect(isinstance(scores, Scores), check,
           f"score() must return Scores, got {type(scores).__name__}")
    n = np.shape(scores.patient_id)
    expect(np.shape(scores.score) == n and np.shape(scores.level) == n, check,
           f"one score and one level per scored patient are needed ({n[0]} patients), got "
           f"{np.shape(scores.score)} scores and {np.shape(scores.level)} levels")
    return scores


def check_scorer_protocol(scorer: Any, data: PatientData, at: TimeLike) -> None:
    """The scorer has the :class:`Scorer` members and a non-empty text name."""
    name = "check_scorer_protocol"
    expect(isinstance(scorer, Scorer), name, f"{scorer!r} needs name and score(data, at)")
    expect(isinstance(scorer.name, str) and scorer.name.strip() != "", name,
           f"name must be non-empty text, got {scorer.name!r}")


def check_scores_each_patient_once(scorer: Scorer, data: PatientData, at: TimeLike) -> None:
    """Every patient seen by ``at`` is scored, once; nobody outside the data is."""
    name = "check_scores_each_patient_once"
    day = as_date(at)
    scores = _score(scorer, data, day, name)
    ids = scores.patient_id
    unique, counts = np.unique(ids, return_counts=True)
    expect_nobody(counts > 1, unique, name, "is scored twice")
    seen = data_until(data, day_end(day)).visits.patient_ids
    missing = ~np.isin(seen, ids)
    expect_nobody(missing, seen, name, f"was seen by {day} and is not scored")
    stranger = ~np.isin(ids, data.patients)
    expect_nobody(stranger, ids, name, "is not in the data")


def check_finite_scores(scorer: Scorer, data: PatientData, at: TimeLike) -> None:
    """Finite scores, levels from the vocabulary, stated probabilities in [0, 1]."""
    name = "check_finite_scores"
    scores = _score(scorer, data, as_date(at), name)
    bad = ~np.isfinite(np.asarray(scores.score, np.float64))
    expect_nobody(bad, scores.patient_id, name, "has a score that is not finite")
    bad = unknown_levels(scores.level)
    expect_nobody(bad, scores.patient_id, name,
                  f"has a level outside {', '.join(lv.label for lv in RiskLevel)}")
    if scores.probability is not None:
        p = np.asarray(scores.probability, np.float64)
        expect(p.shape == scores.score.shape, name, "one probability per scored patient")
        bad = ~((p >= 0.0) & (p <= 1.0))
        expect_nobody(bad, scores.patient_id, name, "has a probability outside [0, 1]")


def check_scores_deterministic(scorer: Scorer, data: PatientData, at: TimeLike) -> None:
    """Scoring the same data twice gives the same patients, scores, levels and probabilities."""
    name = "check_scores_deterministic"
    day = as_date(at)
    _same_scores(_score(scorer, data, day, name), _score(scorer, data, day, name), name,
                 "the second time")


def check_higher_is_riskier(scorer: Scorer, data: PatientData, at: TimeLike) -> None:
    """Higher scores are riskier: a higher level or probability never has a lower score."""
    name = "check_higher_is_riskier"
    scores = _score(scorer, data, as_date(at), name)
    stated = {"level": np.asarray(scores.level, np.float64)}
    if scores.probability is not None:
        stated["probability"] = np.asarray(scores.probability, np.float64)
    for what, values in stated.items():
        order = np.lexsort((values, scores.score))
        drops = np.flatnonzero(np.diff(values[order]) < 0)
        if drops.size:
            low, high = order[drops[0] + 1], order[drops[0]]
            expect(False, name,
                   f"patient {scores.patient_id[high].item()!r} has the higher score but "
                   f"patient {scores.patient_id[low].item()!r} the higher {what}: higher "
                   "scores must be the riskier")


def _same_scores(a: Scores, b: Scores, check: str, when: str) -> None:
    expect(np.array_equal(a.patient_id, b.patient_id), check,
           f"other patients are scored {when}")
    differs = ~equal_or_both_nan(a.score, b.score) | (np.asarray(a.level) != np.asarray(b.level))
    if a.probability is not None and b.probability is not None:
        differs |= ~equal_or_both_nan(a.probability, b.probability)
    expect((a.probability is None) == (b.probability is None), check,
           f"a probability is stated only {when}" if a.probability is None
           else f"no probability is stated {when}")
    expect_nobody(differs, a.patient_id, check, f"is scored differently {when}")


SCORER_CHECKS: Mapping[str, Callable[[Scorer, PatientData, TimeLike], None]] = frozen_mapping({
    check.__name__: check
    for check in (
        check_scorer_protocol,
        check_scores_each_patient_once,
        check_finite_scores,
        check_scores_deterministic,
        check_higher_is_riskier,
    )
})
"""Every scorer check by name, each called as ``check(scorer, data, at)``."""
