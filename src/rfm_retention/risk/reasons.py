"""Choosing the primary reason of a warning from the indicators behind it.

The documents report why patients leave (efficacy 45 %, service 37 %, then
price, competition, trust). A warning names one primary reason so it can be
routed to the right staff: the reason of its most severe *explanatory*
signal, i.e. any signal that points to a cause (an efficacy, service, price,
competition or trust reason). Behaviour signals alone (the patient just
stopped coming) give ``behaviour_only``. Ties go to the more common cause,
in :class:`~rfm_retention.risk.levels.ReasonCode` order.
"""

from __future__ import annotations

import weakref

import numpy as np
import numpy.typing as npt

from rfm_retention.risk.indicator import REASON_CODES
from rfm_retention.risk.levels import ReasonCode
from rfm_retention.risk.panel import IndicatorPanel

__all__ = ["REASON_ORDER", "primary_reasons", "signals_behind"]

REASON_ORDER: tuple[ReasonCode, ...] = REASON_CODES
"""Reason codes by precedence (ties between equally severe signals)."""

_BEHAVIOUR = REASON_ORDER.index(ReasonCode.BEHAVIOUR_ONLY)


_REASON_CACHE: weakref.WeakKeyDictionary[IndicatorPanel, npt.NDArray[np.int64]] = (
    weakref.WeakKeyDictionary()
)


def signals_behind(panel: IndicatorPanel, row: int) -> npt.NDArray[np.int64]:
    """Positions (in ``panel.results``) of the signals behind a warning for the patient at ``row``.

    Every fired indicator; when none fired (a level reached below every firing
    threshold), every indicator with a severity above 0.
    """
    fired = np.array([bool(r.fired[row]) for r in panel.results], bool)
    if fired.any():
        return np.flatnonzero(fired).astype(np.int64)
    positive = np.array([r.severity[row] > 0 for r in panel.results], bool)
    return np.flatnonzero(positive).astype(np.int64)


def primary_reasons(panel: IndicatorPanel) -> npt.NDArray[np.int64]:
    """Primary reason (position in :data:`REASON_ORDER`) of every patient of ``panel``.

    Taken over the signals behind a warning (see :func:`signals_behind`); it
    depends on the indicators only, not on the policy, so it is computed once
    per panel and shared by every warning list made from it.
    """
    cached = _REASON_CACHE.get(panel)
    if cached is not None:
        return cached
    n = len(panel)
    any_fired = np.zeros(n, bool)
    for r in panel.results:
        any_fired |= r.fired
    best_key = np.full(n, -np.inf)
    best_code = np.full(n, _BEHAVIOUR, np.int64)
    # One pass per indicator, keeping the best so far: severity first, and among
    # equal severities the earlier reason code.
    for result in panel.results:
        base = REASON_ORDER.index(ReasonCode(result.reason))
        if result.reasons is None:  # one reason for every patient: no per-patient codes
            if base == _BEHAVIOUR:
                continue  # never explanatory
            behind = np.where(any_fired, result.fired, result.severity > 0)
            if not behind.any():
                continue
            key = np.where(behind, result.severity * 100.0 - base * 1e-3, -np.inf)
            better = key > best_key
            best_key = np.where(better, key, best_key)
            best_code[better] = base
            continue
        code = np.where(result.reasons >= 0, result.reasons, base).astype(np.int64)
        behind = np.where(any_fired, result.fired, result.severity > 0)
        explanatory = behind & (code != _BEHAVIOUR)
        if not explanatory.any():
            continue
        key = np.where(explanatory, result.severity * 100.0 - code * 1e-3, -np.inf)
        better = key > best_key
        best_key = np.where(better, key, best_key)
        best_code = np.where(better, code, best_code)
    best_code.flags.writeable = False
    _REASON_CACHE[panel] = best_code
    return best_code
