"""Training the risk model on history, without peeking.

For each cut date ``t`` the trainer takes the data as it stood at the end of
``t``, the patients a backtest at ``t`` would judge (the active population by
default) and whether each left within the training horizon after ``t``. The
labels read visits up to ``t + train_horizon_days`` and no further; the model
records that day and will not score before it.

**Rolling origin.** Several cut dates are pooled (one row per patient and
date): more rows, and a model that has seen the seasons and the cohort's
drift instead of one snapshot. The trade-off: older dates describe an older
hospital, and the last date must leave its horizon inside the data, so the
freshest months never reach the labels.

**A shorter training horizon** (``train_horizon_days < horizon_days``) lets
a hospital with little history train on more recent dates (labels end sooner).
The ranking transfers well (who lapses in 60 days is mostly who lapses in 90);
the probabilities are for the shorter horizon and understate the longer one.

Calibration is fitted on a held-out slice of patients (by a hash of the id,
so a patient is in the same slice at every date), never on the rows the
curves were fitted on.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray
from rfm_retention.data import PatientData, as_patient_data
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._ranking import auc
from rfm_retention.metrics._replay import ChurnOutcome, data_until, outcome_labels
from rfm_retention.model._calibration import fit_calibration
from rfm_retention.model._fit import LogisticFit, fit_logistic
from rfm_retention.model._inputs import model_inputs
from rfm_retention.model._risk_model import RiskModel, TrainingRecord
from rfm_retention.model._terms import DEFAULT_KNOTS, Term, TermSpec
from rfm_retention.risk._registry import IndicatorSet
from rfm_retention.time import TimeLike, day_end, day_number, to_date

__all__ = ["AUTO_L2_MAX_ROWS", "DEFAULT_L2", "L2_GRID", "train_risk_model"]


DEFAULT_L2 = 10.0
"""Ridge penalty on the standardised basis columns (the intercept is free) when it is
not chosen on the held-out slice."""
L2_GRID = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
"""Penalties tried by ``l2="auto"`` (the one with the best held-out log-loss wins)."""
AUTO_L2_MAX_ROWS = 250_000
"""Above this many fitting rows ``l2="auto"`` uses :data:`DEFAULT_L2`: the penalty then
barely matters and one fit is enough."""
DEFAULT_HOLDOUT = 0.2


def _holdout_mask(ids: npt.NDArray[Any], share: float) -> npt.NDArray[np.bool_]:
    """A deterministic slice of patients by CRC-32 of the id text (same slice at every date)."""
    distinct, inverse = np.unique(ids, return_inverse=True)
    cut = int(share * 10_000)
    flags = np.array([zlib.crc32(str(v).encode()) % 10_000 < cut for v in distinct.tolist()], bool)
    out: npt.NDArray[np.bool_] = flags[inverse.reshape(-1)]
    return out


def train_risk_model(
    data: PatientData | Any,
    at: Sequence[TimeLike],
    *,
    horizon_days: int = 90,
    train_horizon_days: int | None = None,
    outcome: Literal["no_visit", "lapse"] | ChurnOutcome = "no_visit",
    population: Literal["active", "all"] = "active",
    indicators: IndicatorSet | None = None,
    lifetime: str | None = None,
    l2: float | Literal["auto"] = "auto",
    n_knots: int = DEFAULT_KNOTS,
    calibration: str = "platt",
    holdout: float = DEFAULT_HOLDOUT,
) -> RiskModel:
    """Fit the additive risk model on the cut dates ``at`` (pooled) and calibrate it.

    Args:
        data: the full history; each date only sees what was known by its end
            (a visit log or an engine table of visits is pulled once by
            :func:`~rfm_retention.data.as_patient_data`).
        at: cut dates (one or several, rolling origin).
        horizon_days: the horizon the model will score (the backtest's).
        train_horizon_days: the horizon of the training labels (default
            ``horizon_days``); shorter when history is short.
        outcome: ``"no_visit"`` (no visit within the horizon), ``"lapse"``, or
            a :class:`~rfm_retention.metrics.ChurnOutcome` (e.g. known churn days).
        population: ``"active"`` (not yet lapsed) or ``"all"`` patients seen.
        indicators: the indicators whose measurements are inputs (default: every built-in).
        lifetime: a patient-lifetime model whose outputs are inputs, or None.
        l2: ridge penalty (> 0), or ``"auto"`` (default): the best of
            :data:`L2_GRID` by held-out log-loss (:data:`DEFAULT_L2` on more
            than :data:`AUTO_L2_MAX_ROWS` rows or without a held-out slice).
        n_knots: hinge knots per numeric input.
        calibration: ``"platt"``, ``"isotonic"`` or ``"none"``.
        holdout: share of patients held out for calibration (0-0.5).

    Raises:
        ConfigError: with no dates, a horizon running past the data, labels of
            one class only, or inputs constant on every training patient.

    Example:
        >>> from rfm_retention.testing import synthetic_cohort
        >>> cohort = synthetic_cohort(600, seed=2)
        >>> model = train_risk_model(cohort.data, ["2023-01-31", "2023-03-31"], horizon_days=90)
        >>> len(model.training.train_dates), model.training.train_dates[0].isoformat()
        (2, '2023-01-31')
        >>> model.training.labels_until.isoformat()
        '2023-06-29'
    """
    if not at:
        raise ConfigError("give at least one training date")
    data = as_patient_data(data, what="train_risk_model")
    if l2 != "auto" and not (isinstance(l2, int | float) and l2 > 0 and np.isfinite(l2)):
        raise ConfigError(f"l2 must be a finite number > 0 or 'auto', got {l2!r}")
    if not 0.0 <= holdout <= 0.5:
        raise ConfigError(f"holdout must be a share between 0 and 0.5, got {holdout!r}")
    if calibration != "none" and holdout == 0:
        raise ConfigError("calibration needs held-out patients: set holdout > 0")
    label_horizon = horizon_days if train_horizon_days is None else int(train_horizon_days)
    if label_horizon < 1 or horizon_days < 1:
        raise ConfigError("horizons must be at least one day")
    base = outcome if isinstance(outcome, ChurnOutcome) else ChurnOutcome(kind=outcome)
    labelled = ChurnOutcome(
        kind=base.kind, horizon_days=label_horizon, rule=base.rule,
        churn_patient_id=base.churn_patient_id, churn_day=base.churn_day,
    )
    chosen = IndicatorSet.of(indicators)
    days = sorted({day_number(a) for a in at})
    last_day = int(data.visits.time.max().astype("datetime64[D]").astype(np.int64))
    specs: tuple[TermSpec, ...] | None = None
    blocks: list[FloatArray] = []
    outcomes: list[npt.NDArray[np.bool_]] = []
    ids: list[npt.NDArray[Any]] = []
    for day in days:
        if day + label_horizon > last_day:
            raise ConfigError(
                f"training at {to_date(day)} needs outcomes up to "
                f"{to_date(day + label_horizon)}, after the data's last visit "
                f"{to_date(last_day)}; train earlier or use a shorter train horizon"
            )
        labels = outcome_labels(
            data.visits, day, labelled, observed_until_day=day + label_horizon,
            population=population,
        )
        when = day_end(day)  # the day's instant, handed on without converting again
        past = data_until(data, when)
        x = model_inputs(
            past, when, indicators=chosen, lifetime=lifetime, horizon_days=horizon_days
        )
        if specs is None:
            specs = x.specs
        elif [s.name for s in x.specs] != [s.name for s in specs]:
            raise ConfigError("the sources differ between training dates; use one set of sources")
        rows = np.searchsorted(x.patient_id, labels.patient_id)
        blocks.append(x.values[rows])
        outcomes.append(labels.positive)
        ids.append(labels.patient_id)
    if specs is None:
        raise RuntimeError("internal: specs is unset")
    values = np.concatenate(blocks)
    y = np.concatenate(outcomes).astype(np.float64)
    patient = np.concatenate(ids)
    positives = int(y.sum())
    if positives in (0, len(y)):
        which = "left" if positives else "stayed"
        raise ConfigError(
            f"labels: all {len(y)} training patients {which}; the model needs patients who "
            "left and patients who stayed (choose other dates or another horizon)"
        )
    held = _holdout_mask(patient, holdout) if holdout > 0 else np.zeros(len(y), bool)
    fit_rows = ~held
    if y[fit_rows].min() == y[fit_rows].max():
        raise ConfigError("labels: the fitting rows are all of one class; use more patients")

    terms = [Term.learn(s, values[fit_rows, j], n_knots) for j, s in enumerate(specs)]
    kept = [(j, t) for j, t in enumerate(terms) if t is not None]
    if not kept:
        raise ConfigError(
            f"every input is constant on the {int(fit_rows.sum())} training patients at "
            f"{', '.join(str(to_date(d)) for d in days)}: nothing to learn from (the data "
            "may hold too little history by those dates)"
        )
    design = _design(values, kept)
    x_fit, y_fit = design[fit_rows], y[fit_rows]
    if l2 != "auto":
        chosen_l2 = float(l2)
        fit = fit_logistic(x_fit, y_fit, l2=chosen_l2)
    elif held.any() and x_fit.shape[0] <= AUTO_L2_MAX_ROWS:
        chosen_l2, fit = _best_penalty(x_fit, y_fit, design[held], y[held])
    else:
        chosen_l2 = DEFAULT_L2
        fit = fit_logistic(x_fit, y_fit, l2=chosen_l2)
    beta = fit.coefficients
    fitted: list[Term] = []
    start = 1
    for _, term in kept:
        fitted.append(term.with_coefficients(beta[start : start + term.width]))
        start += term.width
    z = design @ beta
    cal = fit_calibration(z[held], y[held], calibration) if calibration != "none" else (
        fit_calibration(z[fit_rows], y[fit_rows], "none")
    )
    check = held if held.any() else fit_rows
    p = np.clip(cal.probability(z[check]), 1e-12, 1 - 1e-12)
    yc = y[check]
    record = TrainingRecord(
        train_dates=[to_date(d) for d in days],
        horizon_days=horizon_days,
        train_horizon_days=label_horizon,
        labels_until=to_date(days[-1] + label_horizon),
        outcome=labelled.kind,
        population=population,
        rows=len(y),
        positives=positives,
        holdout_rows=int(held.sum()),
        l2=chosen_l2,
        iterations=fit.iterations,
        train_log_loss=fit.log_loss,
        holdout_log_loss=float(-np.mean(yc * np.log(p) + (1 - yc) * np.log(1 - p))),
        holdout_auc=auc(z[check], yc > 0.5),
    )
    return RiskModel(
        terms=tuple(fitted),
        intercept=float(beta[0]),
        calibration=cal,
        training=record,
        indicators=tuple(ind.name for ind in chosen),
        lifetime=lifetime,
    )


def _best_penalty(
    x_fit: npt.NDArray[np.float32], y_fit: FloatArray,
    x_held: npt.NDArray[np.float32], y_held: FloatArray,
) -> tuple[float, LogisticFit]:
    """The penalty of :data:`L2_GRID` with the lowest held-out log-loss, and its fit."""
    best: tuple[float, float, LogisticFit] | None = None
    for penalty in L2_GRID:
        fit = fit_logistic(x_fit, y_fit, l2=penalty)
        z = np.asarray(x_held, np.float64) @ fit.coefficients
        loss = float(np.mean(np.where(y_held > 0.5, np.logaddexp(0, -z), np.logaddexp(0, z))))
        if best is None or loss < best[0] - 1e-9:
            best = (loss, penalty, fit)
    if best is None:
        raise RuntimeError("internal: best is unset")
    return best[1], best[2]


def _design(values: FloatArray, kept: list[tuple[int, Term]]) -> npt.NDArray[np.float32]:
    """Intercept plus every kept term's basis, as float32 (half the memory at 1M patients)."""
    width = 1 + sum(t.width for _, t in kept)
    out = np.empty((values.shape[0], width), np.float32)
    out[:, 0] = 1.0
    start = 1
    for j, term in kept:
        out[:, start : start + term.width] = term.basis(values[:, j])
        start += term.width
    return out


