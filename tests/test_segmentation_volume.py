"""Segmentation on realistic volumes and real exports (slow and benchmark runs are opt-in)."""

from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest

from rfm_retention.data import VisitLog
from rfm_retention.features import patient_features
from rfm_retention.segmentation import actions, eight_segments, migration, score_segments

ROOT = pathlib.Path(__file__).resolve().parents[1]
SYNTHEA = pathlib.Path("/work/shared/data/synthea/encounters.csv")


@pytest.mark.skipif(not SYNTHEA.exists(), reason="Synthea sample export not present")
def test_synthea_export_segments_every_patient():
    """A real-shaped export: every patient gets one segment and one action, quarters migrate."""
    log = VisitLog.from_csv(SYNTHEA, mapping={
        "patient_id": "PATIENT", "visit_time": "START", "amount": "TOTAL_CLAIM_COST",
        "department": "ENCOUNTERCLASS", "visit_id": "Id"})
    fitted = eight_segments().fit(patient_features(log, "2023-09-30"))
    q3 = fitted.assign(patient_features(log, "2023-09-30"))
    q4 = fitted.assign(patient_features(log, "2023-12-31"))
    seen = patient_features(log, "2023-12-31").patient_id.size
    assert sum(q4.counts().values()) == len(q4) == seen
    assert len(actions(q4)) == len(q4)
    moves = migration(q3, q4)
    assert moves.counts.sum() + moves.entered.size == len(q4)


def _sys_path_benchmarks() -> None:
    path = str(ROOT / "benchmarks")
    if path not in sys.path:
        sys.path.insert(0, path)


@pytest.mark.slow
def test_million_patients_keep_the_tie_rule():
    """On 1M patients with heavy ties, scores use five levels and tied values share one."""
    _sys_path_benchmarks()
    from bench_segmentation import make_features

    f = make_features(1_000_000)
    seg = score_segments().fit_assign(f)
    for labels, values in ((seg.f, f.visits_per_year), (seg.r, f.days_since_last_visit)):
        assert np.unique(labels).size == 5
        order = np.lexsort((labels, values))
        same_value = np.diff(values[order]) == 0
        assert np.all(np.diff(labels[order])[same_value] == 0)


@pytest.mark.benchmark
def test_benchmark_small_run(capsys):
    """The benchmark script runs end to end on the small data set and prints ratios."""
    pytest.importorskip("pandas")
    _sys_path_benchmarks()
    from bench_segmentation import main

    main(small=True)
    assert "faster" in capsys.readouterr().out
