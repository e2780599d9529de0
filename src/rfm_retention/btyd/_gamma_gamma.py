"""Gamma-Gamma: how much a patient spends per visit, shrunk towards the population.

Each visit's spend is Gamma(p, ν) with the patient's own ``ν ~ Gamma(q, v)``
(Fader, Hardie and Lee 2005, "RFM and CLV"). A patient's expected spend per
visit is a weighted mean of their own mean repeat spend and the population
mean ``p v / (q - 1)``; the more repeat visits, the more their own mean counts.
The model assumes spend per visit is independent of how often a patient comes.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from rfm_retention._arrays import FloatArray
from rfm_retention.btyd._base import (
    FitRows,
    MaximumLikelihoodModel,
    SummaryArrays,
    SummaryInput,
    read_summary,
)
from rfm_retention.btyd._special import digamma, gammaln
from rfm_retention.errors import ConfigError

__all__ = ["GammaGammaModel"]


class GammaGammaModel(MaximumLikelihoodModel):
    """Expected spend per visit from ``frequency`` and ``monetary_value``.

    Fitted on the patients with a repeat visit and a positive mean repeat
    spend (the others carry no information about spend variation); predicts
    for everyone: a patient without a repeat visit gets the population mean.
    Parameters ``p, q, v`` as in ``lifetimes.GammaGammaFitter``.

    Example:
        >>> from rfm_retention.testing import synthetic_cohort
        >>> summary = synthetic_cohort(300, seed=1).data.visits.btyd_summary("2024-06-30")
        >>> model = GammaGammaModel().fit(summary)
        >>> spend = model.expected_mean_spend(summary)
        >>> once = summary.frequency == 0
        >>> bool((spend[once] == model.population_mean_spend()).all())  # no repeat: the mean
        True
    """

    PARAMS: ClassVar[tuple[str, ...]] = ("p", "q", "v")

    def _read(self, summary: SummaryInput | SummaryArrays) -> SummaryArrays:
        if isinstance(summary, SummaryArrays):
            if summary.monetary_value is None:
                raise ConfigError("the summary has no 'monetary_value' column")
            return summary
        return read_summary(summary, monetary=True)

    def _rows(self, data: SummaryArrays) -> FitRows:
        spend = data.monetary_value
        if spend is None:
            raise ConfigError("the summary has no 'monetary_value' column")
        keep = (data.frequency > 0) & (spend > 0)
        if int(keep.sum()) < 2:
            raise ConfigError(
                "GammaGammaModel needs at least two patients with a repeat visit and a "
                "positive spend to learn from"
            )
        return FitRows.of(data.frequency[keep], spend[keep])

    def _start(self, rows: FitRows) -> FloatArray:
        mean = float(np.average(rows.columns[1], weights=rows.weight))
        return np.array([1.0, 2.0, max(mean, 1e-6)])

    def _log_likelihood(
        self, params: FloatArray, rows: FitRows
    ) -> tuple[float, FloatArray | None]:
        p, q, v = (float(k) for k in params)
        x, m = rows.columns
        w = rows.weight
        xw = rows.weight_per_x()
        xv = rows.x_values
        total = float(w.sum())
        log_m = np.log(m)
        log_xm_v = np.log(x * m + v)
        value = (
            float(np.dot(xw, gammaln(p * xv + q) - gammaln(p * xv)))
            - total * float(gammaln(q))
            + total * q * float(np.log(v))
            + float(np.dot(w, (p * x - 1.0) * log_m + p * x * np.log(x) - (p * x + q) * log_xm_v))
        )
        d_p = float(np.dot(xw, xv * (digamma(p * xv + q) - digamma(p * xv)))) + float(
            np.dot(w, x * (log_m + np.log(x) - log_xm_v))
        )
        d_q = (
            float(np.dot(xw, digamma(p * xv + q)))
            - total * float(digamma(q))
            + total * float(np.log(v))
            - float(np.dot(w, log_xm_v))
        )
        d_v = total * q / v - float(np.dot(w, (p * x + q) / (x * m + v)))
        return value, np.array([d_p, d_q, d_v])

    def population_mean_spend(self) -> float:
        """The mean spend per visit of the population, ``p v / (q - 1)`` (infinite if ``q <= 1``).

        Example:
            >>> model = GammaGammaModel()
            >>> model.params_ = {"p": 6.0, "q": 4.0, "v": 15.0}
            >>> model.population_mean_spend()
            30.0
        """
        p, q, v = self._fitted()
        return float(p * v / (q - 1.0)) if q > 1 else float("inf")

    def expected_mean_spend(self, summary: SummaryInput) -> FloatArray:
        """Each patient's expected spend per visit (per period with a visit), in summary order."""
        p, q, _ = self._fitted()
        data = read_summary(summary, monetary=True)
        x = data.frequency
        own = data.monetary_value if data.monetary_value is not None else np.zeros_like(x)
        weight = p * x / (p * x + q - 1.0)
        population = self.population_mean_spend()
        return np.asarray((1.0 - weight) * population + weight * own, dtype=np.float64)
