"""The ``rfm-retention`` command line.

Each sub-command lives in its own module exposing ``register(subparsers)``;
this module only wires them together, hands every command a progress bar
(``args.progress``: drawn on stderr only when it is a terminal and the work
takes a while, else None) and turns library errors into one-line messages
with a non-zero exit, never a traceback. A command line naming a sub-command
imports that sub-command's module alone (and what it needs), so
``rfm-retention features`` does not pay for the ledger, the cases or the risk
model; ``--help`` and unknown commands register every module.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from rfm_retention import __version__
from rfm_retention.cli._progress import progress_bar
from rfm_retention.errors import RFMRetentionError

__all__ = ["main"]

# Sub-command modules, in the order ``--help`` lists them.
_COMMAND_MODULES = (
    "rfm_retention.cli.demo",
    "rfm_retention.cli.data_commands",
    "rfm_retention.cli.segment",
    "rfm_retention.cli.scan",
    "rfm_retention.cli.sample",
    "rfm_retention.cli.cases",
    "rfm_retention.cli.report",
    "rfm_retention.cli.backtest",
    "rfm_retention.cli.train",
    "rfm_retention.cli.points",
    "rfm_retention.cli.db",
)


# Each sub-command: the module that registers it (so a command line loads only its own
# module) and its one-line help (so ``rfm-retention --help`` loads none).
_COMMANDS = {
    "demo": ("rfm_retention.cli.demo",
             "run everything on the embedded sample cohort and print readable tables"),
    "features": ("rfm_retention.cli.data_commands",
                 "patient features (days since last visit, visits, spend, trends) as CSV"),
    "btyd": ("rfm_retention.cli.data_commands",
             "BTYD summary (frequency, recency, T, monetary_value) for lifetimes/pymc-marketing"),
    "segment": ("rfm_retention.cli.segment",
                "RFM segments (core, at-risk, ...) and the recommended action per patient, as "
                "CSV"),
    "scan": ("rfm_retention.cli.scan",
             "the day's churn warning list (level, score, reasons, evidence) as CSV"),
    "sample": ("rfm_retention.cli.sample",
               "write a synthetic cohort's tables (visits.csv, ratings.csv, ...) and truth.csv"),
    "cases": ("rfm_retention.cli.cases",
              "intervention cases: open them from warnings, record contacts, plans and "
              "outcomes, list overdue deadlines"),
    "report": ("rfm_retention.cli.report",
               "monthly KPIs: churn, revisit at 3/6 months, satisfaction, coverage, win-back"),
    "backtest": ("rfm_retention.cli.backtest",
                 "replay the warning scan at past dates: AUC, precision@k, lift, lead time vs "
                 "baseline"),
    "train": ("rfm_retention.cli.train",
              "fit the churn-risk model on past dates (rolling origin) and save it as JSON"),
    "points": ("rfm_retention.cli.points",
               "loyalty points ledger: award, balance, history, redeem, cancel, expire, verify"),
    "db": ("rfm_retention.cli.db",
           "database maintenance: migrate a ledger or case database to this version"),
}
_MODULE_OF_COMMAND = {command: module for command, (module, _) in _COMMANDS.items()}


def _top_parser() -> tuple[argparse.ArgumentParser, Any]:
    parser = argparse.ArgumentParser(
        prog="rfm-retention",
        description="Patient retention for hospitals: segments, warnings, points and KPIs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    return parser, sub


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: with every sub-command registered, or only the module of
    ``command`` when it names a known sub-command.

    Example:
        >>> build_parser("features").parse_args(["features", "--as-of", "2024-06-30"]).out
        '-'
    """
    parser, sub = _top_parser()
    only = _MODULE_OF_COMMAND.get(command or "")
    for name in (only,) if only else _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _summary_parser() -> argparse.ArgumentParser:
    """The top level alone, every sub-command listed with its help but none loaded: what
    ``rfm-retention --help``, a missing or an unknown command needs (the same text as
    :func:`build_parser` gives)."""
    parser, sub = _top_parser()
    for command, (_, text) in _COMMANDS.items():
        sub.add_parser(command, help=text, add_help=False)
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    """The sub-command a command line names: its first word, when that is not an option."""
    return argv[0] if argv and not argv[0].startswith("-") else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    command = _command_word(words)
    parser = build_parser(command) if command in _COMMANDS else _summary_parser()
    args = parser.parse_args(words)
    try:
        with progress_bar(sys.stderr) as progress:
            args.progress = progress
            code: int = args.func(args)
    except RFMRetentionError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"rfm-retention {args.command}: error: {first}", file=sys.stderr)
        detail = str(exc).splitlines()[1:]
        for line in detail[:10]:
            print(f"  {line.strip()}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader (``| head``) stopped early: not an error. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, UnicodeDecodeError) as exc:
        print(f"rfm-retention {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
