"""``rfm-retention train``: fit the risk model on past cut dates and write it as JSON."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rfm_retention.cli._common import add_input_options, add_signal_options, load_bundle
from rfm_retention.cli.backtest import outcome_of
from rfm_retention.metrics._replay import DEFAULT_HORIZON_DAYS
from rfm_retention.model import (
    AUTO_L2_MAX_ROWS,
    CALIBRATIONS,
    DEFAULT_L2,
    L2_GRID,
    LIFETIME_MODELS,
    train_risk_model,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "train",
        help="fit the churn-risk model on past dates (rolling origin) and save it as JSON",
        description="For each --at date, take the data as it stood that day and whether each "
        "active patient left within --train-horizon days after it (default --horizon), pool "
        "the dates, fit the additive risk model and calibrate it on a held-out slice of "
        "patients. The model records the last day its labels read and refuses to score or be "
        "backtested before it. Prints every term and the fit statistics; use the file with "
        "'scan --model' and 'backtest --model'. Retrain monthly.",
    )
    parser.add_argument("--visits", required=True, metavar="FILE", help="visits CSV file")
    add_signal_options(parser)
    parser.add_argument("--at", action="append", required=True, metavar="DATE",
                        help="training cut date (repeatable: pooled, rolling origin)")
    parser.add_argument("--horizon", type=int, default=DEFAULT_HORIZON_DAYS, metavar="DAYS",
                        help=f"the horizon the model will score (default {DEFAULT_HORIZON_DAYS})")
    parser.add_argument("--train-horizon", type=int, metavar="DAYS",
                        help="horizon of the training labels when history is short (default "
                        "--horizon): later dates fit, probabilities are for this horizon")
    parser.add_argument("--outcome", choices=("no_visit", "lapse"), default="no_visit",
                        help="what counts as leaving (default no_visit)")
    parser.add_argument("--truth", metavar="FILE",
                        help="CSV with patient_id,churned_from: learn known churn dates")
    parser.add_argument("--population", choices=("active", "all"), default="active",
                        help="train on patients not yet lapsed (default) or everyone seen")
    parser.add_argument("--lifetime", choices=LIFETIME_MODELS, metavar="MODEL",
                        help="also read a patient-lifetime model's outputs: "
                        + ", ".join(LIFETIME_MODELS))
    parser.add_argument("--calibration", choices=CALIBRATIONS, default="platt",
                        help="probability calibration on held-out patients (default platt)")
    parser.add_argument("--l2", type=_penalty, default="auto", metavar="X|auto",
                        help="ridge penalty; auto (default): the best of "
                        f"{', '.join(f'{v:g}' for v in L2_GRID)} on the held-out patients "
                        f"({DEFAULT_L2:g} above {AUTO_L2_MAX_ROWS:,} rows)")
    parser.add_argument("--grace-days", type=float, default=30.0, metavar="N",
                        help="lapse rule: days past the expected interval (default 30)")
    parser.add_argument("--out", required=True, metavar="FILE", help="model JSON file to write")
    add_input_options(parser)
    parser.set_defaults(func=run)


def _penalty(text: str) -> float | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'auto': {text!r}") from None


def run(args: argparse.Namespace) -> int:
    data = load_bundle(args)
    outcome = outcome_of(args, data)
    model = train_risk_model(
        data, args.at, horizon_days=args.horizon, train_horizon_days=args.train_horizon,
        outcome=outcome, population=args.population, lifetime=args.lifetime,
        calibration=args.calibration, l2=args.l2,
    )
    model.save(args.out)
    print(model)
    print(f"model written to {args.out}", file=sys.stderr)
    return 0
