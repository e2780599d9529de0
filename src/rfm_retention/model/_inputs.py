"""The whole patient picture as model inputs: one named column per figure, NaN = no data.

What the trained risk model reads about each patient as of a date:

* the visit features of :class:`~rfm_retention.features.PatientFeatures`
  (mostly on a log scale: the model's curves then bend where ratios, not
  differences, matter): days since the last visit, visits and spend in the
  last year and overall, tenure, mean and most recent interval, the silence
  divided by the patient's own usual interval, one-visit patients, and the
  3-month counts, spend and their trends;
* every indicator's **uncapped measurement** (``interval_extension`` 2.4 is
  "140 % past the expected interval", own or care norm, not a severity capped
  at 1) and, through its NaN, an explicit "no signal" effect;
* per extra source (ratings, complaints...), a flag "no rows in this source
  for the patient", so a patient the hospital knows nothing about is not read
  as a patient with no complaints;
* optionally the patient-lifetime model's outputs (P(active), expected visits,
  P(no visit), expected 12-month spend).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray
from rfm_retention.btyd import LIFETIME_MODELS as VISIT_MODELS
from rfm_retention.data import PatientData
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.features import patient_features
from rfm_retention.model._terms import TermSpec
from rfm_retention.risk._panel import IndicatorPanel, evaluate
from rfm_retention.risk._registry import IndicatorSet
from rfm_retention.time import TimeLike, as_date, day_end

__all__ = ["LIFETIME_MODELS", "ModelInputs", "model_inputs"]


LIFETIME_MODELS: tuple[str, ...] = tuple(VISIT_MODELS)
"""Patient-lifetime models whose outputs the risk model can read."""

YEAR_DAYS = 365
_LIFETIME_COLUMNS = (
    ("lifetime_p_active", "lifetime model P(still a patient)", "none", "p_active"),
    ("lifetime_expected_visits", "lifetime model expected visits", "log1p", "expected_visits"),
    ("lifetime_p_no_visit", "lifetime model P(no visit in the horizon)", "none", "p_no_visit"),
    ("lifetime_expected_spend", "lifetime model expected 12-month spend", "log1p",
     "expected_spend_12m"),
)


@attrs.frozen(eq=False)
class ModelInputs:
    """Input columns for every patient of a bundle as of a date.

    Attributes:
        as_of: the instant judged, the end of the day (as every result reports it).
        patient_id: rows (``data.patients`` order).
        specs: one :class:`TermSpec` per column.
        values: (patients, columns) floats; NaN where the patient has no value.
        panel: the indicator panel the indicator columns came from (reused by
            the scan and by explanations).
        expected_spend_12m: the lifetime model's 12-month spend per patient
            (NaN without a lifetime model), for value at risk.
    """

    as_of: np.datetime64
    patient_id: IdArray
    specs: tuple[TermSpec, ...]
    values: FloatArray
    panel: IndicatorPanel
    expected_spend_12m: FloatArray

    def column(self, name: str) -> FloatArray:
        """One column by name (KeyError naming the known columns)."""
        for k, spec in enumerate(self.specs):
            if spec.name == name:
                out: FloatArray = self.values[:, k]
                return out
        raise KeyError(f"no model input named {name!r}; known: {[s.name for s in self.specs]}")

    def column_or_missing(self, name: str) -> FloatArray:
        """One column by name; all NaN ("no data") when the data lack it (a source absent
        today that the model was trained with)."""
        for k, spec in enumerate(self.specs):
            if spec.name == name:
                out: FloatArray = self.values[:, k]
                return out
        return np.full(len(self.patient_id), np.nan)


def _log1p(x: Any) -> FloatArray:
    out: FloatArray = np.log1p(np.maximum(np.asarray(x, np.float64), 0.0))
    return out


def _signed_log1p(x: FloatArray) -> FloatArray:
    out: FloatArray = np.sign(x) * np.log1p(np.abs(x))
    return out


def model_inputs(
    data: PatientData,
    as_of: TimeLike,
    *,
    indicators: IndicatorSet | None = None,
    lifetime: str | None = None,
    horizon_days: int = 90,
    panel: IndicatorPanel | None = None,
) -> ModelInputs:
    """Every model input for every patient of ``data`` as of the end of ``as_of``.

    ``data`` must already hold only what was known by then when the result
    trains or backtests a model (the backtest and the trainer cut it).

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "a", "b"], amount=[10.0, 20.0, 5.0],
        ...     visit_time=["2024-01-01", "2024-03-01", "2024-05-01"])
        >>> x = model_inputs(PatientData(visits=log), "2024-06-30")
        >>> x.column("one_visit").tolist()
        [0.0, 1.0]
        >>> np.expm1(x.column("log_days_since_last_visit")).round().tolist()
        [121.0, 60.0]
    """
    day = as_date(as_of)  # the one conversion (none when handed the instant)
    instant = day_end(day)  # handed inward as it is
    chosen = IndicatorSet.of(indicators)
    if panel is None:
        panel = evaluate(data, instant, chosen)
    patients = data.patients
    n = len(patients)
    f = patient_features(data.visits, instant, window=YEAR_DAYS)
    rows = np.searchsorted(patients, f.patient_id)

    specs: list[TermSpec] = []
    cols: list[FloatArray] = []

    def put(spec: TermSpec, values: Any, where: npt.NDArray[np.int64] | None = rows) -> None:
        col = np.full(n, np.nan)
        if where is None:
            col[:] = values
        else:
            col[where] = values
        specs.append(spec)
        cols.append(col)

    def put_log1p(name: str, label: str, values: Any) -> None:
        put(TermSpec(name, label, transform="log1p"), _log1p(values))

    days = f.days_since_last_visit.astype(np.float64)
    one_visit = f.total_visits <= 1
    with np.errstate(invalid="ignore", divide="ignore"):
        gap_ratio = np.where(one_visit, np.nan, (days + 1.0) / (f.mean_interval_days + 1.0))
    put_log1p("log_days_since_last_visit", "days since the last visit", days)
    put_log1p("log_total_visits", "visits ever", f.total_visits)
    put_log1p("log_visits_last_year", "visits in the last year", f.visits_in_window)
    put_log1p("log_spend_last_year", "spend in the last year", f.spend_in_window)
    put_log1p("log_spend_per_visit", "spend per visit", f.spend_per_visit)
    put_log1p("log_tenure_days", "days since the first visit", f.tenure_days)
    put_log1p("log_mean_interval", "usual interval in days", f.mean_interval_days)
    put_log1p("log_last_interval", "last interval in days", f.last_interval_days)
    put_log1p("log_gap_over_own_interval", "silence ÷ own usual interval", gap_ratio)
    put(TermSpec("one_visit", "one visit only", kind="flag"), one_visit.astype(np.float64))
    last3 = f.visits_last_3_months.astype(np.float64)
    prior3 = f.visits_prior_3_months.astype(np.float64)
    put_log1p("log_visits_last_3_months", "visits in the last 3 months", last3)
    put_log1p("log_visits_prior_3_months", "visits in the 3 months before", prior3)
    put(TermSpec("visit_trend_3_months", "3-month visit trend (log ratio)"),
        _log1p(last3) - _log1p(prior3))
    put_log1p("log_spend_last_3_months", "spend in the last 3 months", f.spend_last_3_months)
    put(TermSpec("spend_trend_3_months", "3-month spend trend (log ratio)"),
        _log1p(f.spend_last_3_months) - _log1p(f.spend_prior_3_months))

    for result in panel.results:
        put(TermSpec(f"indicator:{result.name}", f"{result.name} measurement",
                     transform="signed_log1p"),
            np.where(result.signal, _signed_log1p(np.nan_to_num(result.value)), np.nan),
            where=None)
    for name, table in data.sources():
        if name == "visits":
            continue
        has = np.zeros(n, bool)
        has[data.rows_of(name)[table.before(instant)]] = True
        put(TermSpec(f"no_rows:{name}", f"nothing in {name}", kind="flag"),
            (~has).astype(np.float64), where=None)

    spend = np.full(n, np.nan)
    if lifetime is not None:
        for spec, values in _lifetime_columns(data, instant, lifetime, horizon_days, rows, n):
            specs.append(spec)
            cols.append(values)
        spend = cols[-1].copy()
        spend = np.expm1(spend)
    values = np.column_stack(cols) if cols else np.zeros((n, 0))
    return ModelInputs(instant, patients, tuple(specs), values, panel, spend)


def _lifetime_columns(
    data: PatientData,
    instant: np.datetime64,
    model: str,
    horizon_days: int,
    rows: npt.NDArray[np.int64],
    n: int,
) -> Sequence[tuple[TermSpec, FloatArray]]:
    if model not in LIFETIME_MODELS:
        raise ConfigError(f"unknown lifetime model {model!r}; choose one of {LIFETIME_MODELS}")
    try:
        from rfm_retention.btyd import lifetime_scores
    except ImportError:
        raise ConfigError(
            "the patient-lifetime models are not available in this version of rfm_retention"
        ) from None
    scores = lifetime_scores(data.visits, instant, horizon_days=horizon_days, model=model)
    out = []
    for name, words, transform, field in _LIFETIME_COLUMNS:
        col = np.full(n, np.nan)
        raw = np.asarray(getattr(scores, field), np.float64)
        col[rows] = _log1p(raw) if transform == "log1p" else raw
        out.append((TermSpec(name, words, transform=transform), col))  # type: ignore[arg-type]
    return out
