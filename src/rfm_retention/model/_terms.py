"""One term of the additive model: a piecewise-linear curve of one input, plus its "missing" effect.

A numeric input ``v`` is clipped to its training range ``[lo, hi]`` (1st and
99th percentiles) and expanded into a linear part and hinges
``max(v - knot, 0)`` at quantile knots, so the model can bend each curve
where the data say (a risk that rises with the silence and then flattens, a
spend effect that flips sign) without any sign constraint. Every basis column
is standardised with its training mean and spread, which makes a term's
contribution zero for a typical patient and lets one L2 strength fit all.

A patient with no value (no signal from an indicator, one visit so no
interval, no lifetime estimate) gets the term's **missing coefficient**
instead of the curve: missing data has its own learned effect and never
passes for "all well". A flag input (0/1) is one column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray

__all__ = ["Term", "TermSpec", "describe_value"]

Kind = Literal["numeric", "flag"]

DEFAULT_KNOTS = 5
_CLIP_QUANTILES = (0.01, 0.99)


@attrs.frozen
class TermSpec:
    """An input column of the model: its name, what it means in words and its kind.

    ``transform`` says how the raw figure was turned into the column (``"log1p"``:
    ``log(1 + x)``; ``"none"``), so explanations can print the raw figure.
    """

    name: str
    description: str
    kind: Kind = "numeric"
    transform: Literal["none", "log1p", "signed_log1p"] = "none"

    def raw(self, value: float) -> float:
        """The figure before the transform (what a person reads)."""
        if self.transform == "log1p":
            return float(np.expm1(value))
        if self.transform == "signed_log1p":
            return float(np.sign(value) * np.expm1(abs(value)))
        return float(value)


def describe_value(spec: TermSpec, value: float) -> str:
    """``"days since last visit 120"``, ``"one visit only: yes"``, ``"no ...: no data"``.

    Example:
        >>> describe_value(TermSpec("x", "visits in the last year", transform="log1p"), np.log(4))
        'visits in the last year 3'
    """
    if np.isnan(value):
        return f"{spec.description}: no data"
    if spec.kind == "flag":
        return f"{spec.description}: {'yes' if value > 0.5 else 'no'}"
    raw = spec.raw(value)
    text = f"{raw:.0f}" if abs(raw) >= 10 or float(raw).is_integer() else f"{raw:.2f}"
    return f"{spec.description} {text}"


@attrs.frozen(eq=False)
class Term:
    """A fitted term: the basis it expands its input into and the coefficients on it.

    Attributes:
        spec: the input column.
        lo, hi: training range the input is clipped to.
        knots: hinge positions (numeric terms).
        center, scale: per basis column, the training mean and spread.
        coefficients: per basis column, the log-odds weight (standardised units).
        missing_coefficient: log-odds effect of having no value (0 when the
            training data had no missing value).
    """

    spec: TermSpec
    lo: float
    hi: float
    knots: tuple[float, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]
    coefficients: tuple[float, ...] = ()
    missing_coefficient: float = 0.0
    has_missing: bool = False

    @property
    def width(self) -> int:
        """Columns this term adds to the design matrix (basis plus the missing flag)."""
        return len(self.center) + int(self.has_missing)

    @classmethod
    def learn(cls, spec: TermSpec, values: FloatArray, n_knots: int = DEFAULT_KNOTS) -> Term | None:
        """The term's basis from training values; None when the input is constant there."""
        seen = values[~np.isnan(values)]
        has_missing = bool(seen.shape[0] < values.shape[0])
        if seen.shape[0] == 0:
            return None
        if spec.kind == "flag":
            lo, hi = float(seen.min()), float(seen.max())
            knots: tuple[float, ...] = ()
        else:
            lo, hi = (float(q) for q in np.quantile(seen, _CLIP_QUANTILES))
            if hi <= lo:
                lo, hi = float(seen.min()), float(seen.max())
            inside = np.clip(seen, lo, hi)
            qs = np.quantile(inside, np.linspace(0, 1, n_knots + 2)[1:-1])
            knots = tuple(float(k) for k in np.unique(qs) if lo < k < hi)
        if hi <= lo and not has_missing:
            return None
        draft = cls(spec, lo, hi, knots, (), (), has_missing=has_missing)
        basis = draft._raw_basis(seen) if hi > lo else np.zeros((seen.shape[0], 0))
        center = basis.mean(axis=0)
        scale = basis.std(axis=0)
        keep = scale > 1e-12 * max(1.0, hi - lo)
        if not keep.all():  # a hinge with no data beyond it: drop it
            knots = tuple(k for k, kept in zip(knots, keep[1:], strict=True) if kept)
            if not keep[0]:
                knots, center, scale = (), center[:0], scale[:0]
            else:
                center, scale = center[keep], scale[keep]
        if center.shape[0] == 0 and not has_missing:
            return None
        return cls(
            spec, lo, hi, knots, tuple(center.tolist()), tuple(scale.tolist()),
            has_missing=has_missing,
        )

    def _raw_basis(self, values: FloatArray) -> FloatArray:
        v = np.clip(values, self.lo, self.hi)
        cols = [v, *(np.maximum(v - k, 0.0) for k in self.knots)]
        return np.column_stack(cols) if cols else np.zeros((values.shape[0], 0))

    def basis(self, values: FloatArray, out: npt.NDArray[np.floating] | None = None) -> Any:
        """Standardised basis columns (missing rows 0) and, if any, the missing flag."""
        n = values.shape[0]
        result = np.zeros((n, self.width)) if out is None else out
        missing = np.isnan(values)
        k = len(self.center)
        if k:
            filled = np.where(missing, self.lo, values)
            raw = self._raw_basis(filled)[:, :k]
            std = (raw - np.asarray(self.center)) / np.asarray(self.scale)
            std[missing] = 0.0
            result[:, :k] = std
        if self.has_missing:
            result[:, k] = missing
        return result

    def with_coefficients(self, beta: FloatArray) -> Term:
        """The term with its slice of the fitted coefficients."""
        k = len(self.center)
        return attrs.evolve(
            self,
            coefficients=tuple(float(b) for b in beta[:k]),
            missing_coefficient=float(beta[k]) if self.has_missing else 0.0,
        )

    def contribution(self, values: FloatArray) -> FloatArray:
        """Log-odds this term adds for each value (0 for a typical patient)."""
        beta = np.array([*self.coefficients, *([self.missing_coefficient] * self.has_missing)])
        out: FloatArray = np.asarray(self.basis(values), np.float64) @ beta
        return out

    def curve(self, points: int = 9) -> list[tuple[float, float]]:
        """(raw input, log-odds) at evenly spaced points of the training range, for reports."""
        if self.spec.kind == "flag" or not self.center:
            grid = np.array([self.lo, self.hi])
        else:
            grid = np.linspace(self.lo, self.hi, points)
        effect = self.contribution(grid)
        return [(self.spec.raw(g), float(c)) for g, c in zip(grid, effect, strict=True)]

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "name": self.spec.name,
            "description": self.spec.description,
            "kind": self.spec.kind,
            "transform": self.spec.transform,
            "lo": self.lo,
            "hi": self.hi,
            "knots": list(self.knots),
            "center": list(self.center),
            "scale": list(self.scale),
            "coefficients": list(self.coefficients),
            "missing_coefficient": self.missing_coefficient,
            "has_missing": self.has_missing,
        }

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> Term:
        """The term back from :meth:`to_mapping`."""
        spec = TermSpec(str(m["name"]), str(m["description"]), m["kind"], m["transform"])
        return cls(
            spec,
            float(m["lo"]),
            float(m["hi"]),
            tuple(float(v) for v in m["knots"]),
            tuple(float(v) for v in m["center"]),
            tuple(float(v) for v in m["scale"]),
            tuple(float(v) for v in m["coefficients"]),
            float(m["missing_coefficient"]),
            bool(m["has_missing"]),
        )
