"""The KPI benchmark runs end to end at its small size (deselected by default)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.benchmark
def test_kpi_benchmark_small_run(capsys: pytest.CaptureFixture[str]) -> None:
    """bench_kpis.main(small=True) checks both versions agree, times them, prints the ratio."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_kpis

        bench_kpis.main(small=True)
    finally:
        sys.path.remove(str(BENCHMARKS))
    out = capsys.readouterr().out
    assert "results agree" in out
    assert "pandas: monthly churn + revisit 3m" in out
    assert "faster" in out
