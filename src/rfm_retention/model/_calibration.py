"""Calibration: turning the model's log-odds into probabilities that mean what they say.

Fitted on a **held-out slice** of the training patients (never the rows the
curves were fitted on), so the probabilities are not the over-confident ones
of a model grading its own homework:

* ``"platt"`` (default): ``P = sigmoid(a * z + b)`` over the model's log-odds
  ``z``, two numbers fitted by logistic regression. Strictly increasing, so it
  never creates ties in the warning list's order;
* ``"isotonic"``: the best non-decreasing step function of ``z`` (pool
  adjacent violators), linear between steps. More flexible, but flat steps
  tie patients, so the warning list then breaks ties by the raw log-odds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
import numpy as np

from rfm_retention._arrays import FloatArray
from rfm_retention.errors import ConfigError
from rfm_retention.model._fit import fit_logistic, sigmoid

__all__ = ["CALIBRATIONS", "Calibration", "fit_calibration"]

Method = Literal["platt", "isotonic", "none"]
CALIBRATIONS: tuple[str, ...] = ("platt", "isotonic", "none")


@attrs.frozen
class Calibration:
    """A fitted map from log-odds to probability.

    Attributes:
        method: ``"platt"``, ``"isotonic"`` or ``"none"`` (sigmoid of the log-odds).
        slope, offset: Platt's ``a`` and ``b``.
        points: isotonic knots, ``(log-odds, probability)`` pairs in increasing order.
        n_patients: held-out rows it was fitted on.

    Example:
        >>> Calibration("platt", slope=1.0, offset=0.0).probability(np.array([0.0])).tolist()
        [0.5]
    """

    method: Method = "none"
    slope: float = 1.0
    offset: float = 0.0
    points: tuple[tuple[float, float], ...] = ()
    n_patients: int = 0

    def probability(self, z: FloatArray) -> FloatArray:
        """Calibrated probabilities of log-odds ``z``."""
        if self.method == "isotonic":
            xs = np.array([p[0] for p in self.points])
            ps = np.array([p[1] for p in self.points])
            out: FloatArray = np.interp(z, xs, ps)
            return np.clip(out, 1e-6, 1 - 1e-6)
        return sigmoid(self.slope * z + self.offset)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "method": self.method,
            "slope": self.slope,
            "offset": self.offset,
            "points": [list(p) for p in self.points],
            "n_patients": self.n_patients,
        }

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> Calibration:
        """The calibration back from :meth:`to_mapping`."""
        return cls(
            m["method"],
            float(m["slope"]),
            float(m["offset"]),
            tuple((float(a), float(b)) for a, b in m["points"]),
            int(m["n_patients"]),
        )


def fit_calibration(z: FloatArray, y: FloatArray, method: str = "platt") -> Calibration:
    """Fit ``method`` on held-out log-odds ``z`` and outcomes ``y`` (0/1).

    Example:
        >>> z = np.linspace(-3, 3, 200)
        >>> y = (np.random.default_rng(0).random(200) < 1 / (1 + np.exp(-2 * z))).astype(float)
        >>> cal = fit_calibration(z, y)
        >>> 1.2 < cal.slope < 3.5
        True
    """
    if method not in CALIBRATIONS:
        raise ConfigError(f"calibration must be one of {CALIBRATIONS}, got {method!r}")
    if method == "none":
        return Calibration("none", n_patients=int(z.shape[0]))
    if z.shape[0] < 10 or y.min() == y.max():
        raise ConfigError(
            f"calibration needs held-out patients of both outcomes; got {z.shape[0]} "
            f"with {int(y.sum())} positive(s): train on more patients or dates, or use "
            "calibration='none'"
        )
    if method == "platt":
        fit = fit_logistic(np.column_stack([np.ones_like(z), z]), y, l2=1e-6)
        return Calibration(
            "platt", slope=float(fit.coefficients[1]), offset=float(fit.coefficients[0]),
            n_patients=int(z.shape[0]),
        )
    return Calibration("isotonic", points=_isotonic(z, y), n_patients=int(z.shape[0]))


def _isotonic(z: FloatArray, y: FloatArray) -> tuple[tuple[float, float], ...]:
    """Pool adjacent violators over ``z`` order; one knot per pooled block (its mean z)."""
    order = np.argsort(z, kind="stable")
    zs, ys = z[order], y[order]
    # start from one block per distinct z
    _, start = np.unique(zs, return_index=True)
    sums = np.add.reduceat(ys, start)
    zsum = np.add.reduceat(zs, start)
    counts = np.diff(np.append(start, zs.shape[0])).astype(np.float64)
    blocks: list[list[float]] = []  # [sum y, sum z, count]
    for s, zz, c in zip(sums.tolist(), zsum.tolist(), counts.tolist(), strict=True):
        blocks.append([s, zz, c])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][2] >= blocks[-1][0] / blocks[-1][2]:
            last = blocks.pop()
            for i in range(3):
                blocks[-1][i] += last[i]
    return tuple((b[1] / b[2], min(max(b[0] / b[2], 1e-6), 1 - 1e-6)) for b in blocks)
