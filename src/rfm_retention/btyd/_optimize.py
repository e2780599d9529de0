"""A small BFGS minimiser for the lifetime models' maximum-likelihood fits.

The models have three or four parameters, fitted as logarithms so every value
is allowed. BFGS with a backtracking (Armijo) line search and a bound on the
step length is enough for such smooth, low-dimensional objectives and keeps
the library free of scipy. Gradients are analytic where the model gives them,
else central differences (:func:`numeric_gradient`).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from rfm_retention._arrays import FloatArray

__all__ = ["Minimum", "minimize", "numeric_gradient"]

Objective = Callable[[FloatArray], tuple[float, FloatArray]]

_MAX_STEP = 3.0  # in log-parameter units: a factor of e^3 per iteration at most
_FLAT_GAIN = 1e-13  # relative decrease per iteration below which progress is nil
_FLAT_ITERATIONS = 5
_FLAT_GRADIENT = 1e-4


@attrs.frozen(eq=False)
class Minimum:
    """Where the minimiser stopped: the point, the value there, the gradient, iterations used."""

    x: FloatArray
    value: float
    gradient: FloatArray
    iterations: int
    converged: bool


def numeric_gradient(
    fun: Callable[[FloatArray], float], *, step: float = 1e-6
) -> Objective:
    """Wrap ``fun`` so it also returns its gradient by central differences.

    The step is relative to ``max(1, |x_i|)``, which for log-parameters keeps
    the truncation error near ``step**2`` and the rounding error near
    ``1e-16 / step``.

    Example:
        >>> import numpy as np
        >>> f = numeric_gradient(lambda x: float(np.sum(x ** 2)))
        >>> value, grad = f(np.array([1.0, -2.0]))
        >>> value, np.round(grad, 6).tolist()
        (5.0, [2.0, -4.0])
    """

    def value_and_gradient(x: FloatArray) -> tuple[float, FloatArray]:
        value = fun(x)
        grad = np.empty_like(x)
        for i in range(x.shape[0]):
            h = step * max(1.0, abs(float(x[i])))
            up, down = x.copy(), x.copy()
            up[i] += h
            down[i] -= h
            grad[i] = (fun(up) - fun(down)) / (2.0 * h)
        return value, grad

    return value_and_gradient


def minimize(
    objective: Objective,
    x0: FloatArray,
    *,
    gtol: float = 1e-9,
    max_iter: int = 1000,
    bounds: tuple[FloatArray, FloatArray] | None = None,
) -> Minimum:
    """Minimise a smooth function of a few variables with BFGS.

    ``objective(x)`` returns ``(value, gradient)``; a non-finite value marks a
    point outside the domain and shortens the step. Stops, converged, when
    every gradient component is below ``gtol``; when the line search can no
    longer decrease the value (the minimum to rounding); or when the value has
    stopped moving for several iterations with a small gradient (an optimum at
    infinity, where the parameters drift but the fit no longer changes).

    ``bounds`` (lower, upper) keep each variable inside a box: a variable that
    reaches a bound with the gradient pushing outward is held there and left
    out of the convergence test (a projected gradient), so a likelihood whose
    optimum lies at infinity stops at the bound instead of losing all its
    precision on the way.

    Example:
        >>> import numpy as np
        >>> def rosenbrock(x):
        ...     v = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        ...     g = np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
        ...                   200 * (x[1] - x[0] ** 2)])
        ...     return float(v), g
        >>> m = minimize(rosenbrock, np.array([-1.2, 1.0]))
        >>> m.converged, np.round(m.x, 6).tolist()
        (True, [1.0, 1.0])
    """
    lower, upper = (
        (np.full(len(x0), -np.inf), np.full(len(x0), np.inf)) if bounds is None else bounds
    )
    x = np.clip(np.asarray(x0, dtype=np.float64), lower, upper)

    def projected(g: FloatArray, at: FloatArray) -> FloatArray:
        held = ((at <= lower) & (g > 0)) | ((at >= upper) & (g < 0))
        return np.where(held, 0.0, g)

    value, grad = objective(x)
    if not np.isfinite(value) or not np.all(np.isfinite(grad)):
        return Minimum(x, value, grad, 0, False)
    inverse_hessian = np.eye(x.shape[0])
    flat = 0
    for iteration in range(1, max_iter + 1):
        free = projected(grad, x)
        if float(np.max(np.abs(free))) < gtol:
            return Minimum(x, value, grad, iteration - 1, True)
        direction = np.where(free == 0, 0.0, -inverse_hessian @ free)
        slope = float(free @ direction)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            inverse_hessian = np.eye(x.shape[0])
            direction, slope = -free, -float(free @ free)
        length = float(np.max(np.abs(direction)))
        step = min(1.0, _MAX_STEP / length) if length > 0 else 1.0
        while True:
            candidate = np.clip(x + step * direction, lower, upper)
            new_value, new_grad = objective(candidate)
            if (
                np.isfinite(new_value)
                and np.all(np.isfinite(new_grad))
                and new_value <= value + 1e-4 * step * slope
            ):
                break
            step *= 0.5
            if step * length < 1e-14:
                # No decrease left along a descent direction: at the minimum to
                # rounding, or (a variable at its bound) on the flat ridge towards
                # an optimum at infinity, where rounding hides what is left to gain.
                largest = float(np.max(np.abs(free)))
                at_bound = bool(np.any((x <= lower) | (x >= upper)))
                small = largest < max(gtol, _FLAT_GRADIENT * (10.0 if at_bound else 1.0))
                return Minimum(x, value, grad, iteration, small)
        s = candidate - x
        y = new_grad - grad
        sy = float(s @ y)
        if sy > 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(y)):
            if iteration == 1:
                inverse_hessian = np.eye(x.shape[0]) * (sy / float(y @ y))
            rho = 1.0 / sy
            left = np.eye(x.shape[0]) - rho * np.outer(s, y)
            inverse_hessian = left @ inverse_hessian @ left.T + rho * np.outer(s, s)
        gain = value - new_value
        flat = flat + 1 if gain <= _FLAT_GAIN * max(1.0, abs(value)) else 0
        x, value, grad = candidate, new_value, new_grad
        if flat >= _FLAT_ITERATIONS and float(np.max(np.abs(projected(grad, x)))) < _FLAT_GRADIENT:
            # The value no longer moves while parameters drift: the optimum lies at
            # infinity (say a Beta mixing distribution collapsing to one value), and
            # any point here fits as well as the limit.
            return Minimum(x, value, grad, iteration, True)
    return Minimum(x, value, grad, max_iter, float(np.max(np.abs(projected(grad, x)))) < gtol)
