"""Every indicator's result for every patient, side by side: what policies read."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._memo import Memo
from rfm_retention._progress import Progress, report_progress
from rfm_retention._tabular import Tabular, row_position
from rfm_retention.data import PatientData
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.risk._indicator import Indicator, IndicatorBase, IndicatorResult, check_result
from rfm_retention.risk._registry import IndicatorSet
from rfm_retention.risk._snapshot import Snapshot
from rfm_retention.time import TimeLike, as_instant, day_of
from rfm_retention.vocabulary import Dimension

__all__ = ["IndicatorPanel", "SkippedIndicator", "evaluate", "last_visits"]

T = TypeVar("T")


@attrs.frozen
class SkippedIndicator:
    """An indicator that judged nobody because a source it needs is absent."""

    name: str
    missing_sources: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name} (no {', '.join(self.missing_sources)} data)"


@attrs.frozen(eq=False)
class IndicatorPanel(Tabular):
    """The results of a set of indicators for the same patients as of the same date.

    Attributes:
        as_of: the instant judged (``datetime64[s]``).
        patients: patient ids, the rows of every result.
        results: one result per indicator, in the set's order.
        skipped: indicators whose sources are absent (their results have no signal).
        last_visit: each patient's last visit on or before ``as_of``
            (``datetime64[s]``; NaT for a patient with no visit by then), or None
            when the panel was built without visits. The scan's early-warning
            window reads it (see :meth:`days_since_last_visit`).
    """

    as_of: np.datetime64
    patients: IdArray = attrs.field(repr=False)
    results: tuple[IndicatorResult, ...]
    skipped: tuple[SkippedIndicator, ...] = ()
    last_visit: npt.NDArray[np.datetime64] | None = attrs.field(default=None, repr=False)
    _memo: Memo = attrs.field(factory=Memo, init=False, repr=False)

    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        """A value derived from this (immutable) panel, computed the first time it is asked.

        Policies and warnings derive the same things from one panel (dimension
        scores, primary reasons, weighted scores): each is computed once.
        """
        return self._memo.get(key, compute)

    def __len__(self) -> int:
        return int(self.patients.shape[0])

    @property
    def names(self) -> tuple[str, ...]:
        """Indicator names, in order."""
        return tuple(r.name for r in self.results)

    def __getitem__(self, name: str) -> IndicatorResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no indicator named {name!r} in this panel; known: {self.names}")

    def matrix(self, field: str) -> npt.NDArray[np.float64]:
        """One field (value, severity, fired, signal) of every result: (indicators, patients)."""
        if field not in ("value", "severity", "fired", "signal"):
            raise ConfigError(f"matrix: unknown field {field!r}")
        if not self.results:
            return np.zeros((0, len(self)))
        return np.vstack([np.asarray(getattr(r, field), np.float64) for r in self.results])

    def dimension_rows(self, dimension: Dimension) -> list[int]:
        """Positions (in :attr:`results`) of the indicators of one dimension."""
        return [k for k, r in enumerate(self.results) if r.dimension == dimension]

    def row_of(self, patient_id: Any) -> int:
        """Row of one patient; KeyError when the patient is not in the data."""
        return row_position(self.patients, patient_id, f"patient {patient_id!r} is not in the data")

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """``patient_id``, ``last_visit`` (when known), then per indicator its value
        (``<name>``), ``<name>_severity`` and ``<name>_fired``."""
        out: dict[str, npt.NDArray[Any]] = {"patient_id": self.patients}
        if self.last_visit is not None:
            out["last_visit"] = self.last_visit
        for r in self.results:
            out[r.name] = r.value
            out[f"{r.name}_severity"] = r.severity
            out[f"{r.name}_fired"] = r.fired
        return out

    def days_since_last_visit(self) -> npt.NDArray[np.float64]:
        """Calendar days from each patient's last visit to the day of ``as_of``.

        NaN for a patient with no visit on or before ``as_of``, and for everyone
        when the panel carries no visit dates. A visit on the scan day is 0 days.
        """
        if self.last_visit is None:
            return np.full(len(self), np.nan)
        seen = ~np.isnat(self.last_visit)
        days = np.full(len(self), np.nan)
        today = self.as_of.astype("datetime64[D]").astype(np.int64)
        days[seen] = today - day_of(self.last_visit[seen])
        return days

    def subset(self, rows: npt.NDArray[np.int64]) -> IndicatorPanel:
        """The panel restricted to the patients at ``rows`` (e.g. one patient to explain)."""

        def cut(r: IndicatorResult) -> IndicatorResult:
            def describe(i: int) -> str:
                return r.describe(int(rows[i]))

            return attrs.evolve(
                r,
                patients=r.patients[rows],
                value=r.value[rows],
                severity=r.severity[rows],
                fired=r.fired[rows],
                signal=r.signal[rows],
                details={k: v[rows] for k, v in r.details.items()},
                reasons=None if r.reasons is None else r.reasons[rows],
                describe=describe,
            )

        return attrs.evolve(
            self,
            patients=self.patients[rows],
            results=tuple(cut(r) for r in self.results),
            last_visit=None if self.last_visit is None else self.last_visit[rows],
        )


def evaluate(
    data: PatientData,
    as_of: TimeLike,
    indicators: IndicatorSet | Iterable[Indicator] | None = None,
    *,
    progress: Progress | None = None,
) -> IndicatorPanel:
    """Run every indicator on ``data`` as of ``as_of`` and collect the results.

    The indicators share one :class:`~rfm_retention.risk.Snapshot` of ``data``
    at the instant (``data`` itself when it is one), so what several of them
    derive (visit features, row positions) is derived once.
    Indicators whose sources are absent are not run; they get a no-signal
    result and are listed in :attr:`IndicatorPanel.skipped`. Every result is
    checked (shape, ranges, no firing without signal) before it is kept.
    ``progress`` (a :data:`~rfm_retention.Progress`) hears of each indicator
    done (stage ``"indicators"``).

    Example:
        >>> from rfm_retention.data import PatientData, VisitLog
        >>> log = VisitLog.from_arrays(patient_id=[1, 1, 1], amount=[10, 10, 10],
        ...     visit_time=["2024-01-01", "2024-02-01", "2024-03-01"])
        >>> panel = evaluate(PatientData(visits=log), "2024-06-30")
        >>> round(float(panel["interval_extension"].value[0]), 2)
        3.03
        >>> str(panel.skipped[0])
        'no_shows (no appointments data)'
    """
    instant = as_instant(as_of)
    data = Snapshot.of(data, instant)
    chosen = IndicatorSet.of(indicators)
    results: list[IndicatorResult] = []
    skipped: list[SkippedIndicator] = []
    report_progress(progress, "indicators", 0, len(chosen))
    for ind in chosen:
        missing = tuple(sorted(set(ind.sources) - data.available))
        if missing:
            skipped.append(SkippedIndicator(ind.name, missing))
            result = IndicatorResult.no_signal(ind.name, ind.dimension, data.patients)
        else:
            result = ind.evaluate(data, instant)
            if result.name != ind.name or result.dimension != ind.dimension:
                raise ConfigError(
                    f"indicator {ind.name!r} returned a result named {result.name!r} "
                    f"({result.dimension}); name and dimension must match"
                )
            if not isinstance(ind, IndicatorBase):  # built-ins check their own results
                check_result(result, data.patients, tuple(ind.measures))
        results.append(result)
        report_progress(progress, "indicators", len(results), len(chosen))
    return IndicatorPanel(
        instant, data.patients, tuple(results), tuple(skipped), last_visits(data, instant)
    )


def last_visits(data: PatientData, instant: np.datetime64) -> npt.NDArray[np.datetime64]:
    """Each patient's last visit at or before ``instant`` (NaT when none), one pass over rows.

    Rows are sorted by (patient, time), so a patient's visits up to ``instant``
    are a prefix of its group and the last of them is the row before the
    first later one (or the group's last row).
    """
    visits = data.visits
    out = np.full(len(data.patients), np.datetime64("NaT"), "datetime64[s]")
    seen = visits.before(instant)
    if not seen.any():
        return out
    group = visits.patient_index
    last = seen.copy()
    last[:-1] &= ~(seen[1:] & (group[1:] == group[:-1]))
    rows = np.flatnonzero(last)
    out[data.rows_of("visits")[rows]] = visits.time[rows]
    return out
