"""``rfm-retention backtest``: replay the warning scan at past dates, beside the naive baseline."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from rfm_retention.btyd import LIFETIME_MODELS, LifetimeScorer
from rfm_retention.cli._common import (
    add_input_options,
    add_signal_options,
    columns_to_rows,
    ids_like,
    load_bundle,
    progress_of,
    read_rows,
)
from rfm_retention.cli._format import format_table
from rfm_retention.cli.report import emit
from rfm_retention.data import PatientData
from rfm_retention.errors import ConfigError
from rfm_retention.metrics import DEFAULT_K, ChurnOutcome, LapseRule, backtest
from rfm_retention.metrics._backtest import Backtest, Scorer
from rfm_retention.metrics._replay import DEFAULT_HORIZON_DAYS
from rfm_retention.metrics._scorers import ScanScorer, fit_learned_score
from rfm_retention.model import ModelScorer, RiskModel, train_risk_model
from rfm_retention.risk._policy import RiskPolicy
from rfm_retention.risk._rules import RulePolicy
from rfm_retention.risk._scan import default_policy
from rfm_retention.risk._score import ScorePolicy

__all__ = ["register"]

POLICIES = ("worst", "rules", "score")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "backtest",
        help="replay the warning scan at past dates: AUC, precision@k, lift, lead time vs baseline",
        description="At each --at date, scan the data as it stood that day and compare the "
        "warnings with what happened next: by default 'no visit within --horizon days' "
        "(--outcome lapse: lapsed within the horizon; --truth FILE: known churn dates, e.g. "
        "the truth.csv of 'rfm-retention sample'). Every figure is shown beside the naive "
        "baseline (days since the last visit alone), given the same number of patients per "
        "level. The population is patients seen by the date and not yet lapsed. Lead time "
        "follows the outcome: days from the first warning to the day the patient counts as "
        "gone (silence passing the horizon, the lapse day, or the known churn day).",
    )
    parser.add_argument("--visits", required=True, metavar="FILE", help="visits CSV file")
    parser.add_argument("--at", action="append", required=True, metavar="DATE",
                        help="scan date (repeatable); the horizon after it must be in the data")
    parser.add_argument("--horizon", type=int, default=DEFAULT_HORIZON_DAYS, metavar="DAYS",
                        help=f"days after each scan date the outcome looks at "
                        f"(default {DEFAULT_HORIZON_DAYS})")
    parser.add_argument("--outcome", choices=("no_visit", "lapse"), default="no_visit",
                        help="what counts as leaving (default no_visit)")
    parser.add_argument("--truth", metavar="FILE",
                        help="CSV with patient_id,churned_from: use known churn dates as outcome")
    parser.add_argument("--policy", choices=POLICIES, default="worst",
                        help="risk policy: worst of rules and score (default), rules, score")
    parser.add_argument("--train-at", metavar="DATE",
                        help="also fit the trainable score at DATE (labels from the horizon "
                        "after it, which must end by the first --at) and backtest it")
    parser.add_argument("--model", action="append", default=[], metavar="FILE",
                        help="also backtest a trained risk model (rfm-retention train; "
                        "repeatable); refused at dates before its labels end")
    parser.add_argument("--k", type=int, default=DEFAULT_K, metavar="N",
                        help=f"patients the team can call in a week (default {DEFAULT_K})")
    parser.add_argument("--grace-days", type=float, default=30.0, metavar="N",
                        help="lapse rule: days past the expected interval (default 30)")
    parser.add_argument("--population", choices=("active", "all"), default="active",
                        help="judge patients not yet lapsed (default) or everyone seen")
    parser.add_argument("--lifetime", action="append", choices=(*LIFETIME_MODELS, "none"),
                        metavar="MODEL",
                        help="the untrained patient-lifetime model(s) backtested beside the "
                        f"others, fitted at each date, scoring P(no visit in the horizon) "
                        f"(repeatable; default mbgnbd; none: leave it out): "
                        f"{', '.join(LIFETIME_MODELS)}")
    parser.add_argument("--out", metavar="FILE", help="write the metrics as CSV ('-' = stdout)")
    add_signal_options(parser)
    add_input_options(parser)
    parser.set_defaults(func=run)


def policy_named(name: str) -> RiskPolicy:
    """The built-in policy behind a ``--policy`` choice."""
    if name == "rules":
        return RulePolicy.spec()
    if name == "score":
        return ScorePolicy()
    if name == "worst":
        return default_policy()
    raise ConfigError(f"unknown policy {name!r}; choose one of {', '.join(POLICIES)}")


def read_truth(path: str, rule: LapseRule, horizon: int, id_like: Any) -> ChurnOutcome:
    """Known churn dates (``patient_id,churned_from``; empty = did not churn) as an outcome."""
    rows = [(r["patient_id"], r["churned_from"].strip())
            for r in read_rows(path, ("patient_id", "churned_from"))]
    ids = ids_like([r[0] for r in rows], id_like, where=path)
    try:
        when = np.array([r[1] or "NaT" for r in rows], dtype="datetime64[D]")
    except ValueError as exc:
        raise ConfigError(f"{path}: churned_from must be ISO dates ({exc})") from None
    return ChurnOutcome.known_churn(ids, when, horizon_days=horizon, rule=rule)


_DEPARTURE = {
    "no_visit": "a silence passing {h} days",
    "lapse": "the lapse (lapse rule)",
    "known": "the known churn day",
}


def _capped(result: Backtest) -> str:
    """A sentence saying the precision column's k was capped, or nothing."""
    k = result.effective_k
    if k >= result.k:
        return ""
    return f"; prec@{k}: --k {result.k} capped at the {k} patient(s) scored"


def _counts_and_shares(header: list[str], rows: list[list[str]]) -> list[str]:
    """The columns aligned as numbers: patients, and the percentages when none is blank."""
    shares = [h for h in header if h.endswith(" %") and "/" not in h]
    return ["patients"] + [
        h for h in shares if all(row[header.index(h)] != "" for row in rows)
    ]


def render(result: Backtest) -> str:
    """The metrics table and the lead-time table."""
    capped = _capped(result)
    header, rows = result.to_rows()
    odds = []
    for r in result.results:
        odds.append([
            r.at.isoformat(), r.method, "stated" if r.states_probability else "base rate",
            f"{r.brier:.4f}", f"{r.base_rate_brier:.4f}", f"{r.log_loss:.4f}",
            f"{r.calibration_error:.3f}",
        ])
    leads = [
        [lt.method, lt.lapses, lt.warned, lt.median_days] for lt in result.lead_times
    ]
    level = result.warn_level.label
    gone = _DEPARTURE[result.outcome.kind].format(h=result.outcome.horizon_days)
    return "\n\n".join([
        format_table(header, rows, title=f"Backtest, {result.outcome.horizon_days}-day horizon, "
                     f"outcome {result.outcome.kind} (P/R: precision/recall of the level "
                     f"and above; blank: undefined; —: nobody flagged){capped}",
                     right=_counts_and_shares(header, rows)),
        format_table(["at", "method", "probability", "Brier", "base-rate Brier", "log-loss",
                      "decile cal. error"], odds,
                     title="Probabilities (a method that only ranks is given the base rate)"),
        format_table(["method", "departures", f"warned ({level}+)", "median lead days"], leads,
                     title=f"Lead time: days between the first warning and {gone}"),
    ])


def outcome_of(args: argparse.Namespace, data: PatientData) -> ChurnOutcome:
    """The outcome the options name: --truth known churn dates, else --outcome, --horizon."""
    rule = LapseRule(grace_days=args.grace_days)
    if args.truth:
        return read_truth(args.truth, rule, args.horizon, data.visits.patient_ids)
    return ChurnOutcome(kind=args.outcome, horizon_days=args.horizon, rule=rule)


def run(args: argparse.Namespace) -> int:
    data = load_bundle(args)
    outcome = outcome_of(args, data)
    methods: list[Scorer] = [ScanScorer(policy_named(args.policy))]
    if args.train_at:
        learned = fit_learned_score(
            data, args.train_at, evaluate_from=min(args.at), outcome=outcome,
            population=args.population,
        )
        if learned.report is not None:
            print(f"learned score, trained at {args.train_at}:\n{learned.report}\n",
                  file=sys.stderr)
        methods.insert(0, ScanScorer(learned, label=f"learned score (trained {args.train_at})"))
    for path in args.model:
        model = RiskModel.load(path)
        dates = ", ".join(d.isoformat() for d in model.training.train_dates)
        methods.insert(0, ModelScorer(model, label=f"trained model ({dates})"))
    lifetime = ["mbgnbd"] if args.lifetime is None else args.lifetime  # listed by default
    methods += [LifetimeScorer(horizon_days=args.horizon, model=m) for m in lifetime
                if m != "none"]
    result = backtest(
        data, args.at, scorer=methods, outcome=outcome, k=args.k, population=args.population,
        progress=progress_of(args),
    )
    emit(args.out, columns_to_rows(result.to_columns()), lambda: render(result), what="row(s)")
    return 0


def demo_section(cohort: Any, as_of: Any) -> str:
    """One backtest six months before the end: the default scan, the score trained six
    months earlier, the risk model trained at three month-ends before that, the untrained
    lifetime model and the days-since-last-visit baseline."""
    import datetime as dt

    from rfm_retention.time import as_date

    at = as_date(as_of) - dt.timedelta(days=183)
    train_at = at - dt.timedelta(days=183)
    learned = fit_learned_score(cohort.data, train_at, evaluate_from=at)
    dates = [train_at - dt.timedelta(days=d) for d in (183, 92, 0)]
    model = train_risk_model(cohort.data, dates)
    scorers: list[Scorer] = [
        ScanScorer(), ScanScorer(learned, label=f"learned score (trained {train_at})"),
        ModelScorer(model, label=f"trained model ({dates[0]}..{train_at})"), LifetimeScorer(),
    ]
    result = backtest(cohort.data, [at], scorer=scorers, k=25)
    lines = [
        f"{r.method}: AUC {r.auc:.3f}, precision@25 {r.precision_at_k * 100:.0f} %, "
        f"lift in the top decile {r.lift_top_decile:.2f}"
        + (f", Brier {r.brier:.3f} (base rate {r.base_rate_brier:.3f})"
           if r.states_probability else "")
        for r in result.results
    ]
    return (f"Backtest at {at} (no visit within 90 days; {result.results[0].patients} active "
            f"patients, {result.results[0].base_rate * 100:.0f} % left):\n  "
            + "\n  ".join(lines))
