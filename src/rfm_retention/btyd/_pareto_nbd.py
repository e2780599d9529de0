"""Pareto/NBD: patients visit at a gamma-distributed rate and leave at any moment.

While a patient, visits follow a Poisson process with rate ``λ ~ Gamma(r, α)``;
the patient's lifetime is exponential with rate ``μ ~ Gamma(s, β)``
(Schmittlein, Morrison and Colombo 1987). Unlike BG/NBD, leaving is not tied to
a visit, so the chance of being gone grows with the quiet time for everyone,
one-visit patients included.

Everything is written with one integral,
``I(lo, hi) = ∫_lo^hi (α + τ)^-(r+x) (β + τ)^-(s+1) dτ``, in closed form with
Gauss's hypergeometric function (Fader and Hardie 2005, "A note on deriving the
Pareto/NBD model", equations 18 to 20): the likelihood needs ``I(t_x, T)``,
the chance of no visit in the next ``t`` needs ``I(T, T + t)``. The gradient is
taken by central differences.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from rfm_retention._arrays import FloatArray
from rfm_retention.btyd._base import FitRows, VisitModel
from rfm_retention.btyd._special import gammaln, log_add, log_hyp2f1

__all__ = ["ParetoNBDModel"]


def _log_integral(
    params: FloatArray, x: FloatArray, lo: FloatArray, hi: FloatArray
) -> FloatArray:
    """``log I(lo, hi)``; minus infinity where ``lo == hi``."""
    r, alpha, s, beta = params
    if alpha < beta:
        low, high, second = alpha, beta, r + x
    else:
        low, high, second = beta, alpha, s + 1.0 + 0.0 * x
    gap = high - low
    total = r + s + x

    def antiderivative(at: FloatArray) -> FloatArray:
        return np.asarray(
            log_hyp2f1(total, second, total + 1.0, gap / (high + at)) - total * np.log(high + at),
            dtype=np.float64,
        )

    upper, lower = antiderivative(lo), antiderivative(hi)
    return np.asarray(upper + np.log1p(-np.exp(lower - upper)) - np.log(total), dtype=np.float64)


class ParetoNBDModel(VisitModel):
    """The Pareto/NBD model of Schmittlein, Morrison and Colombo (1987).

    Parameters ``r, alpha`` (visit rate: Gamma with shape r, rate alpha) and
    ``s, beta`` (leaving rate: Gamma with shape s, rate beta), as in
    ``lifetimes.ParetoNBDFitter``. Slower to fit than the BG/NBD family (a
    hypergeometric series per row and a numeric gradient).

    Example:
        >>> from rfm_retention.testing import synthetic_cohort
        >>> summary = synthetic_cohort(300, seed=1).data.visits.btyd_summary("2024-06-30")
        >>> model = ParetoNBDModel().fit(summary)
        >>> sorted(model.params_)
        ['alpha', 'beta', 'r', 's']
        >>> p = model.p_no_visit(summary, 90)
        >>> bool(((p >= 0) & (p <= 1)).all())
        True
    """

    PARAMS: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    ANALYTIC_GRADIENT: ClassVar[bool] = False

    def __init__(self, *, tol: float = 1e-7, max_iter: int = 1000) -> None:
        super().__init__(tol=tol, max_iter=max_iter)

    @staticmethod
    def _log_odds_gone(params: FloatArray, rows: FitRows) -> FloatArray:
        """``log(P(gone) / P(active))`` given the history."""
        r, alpha, s, beta = params
        x, tx, age = rows.columns
        return np.asarray(
            np.log(s)
            + (r + x) * np.log(alpha + age)
            + s * np.log(beta + age)
            + _log_integral(params, x, tx, age),
            dtype=np.float64,
        )

    def _log_likelihood(
        self, params: FloatArray, rows: FitRows
    ) -> tuple[float, FloatArray | None]:
        r, alpha, s, beta = params
        x, _, age = rows.columns
        xw = rows.weight_per_x()
        rate = float(np.dot(xw, gammaln(r + rows.x_values) - gammaln(r)))
        scale = float(rows.weight.sum()) * float(r * np.log(alpha) + s * np.log(beta))
        active = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
        per_row = active + log_add(0.0, self._log_odds_gone(params, rows))
        return rate + scale + float(np.dot(rows.weight, per_row)), None

    def _p_active(self, params: FloatArray, rows: FitRows) -> FloatArray:
        return np.asarray(
            1.0 / (1.0 + np.exp(self._log_odds_gone(params, rows))), dtype=np.float64
        )

    def _expected_visits(self, params: FloatArray, rows: FitRows, t: float) -> FloatArray:
        r, alpha, s, beta = params
        x, _, age = rows.columns
        log_ratio = -np.log1p(t / (beta + age))  # log((β + T) / (β + T + t))
        if abs(s - 1.0) < 1e-10:
            horizon_term = -log_ratio
        else:
            horizon_term = -np.expm1((s - 1.0) * log_ratio) / (s - 1.0)
        per_active = (r + x) * (beta + age) / (alpha + age) * horizon_term
        return np.asarray(self._p_active(params, rows) * per_active, dtype=np.float64)

    def _p_no_visit_if_active(self, params: FloatArray, rows: FitRows, t: float) -> FloatArray:
        """No visit and still a patient at ``T + t``, or leaving before the next visit."""
        r, alpha, s, beta = params
        x, _, age = rows.columns
        stays_quiet = -(r + x) * np.log1p(t / (alpha + age)) - s * np.log1p(t / (beta + age))
        leaves_first = (
            np.log(s)
            + (r + x) * np.log(alpha + age)
            + s * np.log(beta + age)
            + _log_integral(params, x, age, age + t)
        )
        return np.asarray(np.exp(log_add(stays_quiet, leaves_first)), dtype=np.float64)
