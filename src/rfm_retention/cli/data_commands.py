"""``rfm-retention features`` and ``rfm-retention btyd``: per-patient tables from a visits CSV.

Both read one visits file (with the shared ``--map``/``--dayfirst``/
``--date-format``/``--quarantine`` options) and write one CSV row per patient
seen on or before ``--as-of``. Empty cells stand for "not defined" (NaN):
an interval for a one-visit patient, spend per visit with no visit in the window.
"""

from __future__ import annotations

import argparse
import functools
from typing import Any

from dateutil.relativedelta import relativedelta

from rfm_retention.btyd import BTYD_COLUMNS, PERIODS, btyd_summary
from rfm_retention.cli._columns_csv import write_columns
from rfm_retention.cli._common import (
    add_input_options,
    load_table,
    parse_mapping,
    progress_of,
    read_file,
    report_rejected,
)
from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.features import FEATURE_COLUMNS, patient_features

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the ``features`` and ``btyd`` sub-commands."""
    features = sub.add_parser(
        "features",
        help="patient features (days since last visit, visits, spend, trends) as CSV",
        description="One row per patient seen on or before --as-of, in patient-id order. "
        "Columns: " + ", ".join(FEATURE_COLUMNS) + ". Definitions: docs/guide/features.md.",
    )
    _add_common(features, visits_required=False)
    engine = features.add_argument_group(
        "computing on a DuckDB database (the visits never load into Python)"
    )
    engine.add_argument("--duckdb", metavar="FILE", help="DuckDB database file holding the visits")
    source = engine.add_mutually_exclusive_group()
    source.add_argument("--table", metavar="NAME", help="the visits table (or view) in --duckdb")
    source.add_argument("--query", metavar="SQL", help="a query giving the visits, in --duckdb")
    window = features.add_mutually_exclusive_group()
    window.add_argument(
        "--window-days",
        type=int,
        metavar="N",
        help="count visits and spend over the last N days only (default: all history)",
    )
    window.add_argument(
        "--window-months",
        type=int,
        metavar="N",
        help="count visits and spend over the last N calendar months only",
    )
    features.add_argument(
        "--min-exposure-days",
        type=int,
        default=365,
        metavar="N",
        help="shortest span visits_per_year is computed over (default 365)",
    )
    features.set_defaults(func=run_features)

    btyd = sub.add_parser(
        "btyd",
        help="BTYD summary (frequency, recency, T, monetary_value) for lifetimes/pymc-marketing",
        description="One row per patient seen on or before --as-of (the observation period "
        "end). Columns: " + ", ".join(BTYD_COLUMNS) + ". Definitions: docs/guide/features.md.",
    )
    _add_common(btyd)
    btyd.add_argument(
        "--period",
        choices=PERIODS,
        default="D",
        help="period unit: D days, W Monday-Sunday weeks, M calendar months (default D)",
    )
    btyd.add_argument(
        "--include-first-visit",
        action="store_true",
        help="count and average the first period too (lifetimes' include_first_transaction)",
    )
    btyd.set_defaults(func=run_btyd)


def _add_common(parser: argparse.ArgumentParser, *, visits_required: bool = True) -> None:
    parser.add_argument(
        "--visits",
        required=visits_required,
        metavar="FILE",
        help="visits CSV file" + ("" if visits_required else " (or --duckdb with --table/--query)"),
    )
    parser.add_argument(
        "--as-of", required=True, metavar="DATE", help="ISO date or date-time, e.g. 2024-06-30"
    )
    parser.add_argument("--out", default="-", metavar="FILE", help="output CSV (default stdout)")
    add_input_options(parser)


def _load_visits(args: argparse.Namespace) -> VisitLog:
    log = load_table(args, "visits", args.visits)
    if not isinstance(log, VisitLog):  # pragma: no cover - SOURCE_FILES maps visits to VisitLog
        raise ConfigError("the visits source did not load as a VisitLog")
    return log


def _duckdb_features(args: argparse.Namespace, window: int | relativedelta | None) -> Any:
    """Features computed inside the DuckDB file given by --duckdb (opened read-only)."""
    from rfm_retention._optional import import_optional

    if args.visits:
        raise ConfigError("give either --visits FILE or --duckdb FILE, not both")
    if not (args.table or args.query):
        raise ConfigError("--duckdb needs --table NAME or --query SQL")
    duckdb = import_optional("duckdb", "duckdb", "rfm-retention features --duckdb")
    try:
        con = duckdb.connect(args.duckdb, read_only=True)
    except duckdb.Error as exc:
        raise ConfigError(f"{args.duckdb}: cannot open as a DuckDB database ({exc})") from None
    try:
        try:
            source = con.sql(args.query) if args.query else con.table(args.table)
        except duckdb.Error as exc:
            raise ConfigError(f"{args.duckdb}: {exc}") from None
        return patient_features(
            source,
            args.as_of,
            window=window,
            min_exposure_days=args.min_exposure_days,
            mapping=parse_mapping(args.map).get("visits"),
        )
    finally:
        con.close()


def _csv_features(args: argparse.Namespace, window: int | relativedelta | None) -> Any:
    """Features of the --visits file, read a batch of rows at a time (bounded memory)."""
    from rfm_retention._csv_features import csv_features

    read = functools.partial(
        csv_features, as_of=args.as_of, window=window, min_exposure_days=args.min_exposure_days,
        on_error="quarantine" if args.quarantine else "raise", reader=args.csv_reader,
        progress=progress_of(args),
    )
    features, rejected = read_file(args, "visits", args.visits, read)
    report_rejected(args.visits, rejected)
    return features


def run_features(args: argparse.Namespace) -> int:
    """Compute the features as of --as-of (from the visits CSV or in DuckDB), write the CSV."""
    window = (
        relativedelta(months=args.window_months)
        if args.window_months is not None
        else args.window_days
    )
    if args.duckdb:
        features = _duckdb_features(args, window)
    elif args.table or args.query:
        raise ConfigError("--table and --query read from a DuckDB file: add --duckdb FILE")
    elif not args.visits:
        raise ConfigError("give the visits: --visits FILE, or --duckdb FILE with --table/--query")
    else:
        features = _csv_features(args, window)
    write_columns(args.out, features.to_columns(), decimals=9)
    return 0


def run_btyd(args: argparse.Namespace) -> int:
    """Load the visits, compute the BTYD summary as of --as-of, write the CSV."""
    log = _load_visits(args)
    summary = btyd_summary(
        log, args.as_of, period=args.period, include_first_visit=args.include_first_visit
    )
    write_columns(args.out, summary.to_columns(), decimals=9)
    return 0
