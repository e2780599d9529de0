"""Progress of long operations: one event record and one callback type.

A host that runs a long job (a 10M-row CSV load, a year of backtest dates, a
nightly points award) wants to show that it is moving, without the library
printing anything itself. Every long operation therefore takes an optional
``progress=`` callback, a :data:`Progress`, and calls it with a
:class:`ProgressEvent` at its natural boundaries: each CSV chunk, each
build step, each scan step, each backtest date, each award step, each KPI
month. Never per row: a callback costs a few calls per chunk or date, and
``progress=None`` (the default) costs nothing at all.

Each operation sends ``done=0`` when it starts and ``done == total`` when it
has finished, so a bar can open and close cleanly. Operations nest (reading a
CSV builds a table; a scan of a file reads it first): the events say which
``stage`` they belong to, and ``done`` / ``total`` count within that stage.

A callback may raise to stop the work: the exception propagates to the
caller unchanged (the points award then writes nothing, as for any other
error inside its transaction).

Example:
    >>> from rfm_retention import ProgressEvent
    >>> from rfm_retention.data import VisitLog
    >>> from rfm_retention.metrics import kpi_report
    >>> log = VisitLog.from_arrays(patient_id=["a", "a", "b"], amount=[1.0] * 3,
    ...     visit_time=["2024-01-05", "2024-02-05", "2024-02-10"])
    >>> seen: list[ProgressEvent] = []
    >>> _ = kpi_report(log, "2024-01-01", "2024-02-29", as_of="2024-06-30",
    ...                progress=seen.append)
    >>> [(e.stage, e.done, e.total) for e in seen][-1]
    ('kpi report', 6, 6)
    >>> seen[-1].fraction
    1.0
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from rfm_retention.errors import ConfigError

__all__ = ["Progress", "ProgressEvent", "report_progress"]


@attrs.frozen
class ProgressEvent:
    """How far one stage of a long operation has got.

    Attributes:
        stage: what is running, in a few words: ``"read csv"``,
            ``"build visits"`` (``"build ratings"``, ...), ``"scan"``,
            ``"backtest"``, ``"award"``, ``"kpi report"``.
        done: units finished so far, from 0 up to ``total``.
        total: units in the whole stage, or None when it is not known ahead.
        unit: what ``done`` and ``total`` count: ``"bytes"`` (CSV files),
            ``"dates"`` (backtest) or ``"steps"`` (the others).

    Example:
        >>> ProgressEvent("read csv", 1 << 20, 4 << 20, "bytes").fraction
        0.25
    """

    stage: str
    done: int
    total: int | None
    unit: str = "steps"

    @property
    def fraction(self) -> float | None:
        """``done / total`` between 0 and 1; None when the total is unknown (or 0)."""
        if not self.total:
            return None
        return min(max(self.done / self.total, 0.0), 1.0)

    @property
    def finished(self) -> bool:
        """Whether the stage has reached its total."""
        return self.total is not None and self.done >= self.total


Progress = Callable[[ProgressEvent], None]
"""A progress callback: called with each :class:`ProgressEvent`; its return value is ignored."""


def report_progress(
    progress: Progress | None, stage: str, done: int, total: int | None, unit: str = "steps"
) -> None:
    """Send one event to ``progress``; nothing at all when it is None.

    Example:
        >>> report_progress(print, "scan", 1, 4)
        ProgressEvent(stage='scan', done=1, total=4, unit='steps')
        >>> report_progress(None, "scan", 1, 4)
    """
    if progress is None:
        return
    if not callable(progress):
        raise ConfigError(
            f"progress must be a callable taking a ProgressEvent (or None), got {progress!r}"
        )
    progress(ProgressEvent(stage, int(done), None if total is None else int(total), unit))
