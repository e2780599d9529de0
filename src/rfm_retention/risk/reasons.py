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

__all__ = ["REASON_ORDER", "primary_reasons"]

REASON_ORDER: tuple[ReasonCode, ...] = REASON_CODES
"""Reason codes by precedence (ties between equally severe signals)."""

_BEHAVIOUR = REASON_ORDER.index(ReasonCode.BEHAVIOUR_ONLY)


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
    m = rows.shape[0]
    best_key = np.full(m, -np.inf)
    best_code = np.full(m, _BEHAVIOUR, np.int64)
    # One pass per indicator, keeping the best so far: severity first, and among
    # equal severities the earlier reason code.
    for i, result in enumerate(panel.results):
        code = np.full(m, REASON_ORDER.index(ReasonCode(result.reason)), np.int64)
        if result.reasons is not None:
            given = result.reasons[rows]
            code = np.where(given >= 0, given, code)
        explanatory = shown[i] & (code != _BEHAVIOUR)
        if not explanatory.any():
            continue
        key = np.where(explanatory, severity[i] * 100.0 - code * 1e-3, -np.inf)
        better = key > best_key
        best_key = np.where(better, key, best_key)
        best_code = np.where(better, code, best_code)
    return best_code
