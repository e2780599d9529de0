"""Backtest pictures: ROC, precision at every k, observed rate by score decile, lead times.

Each method is drawn beside the baseline (dashed, grey), the comparison the
backtest is about: a warning system is worth running only where its curve
clears the baseline's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rfm_retention.metrics import Backtest, ScoredOutcomes, auc
from rfm_retention.plot._axes import BASELINE_STYLE, axes

__all__ = ["calibration_curve", "lead_times", "precision_at_k", "roc_curves"]


def _style(scored: ScoredOutcomes, method: str) -> dict[str, Any]:
    return dict(BASELINE_STYLE) if method == scored.baseline else {}


def roc_curves(scored: ScoredOutcomes, *, ax: Any = None) -> Any:
    """ROC curve of every method and of the baseline, with the AUC in the legend.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> from rfm_retention.metrics import scored_outcomes
        >>> from rfm_retention.metrics import ScanScorer
        >>> from rfm_retention.testing import synthetic_cohort
        >>> s = scored_outcomes(synthetic_cohort(300, seed=3).data, "2023-06-30",
        ...                     scorer=ScanScorer())
        >>> ax = roc_curves(s, ax=Figure().subplots())
        >>> len(ax.get_lines())  # the scan, the baseline, chance
        3
    """
    ax = axes(ax, "plot.roc_curves")
    for method in scored.methods:
        fpr, tpr = scored.roc(method)
        area = auc(scored.scores[method], scored.positive)
        ax.plot(fpr, tpr, label=f"{method} (AUC {area:.2f})", **_style(scored, method))
    ax.plot([0, 1], [0, 1], color="#bdc3c7", linewidth=0.8, label="chance")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("false-positive rate (stayed, flagged)")
    ax.set_ylabel("true-positive rate (left, flagged)")
    ax.set_title(f"ROC at {scored.at}: {int(scored.positive.sum()):,} of "
                 f"{len(scored.positive):,} left")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def precision_at_k(scored: ScoredOutcomes, *, k: int | None = None, ax: Any = None) -> Any:
    """Precision among the top ``k`` patients for every ``k``; the base rate as a flat line.

    ``k`` (the team's weekly capacity) is marked when given; the x axis stops
    at the population size, so a ``k`` beyond it is never drawn as if scored.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> from rfm_retention.metrics import scored_outcomes
        >>> from rfm_retention.metrics import ScanScorer
        >>> from rfm_retention.testing import synthetic_cohort
        >>> s = scored_outcomes(synthetic_cohort(300, seed=3).data, "2023-06-30",
        ...                     scorer=ScanScorer())
        >>> ax = precision_at_k(s, k=50, ax=Figure().subplots())
        >>> bool(ax.get_xlim()[1] == len(s.patient_id))
        True
    """
    ax = axes(ax, "plot.precision_at_k")
    n = len(scored.patient_id)
    ks = np.arange(1, max(n, 1) + 1)
    for method in scored.methods:
        ax.plot(ks, scored.precision_at(method, ks) * 100.0, label=method,
                **_style(scored, method))
    ax.axhline(scored.base_rate * 100.0, color="#bdc3c7", linewidth=0.8, label="base rate")
    if k is not None and k <= n:
        ax.axvline(k, color="black", linestyle=":", label=f"k = {k}")
    ax.set_xlim(1, max(n, 2))
    ax.set_ylim(0, 100)
    ax.set_xlabel("patients called (top k)")
    ax.set_ylabel("of them, left (%)")
    ax.set_title(f"Precision at k, {scored.at}")
    ax.legend(fontsize=8)
    return ax


def calibration_curve(scored: ScoredOutcomes, *, bins: int = 10, ax: Any = None) -> Any:
    """Observed leaving rate in each score decile, every method beside the baseline.

    A method that states probabilities (``Scores.probability``, kept in
    ``scored.probabilities``; or scores all in ``[0, 1]``) also gets its mean
    predicted probability per decile (dotted): where the two lines meet, the
    probabilities can be taken at their word.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> from rfm_retention.metrics import scored_outcomes
        >>> from rfm_retention.metrics import ScanScorer
        >>> from rfm_retention.testing import synthetic_cohort
        >>> s = scored_outcomes(synthetic_cohort(300, seed=3).data, "2023-06-30",
        ...                     scorer=ScanScorer())
        >>> ax = calibration_curve(s, ax=Figure().subplots())
        >>> [len(line.get_xdata()) for line in ax.get_lines()]
        [10, 10]
    """
    ax = axes(ax, "plot.calibration_curve")
    for method in scored.methods:
        _, observed = scored.by_decile(method, bins)
        x = np.arange(1, len(observed) + 1)
        line = ax.plot(x, observed * 100.0, marker="o", markersize=3, label=f"{method}: observed",
                       **_style(scored, method))
        predicted = scored.predicted_by_decile(method, bins)
        if predicted is not None:
            ax.plot(x, predicted * 100.0, linestyle=":", color=line[0].get_color(),
                    label=f"{method}: predicted")
    ax.set_xlabel(f"score bin (1 = lowest risk, {bins} = highest)")
    ax.set_ylabel("left (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Observed leaving rate by score bin, {scored.at}")
    ax.legend(fontsize=8)
    return ax


def lead_times(result: Backtest, *, bins: int = 20, ax: Any = None) -> Any:
    """How many days ahead each method warned about the departures it caught (histograms).

    Examples:
        >>> from matplotlib.figure import Figure
        >>> from rfm_retention.metrics import backtest
        >>> from rfm_retention.metrics import ScanScorer
        >>> from rfm_retention.testing import synthetic_cohort
        >>> bt = backtest(synthetic_cohort(300, seed=3).data, ["2023-03-31", "2023-06-30"],
        ...               scorer=ScanScorer())
        >>> ax = lead_times(bt, ax=Figure().subplots())
        >>> ax.get_xlabel()
        'lead time (days before the patient counts as gone)'
    """
    ax = axes(ax, "plot.lead_times")
    every = [lead.days for lead in result.lead_times if len(lead.days)]
    top = int(max((d.max() for d in every), default=1))
    edges = np.linspace(0, max(top, 1), bins + 1)
    for lead in result.lead_times:
        style = dict(BASELINE_STYLE) if lead.method.startswith("baseline") else {}
        median = "" if not len(lead.days) else f", median {lead.median_days:.0f} d"
        ax.hist(lead.days, bins=edges, histtype="step", linewidth=1.5,
                label=f"{lead.method}: {lead.warned}/{lead.lapses} warned{median}", **style)
    ax.set_xlabel("lead time (days before the patient counts as gone)")
    ax.set_ylabel("departures")
    ax.set_title("Lead time of the warnings")
    ax.legend(fontsize=8)
    return ax
