"""``rfm-retention features``: one row of features per patient, from a visits CSV."""

from __future__ import annotations

import argparse
from typing import Any

from rfm_retention.cli._common import add_input_options, columns_to_rows, load_table, write_csv
from rfm_retention.data import VisitLog
from rfm_retention.features import FEATURE_COLUMNS

__all__ = ["register"]


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "features",
        help="patient features (days since last visit, visits, spend, trends) as CSV",
        description="One row per patient seen on or before --as-of. Columns: "
        + ", ".join(FEATURE_COLUMNS),
    )
    parser.add_argument("--visits", required=True, metavar="FILE", help="visits CSV file")
    parser.add_argument("--as-of", required=True, metavar="DATE", help="ISO date, e.g. 2024-06-30")
    parser.add_argument(
        "--window-days", type=int, metavar="N", help="frequency/spend window (default: all history)"
    )
    parser.add_argument("--out", default="-", metavar="FILE", help="output CSV (default stdout)")
    add_input_options(parser)
    parser.set_defaults(func=run_features)


def run_features(args: argparse.Namespace) -> int:
    log = load_table(args, "visits", args.visits)
    assert isinstance(log, VisitLog)
    features = log.features(args.as_of, window=args.window_days)
    header, rows = columns_to_rows(features.to_columns())
    write_csv(args.out, header, rows)
    return 0
