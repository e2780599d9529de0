"""The one place matplotlib is imported: lazily, with the install hint when it is missing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rfm_retention._frozen import frozen_mapping
from rfm_retention.errors import MissingDependencyError

__all__ = ["BASELINE_STYLE", "LEVEL_COLOURS", "axes", "figure"]

LEVEL_COLOURS = frozen_mapping({"high": "#c0392b", "medium": "#e67e22", "low": "#f1c40f"})
"""One colour per risk level, the same in every chart and in the report page."""
BASELINE_STYLE: Mapping[str, Any] = frozen_mapping({"linestyle": "--", "color": "#7f8c8d"})
"""How a baseline is drawn beside the method it is compared with."""


def _matplotlib(purpose: str) -> Any:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("matplotlib", "plot", purpose) from exc
    return matplotlib


def axes(ax: Any, purpose: str) -> Any:
    """``ax`` itself, or new axes on a new pyplot figure when ``ax`` is None.

    Examples:
        ``ax = axes(None, "plot.segment_sizes")`` opens a figure (pyplot's
        current backend, so notebooks show it inline).
    """
    _matplotlib(purpose)
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=(7, 4), layout="constrained")
    return new


def figure(purpose: str, size: tuple[float, float] = (7, 4)) -> Any:
    """A matplotlib ``Figure`` outside pyplot (no global state): for files and web pages.

    Examples:
        ``fig = figure("report"); ax = fig.subplots()``, then ``fig.savefig(buf, format="svg")``.
    """
    _matplotlib(purpose)
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")
