"""Every benchmark times the table build on its own line and in a whole-job line (opt-in)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _small_run(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    """What ``benchmarks/run.py NAME --small`` prints."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        importlib.import_module(f"bench_{name}").main(small=True)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return capsys.readouterr().out


@pytest.mark.benchmark
@pytest.mark.parametrize("name", ["features", "kpis", "scan", "segmentation", "ledger", "btyd"])
def test_small_run_reports_the_build_and_the_whole_job(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The small run prints a "table build" line and a whole-job line with its build share."""
    out = _small_run(name, capsys)
    assert "  table build: " in out
    assert "whole job (the build is " in out
    assert "ours, whole job: the lines above added up" in out


@pytest.mark.benchmark
def test_build_benchmark_prints_both_modes_and_their_growth(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The build-alone benchmark times each table as installed and on one thread, and
    prints the growth of each (wall and CPU) for both."""
    out = _small_run("build", capsys)
    assert "  visit log, one thread: " in out
    assert "  ratings table, as installed: " in out
    assert out.count("build growth") == 8
    assert "== visit log build growth, one thread (CPU time): 10x rows -> " in out
