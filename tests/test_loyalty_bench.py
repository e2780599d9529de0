"""The ledger benchmark runs end to end at its small size (deselected by default)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.benchmark
def test_ledger_benchmark_small_run(capsys: pytest.CaptureFixture[str]) -> None:
    """bench_ledger.main(small=True) times the batch, the rerun, the loop and the latencies."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_ledger

        bench_ledger.main(small=True)
    finally:
        sys.path.remove(str(BENCHMARKS))
    out = capsys.readouterr().out
    assert "rerun awarded 0, found 9,000 already awarded" in out
    assert "nightly rerun" in out
    assert "faster" in out
    assert "ok=True" in out
