"""Pictures of the analyses, drawn with matplotlib (the optional ``plot`` extra).

Every function takes an optional ``ax`` (draw into your own axes, e.g. a
subplot grid) and returns the axes it drew on; without one it opens a new
pyplot figure, so a notebook shows it inline. matplotlib is imported only
when a function is called; without it the call raises
:class:`~rfm_retention.errors.MissingDependencyError` with the install hint
(``pip install 'rfm-retention[plot]'``).

* Segments: :func:`segment_sizes`, :func:`rfm_grid`, :func:`migration_matrix`.
* Risk: :func:`risk_funnel` (scanned -> warned -> levels -> cases -> contacted
  -> won back), :func:`patient_timeline`.
* Programme: :func:`kpi_lines`, :func:`revisit_curves`.
* Backtest (from :func:`~rfm_retention.metrics.scored_outcomes` and
  :func:`~rfm_retention.metrics._backtest`): :func:`roc_curves`,
  :func:`precision_at_k`, :func:`calibration_curve`, :func:`lead_times`;
  the baseline is drawn beside every method.
* The monthly review as one self-contained web page: :func:`report_page`
  (what ``rfm-retention report --html`` writes).
"""

from rfm_retention.plot._axes import BASELINE_STYLE, LEVEL_COLOURS
from rfm_retention.plot._backtest import calibration_curve, lead_times, precision_at_k, roc_curves
from rfm_retention.plot._kpis import kpi_lines, revisit_curves
from rfm_retention.plot._page import SECTIONS, report_page
from rfm_retention.plot._risk import funnel_stages, patient_timeline, risk_funnel
from rfm_retention.plot._segments import migration_matrix, rfm_grid, segment_sizes

__all__ = [
    "BASELINE_STYLE",
    "LEVEL_COLOURS",
    "SECTIONS",
    "calibration_curve",
    "funnel_stages",
    "kpi_lines",
    "lead_times",
    "migration_matrix",
    "patient_timeline",
    "precision_at_k",
    "report_page",
    "revisit_curves",
    "rfm_grid",
    "risk_funnel",
    "roc_curves",
    "segment_sizes",
]
