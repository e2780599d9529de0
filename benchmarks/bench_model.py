"""The trained risk model at 1M patients vs scikit-learn's Newton-Cholesky logistic regression.

One run builds, once, the scan benchmark's data (1M patients, 10M visits and
proportionate signal tables), then times:

- ours, whole job: ``train_risk_model`` at one cut date (inputs built from
  the raw tables, basis, L2 fit, Platt calibration on the held-out slice);
- ours, fit only: ``fit_logistic`` on the model's own design matrix;
- scikit-learn: ``LogisticRegression(solver="newton-cholesky")`` on the same
  matrix (float64, same penalty: ``C = 1 / l2``, intercept unpenalised);
- scoring: ``RiskModel.predict`` (inputs from the raw tables included) and
  scikit-learn's ``predict_proba`` on the prepared matrix;

and prints the ratios and how far apart the two fits' coefficients are. The
table build (the seven tables from arrays) is its own line, and the whole
job is build + ``train_risk_model``; scikit-learn has no table build to match
(it starts from the prepared matrix), so that line has no ratio.

``python benchmarks/run.py model [--small]`` (``--small``: 10k patients / 100k visits).
Needs the ``bench`` extra (scikit-learn).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from _harness import best_time, report, whole_job
from bench_scan import build_tables, make_arrays

from rfm_retention.metrics import ChurnOutcome, data_until, outcome_labels
from rfm_retention.model import DEFAULT_L2, fit_logistic, model_inputs, train_risk_model
from rfm_retention.model._terms import Term
from rfm_retention.model._train import _design
from rfm_retention.time import day_number, to_instant

TRAIN_AT = dt.date(2023, 6, 30)
SCORE_AT = dt.date(2024, 6, 30)


def main(small: bool = False) -> None:
    """Time training and scoring, ours and scikit-learn's, on one data set."""
    from sklearn.linear_model import LogisticRegression

    n_patients, n_visits = (10_000, 100_000) if small else (1_000_000, 10_000_000)
    print(f"building {n_visits:,} visits of {n_patients:,} patients and their signals ...",
          flush=True)
    arrays = make_arrays(n_patients, n_visits)
    build = best_time("7 tables from arrays (visits + 6 signals)",
                      lambda: build_tables(arrays), repeat=1)
    data = build.value

    ours = best_time(
        "ours: train_risk_model (whole job)",
        lambda: train_risk_model(data, [TRAIN_AT], l2=DEFAULT_L2),
        repeat=1,
    )
    model = ours.value
    print(model, flush=True)

    # The same design matrix the trainer fits, for the like-for-like comparison.
    day = day_number(TRAIN_AT)
    labels = outcome_labels(data.visits, day, ChurnOutcome(), observed_until_day=day + 90)
    x = model_inputs(data_until(data, to_instant(TRAIN_AT)), TRAIN_AT)
    values = x.values[np.searchsorted(x.patient_id, labels.patient_id)]
    y = labels.positive.astype(np.float64)
    kept = [(j, t) for j, s in enumerate(x.specs) if (t := Term.learn(s, values[:, j]))]
    design = _design(values, kept)
    print(f"design matrix: {design.shape[0]:,} rows x {design.shape[1]} columns", flush=True)

    fit = best_time("ours: fit_logistic on the design", lambda: fit_logistic(design, y,
                    l2=DEFAULT_L2), repeat=1)
    dense = np.asarray(design[:, 1:], np.float64)
    sk = best_time(
        "scikit-learn newton-cholesky on the same matrix",
        lambda: LogisticRegression(solver="newton-cholesky", C=1.0 / DEFAULT_L2,
                                   max_iter=100, tol=1e-7).fit(dense, y),
        repeat=1,
    )
    report("risk model training", fit, sk)
    ours_beta = fit.value.coefficients
    sk_beta = np.concatenate([sk.value.intercept_, sk.value.coef_[0]])
    print(f"  largest coefficient difference: {np.max(np.abs(ours_beta - sk_beta)):.2e} "
          f"(largest coefficient {np.max(np.abs(sk_beta)):.2f})", flush=True)
    print(f"  whole training job (inputs from raw tables): {ours.seconds:.1f} s", flush=True)
    whole_job("risk model training from arrays (scikit-learn starts from a prepared matrix)",
              build, ours)

    score = best_time("ours: RiskModel.predict (inputs from raw tables)",
                      lambda: model.predict(data, SCORE_AT), repeat=1)
    sk_score = best_time("scikit-learn predict_proba (prepared matrix)",
                         lambda: sk.value.predict_proba(dense), repeat=1)
    report("risk model scoring", score, sk_score)
