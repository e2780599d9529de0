"""Choosing the primary reason of a warning from the indicators behind it.

A warning names one primary reason so it can be routed to the right staff
(price -> an offer, service -> a dedicated follow-up, efficacy -> a second
treatment plan). Behaviour signals (a longer silence, fewer visits, a
monthly spend drop, no-shows) say *that* a patient is drifting; cause
signals (experience, efficacy, reputation, a per-visit price drop, a
complaint's category) say *why*. So the rule is:

1. Every **cause signal** of the patient is a candidate: a result whose
   reason for that patient is efficacy, service, price, competition or
   trust, and that fired, or is near its threshold (severity above 0: a
   latest rating below 80, an outcome score below 80, a low review), or
   marked the patient with its own per-patient cause (a per-visit spend
   drop naming ``price``, a complaint's category).
2. The most severe candidate names the reason; equal severities go to the
   more common cause, in :data:`REASON_ORDER` (the documents report efficacy
   45 % and service 37 % of churn, then price, competition, trust).
3. ``behaviour_only`` only when the patient has no cause signal at all.

A cause signal outranks behaviour whatever the behaviour signals' severity:
on the synthetic cohorts most leavers' strongest signal is a long silence,
and the old rule (only fired signals count once anything fired) named
``behaviour_only`` for leavers whose ratings, outcomes or reviews showed the
cause (measured figures in the warning guide). The rule reads the panel
only (not the policy), is vectorised over patients and depends on each
patient's own results, so it is deterministic and row-order invariant.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rfm_retention.risk._indicator import REASON_CODES, IndicatorResult
from rfm_retention.risk._panel import IndicatorPanel
from rfm_retention.vocabulary import ReasonCode

__all__ = ["REASON_ORDER", "cause_codes", "primary_reasons", "signals_behind"]

REASON_ORDER: tuple[ReasonCode, ...] = REASON_CODES
"""Reason codes by precedence (ties between equally severe cause signals).

Efficacy, service, price, competition, trust, behaviour_only: the causes in
the order of how often the documents report them (efficacy 45 %, service
37 %), ``behaviour_only`` last (it is never a cause).
"""

_BEHAVIOUR = REASON_ORDER.index(ReasonCode.BEHAVIOUR_ONLY)
_NONE = np.int64(-1)

def cause_codes(result: IndicatorResult) -> npt.NDArray[np.int64]:
    """Per patient, the cause (position in :data:`REASON_ORDER`) ``result`` signals, or -1.

    A patient has a cause signal from ``result`` when the result's reason for
    them (its per-patient reason, else its own) is not ``behaviour_only`` and
    it fired, has a severity above 0 (near the threshold), or set a
    per-patient cause for them.

    Example:
        >>> from rfm_retention.data import PatientData, RatingTable, VisitLog
        >>> from rfm_retention.risk._panel import evaluate
        >>> log = VisitLog.from_arrays(patient_id=[1, 2], amount=[10, 10],
        ...     visit_time=["2024-01-01", "2024-01-01"])
        >>> ratings = RatingTable.from_arrays(patient_id=[1, 2], score=[70, 95],
        ...     rated_at=["2024-01-01", "2024-01-01"])
        >>> panel = evaluate(PatientData(visits=log, ratings=ratings), "2024-02-01")
        >>> cause_codes(panel["low_satisfaction"]).tolist()  # 1 = service
        [1, -1]
    """
    n = result.severity.shape[0]
    base = REASON_ORDER.index(ReasonCode(result.reason))
    present = result.fired | (result.severity > 0)
    if result.reasons is None:
        if base == _BEHAVIOUR:
            return np.full(n, _NONE, np.int64)
        return np.where(present, base, _NONE).astype(np.int64)
    own = result.reasons >= 0
    code = np.where(own, result.reasons, base).astype(np.int64)
    cause = (present | (own & result.signal)) & (code != _BEHAVIOUR)
    return np.where(cause, code, _NONE).astype(np.int64)


def signals_behind(panel: IndicatorPanel, row: int) -> npt.NDArray[np.int64]:
    """Positions (in ``panel.results``) of the signals behind a warning for the patient at ``row``.

    Every fired indicator (when none fired, a level reached below every
    firing threshold: every indicator with a severity above 0), plus every
    cause signal (see :func:`cause_codes`), so the evidence for the primary
    reason is always shown. The (indicator, patient) matrices behind it are
    built once per panel, so explaining every warning of a list costs one
    pass over the panel, not one per warning.
    """
    fired, severe, cause = _signal_matrices(panel)
    behind = fired[:, row]
    if not behind.any():
        behind = severe[:, row]
    return np.flatnonzero(behind | cause[:, row]).astype(np.int64)


def _signal_matrices(
    panel: IndicatorPanel,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """(fired, severity above 0, cause signal) per indicator and patient, remembered per panel."""

    def build() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        n = len(panel)
        shape = (len(panel.results), n)
        fired, severe, cause = (np.zeros(shape, bool) for _ in range(3))
        for k, r in enumerate(panel.results):
            fired[k] = r.fired
            severe[k] = r.severity > 0
            cause[k] = cause_codes(r) >= 0
        return fired, severe, cause

    return panel.remember("signal_matrices", build)


def primary_reasons(panel: IndicatorPanel) -> npt.NDArray[np.int64]:
    """Primary reason (position in :data:`REASON_ORDER`) of every patient of ``panel``.

    The most severe cause signal's reason, equal severities in
    :data:`REASON_ORDER`; ``behaviour_only`` when there is no cause signal.
    It depends on the indicators only, not on the policy, so it is computed
    once per panel and shared by every warning list made from it.

    Example:
        >>> from rfm_retention.data import PatientData, RatingTable, VisitLog
        >>> from rfm_retention.risk._panel import evaluate
        >>> log = VisitLog.from_arrays(patient_id=[1, 1, 2, 2], amount=[10] * 4,
        ...     visit_time=["2023-01-01", "2023-02-01", "2023-01-01", "2023-02-01"])
        >>> ratings = RatingTable.from_arrays(patient_id=[1], score=[75],
        ...     rated_at=["2023-02-01"])
        >>> panel = evaluate(PatientData(visits=log, ratings=ratings), "2024-01-01")
        >>> print(*(REASON_ORDER[k].value for k in primary_reasons(panel)))
        service behaviour_only
    """
    return panel.remember("primary_reasons", lambda: _primary_reasons(panel))


def _primary_reasons(panel: IndicatorPanel) -> npt.NDArray[np.int64]:
    n = len(panel)
    best_key = np.full(n, -np.inf)
    best_code = np.full(n, _BEHAVIOUR, np.int64)
    # One pass per indicator, keeping the best so far: severity first, and among
    # equal severities the earlier reason code (indicator order never matters).
    for result in panel.results:
        code = cause_codes(result)
        cause = code >= 0
        if not cause.any():
            continue
        key = np.where(cause, result.severity * 100.0 - code * 1e-3, -np.inf)
        better = key > best_key
        best_key = np.where(better, key, best_key)
        best_code = np.where(better, code, best_code)
    best_code.flags.writeable = False
    return best_code
