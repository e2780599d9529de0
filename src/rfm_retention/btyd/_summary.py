"""The BTYD summary: frequency, recency, T and monetary value per patient.

"Buy 'til you die" models (BG/NBD, Pareto/NBD, Gamma-Gamma, as fitted by the
``lifetimes`` and ``pymc-marketing`` packages) read a per-customer summary whose
columns have precise meanings that differ from the RFM columns of
:mod:`rfm_retention.features`:

- ``frequency``: the number of *repeat* periods: distinct periods (days, weeks
  or calendar months) with at least one visit, minus one (the first).
- ``recency``: periods from the first visit's period to the last visit's
  period. **Not** the time since the last visit: a patient seen twice, a year
  apart, long ago, has a *high* BTYD recency.
- ``T``: periods from the first visit's period to the period of
  ``observation_period_end``: the patient's age.
- ``monetary_value``: the mean spend of the repeat periods (the first period's
  spend is left out; several visits in one period are summed first); 0 with no
  repeat period.

These are the definitions of ``lifetimes.utils.summary_data_from_transaction_data``
and ``pymc_marketing.clv.utils.rfm_summary``, so :meth:`BTYDSummary.to_pandas`
can be handed to those models directly. Two deliberate differences:

- Monthly periods are calendar months, so ``recency`` and ``T`` are whole
  numbers of months (``lifetimes`` divides day spans by an average month of
  30.44 days, so 31 January to 1 February counts as 0.03 months there and as
  1 month here).
- Visits after ``observation_period_end`` are never counted. ``lifetimes``
  cuts at the *period* of the end, so it also counts visits later in the same
  week or month. The two agree whenever ``observation_period_end`` is the last
  day of a period (or no visit falls after it inside its period).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._frozen import frozen_mapping
from rfm_retention._optional import import_pandas
from rfm_retention._tabular import Tabular
from rfm_retention.errors import ConfigError
from rfm_retention.time import TimeLike, as_instant

if TYPE_CHECKING:
    from rfm_retention.data._sources import VisitLog
    from rfm_retention.data._table import IdArray

__all__ = ["BTYD_COLUMNS", "PERIODS", "BTYDSummary", "Period", "btyd_summary", "period_numbers"]

Period = Literal["D", "W", "M"]
PERIODS: tuple[Period, ...] = ("D", "W", "M")
"""Period units: days, weeks (Monday to Sunday, as pandas' ``W``) and calendar months."""

BTYD_COLUMNS: Mapping[str, str] = frozen_mapping({
    "patient_id": "The host's patient id.",
    "frequency": "Repeat periods: distinct periods with a visit, minus one.",
    "recency": "Periods from the first visit's period to the last visit's period.",
    "T": "Periods from the first visit's period to observation_period_end's period.",
    "monetary_value": "Mean spend per repeat period (first period excluded); 0 without one.",
})
"""Every column of the summary with its definition (the CSV header of ``btyd``)."""

# 1970-01-01 was a Thursday; 1970-01-05 (day 4) the first Monday.
_FIRST_MONDAY = 4


def period_numbers(
    times: npt.NDArray[np.datetime64], period: Period
) -> npt.NDArray[np.int64]:
    """A running number per period, so that the difference of two is a count of periods.

    ``D``: days since 1970-01-01; ``W``: Monday-to-Sunday weeks; ``M``: calendar
    months (``year * 12 + month``, shifted).

    Example:
        >>> import numpy as np
        >>> t = np.array(["2024-01-31", "2024-02-01"], "datetime64[s]")
        >>> np.diff(period_numbers(t, "M")).tolist(), np.diff(period_numbers(t, "D")).tolist()
        ([1], [1])
    """
    if period == "D":
        return times.astype("datetime64[D]").astype(np.int64)
    if period == "W":
        days = times.astype("datetime64[D]").astype(np.int64)
        return (days - _FIRST_MONDAY) // 7
    if period == "M":
        return times.astype("datetime64[M]").astype(np.int64)
    raise ConfigError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")


@attrs.frozen(eq=False)
class BTYDSummary(Tabular):
    """One row per patient with a visit on or before ``observation_period_end``.

    Columns are described in :data:`BTYD_COLUMNS`; rows are in patient-id
    order. ``frequency``, ``recency`` and ``T`` are whole numbers of ``period``.
    ``as_of`` is the instant of ``observation_period_end`` (``datetime64[s]``,
    as on every result).
    """

    as_of: np.datetime64
    period: Period
    patient_id: IdArray
    frequency: npt.NDArray[np.int64]
    recency: npt.NDArray[np.int64]
    T: npt.NDArray[np.int64]
    monetary_value: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.patient_id.shape[0])

    @property
    def observation_period_end(self) -> dt.datetime:
        """:attr:`as_of` as a naive-UTC datetime, the name BTYD packages use."""
        end: dt.datetime = self.as_of.astype(dt.datetime)
        return end

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """Column name -> array, in :data:`BTYD_COLUMNS` order."""
        return {name: getattr(self, name) for name in BTYD_COLUMNS}

    def to_pandas(self) -> Any:
        """A DataFrame indexed by patient id with float columns, as ``lifetimes`` returns it.

        Needs the optional pandas package.
        """
        pd = import_pandas("BTYDSummary.to_pandas")
        columns = {
            name: values.astype(np.float64)
            for name, values in self.to_columns().items()
            if name != "patient_id"
        }
        return pd.DataFrame(columns, index=pd.Index(self.patient_id, name="patient_id"))


def btyd_summary(
    log: VisitLog,
    observation_period_end: TimeLike,
    *,
    period: Period = "D",
    include_first_visit: bool = False,
) -> BTYDSummary:
    """Summarise a visit log the way BTYD models expect (see the module docstring).

    ``observation_period_end`` as a date includes every visit on that day.
    ``include_first_visit=True`` is ``lifetimes``' ``include_first_transaction``:
    ``frequency`` then counts every period with a visit and ``monetary_value``
    averages every period, the first included.

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(
        ...     patient_id=["a", "a", "a", "b"],
        ...     visit_time=["2024-01-01", "2024-01-01", "2024-01-11", "2024-01-05"],
        ...     amount=[10.0, 5.0, 30.0, 8.0],
        ... )
        >>> s = btyd_summary(log, "2024-01-31")
        >>> s.frequency.tolist(), s.recency.tolist(), s.T.tolist(), s.monetary_value.tolist()
        ([1, 0], [10, 0], [30, 26], [30.0, 0.0])
    """
    if period not in PERIODS:
        raise ConfigError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    cutoff = as_instant(observation_period_end)
    keep = log.time <= cutoff
    everything = bool(keep.all())
    idx = log.patient_index if everything else log.patient_index[keep]
    times = log.time if everything else log.time[keep]
    amount = log.amount if everything else log.amount[keep]
    p = period_numbers(times, period)
    n = idx.shape[0]

    # Runs of rows sharing (patient, period): rows are sorted by (patient, time).
    new_run = np.ones(n, bool)
    if n:
        new_run[1:] = (idx[1:] != idx[:-1]) | (p[1:] != p[:-1])
    run_starts = np.flatnonzero(new_run)
    run_patient = idx[run_starts]
    run_spend = np.add.reduceat(amount, run_starts) if n else np.zeros(0)
    first_run = np.ones(run_starts.shape[0], bool)
    first_run[1:] = run_patient[1:] != run_patient[:-1]

    patients = run_patient[first_run]  # positions in log.patient_ids, ascending
    runs_per_patient = np.diff(np.append(np.flatnonzero(first_run), run_starts.shape[0]))
    first_rows = run_starts[first_run]
    last_row = np.append(first_rows[1:], n)[: first_rows.shape[0]] - 1
    first_p = p[first_rows]
    last_p = p[last_row]
    end_p = period_numbers(np.array([cutoff]), period)[0]

    counted = np.ones(run_starts.shape[0], bool) if include_first_visit else ~first_run
    group = np.cumsum(first_run) - 1  # each run's patient, as a position in `patients`
    spend = np.bincount(group[counted], weights=run_spend[counted], minlength=len(patients))
    periods = runs_per_patient if include_first_visit else runs_per_patient - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(periods > 0, spend / np.maximum(periods, 1), 0.0)
    return BTYDSummary(
        as_of=cutoff,
        period=period,
        patient_id=log.patient_ids[patients],
        frequency=periods.astype(np.int64),
        recency=(last_p - first_p).astype(np.int64),
        T=(end_p - first_p).astype(np.int64),
        monetary_value=monetary.astype(np.float64),
    )
