"""What every lifetime model shares: reading and checking a summary, the fit, the learned state.

A model is configured in its constructor, learns in ``fit(summary)`` and keeps
what it learned in trailing-underscore attributes (``params_``,
``log_likelihood_``, ``n_iter_``); anything else before ``fit`` raises
:class:`~rfm_retention.errors.NotFittedError`. A new model implements one hook,
the per-row log-likelihood (with its gradient where it has a closed form), and
its predictions.

Patients with the same (frequency, recency, T) have the same likelihood and the
same predictions, so both are computed once per distinct row and weighted by
its count: a summary of a million patients in days has far fewer distinct rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray, IntArray
from rfm_retention.btyd._optimize import minimize, numeric_gradient
from rfm_retention.btyd._summary import BTYDSummary
from rfm_retention.errors import (
    ConfigError,
    ConvergenceError,
    NotFittedError,
    RowIssue,
    ValidationError,
)

__all__ = ["FitRows", "MaximumLikelihoodModel", "SummaryInput", "VisitModel", "read_summary"]

SummaryInput = BTYDSummary | Mapping[str, npt.ArrayLike]
"""A :class:`BTYDSummary`, or any mapping (a dict, a pandas DataFrame) of its columns."""

_SOURCE = "BTYD summary"
_ISSUES_PER_RULE = 20
# Parameters stay within e^15 (about 3e6) times their starting value either way:
# where the data push one to infinity (no heterogeneity left to describe) it
# stops there, already at the limit for every prediction.
_LOG_RANGE = 15.0


@attrs.frozen(eq=False)
class SummaryArrays:
    """The summary's columns as float arrays, checked."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray | None
    patient_id: npt.NDArray[Any] | None


def _column(summary: Any, name: str) -> FloatArray | None:
    """The named column as floats, or None when the summary has no such column."""
    if isinstance(summary, BTYDSummary):
        return np.asarray(getattr(summary, name), dtype=np.float64)
    try:
        values = summary[name]
    except (KeyError, IndexError, TypeError):
        return None
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _required(summary: Any, name: str) -> FloatArray:
    values = _column(summary, name)
    if values is None:
        raise ConfigError(
            f"the summary has no {name!r} column.\nHint: pass a BTYDSummary "
            "(VisitLog.btyd_summary) or a mapping with frequency, recency and T "
            "(and monetary_value for spend)."
        )
    return values


def read_summary(summary: SummaryInput, *, monetary: bool = False) -> SummaryArrays:
    """Check the summary's columns row by row and return them as floats.

    Raises :class:`~rfm_retention.errors.ValidationError` naming the rows where
    frequency is not a whole number >= 0, recency is negative or beyond T,
    recency is not 0 without a repeat visit, a value is not finite, or (with
    ``monetary``) the monetary value is missing, negative or not finite.
    """
    frequency = _required(summary, "frequency")
    recency = _required(summary, "recency")
    age = _required(summary, "T")
    if not frequency.shape == recency.shape == age.shape:
        raise ConfigError("frequency, recency and T must have the same length")
    value = _required(summary, "monetary_value") if monetary else None
    ids: npt.NDArray[Any] | None = None
    if isinstance(summary, BTYDSummary):
        ids = summary.patient_id
    rules: list[tuple[str, npt.NDArray[np.bool_], npt.NDArray[Any], str]] = [
        ("frequency", ~np.isfinite(frequency) | (frequency < 0) | (frequency % 1 != 0),
         frequency, "must be a whole number >= 0"),
        ("recency", ~np.isfinite(recency) | (recency < 0), recency, "must be finite and >= 0"),
        ("T", ~np.isfinite(age) | (age < recency), age, "must be finite and >= recency"),
        ("recency", (frequency == 0) & (recency != 0), recency,
         "must be 0 for a patient without a repeat visit (frequency 0)"),
    ]
    if monetary and value is not None:
        rules.append(("monetary_value", ~np.isfinite(value) | (value < 0), value,
                      "must be finite and >= 0"))
    issues = [
        RowIssue(
            row=int(row),
            field=field,
            message=message,
            value=str(values[row]),
            patient_id="" if ids is None else str(ids[row]),
        )
        for field, bad, values, message in rules
        for row in np.flatnonzero(bad)[:_ISSUES_PER_RULE]
    ]
    if issues:
        raise ValidationError(_SOURCE, issues)
    if frequency.shape[0] == 0:
        raise ConfigError("the summary has no patient: a lifetime model needs at least one")
    return SummaryArrays(frequency, recency, age, value, ids)


@attrs.frozen(eq=False)
class FitRows:
    """Distinct rows of the model's inputs with their counts.

    ``columns[k][i]`` is input column ``k`` of distinct row ``i``; ``weight[i]``
    how many patients share it; ``inverse[j]`` the distinct row of patient ``j``.
    ``x_values`` are the distinct frequencies and ``x_index[i]`` the position
    of row ``i``'s frequency among them, so terms that depend on the frequency
    alone (log-gamma, digamma) are computed once per frequency.
    """

    columns: tuple[FloatArray, ...]
    weight: FloatArray
    inverse: IntArray
    x_values: FloatArray
    x_index: IntArray

    @classmethod
    def of(cls, *columns: FloatArray) -> FitRows:
        """Group equal rows of the given columns (the first is the frequency)."""
        stacked = np.column_stack(columns)
        distinct, inverse, counts = np.unique(
            stacked, axis=0, return_inverse=True, return_counts=True
        )
        x_values, x_index = np.unique(distinct[:, 0], return_inverse=True)
        return cls(
            columns=tuple(np.ascontiguousarray(distinct[:, k]) for k in range(len(columns))),
            weight=counts.astype(np.float64),
            inverse=inverse.reshape(-1).astype(np.int64),
            x_values=x_values.astype(np.float64),
            x_index=x_index.reshape(-1).astype(np.int64),
        )

    def weight_per_x(self) -> FloatArray:
        """Patients per distinct frequency."""
        counts = np.bincount(self.x_index, weights=self.weight, minlength=self.x_values.shape[0])
        return np.asarray(counts, dtype=np.float64)


class MaximumLikelihoodModel:
    """Shared orchestration of a maximum-likelihood fit on log-parameters.

    Subclasses set ``PARAMS`` and implement ``_rows`` (the distinct input rows
    of a summary), ``_start`` (starting parameters) and ``_log_likelihood``
    (total log-likelihood of the rows and, if ``ANALYTIC_GRADIENT``, its
    gradient with respect to each parameter).
    """

    PARAMS: ClassVar[tuple[str, ...]]
    ANALYTIC_GRADIENT: ClassVar[bool] = True

    params_: dict[str, float]
    log_likelihood_: float
    n_iter_: int
    n_patients_: int

    def __init__(self, *, tol: float = 1e-9, max_iter: int = 1000) -> None:
        if not (tol > 0 and math.isfinite(tol)):
            raise ConfigError(f"tol must be a positive number, not {tol!r}")
        if max_iter < 1:
            raise ConfigError(f"max_iter must be at least 1, not {max_iter!r}")
        self.tol = tol
        self.max_iter = max_iter

    def __repr__(self) -> str:
        name = type(self).__name__
        if not hasattr(self, "params_"):
            return f"{name}(not fitted)"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{name}({shown}; {self.n_patients_} patients)"

    # -- hooks ---------------------------------------------------------------
    def _rows(self, data: SummaryArrays) -> FitRows:
        raise NotImplementedError

    def _start(self, rows: FitRows) -> FloatArray:
        raise NotImplementedError

    def _log_likelihood(
        self, params: FloatArray, rows: FitRows
    ) -> tuple[float, FloatArray | None]:
        raise NotImplementedError

    def _read(self, summary: SummaryInput | SummaryArrays) -> SummaryArrays:
        if isinstance(summary, SummaryArrays):
            return summary
        return read_summary(summary)

    # -- orchestration -------------------------------------------------------
    def fit(self, summary: SummaryInput | SummaryArrays) -> Self:
        """Learn the parameters from a summary by maximum likelihood; returns ``self``."""
        rows = self._rows(self._read(summary))
        total = float(rows.weight.sum())
        if total == 0:
            raise ConfigError(
                f"{type(self).__name__} has no patient to learn from in this summary"
            )

        def negative_mean(theta: FloatArray) -> tuple[float, FloatArray]:
            params = np.exp(theta)
            with np.errstate(all="ignore"):
                value, grad = self._log_likelihood(params, rows)
            gradient = np.zeros_like(theta) if grad is None else -grad * params / total
            return -value / total, gradient

        def value_only(theta: FloatArray) -> float:
            return negative_mean(theta)[0]

        objective: Callable[[FloatArray], tuple[float, FloatArray]] = (
            negative_mean if self.ANALYTIC_GRADIENT else numeric_gradient(value_only)
        )
        start = np.log(self._start(rows))
        found = minimize(
            objective,
            start,
            gtol=self.tol,
            max_iter=self.max_iter,
            bounds=(start - _LOG_RANGE, start + _LOG_RANGE),
        )
        if not found.converged or not np.all(np.isfinite(found.x)):
            raise ConvergenceError(
                f"{type(self).__name__} did not converge after {found.iterations} iterations "
                f"(largest gradient {float(np.max(np.abs(found.gradient))):.3g}).\nHint: the "
                "summary may not identify the model (for example no patient with a repeat "
                "visit, or every patient alike); try another model or more history."
            )
        self.params_ = {k: float(v) for k, v in zip(self.PARAMS, np.exp(found.x), strict=True)}
        self.log_likelihood_ = -found.value * total
        self.n_iter_ = found.iterations
        self.n_patients_ = int(total)
        return self

    def _fitted(self) -> FloatArray:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet.\nHint: call fit(summary) first."
            )
        return np.array([self.params_[k] for k in self.PARAMS])


class VisitModel(MaximumLikelihoodModel):
    """A model of when patients visit and when they stop: BG/NBD, MBG/NBD, Pareto/NBD.

    Times (recency, T, ``t``) are in the summary's periods; predictions are per
    row of the summary given, in its order.
    """

    def _rows(self, data: SummaryArrays) -> FitRows:
        return FitRows.of(data.frequency, data.recency, data.T)

    def fit(self, summary: SummaryInput | SummaryArrays) -> Self:
        """Learn the parameters from a summary by maximum likelihood; returns ``self``.

        Needs at least one patient with a repeat visit: without one, how often
        patients come back is not in the data.
        """
        data = self._read(summary)
        if not np.any(data.frequency > 0):
            raise ConfigError(
                f"{type(self).__name__} needs at least one patient with a repeat visit; "
                f"all {data.frequency.shape[0]} patients in this summary have one visit "
                "period.\nHint: use a later observation end or a longer history."
            )
        return super().fit(data)

    def _start(self, rows: FitRows) -> FloatArray:
        scale = max(float(np.average(rows.columns[2], weights=rows.weight)), 1.0)
        return np.array([1.0 if k not in ("alpha", "beta") else scale for k in self.PARAMS])

    def _predict(
        self, summary: SummaryInput, compute: Callable[[FloatArray, FitRows], FloatArray]
    ) -> FloatArray:
        params = self._fitted()
        rows = self._rows(read_summary(summary))
        with np.errstate(all="ignore"):
            per_row = compute(params, rows)
        return np.asarray(per_row[rows.inverse], dtype=np.float64)

    @staticmethod
    def _check_t(t: float) -> float:
        if not (isinstance(t, int | float) and math.isfinite(t) and t > 0):
            raise ConfigError(f"t must be a positive number of periods, not {t!r}")
        return float(t)

    # Hooks of the predictions, on distinct rows.
    def _p_active(self, params: FloatArray, rows: FitRows) -> FloatArray:
        raise NotImplementedError

    def _expected_visits(self, params: FloatArray, rows: FitRows, t: float) -> FloatArray:
        raise NotImplementedError

    def _p_no_visit_if_active(self, params: FloatArray, rows: FitRows, t: float) -> FloatArray:
        """P(no visit in the next t | still a patient): the visit rate's posterior is
        Gamma(r + x, alpha + T) and a patient can only leave right after a visit."""
        r, alpha = params[0], params[1]
        x, _, age = rows.columns
        return np.asarray(np.exp(-(r + x) * np.log1p(t / (alpha + age))), dtype=np.float64)

    # Public predictions.
    def p_active(self, summary: SummaryInput) -> FloatArray:
        """Probability that each patient is still a patient at the end of the summary."""
        return self._predict(summary, self._p_active)

    def expected_visits(self, summary: SummaryInput, t: float) -> FloatArray:
        """Expected visits (periods with a visit) of each patient in the next ``t`` periods."""
        horizon = self._check_t(t)
        return self._predict(summary, lambda p, rows: self._expected_visits(p, rows, horizon))

    def p_no_visit(self, summary: SummaryInput, t: float) -> FloatArray:
        """Probability that each patient does not visit in the next ``t`` periods.

        ``1 - p_active + p_active * P(no visit | still a patient)``: gone, or
        still a patient and not due yet.
        """
        horizon = self._check_t(t)

        def compute(params: FloatArray, rows: FitRows) -> FloatArray:
            active = self._p_active(params, rows)
            quiet = self._p_no_visit_if_active(params, rows, horizon)
            return np.clip(1.0 - active + active * quiet, 0.0, 1.0)

        return self._predict(summary, compute)
