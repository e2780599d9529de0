"""The trainable score: weights learned from history, as a score policy.

The documents want the score's weights "trainable on historical churn data
and re-calibrated periodically". :class:`ScoreTrainer` fits a regularised
logistic regression (numpy only, Newton's method, deterministic) of *churned
afterwards* on the indicator severities at a past date:

    P(churn) = sigmoid(b + sum_i w_i * severity_i + sum_d m_d * no_data_d)

- ``severity_i`` is each indicator's severity (0 where the patient has no
  signal for it);
- ``no_data_d`` is 1 where the patient has no signal in dimension ``d`` (so
  missing data gets its own learned effect instead of passing for "all well");
- the L2 penalty ``l2 / 2 * |w|^2`` (not on the intercept) keeps weights finite
  when an indicator separates the classes perfectly;
- with ``nonnegative=True`` (default) severity weights are constrained to be
  >= 0 (an active-set refit), so a worse signal never lowers the score; an
  indicator the history finds unhelpful gets weight 0.

The fitted :class:`LearnedScorePolicy` scores ``100 * P(churn)`` and grades it
with the usual cut-offs. Re-calibrate by fitting again on a newer date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray
from rfm_retention.data import PatientData
from rfm_retention.errors import ConfigError
from rfm_retention.risk._indicator import Indicator
from rfm_retention.risk._panel import IndicatorPanel, evaluate
from rfm_retention.risk._policy import (
    SPEC_CUTOFFS,
    RiskAssessment,
    check_cutoffs,
    levels_from_scores,
)
from rfm_retention.risk._registry import IndicatorSet
from rfm_retention.risk._score import DIMENSIONS, dimension_scores
from rfm_retention.time import TimeLike, as_date
from rfm_retention.vocabulary import Dimension

__all__ = ["CoefficientReport", "LearnedScorePolicy", "ScoreTrainer", "labels_for"]

Labels = Mapping[Any, bool] | tuple[Sequence[Any] | npt.NDArray[Any], Sequence[bool] | Any]


def _design(panel: IndicatorPanel, names: Sequence[str]) -> FloatArray:
    """Columns: intercept, one severity per named indicator, one no-data flag per dimension."""
    sev = [np.where(panel[n].signal, panel[n].severity, 0.0) for n in names]
    no_data = np.isnan(dimension_scores(panel)).astype(np.float64)
    return np.column_stack([np.ones(len(panel)), *sev, *no_data])


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


@attrs.frozen
class CoefficientReport:
    """The fitted model in numbers: one row per term, plus fit statistics.

    Attributes:
        terms: ``"intercept"``, indicator names, ``"no data: <dimension>"``.
        coefficients: the log-odds weights.
        n_patients: labelled patients used.
        n_churned: of which churned.
        log_loss: mean negative log-likelihood on the training data.
        iterations: Newton iterations used (summed over active-set refits).
    """

    terms: tuple[str, ...]
    coefficients: tuple[float, ...]
    n_patients: int
    n_churned: int
    log_loss: float
    iterations: int

    def odds_ratios(self) -> dict[str, float]:
        """``exp(coefficient)`` per term: how much the odds of churn multiply per unit."""
        return {t: float(np.exp(c)) for t, c in zip(self.terms, self.coefficients, strict=True)}

    def __str__(self) -> str:
        width = max(len(t) for t in self.terms)
        lines = [
            f"learned churn score: {self.n_patients} patients, {self.n_churned} churned, "
            f"log-loss {self.log_loss:.4f}, {self.iterations} iterations",
            f"  {'term':<{width}}  coefficient  odds ratio",
        ]
        for t, c in zip(self.terms, self.coefficients, strict=True):
            lines.append(f"  {t:<{width}}  {c:11.4f}  {np.exp(c):10.3f}")
        return "\n".join(lines)


def _optional_date(value: TimeLike | None) -> dt.date | None:
    return None if value is None else as_date(value)


def _names(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _floats(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


@attrs.frozen
class LearnedScorePolicy:
    """A score policy with learned weights: score = 100 x predicted churn probability.

    Build it with :class:`ScoreTrainer`; it can also be written by hand (or
    stored and reloaded from :meth:`to_mapping`).

    Example:
        >>> policy = LearnedScorePolicy(("interval_extension",), -2.0, (3.0,), (0.0,) * 4)
        >>> policy.report_terms()[:3]
        ('intercept', 'interval_extension', 'no data: behaviour')
    """

    name: ClassVar[str] = "learned"

    indicators: tuple[str, ...] = attrs.field(converter=_names)
    intercept: float = attrs.field(converter=float)
    coefficients: tuple[float, ...] = attrs.field(converter=_floats)
    missing_coefficients: tuple[float, ...] = attrs.field(converter=_floats)
    cutoffs: tuple[float, float, float] = attrs.field(default=SPEC_CUTOFFS, converter=check_cutoffs)
    report: CoefficientReport | None = attrs.field(default=None, eq=False)
    labels_until: dt.date | None = attrs.field(default=None, converter=_optional_date)
    """The last day the training labels read (set by the backtest's trainer): the
    policy is not backtested before it."""

    def __attrs_post_init__(self) -> None:
        if len(self.coefficients) != len(self.indicators):
            raise ConfigError("one coefficient per indicator is needed")
        if len(self.missing_coefficients) != len(DIMENSIONS):
            raise ConfigError(f"one no-data coefficient per dimension ({len(DIMENSIONS)})")

    def report_terms(self) -> tuple[str, ...]:
        """Term names in coefficient order (intercept first)."""
        return ("intercept", *self.indicators, *(f"no data: {d.value}" for d in DIMENSIONS))

    def validate(self, indicators: IndicatorSet) -> None:
        """Every indicator the model was trained on must be in the scan."""
        missing = [n for n in self.indicators if n not in indicators]
        if missing:
            raise ConfigError(
                f"the learned score needs indicator(s) {missing}, which the scan does not run"
            )

    def probabilities(self, panel: IndicatorPanel) -> FloatArray:
        """Predicted churn probability of every patient of ``panel``."""
        beta = np.array([self.intercept, *self.coefficients, *self.missing_coefficients])
        return _sigmoid(_design(panel, self.indicators) @ beta)

    def assess(self, panel: IndicatorPanel) -> RiskAssessment:
        """Score = 100 x probability, graded by :attr:`cutoffs`."""
        score = 100.0 * self.probabilities(panel)
        return RiskAssessment(levels_from_scores(score, self.cutoffs), score,
                              patients=panel.patients)

    def weights_by_dimension(self) -> dict[Dimension, float]:
        """Learned severity weights summed per dimension, normalised to sum 1 (for comparison
        with the documents' 40/30/20/10); empty when every weight is 0."""
        from rfm_retention.risk._registry import default_indicators

        known = {i.name: i.dimension for i in default_indicators()}
        totals = {d: 0.0 for d in DIMENSIONS}
        for n, c in zip(self.indicators, self.coefficients, strict=True):
            if n in known:
                totals[known[n]] += max(c, 0.0)
        total = sum(totals.values())
        return {d: v / total for d, v in totals.items()} if total > 0 else {}

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready parameters (re-create with ``LearnedScorePolicy(**mapping)``)."""
        return {
            "indicators": list(self.indicators),
            "intercept": self.intercept,
            "coefficients": list(self.coefficients),
            "missing_coefficients": list(self.missing_coefficients),
            "cutoffs": list(self.cutoffs),
            "labels_until": None if self.labels_until is None else self.labels_until.isoformat(),
        }


def labels_for(panel: IndicatorPanel, labels: Labels) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """(panel rows, 0/1 outcomes) of the labelled patients; ConfigError for unknown patients."""
    if isinstance(labels, Mapping):
        ids = np.array(list(labels.keys()))
        flags = np.array([bool(v) for v in labels.values()])
    else:
        ids_raw, flags_raw = labels
        ids, flags = np.asarray(ids_raw), np.asarray(flags_raw).astype(bool)
        if ids.shape != flags.shape:
            raise ConfigError("labels: patient ids and churn flags must have the same length")
    if ids.shape[0] == 0:
        raise ConfigError("labels: no labelled patients")
    if len(np.unique(ids)) != len(ids):
        raise ConfigError("labels: a patient is labelled twice")
    rows = np.searchsorted(panel.patients, ids)
    found = rows < len(panel)
    found[found] = panel.patients[rows[found]] == ids[found]
    if not found.all():
        raise ConfigError(
            f"labels: {int((~found).sum())} labelled patient(s) are not in the data, "
            f"e.g. {ids[~found][:3].tolist()}"
        )
    order = np.argsort(rows, kind="stable")
    return rows[order].astype(np.int64), flags[order].astype(np.float64)


@attrs.frozen
class ScoreTrainer:
    """Fits a :class:`LearnedScorePolicy` by L2-regularised logistic regression.

    Attributes:
        l2: penalty strength on the weights (not the intercept); > 0.
        nonnegative: constrain severity weights to >= 0 (monotone score).
        max_iter: Newton iterations per fit.
        tol: stop when the largest step is below this.
        cutoffs: cut-offs of the resulting policy.

    Example:
        >>> trainer = ScoreTrainer(l2=0.5)
        >>> trainer.l2
        0.5

        Fit on history (``churned`` maps patient ids to True/False)::

            policy = ScoreTrainer().fit(data, "2023-12-31", churned)
            print(policy.report)
            warnings = scan(data, "2024-06-30", policy=policy)
    """

    l2: float = 1.0
    nonnegative: bool = True
    max_iter: int = 100
    tol: float = 1e-9
    cutoffs: tuple[float, float, float] = attrs.field(default=SPEC_CUTOFFS, converter=check_cutoffs)

    def __attrs_post_init__(self) -> None:
        if not (self.l2 > 0 and np.isfinite(self.l2)):
            raise ConfigError("l2 must be a finite number > 0")
        if self.max_iter < 1:
            raise ConfigError("max_iter must be at least 1")

    def fit(
        self,
        data: PatientData,
        as_of: TimeLike,
        labels: Labels,
        indicators: IndicatorSet | Sequence[Indicator] | None = None,
    ) -> LearnedScorePolicy:
        """Evaluate the indicators on ``data`` as of ``as_of`` and fit to ``labels``.

        ``labels`` is ``{patient_id: churned}`` or ``(patient_ids, churned_flags)``;
        patients without a label are left out. Raises ConfigError when every
        label is the same (nothing to learn from).
        """
        return self.fit_panel(evaluate(data, as_of, indicators), labels)

    def fit_panel(self, panel: IndicatorPanel, labels: Labels) -> LearnedScorePolicy:
        """Fit on an already evaluated panel (e.g. to reuse it for several trainers)."""
        rows, y = labels_for(panel, labels)
        churned = int(y.sum())
        if churned in (0, len(y)):
            which = "churned" if churned else "stayed"
            raise ConfigError(
                f"labels: all {len(y)} labelled patients {which}; the score needs both "
                "churned and retained patients to learn from"
            )
        names = panel.names
        x = _design(panel, names)[rows]
        k = len(names)
        free = np.ones(x.shape[1], bool)  # columns allowed to move
        beta = np.zeros(x.shape[1])
        iterations = 0
        for _ in range(k + 1):  # active-set refits: at most one per indicator
            beta, used = self._newton(x, y, free)
            iterations += used
            severity_part = beta[1 : 1 + k]
            negative = self.nonnegative and (severity_part < -1e-12) & free[1 : 1 + k]
            if not np.any(negative):
                break
            free[1 : 1 + k][negative] = False
        p = np.clip(_sigmoid(x @ beta), 1e-12, 1 - 1e-12)
        log_loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        coefficients = tuple(
            float(max(c, 0.0)) if self.nonnegative else float(c) for c in beta[1 : 1 + k]
        )
        policy = LearnedScorePolicy(
            indicators=names,
            intercept=float(beta[0]),
            coefficients=coefficients,
            missing_coefficients=tuple(float(c) for c in beta[1 + k :]),
            cutoffs=self.cutoffs,
        )
        report = CoefficientReport(
            terms=policy.report_terms(),
            coefficients=(policy.intercept, *coefficients, *policy.missing_coefficients),
            n_patients=len(y),
            n_churned=churned,
            log_loss=log_loss,
            iterations=iterations,
        )
        return attrs.evolve(policy, report=report)

    def _newton(
        self, x: FloatArray, y: FloatArray, free: npt.NDArray[np.bool_]
    ) -> tuple[FloatArray, int]:
        """Penalised Newton iterations over the free columns (others held at 0)."""
        xs = x[:, free]
        penalty = np.full(xs.shape[1], self.l2)
        penalty[0] = 0.0  # the intercept (always free, always first) is not penalised
        b = np.zeros(xs.shape[1])
        used = 0
        for used in range(1, self.max_iter + 1):  # noqa: B007 - used is reported
            p = _sigmoid(xs @ b)
            grad = xs.T @ (p - y) + penalty * b
            w = p * (1 - p)
            hess = (xs * w[:, None]).T @ xs + np.diag(penalty) + 1e-10 * np.eye(xs.shape[1])
            step = np.linalg.solve(hess, grad)
            b = b - step
            if np.max(np.abs(step)) < self.tol:
                break
        out = np.zeros(x.shape[1])
        out[free] = b
        return out, used
