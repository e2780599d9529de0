"""Every benchmark times the table build on its own line and in a whole-job line (opt-in)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.benchmark
@pytest.mark.parametrize("name", ["features", "kpis", "scan", "segmentation", "ledger", "btyd"])
def test_small_run_reports_the_build_and_the_whole_job(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The small run prints a "table build" line and a whole-job line with its build share."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        importlib.import_module(f"bench_{name}").main(small=True)
    finally:
        sys.path.remove(str(BENCHMARKS))
    out = capsys.readouterr().out
    assert "  table build: " in out
    assert "whole job (the build is " in out
    assert "ours, whole job: the lines above added up" in out
