"""The trained risk model: additive log-odds terms, a calibration, and what it was trained on.

``log-odds = intercept + sum_j term_j(input_j)`` and
``P(churn) = calibration(log-odds)``. Every term is a curve of one input (see
:mod:`~rfm_retention.model._terms`), so each warning can say how much each
figure moved the odds ("silence ÷ own usual interval 3.2: +0.90").

The model carries its :class:`TrainingRecord`: the cut dates it learned from,
the label horizon, and the last day its labels read. It refuses to score a
date before that day, whatever the caller passes, so it cannot be backtested
on outcomes it was trained on. It saves to JSON with a schema version (no
pickle: a model file is data, safe to load from anywhere).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray
from rfm_retention._tabular import Tabular, row_position
from rfm_retention.data import PatientData, as_patient_data
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.model._calibration import Calibration
from rfm_retention.model._inputs import ModelInputs, model_inputs
from rfm_retention.model._terms import Term, describe_value
from rfm_retention.risk._odds import ChurnOdds, trailing_year_spend
from rfm_retention.risk._panel import IndicatorPanel
from rfm_retention.risk._registry import IndicatorSet
from rfm_retention.time import TimeLike, as_date, as_instant, day_end

__all__ = [
    "SCHEMA_VERSION",
    "RiskModel",
    "RiskPrediction",
    "TermContribution",
    "TrainingRecord",
]


SCHEMA_VERSION = 1
"""Version of the JSON model file; :meth:`RiskModel.from_json` refuses other versions."""

_FORMAT = "rfm_retention.risk_model"
EXPLAINED_TERMS = 3
"""Terms named on each warning: the three that move its odds most."""


def _date(value: TimeLike) -> dt.date:
    return as_date(value)


def _dates(values: Sequence[TimeLike]) -> tuple[dt.date, ...]:
    return tuple(as_date(v) for v in values)


@attrs.frozen
class TrainingRecord:
    """What a model was trained on, and so the earliest date it may judge.

    Attributes:
        train_dates: the cut dates the rows came from (rolling origin when several).
        horizon_days: the horizon the model is meant to score (the backtest's).
        train_horizon_days: the horizon its labels looked at (may be shorter).
        labels_until: the last day any label read (``max(train_dates) +
            train_horizon_days``); the model scores only on or after it.
        outcome: ``"no_visit"``, ``"lapse"`` or ``"known"``.
        population: ``"active"`` or ``"all"``.
        rows: labelled (patient, date) rows; ``positives`` of them left.
        holdout_rows: rows held out for calibration.
        l2: penalty strength.
        iterations: Newton iterations of the fit.
        train_log_loss: mean log-loss on the fitting rows (uncalibrated).
        holdout_log_loss, holdout_auc: on the held-out rows (calibrated).
    """

    train_dates: tuple[dt.date, ...] = attrs.field(converter=_dates)
    horizon_days: int
    train_horizon_days: int
    labels_until: dt.date = attrs.field(converter=_date)
    outcome: str
    population: str
    rows: int
    positives: int
    holdout_rows: int
    l2: float
    iterations: int
    train_log_loss: float
    holdout_log_loss: float
    holdout_auc: float

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready fields (dates as ISO text)."""
        out = attrs.asdict(self)
        out["train_dates"] = [d.isoformat() for d in self.train_dates]
        out["labels_until"] = self.labels_until.isoformat()
        return out


@attrs.frozen
class TermContribution:
    """One term's part in one patient's log-odds, with the figure behind it in words."""

    term: str
    text: str
    log_odds: float

    def __str__(self) -> str:
        return f"{self.text}: {self.log_odds:+.2f}"


@attrs.frozen(eq=False)
class RiskPrediction(Tabular):
    """The model's verdict on every patient of a bundle as of a date.

    Attributes:
        as_of: the instant judged (``datetime64[s]``: the end of the day the
            model reads, as on every result).
        patient_id: rows (the bundle's patients, sorted).
        probability: calibrated P(churn) per patient.
        log_odds: the uncalibrated additive score.
        contributions: (patients, terms) log-odds per term.
        model: the model that judged.
        inputs: the input columns read (the indicator panel among them).
    """

    as_of: np.datetime64 = attrs.field(converter=as_instant)
    patient_id: IdArray
    probability: FloatArray
    log_odds: FloatArray
    contributions: FloatArray
    model: RiskModel
    inputs: ModelInputs

    def row_of(self, patient_id: Any) -> int:
        """Row of one patient; KeyError when absent."""
        missing = f"patient {patient_id!r} is not in the data"
        return row_position(self.patient_id, patient_id, missing)

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """``patient_id``, the calibrated ``probability`` and the additive ``log_odds``."""
        return {"patient_id": self.patient_id, "probability": self.probability,
                "log_odds": self.log_odds}

    def explain(self, row: int, top: int | None = None) -> tuple[TermContribution, ...]:
        """Each term's contribution for the patient at ``row``, largest effect first."""
        out = []
        for k, term in enumerate(self.model.terms):
            value = float(self.inputs.column_or_missing(term.spec.name)[row])
            out.append(TermContribution(
                term.spec.name, describe_value(term.spec, value), float(self.contributions[row, k])
            ))
        out.sort(key=lambda c: (-abs(c.log_odds), c.term))
        return tuple(out if top is None else out[:top])


@attrs.frozen(eq=False)
class RiskModel:
    """A trained, calibrated churn-risk model (build it with :func:`train_risk_model`).

    Attributes:
        terms: the additive terms, in input order.
        intercept: log-odds of a typical patient.
        calibration: log-odds -> probability.
        training: what it was trained on (see :class:`TrainingRecord`).
        indicators: names of the indicators whose measurements it reads.
        lifetime: the patient-lifetime model whose outputs it reads, or None.

    Example:
        >>> from rfm_retention.testing import synthetic_cohort
        >>> from rfm_retention.model import train_risk_model
        >>> cohort = synthetic_cohort(600, seed=4)
        >>> model = train_risk_model(cohort.data, ["2023-03-31"], horizon_days=90)
        >>> model.training.labels_until.isoformat()
        '2023-06-29'
        >>> prediction = model.predict(cohort.data, "2023-09-30")
        >>> bool(((prediction.probability > 0) & (prediction.probability < 1)).all())
        True
        >>> RiskModel.from_json(model.to_json()).intercept == model.intercept
        True
    """

    terms: tuple[Term, ...]
    intercept: float
    calibration: Calibration
    training: TrainingRecord
    indicators: tuple[str, ...]
    lifetime: str | None = None

    def check_date(self, as_of: TimeLike) -> dt.date:
        """``as_of`` as a date; ConfigError when it is before the last day the labels read."""
        day = as_date(as_of)
        until = self.training.labels_until
        if day < until:
            raise ConfigError(
                f"this model's training labels read outcomes up to {until}; it cannot judge "
                f"{day} (it would be scored on what it was trained on). Score on or after "
                f"{until}, or train at earlier dates"
            )
        return day

    def inputs(
        self,
        data: PatientData | Any,
        as_of: TimeLike,
        *,
        indicators: IndicatorSet | None = None,
        panel: IndicatorPanel | None = None,
    ) -> ModelInputs:
        """The input columns the model reads, for every patient of ``data`` as of ``as_of``.

        ``data`` is a bundle, a visit log or an engine table of visits (pulled
        once by :func:`~rfm_retention.data.as_patient_data`).
        """
        chosen = IndicatorSet.of(indicators)
        missing = [n for n in self.indicators if n not in chosen]
        if missing:
            raise ConfigError(
                f"the model reads indicator(s) {missing}, which are not among those given"
            )
        return model_inputs(
            as_patient_data(data, what="RiskModel"), as_of,
            indicators=chosen, lifetime=self.lifetime,
            horizon_days=self.training.horizon_days, panel=panel,
        )

    def predict(
        self,
        data: PatientData | Any,
        as_of: TimeLike,
        *,
        indicators: IndicatorSet | None = None,
        panel: IndicatorPanel | None = None,
    ) -> RiskPrediction:
        """P(churn) of every patient of ``data`` as of ``as_of`` (refused before
        :attr:`TrainingRecord.labels_until`; ``data`` as for :meth:`inputs`)."""
        day = self.check_date(as_of)  # the one conversion (none when handed the instant)
        instant = day_end(day)
        data = as_patient_data(data, what="RiskModel.predict")
        x = self.inputs(data, instant, indicators=indicators, panel=panel)
        contributions = np.column_stack(
            [t.contribution(x.column_or_missing(t.spec.name)) for t in self.terms]
        ) if self.terms else np.zeros((len(x.patient_id), 0))
        z = self.intercept + contributions.sum(axis=1)
        return RiskPrediction(
            instant, x.patient_id, self.calibration.probability(z), z, contributions, self, x
        )

    def churn_odds(
        self, data: PatientData | Any, as_of: TimeLike, panel: IndicatorPanel | None = None
    ) -> ChurnOdds:
        """P(churn) and expected 12-month spend for the scan (see ``scan(..., model=)``).

        The expected spend is the lifetime model's when the model reads one,
        otherwise the spend of the last 12 months (the run rate).
        """
        data = as_patient_data(data, what="RiskModel.churn_odds")
        prediction = self.predict(data, as_of, panel=panel)
        spend = prediction.inputs.expected_spend_12m
        if np.isnan(spend).all():
            spend = trailing_year_spend(data, prediction.as_of)
        def explain_row(row: int) -> str:
            return "; ".join(str(c) for c in prediction.explain(row, top=EXPLAINED_TERMS))

        return ChurnOdds(prediction.probability, spend, "trained model", explain_row)

    def __str__(self) -> str:
        t = self.training
        dates = ", ".join(d.isoformat() for d in t.train_dates)
        lines = [
            f"risk model: {len(self.terms)} terms; trained at {dates}; "
            f"labels: {t.outcome} within {t.train_horizon_days} days "
            f"(scoring horizon {t.horizon_days}), read up to {t.labels_until}",
            f"  {t.rows} rows, {t.positives} positive ({t.positives / max(t.rows, 1):.1%}); "
            f"{t.holdout_rows} held out for {self.calibration.method} calibration",
            f"  fit: l2 {t.l2:g}, {t.iterations} Newton iterations, log-loss {t.train_log_loss:.4f}"
            f"; held out: log-loss {t.holdout_log_loss:.4f}, AUC {t.holdout_auc:.3f}",
            f"  intercept {self.intercept:+.3f}",
            "  term (effect range over the training range, log-odds):",
        ]
        for term in sorted(self.terms, key=_spread, reverse=True):
            curve = term.curve()
            lo, hi = min(c for _, c in curve), max(c for _, c in curve)
            miss = f", no data {term.missing_coefficient:+.2f}" if term.has_missing else ""
            lines.append(f"    {term.spec.description:<44} {lo:+.2f} .. {hi:+.2f}{miss}")
        return "\n".join(lines)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready description of the whole model."""
        return {
            "format": _FORMAT,
            "schema_version": SCHEMA_VERSION,
            "intercept": self.intercept,
            "indicators": list(self.indicators),
            "lifetime": self.lifetime,
            "calibration": self.calibration.to_mapping(),
            "training": self.training.to_mapping(),
            "terms": [t.to_mapping() for t in self.terms],
        }

    def to_json(self) -> str:
        """The model as JSON text (see :meth:`from_json`)."""
        return json.dumps(self.to_mapping(), indent=1)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to a JSON file."""
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> RiskModel:
        """The model back from :meth:`to_mapping`; ConfigError on another format or version."""
        if m.get("format") != _FORMAT:
            raise ConfigError("not a rfm_retention risk model file (format field missing)")
        version = m.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ConfigError(
                f"risk model schema version {version!r}; this library reads version "
                f"{SCHEMA_VERSION}: retrain the model with this version"
            )
        try:
            tr = dict(m["training"])
            return cls(
                terms=tuple(Term.from_mapping(t) for t in m["terms"]),
                intercept=float(m["intercept"]),
                calibration=Calibration.from_mapping(m["calibration"]),
                training=TrainingRecord(**tr),
                indicators=tuple(str(n) for n in m["indicators"]),
                lifetime=m["lifetime"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"risk model file is damaged: {exc!r}") from None

    @classmethod
    def from_json(cls, text: str) -> RiskModel:
        """The model back from :meth:`to_json`."""
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"risk model file is not JSON: {exc}") from None
        if not isinstance(mapping, dict):
            raise ConfigError("risk model file must hold a JSON object")
        return cls.from_mapping(mapping)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RiskModel:
        """Read a model written by :meth:`save`."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def _spread(term: Term) -> float:
    values = [c for _, c in term.curve()]
    return max(values) - min(values) + abs(term.missing_coefficient)
