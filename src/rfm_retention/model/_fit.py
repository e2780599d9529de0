"""Penalised logistic regression by Newton's method (IRLS), numpy only and deterministic.

The design matrix is standardised by the caller, so one L2 strength suits every
column; the intercept (column 0) is not penalised. The Gram matrix
``X' W X`` is accumulated in row chunks so a million patients by a couple of
hundred basis columns never needs a second full-size weighted copy of ``X``.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray
from rfm_retention.errors import ConfigError

__all__ = ["LogisticFit", "fit_logistic", "sigmoid"]


_CHUNK_ROWS = 131_072


def sigmoid(z: FloatArray) -> FloatArray:
    """The logistic function, overflow-free (``tanh`` form).

    Example:
        >>> sigmoid(np.array([0.0, 40.0])).round(3).tolist()
        [0.5, 1.0]
    """
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


@attrs.frozen(eq=False)
class LogisticFit:
    """Coefficients (intercept first) and how the fit went."""

    coefficients: FloatArray
    iterations: int
    log_loss: float
    converged: bool


def fit_logistic(
    x: npt.NDArray[np.floating],
    y: FloatArray,
    *,
    l2: float,
    weights: FloatArray | None = None,
    max_iter: int = 50,
    tol: float = 1e-7,
) -> LogisticFit:
    """Minimise ``mean log-loss + l2 / (2 n) |beta[1:]|^2`` over ``x`` (first column ones).

    Newton steps with a step-halving line search, so the penalised loss never
    rises. ``weights`` (default 1) weight each row's log-loss.

    Example:
        >>> x = np.column_stack([np.ones(6), [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0]])
        >>> fit = fit_logistic(x, np.array([0, 0, 1, 0, 1, 1.0]), l2=0.1)
        >>> bool(fit.coefficients[1] > 0), fit.converged
        (True, True)
    """
    n, p = x.shape
    if y.shape != (n,):
        raise ConfigError("fit_logistic: one outcome per row is needed")
    w_row = np.ones(n) if weights is None else np.asarray(weights, np.float64)
    total = float(w_row.sum())
    penalty = np.full(p, float(l2))
    penalty[0] = 0.0
    beta = np.zeros(p)
    prior = float(np.clip(np.average(y, weights=w_row), 1e-6, 1 - 1e-6))
    beta[0] = np.log(prior / (1 - prior))

    def objective(b: FloatArray) -> float:
        return _loss(x, y, w_row, b) * total + 0.5 * float(penalty @ (b * b))

    current = objective(beta)
    converged = False
    used = 0
    for used in range(1, max_iter + 1):  # noqa: B007 - reported
        grad, hess = _gradient_hessian(x, y, w_row, beta)
        grad += penalty * beta
        hess[np.diag_indices(p)] += penalty + 1e-9 * total
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        for _ in range(30):
            trial = beta - scale * step
            value = objective(trial)
            if value <= current + 1e-12 * abs(current):
                break
            scale *= 0.5
        beta, previous, current = trial, current, value
        if float(np.max(np.abs(scale * step))) < tol or previous - current < 1e-10 * total:
            converged = True
            break
    return LogisticFit(beta, used, _loss(x, y, w_row, beta), converged)


def _chunks(n: int) -> range:
    return range(0, n, _CHUNK_ROWS)


def _gradient_hessian(
    x: npt.NDArray[np.floating], y: FloatArray, w_row: FloatArray, beta: FloatArray
) -> tuple[FloatArray, FloatArray]:
    p = x.shape[1]
    grad = np.zeros(p)
    hess = np.zeros((p, p))
    for start in _chunks(x.shape[0]):
        xc = np.asarray(x[start : start + _CHUNK_ROWS], np.float64)
        mu = sigmoid(xc @ beta)
        wc = w_row[start : start + _CHUNK_ROWS]
        grad += xc.T @ (wc * (mu - y[start : start + _CHUNK_ROWS]))
        hess += (xc * (wc * mu * (1.0 - mu))[:, None]).T @ xc
    return grad, hess


def _loss(
    x: npt.NDArray[np.floating], y: FloatArray, w_row: FloatArray, beta: FloatArray
) -> float:
    """Weighted mean log-loss, computed from the logits (no log of 0)."""
    total = 0.0
    for start in _chunks(x.shape[0]):
        z = np.asarray(x[start : start + _CHUNK_ROWS], np.float64) @ beta
        yc = y[start : start + _CHUNK_ROWS]
        # -log sigmoid(z) = logaddexp(0, -z); -log(1 - sigmoid(z)) = logaddexp(0, z)
        rows = np.where(yc > 0.5, np.logaddexp(0.0, -z), np.logaddexp(0.0, z))
        total += float(w_row[start : start + _CHUNK_ROWS] @ rows)
    return total / float(w_row.sum())
