"""The ``rfm-retention`` command line.

Each sub-command lives in its own module exposing ``register(subparsers)``;
this module only wires them together, hands every command a progress bar
(``args.progress``: drawn on stderr only when it is a terminal and the work
takes a while, else None) and turns library errors into one-line messages
with a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

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


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="rfm-retention",
        description="Patient retention for hospitals: segments, warnings, points and KPIs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
