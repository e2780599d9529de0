"""The scan benchmark runs end to end at its small size (deselected by default)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.benchmark
def test_scan_benchmark_small_run(capsys: pytest.CaptureFixture[str]) -> None:
    """bench_scan.main(small=True) times both contenders and prints the ratio."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_scan

        bench_scan.main(small=True)
    finally:
        sys.path.remove(str(BENCHMARKS))
    out = capsys.readouterr().out
    assert "rfm_retention scan: 11 indicators, 2 policies" in out
    assert "faster" in out
