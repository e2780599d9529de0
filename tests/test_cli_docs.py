"""Every command of the command line has a section and an example in docs/cli.md."""

from __future__ import annotations

import argparse
from pathlib import Path

from rfm_retention.cli import build_parser

CLI_PAGE = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def test_every_command_is_documented_with_an_example() -> None:
    """A heading and a ``rfm-retention COMMAND`` example per command."""
    text = CLI_PAGE.read_text(encoding="utf-8")
    undocumented = [c for c in _commands() if f"## {c}\n" not in text
                    or f"rfm-retention {c}" not in text]
    assert undocumented == []
