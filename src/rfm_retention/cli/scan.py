"""``rfm-retention scan``: the day's churn warning list as a spreadsheet-safe CSV."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

from rfm_retention.cli._common import (
    add_input_options,
    add_signal_options,
    load_bundle,
    progress_of,
    write_csv,
)
from rfm_retention.cli._format import format_table
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.model import RiskModel
from rfm_retention.risk import (
    DEFAULT_LAPSED_AFTER_DAYS,
    IndicatorSet,
    RiskLevel,
    RiskPolicy,
    RulePolicy,
    ScorePolicy,
    WarningList,
    WorstOf,
    default_indicators,
    read_warnings_csv,
    scan,
)
from rfm_retention.risk._training import LearnedScorePolicy
from rfm_retention.testing import SyntheticCohort
from rfm_retention.time import TimeLike

__all__ = ["choose_policy", "read_previous", "register", "warnings_section"]

_COLUMNS = ("patient_id", "level", "score", "reasons", "indicators", "evidence", "change")
_ODDS_COLUMNS = ("p_churn", "expected_spend_12m", "value_at_risk", "odds_evidence")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "scan",
        help="the day's churn warning list (level, score, reasons, evidence) as CSV",
        description="Run every churn indicator on the files given, as of --as-of, and write "
        "one row per patient at risk: " + ", ".join(_COLUMNS) + ". Sources not given are "
        "'no signal' (the indicators that need them are reported as skipped on stderr).",
    )
    parser.add_argument("--visits", required=True, metavar="FILE", help="visits CSV file")
    add_signal_options(parser)
    parser.add_argument("--as-of", required=True, metavar="DATE", help="ISO date, e.g. 2024-06-30")
    parser.add_argument(
        "--policy",
        default="worst",
        metavar="rules|score|worst|FILE",
        help="rules: the documents' rule table; score: the 40/30/20/10 weighted score; "
        "worst (default): the worse of the two; FILE: a .json/.toml rule table or a .json "
        "learned score",
    )
    parser.add_argument(
        "--previous",
        metavar="FILE",
        help="yesterday's scan CSV: mark each warning new/escalated/unchanged/de-escalated "
        "and list resolved patients",
    )
    parser.add_argument(
        "--lapsed-after-days",
        default=DEFAULT_LAPSED_AFTER_DAYS,
        type=_window,
        metavar="N|none",
        help="early-warning window: patients last seen more than N days before --as-of are "
        f"left off the list and counted as win-back work (default {DEFAULT_LAPSED_AFTER_DAYS}; "
        "0 or none: warn about everyone)",
    )
    parser.add_argument(
        "--model", metavar="FILE",
        help="a trained risk model (rfm-retention train): its calibrated P(churn) orders each "
        "level and every row gets p_churn, expected_spend_12m, value_at_risk and the terms "
        "behind the odds (default: the patient-lifetime model fitted to the visits, when they "
        "identify one)",
    )
    parser.add_argument(
        "--no-odds", action="store_true",
        help="no churn odds: order each level by score and silence, no odds columns",
    )
    parser.add_argument(
        "--sort", choices=("level", "value"), default="level",
        help="level (default): level, then P(churn); value: largest value at risk first "
        "(needs churn odds)",
    )
    parser.add_argument("--out", default="-", metavar="FILE", help="output CSV (default stdout)")
    add_input_options(parser)
    parser.set_defaults(func=run_scan)


def _window(text: str) -> int | None:
    """``--lapsed-after-days``: a whole number of days; 0 or ``none`` turns the window off."""
    if text.strip().lower() in ("none", "0"):
        return None
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a whole number of days or 'none': {text!r}"
        ) from None
    if days < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (0 or none: no window), got {days}")
    return days


def choose_policy(spec: str, indicators: IndicatorSet) -> RiskPolicy:
    """``rules`` / ``score`` / ``worst`` or a rule-table / learned-score file."""
    if spec == "rules":
        return RulePolicy.spec(indicators)
    if spec == "score":
        return ScorePolicy()
    if spec == "worst":
        return WorstOf((RulePolicy.spec(indicators), ScorePolicy()))
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"--policy {spec!r}: not rules, score, worst or an existing file")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        table = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid {suffix[1:].upper() or 'JSON'}: {exc}") from None
    if isinstance(table, dict) and "coefficients" in table:
        allowed = {"indicators", "intercept", "coefficients", "missing_coefficients", "cutoffs",
                   "labels_until"}
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise ConfigError(f"{path}: unknown field(s) {unknown} in a learned score")
        try:
            learned = LearnedScorePolicy(**table)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: not a learned score: {exc}") from None
        learned.validate(indicators)
        return learned
    return RulePolicy.from_mapping(table, indicators=indicators)


def read_previous(path: str, patients: IdArray) -> dict[Any, RiskLevel]:
    """``{patient_id: level}`` from an earlier scan CSV (rows marked resolved are skipped)."""
    records = read_warnings_csv(path, integer_ids=patients.dtype.kind in "iu")
    return {r.patient_id: r.level for r in records if r.change != "resolved"}


def _summary(warnings: WarningList) -> str:
    counts = ", ".join(f"{n} {lvl.label}" for lvl, n in warnings.counts().items())
    day = str(warnings.as_of.astype("datetime64[D]"))
    text = f"scan {day} ({warnings.policy}): {len(warnings)} warning(s): {counts}"
    if warnings.resolved:
        text += f"; {len(warnings.resolved)} resolved"
    if warnings.lapsed_after_days is not None:
        text += (
            f"; {len(warnings.lapsed)} lapsed (last visit over {warnings.lapsed_after_days} "
            "days ago: hand to win-back)"
        )
    if warnings.skipped:
        text += "; skipped for lack of data: " + ", ".join(str(s) for s in warnings.skipped)
    if warnings.odds is not None:
        text += f"; ordered within each level by P(churn) from the {warnings.odds.source}"
    return text


def run_scan(args: argparse.Namespace) -> int:
    data = load_bundle(args)
    indicators = default_indicators()
    policy = choose_policy(args.policy, indicators)
    previous = read_previous(args.previous, data.patients) if args.previous else None
    if args.model and args.no_odds:
        raise ConfigError("--model and --no-odds contradict each other: give one")
    model: RiskModel | Literal["auto"] | None = (
        RiskModel.load(args.model) if args.model else None if args.no_odds else "auto"
    )
    warnings = scan(
        data,
        args.as_of,
        indicators,
        policy,
        previous=previous,
        lapsed_after_days=args.lapsed_after_days,
        model=model,
        progress=progress_of(args),
    )
    if args.sort == "value":
        warnings = warnings.by_value_at_risk()
    names, cells = warnings.to_rows()
    header = _COLUMNS + (_ODDS_COLUMNS if warnings.odds is not None else ())
    where = [names.index(c) for c in header]
    write_csv(args.out, header, ([row[i] for i in where] for row in cells))
    print(_summary(warnings), file=sys.stderr)
    for note in warnings.notes:
        print(f"warning: {note}", file=sys.stderr)
    return 0


def warnings_section(cohort: SyntheticCohort, as_of: TimeLike) -> str:
    """The day's warning list on the sample cohort: counts and the top rows."""
    warnings = scan(cohort.data, as_of)
    rows = []
    for w in warnings.top(8):
        top = w.indicators[0] if w.indicators else None
        rows.append(
            [
                str(w.patient_id),
                w.level.label,
                round(w.score, 1),
                w.reason.value,
                "" if top is None else f"{top.name}: {top.evidence}",
            ]
        )
    header = ["patient_id", "level", "score", "reason", "strongest signal"]
    intro = _summary(warnings)
    return intro + "\n\n" + format_table(header, rows, title="Churn warnings (top 8)")
