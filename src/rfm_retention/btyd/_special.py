"""Log-gamma, digamma and the Gauss hypergeometric series, vectorised in numpy.

The lifetime models need these special functions and the library's runtime
dependencies stop at numpy, so they are written here: log-gamma and digamma by
the recurrence up to 8 and their asymptotic (Stirling) series there (about
1e-14 relative), and ``2F1(a, b; c; z)`` for ``0 <= z < 1`` by its power series
summed until every term is below 1e-16 of its sum.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray
from rfm_retention.errors import ConfigError

__all__ = ["digamma", "gammaln", "log_add", "log_hyp2f1"]


_SHIFT = 8.0
_BLOCK = 256  # at most this many series terms per numpy step
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# Bernoulli numbers B_2k / (2k (2k - 1)) for Stirling's series of log-gamma.
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
# B_2k / (2k) for the asymptotic series of digamma.
_DIGAMMA = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)


def _shifted(x: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """``x`` moved up to at least 8 and how many steps each value took."""
    values = np.asarray(x, dtype=np.float64)
    if np.any(values <= 0):
        raise ConfigError("log-gamma and digamma are only evaluated here for positive arguments")
    steps = np.maximum(np.ceil(_SHIFT - values), 0.0)
    return values + steps, steps


def log_add(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """``log(exp(a) + exp(b))`` element-wise, without overflow.

    ``numpy.logaddexp`` computes the same, several times slower.

    Example:
        >>> round(float(log_add(1000.0, 1000.0)) - 1000.0, 9)  # log 2
        0.693147181
    """
    a_, b_ = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    high = np.maximum(a_, b_)
    with np.errstate(invalid="ignore"):
        gap = np.abs(a_ - b_)
    return np.asarray(high + np.log1p(np.exp(-np.where(np.isnan(gap), np.inf, gap))),
                      dtype=np.float64)


def gammaln(x: npt.ArrayLike) -> FloatArray:
    """``log Γ(x)`` for positive ``x``, element-wise.

    Example:
        >>> import math
        >>> abs(float(gammaln(4.5)) - math.lgamma(4.5)) < 1e-13
        True
    """
    values = np.asarray(x, dtype=np.float64)
    big, steps = _shifted(values)
    inv = 1.0 / big
    inv2 = inv * inv
    series = np.zeros_like(big)
    for coef in reversed(_STIRLING):
        series = series * inv2 + coef
    result = (big - 0.5) * np.log(big) - big + _HALF_LOG_2PI + series * inv
    # log Γ(x) = log Γ(x + k) - log(x (x + 1) ... (x + k - 1))
    product_log = np.zeros_like(big)
    for k in range(int(steps.max(initial=0.0))):
        product_log += np.where(steps > k, np.log(values + k), 0.0)
    return np.asarray(result - product_log, dtype=np.float64)


def digamma(x: npt.ArrayLike) -> FloatArray:
    """``ψ(x) = d/dx log Γ(x)`` for positive ``x``, element-wise.

    Example:
        >>> round(float(digamma(1.0)), 12)  # minus the Euler-Mascheroni constant
        -0.577215664902
    """
    values = np.asarray(x, dtype=np.float64)
    big, steps = _shifted(values)
    inv2 = 1.0 / (big * big)
    series = np.zeros_like(big)
    for coef in reversed(_DIGAMMA):
        series = series * inv2 + coef
    result = np.log(big) - 0.5 / big - series * inv2
    for k in range(int(steps.max(initial=0.0))):
        result -= np.where(steps > k, 1.0 / (values + k), 0.0)
    return np.asarray(result, dtype=np.float64)


def log_hyp2f1(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    c: npt.ArrayLike,
    z: npt.ArrayLike,
    *,
    max_terms: int = 200_000,
) -> FloatArray:
    """``log 2F1(a, b; c; z)`` (Gauss's hypergeometric function) for ``0 <= z < 1``.

    Sums the power series; when Euler's transformation
    ``2F1(a, b; c; z) = (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z)`` has the
    smaller numerator parameters (the lifetime models' case: ``a`` and ``b``
    grow with a patient's visits, ``c - a`` and ``c - b`` do not) that series
    is summed instead (unless its terms would alternate in sign and the
    original's would not), so terms shrink from the start and the power of
    ``1 - z`` stays in log space. Each element stops once its term is below
    1e-16 of its sum. ``c`` must not be 0 or a negative integer; a value
    whose series sums to a negative number gives NaN.

    Example:
        >>> import math
        >>> z = 0.5
        >>> abs(float(log_hyp2f1(1.0, 1.0, 2.0, z)) - math.log(-math.log(1 - z) / z)) < 1e-14
        True
    """
    a_, b_, c_, z_ = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (a, b, c, z))
    )
    if np.any((z_ < 0) | (z_ >= 1)):
        raise ConfigError("hyp2f1 is only evaluated here for 0 <= z < 1")
    # A numerator parameter below -1 makes the terms alternate in sign for a
    # while (cancellation); otherwise smaller numerator parameters mean fewer terms.
    alternating = (a_ < -1) | (b_ < -1)
    euler_alternating = (c_ - a_ < -1) | (c_ - b_ < -1)
    euler = np.where(
        alternating != euler_alternating,
        ~euler_alternating,
        np.abs((c_ - a_) * (c_ - b_)) < np.abs(a_ * b_),
    )
    top_a = np.where(euler, c_ - a_, a_).ravel()
    top_b = np.where(euler, c_ - b_, b_).ravel()
    bottom = c_.ravel()
    zz = z_.ravel()
    total = np.ones_like(zz)
    term = np.ones_like(zz)
    active = np.flatnonzero(zz > 0)
    n = 0
    block = 8
    while active.size and n < max_terms:
        # A block of terms at once: each term is the previous one times the ratio
        # of consecutive terms, so a block is a cumulative product of ratios.
        # Blocks double up to _BLOCK: most rows need few terms, a few need many.
        steps = np.arange(block, dtype=np.float64)
        ta, tb, tc, tz = (v[active, None] for v in (top_a, top_b, bottom, zz))
        k = n + steps
        ratios = (ta + k) * (tb + k) / ((tc + k) * (k + 1.0)) * tz
        terms = term[active, None] * np.cumprod(ratios, axis=1)
        total[active] += terms.sum(axis=1)
        last = terms[:, -1]
        term[active] = last
        n += block
        block = min(2 * block, _BLOCK)
        # Stop once the term is negligible and the terms have started to shrink.
        ta, tb, tc, tz = ta[:, 0], tb[:, 0], tc[:, 0], tz[:, 0]
        shrinking = np.abs((ta + n) * (tb + n)) * tz < np.abs((tc + n) * (n + 1))
        done = (np.abs(last) <= 1e-17 * np.abs(total[active])) & shrinking
        active = active[~done]
    power = np.where(euler.ravel(), (bottom - a_.ravel() - b_.ravel()) * np.log1p(-zz), 0.0)
    with np.errstate(invalid="ignore"):
        logged = np.log(total) + power
    return np.asarray(logged.reshape(z_.shape), dtype=np.float64)
