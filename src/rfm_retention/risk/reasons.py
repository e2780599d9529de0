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

import numpy as np
import numpy.typing as npt

from rfm_retention.risk.indicator import REASON_CODES
from rfm_retention.risk.levels import ReasonCode
from rfm_retention.risk.panel import IndicatorPanel

__all__ = ["REASON_ORDER", "primary_reasons", "reason_matrix"]

REASON_ORDER: tuple[ReasonCode, ...] = REASON_CODES
"""Reason codes by precedence (ties between equally severe signals)."""

_BEHAVIOUR = REASON_ORDER.index(ReasonCode.BEHAVIOUR_ONLY)


def reason_matrix(panel: IndicatorPanel, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Reason code index (in :data:`REASON_ORDER`) per indicator and selected patient."""
    out = np.empty((len(panel.results), rows.shape[0]), np.int64)
    for i, result in enumerate(panel.results):
        out[i] = REASON_ORDER.index(ReasonCode(result.reason))
        if result.reasons is not None:
            given = result.reasons[rows]
            out[i] = np.where(given >= 0, given, out[i])
    return out


def primary_reasons(
    panel: IndicatorPanel,
    rows: npt.NDArray[np.int64],
    shown: npt.NDArray[np.bool_],
    severity: npt.NDArray[np.float64],
) -> npt.NDArray[np.int64]:
    """Primary reason index of each selected patient, from the indicators ``shown`` for it.

    ``shown`` and ``severity`` have shape (indicators, len(rows)): the signals
    behind each warning and their severities.
    """
    if not panel.results or rows.shape[0] == 0:
        return np.full(rows.shape[0], _BEHAVIOUR, np.int64)
    codes = reason_matrix(panel, rows)
    explanatory = shown & (codes != _BEHAVIOUR)
    # Severity first; among equal severities the earlier reason code wins.
    key = np.where(explanatory, severity * 100.0 - codes * 1e-3, -np.inf)
    best = np.argmax(key, axis=0)
    picked = codes[best, np.arange(rows.shape[0])]
    out: npt.NDArray[np.int64] = np.where(explanatory.any(axis=0), picked, _BEHAVIOUR)
    return out
