"""BG/NBD and MBG/NBD: patients visit at a gamma-distributed rate and may leave after a visit.

While a patient, visits follow a Poisson process with rate ``λ ~ Gamma(r, α)``;
the patient leaves with probability ``p ~ Beta(a, b)``. In BG/NBD (Fader,
Hardie and Lee 2005) the chance to leave comes after each *repeat* visit, so a
patient never seen again after the first visit is certainly still a patient
(``p_active = 1``): the flaw users report. MBG/NBD (Batislam, Denizel and Filiztekin
2007) also gives that chance at the first visit, so one-visit patients age
out too.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from rfm_retention._arrays import FloatArray
from rfm_retention.btyd._base import FitRows, VisitModel
from rfm_retention.btyd._special import digamma, gammaln, log_add, log_hyp2f1

__all__ = ["BGNBDModel", "MBGNBDModel"]


def _visit_rate_terms(
    r: float, alpha: float, rows: FitRows
) -> tuple[float, float, float]:
    """``log Γ(r+x) - log Γ(r) + r log α`` summed over rows, and its r and α derivatives."""
    xw = rows.weight_per_x()
    xv = rows.x_values
    total = float(xw.sum())
    value = float(np.dot(xw, gammaln(r + xv) - gammaln(r))) + total * r * float(np.log(alpha))
    d_r = float(np.dot(xw, digamma(r + xv) - digamma(r))) + total * float(np.log(alpha))
    d_alpha = total * r / alpha
    return value, d_r, d_alpha


def _dropout_terms(a: float, b: float, rows: FitRows, shift: float) -> tuple[float, float, float]:
    """``log B(a, b + x + shift) - log B(a, b)`` summed over rows, with its a and b derivatives."""
    xw = rows.weight_per_x()
    xv = rows.x_values + shift
    total = float(xw.sum())
    value = total * (float(gammaln(a + b)) - float(gammaln(b))) + float(
        np.dot(xw, gammaln(b + xv) - gammaln(a + b + xv))
    )
    d_a = total * float(digamma(a + b)) - float(np.dot(xw, digamma(a + b + xv)))
    d_b = total * (float(digamma(a + b)) - float(digamma(b))) + float(
        np.dot(xw, digamma(b + xv) - digamma(a + b + xv))
    )
    return value, d_a, d_b


class _GammaBetaModel(VisitModel):
    """What BG/NBD and MBG/NBD share: a Gamma(r, α) visit rate and a Beta(a, b) chance to leave.

    The log-likelihood is the rate and dropout terms (summed once per distinct
    frequency) plus a per-row mixture of "still a patient" and "left after
    the last visit", which is where the two models differ: ``_mixture``
    returns its weighted sum and gradient. ``_DROPOUT_SHIFT`` is how many
    chances to leave come on top of one per repeat visit (MBG/NBD: one more,
    at the first visit).
    """

    PARAMS: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _DROPOUT_SHIFT: ClassVar[float]

    def _log_likelihood(
        self, params: FloatArray, rows: FitRows
    ) -> tuple[float, FloatArray | None]:
        r, alpha, a, b = (float(v) for v in params)
        rate, d_r_rate, d_alpha_rate = _visit_rate_terms(r, alpha, rows)
        drop, d_a_drop, d_b_drop = _dropout_terms(a, b, rows, self._DROPOUT_SHIFT)
        mix, d_mix = self._mixture(r, alpha, a, b, rows)
        prior = np.array([d_r_rate, d_alpha_rate, d_a_drop, d_b_drop])
        return rate + drop + mix, prior + d_mix

    def _mixture(
        self, r: float, alpha: float, a: float, b: float, rows: FitRows
    ) -> tuple[float, FloatArray]:
        """The per-row mixture summed with the rows' weights, and its gradient."""
        raise NotImplementedError


class BGNBDModel(_GammaBetaModel):
    """The beta-geometric / negative binomial model of Fader, Hardie and Lee (2005).

    Parameters ``r, alpha`` (visit rate: Gamma with shape r, rate alpha) and
    ``a, b`` (chance of leaving after a repeat visit: Beta(a, b)). One-visit
    patients always have ``p_active == 1``; prefer :class:`MBGNBDModel` where
    many patients come once.

    Example:
        >>> from rfm_retention.testing import synthetic_cohort
        >>> summary = synthetic_cohort(300, seed=1).data.visits.btyd_summary("2024-06-30")
        >>> model = BGNBDModel().fit(summary)
        >>> sorted(model.params_)
        ['a', 'alpha', 'b', 'r']
        >>> once = summary.frequency == 0
        >>> bool((model.p_active(summary)[once] == 1.0).all())  # one-visit: always active
        True
    """

    _DROPOUT_SHIFT: ClassVar[float] = 0.0

    def _mixture(
        self, r: float, alpha: float, a: float, b: float, rows: FitRows
    ) -> tuple[float, FloatArray]:
        x, tx, age = rows.columns
        w = rows.weight
        repeat = x > 0
        stay = -(r + x) * np.log(alpha + age)
        left = np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) - (r + x) * np.log(alpha + tx)
        mix = np.where(repeat, log_add(stay, left), stay)
        share_left = np.where(repeat, np.exp(left - mix), 0.0)
        share_stay = 1.0 - share_left
        d_r = -float(
            np.dot(w, share_stay * np.log(alpha + age) + share_left * np.log(alpha + tx))
        )
        d_alpha = -float(
            np.dot(w, (r + x) * (share_stay / (alpha + age) + share_left / (alpha + tx)))
        )
        d_a = float(np.dot(w, share_left)) / a
        d_b = -float(np.dot(w, share_left / (b + np.maximum(x, 1.0) - 1.0)))
        return float(np.dot(w, mix)), np.array([d_r, d_alpha, d_a, d_b])

    def _p_active(self, params: FloatArray, rows: FitRows) -> FloatArray:
        r, alpha, a, b = params
        x, tx, age = rows.columns
        log_odds_gone = np.log(a / (b + np.maximum(x, 1.0) - 1.0)) + (r + x) * np.log(
            (alpha + age) / (alpha + tx)
        )
        return np.where(x > 0, 1.0 / (1.0 + np.exp(log_odds_gone)), 1.0)

    def _expected_visits(self, params: FloatArray, rows: FitRows, t: float) -> FloatArray:
        r, alpha, a, b = params
        x, _, age = rows.columns
        z = t / (alpha + age + t)
        log_term = log_hyp2f1(r + x, b + x, a + b + x - 1.0, z) + (r + x) * np.log1p(-z)
        numerator = (a + b + x - 1.0) / (a - 1.0) * -np.expm1(log_term)
        return np.asarray(numerator * self._p_active(params, rows), dtype=np.float64)


class MBGNBDModel(_GammaBetaModel):
    """The modified BG/NBD of Batislam, Denizel and Filiztekin (2007), as in ``lifetimes``.

    As :class:`BGNBDModel`, but the chance of leaving also comes right after
    the first visit, so a patient seen once long ago has a low ``p_active``.
    The library's default lifetime model: hospitals have many one-visit patients.

    Example:
        >>> from rfm_retention.testing import synthetic_cohort
        >>> summary = synthetic_cohort(300, seed=1).data.visits.btyd_summary("2024-06-30")
        >>> model = MBGNBDModel().fit(summary)
        >>> once = summary.frequency == 0
        >>> bool((model.p_active(summary)[once] < 1.0).all())  # one-visit patients can be gone
        True
    """

    _DROPOUT_SHIFT: ClassVar[float] = 1.0

    def _mixture(
        self, r: float, alpha: float, a: float, b: float, rows: FitRows
    ) -> tuple[float, FloatArray]:
        x, tx, age = rows.columns
        w = rows.weight
        log_gap = np.log(alpha + age) - np.log(alpha + tx)
        odds = np.log(a) - np.log(b + x) + (r + x) * log_gap
        soft = log_add(0.0, odds)
        share = np.exp(odds - soft)  # sigmoid(odds)
        value = float(np.dot(w, soft - (r + x) * np.log(alpha + age)))
        d_r = float(np.dot(w, share * log_gap - np.log(alpha + age)))
        to_age, to_last = 1.0 / (alpha + age), 1.0 / (alpha + tx)
        d_alpha = float(np.dot(w, (r + x) * (share * (to_age - to_last) - to_age)))
        d_a = float(np.dot(w, share)) / a
        d_b = -float(np.dot(w, share / (b + x)))
        return value, np.array([d_r, d_alpha, d_a, d_b])

    def _p_active(self, params: FloatArray, rows: FitRows) -> FloatArray:
        r, alpha, a, b = params
        x, tx, age = rows.columns
        log_odds_gone = np.log(a / (b + x)) + (r + x) * np.log((alpha + age) / (alpha + tx))
        return np.asarray(1.0 / (1.0 + np.exp(log_odds_gone)), dtype=np.float64)

    def _expected_visits(self, params: FloatArray, rows: FitRows, t: float) -> FloatArray:
        r, alpha, a, b = params
        x, _, age = rows.columns
        z = t / (alpha + age + t)
        log_term = log_hyp2f1(r + x, b + x + 1.0, a + b + x, z) + (r + x) * np.log1p(-z)
        numerator = (a + b + x) / (a - 1.0) * -np.expm1(log_term)
        return np.asarray(numerator * self._p_active(params, rows), dtype=np.float64)
