"""The conformance kit: built-in segmenters pass it, a row-order tie-breaker fails it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rfm_retention.features import PatientFeatures
from rfm_retention.segmentation import (
    TEN_SEGMENT_MAP,
    FixedSplit,
    GroupedSegmenter,
    QuantileSplit,
    Segmentation,
    eight_segments,
    score_segments,
)
from rfm_retention.segmentation.conformance import check_segmenter, check_ties_share_labels


def cohort() -> PatientFeatures:
    """Two hundred patients with the ties of real data, in three departments."""
    rng = np.random.default_rng(9)
    n = 200
    return PatientFeatures.from_rfm(
        as_of=dt.date(2024, 12, 31),
        patient_id=[f"P{i:04d}" for i in range(n)],
        days_since_last_visit=rng.choice([0, 7, 30, 30, 90, 180, 365, 730], n),
        visits_in_window=rng.geometric(0.5, n),
        spend_in_window=rng.choice([50.0, 50.0, 120.0, 800.0, 2500.0], n),
        last_department=rng.choice(["cardiology", "dermatology", "ent"], n),
    )


@pytest.mark.parametrize(
    "segmenter",
    [
        eight_segments(),
        eight_segments(FixedSplit(90), QuantileSplit(0.7), FixedSplit(500)),
        score_segments(),
        GroupedSegmenter(score_segments(), min_group_size=60),
    ],
)
def test_built_in_segmenters_pass(segmenter):
    """Every built-in segmenter keeps every promise of the kit."""
    check_segmenter(segmenter, cohort())


class RankFirstQuintiles:
    """The usual recipe, qcut of rank(method="first"): ties broken by row order."""

    def fit(self, features: PatientFeatures) -> RankFirstQuintiles:
        """Nothing to learn: ranks are taken at assign time."""
        return self

    def assign(self, features: PatientFeatures) -> Segmentation:
        """Frequency quintiles by row-order rank; recency and spend fixed at 3."""
        n = len(features)
        ranks = np.empty(n, dtype=np.int64)
        ranks[np.argsort(features.visits_in_window, kind="stable")] = np.arange(n)
        f = (ranks * 5 // n + 1).astype(np.int8)
        three = np.full(n, 3, dtype=np.int8)
        return Segmentation(
            as_of=features.as_of, patient_id=features.patient_id,
            recency=features.days_since_last_visit.astype(float),
            frequency=features.visits_in_window.astype(float),
            monetary=features.spend_in_window, r=three, f=f, m=three,
            segment=TEN_SEGMENT_MAP.apply(three, f, three), segment_map=TEN_SEGMENT_MAP,
            columns=("days_since_last_visit", "visits_in_window", "spend_in_window"),
        )


def test_row_order_tie_breaking_is_caught():
    """Tied visit counts in different quintiles fail the ties check, naming a patient."""
    f = cohort()
    with pytest.raises(AssertionError, match="ties with an earlier patient"):
        check_ties_share_labels(RankFirstQuintiles().fit(f).assign(f))
    with pytest.raises(AssertionError):
        check_segmenter(RankFirstQuintiles(), f)
