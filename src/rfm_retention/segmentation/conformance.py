"""A conformance kit for segmenters: run it on your own plug-in before trusting its segments.

Each ``check_*`` function tests one promise every segmenter in this library
keeps, on features you supply (use data with ties: that is where segmenters
break), and raises :class:`~rfm_retention.errors.ConformanceError` (never a
bare ``assert``, so it checks under ``python -O``) naming the first patient
that breaks it. :func:`check_segmenter` runs them all;
:data:`SEGMENTER_CHECKS` lists them by name for
:func:`~rfm_retention.testing.parametrize_with_checks`.

Example:
    >>> import datetime as dt
    >>> from rfm_retention.features import PatientFeatures
    >>> from rfm_retention.segmentation import score_segments
    >>> f = PatientFeatures.from_rfm(as_of=dt.date(2024, 6, 30), patient_id=list(range(8)),
    ...     days_since_last_visit=[1, 1, 30, 30, 30, 90, 400, 400],
    ...     visits_in_window=[1, 1, 1, 1, 2, 2, 5, 9],
    ...     spend_in_window=[50.0, 50, 50, 80, 80, 300, 300, 900])
    >>> check_segmenter(score_segments(), f)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from rfm_retention._conformance import expect
from rfm_retention._frozen import frozen_mapping
from rfm_retention.features import PatientFeatures
from rfm_retention.segmentation._results import Segmentation
from rfm_retention.segmentation._segmenter import FittedSegmenter, Segmenter

__all__ = [
    "SEGMENTER_CHECKS",
    "check_covers_every_patient",
    "check_permutation_invariant",
    "check_segmenter",
    "check_single_equals_batch",
    "check_ties_share_labels",
]


def _labels(seg: Segmentation, i: int) -> tuple[int, int, int, int]:
    return int(seg.r[i]), int(seg.f[i]), int(seg.m[i]), int(seg.segment[i])


def check_covers_every_patient(seg: Segmentation, features: PatientFeatures) -> None:
    """One valid segment per patient, in the features' row order."""
    name = "check_covers_every_patient"
    expect(len(seg) == len(features), name, f"{len(seg)} labels for {len(features)} patients")
    expect(np.array_equal(seg.patient_id, features.patient_id), name, "patients out of order")
    n_segments = len(seg.segment_map.segments)
    bad = np.flatnonzero((seg.segment < 0) | (seg.segment >= n_segments))
    if bad.size:
        expect(False, name, f"patient {features.patient_id[bad[0]]!r} has no valid segment")


def check_single_equals_batch(fitted: FittedSegmenter, features: PatientFeatures,
                              batch: Segmentation) -> None:
    """Assigning each patient alone (check-in) gives what the batch gave them."""
    for i in range(len(features)):
        one = fitted.assign(features.take(np.array([i])))
        expect(
            _labels(one, 0) == _labels(batch, i), "check_single_equals_batch",
            f"patient {features.patient_id[i]!r}: alone {_labels(one, 0)}, "
            f"in the batch {_labels(batch, i)} (labels r, f, m, segment)",
        )


def check_permutation_invariant(segmenter: Segmenter, features: PatientFeatures,
                                batch: Segmentation, *, seed: int = 0) -> None:
    """Fitting and assigning the same patients in another row order changes no label."""
    order = np.random.default_rng(seed).permutation(len(features))
    shuffled = segmenter.fit(features.take(order)).assign(features.take(order))
    for pos, i in enumerate(order.tolist()):
        expect(
            _labels(shuffled, pos) == _labels(batch, i), "check_permutation_invariant",
            f"patient {features.patient_id[i]!r} changes from {_labels(batch, i)} to "
            f"{_labels(shuffled, pos)} when the rows are shuffled",
        )


def check_ties_share_labels(batch: Segmentation) -> None:
    """Patients with the same R, F, M values (and group) get the same labels."""
    seen: dict[tuple[float, float, float, str], tuple[int, int, int, int]] = {}
    for i in range(len(batch)):
        group = "" if batch.group is None else str(batch.group[i])
        key = (float(batch.recency[i]), float(batch.frequency[i]), float(batch.monetary[i]),
               group)
        first = seen.setdefault(key, _labels(batch, i))
        expect(
            first == _labels(batch, i), "check_ties_share_labels",
            f"patient {batch.patient_id[i]!r} ties with an earlier patient on {key} but gets "
            f"{_labels(batch, i)} instead of {first}",
        )


def check_segmenter(segmenter: Segmenter, features: PatientFeatures, *, seed: int = 0) -> None:
    """Every check above, on one snapshot (loops per patient: use a few thousand at most)."""
    fitted = segmenter.fit(features)
    batch = fitted.assign(features)
    check_covers_every_patient(batch, features)
    check_ties_share_labels(batch)
    check_single_equals_batch(fitted, features, batch)
    check_permutation_invariant(segmenter, features, batch, seed=seed)


def _covers(segmenter: Segmenter, features: PatientFeatures) -> None:
    check_covers_every_patient(segmenter.fit(features).assign(features), features)


def _ties(segmenter: Segmenter, features: PatientFeatures) -> None:
    check_ties_share_labels(segmenter.fit(features).assign(features))


def _single(segmenter: Segmenter, features: PatientFeatures) -> None:
    fitted = segmenter.fit(features)
    check_single_equals_batch(fitted, features, fitted.assign(features))


def _shuffled(segmenter: Segmenter, features: PatientFeatures) -> None:
    check_permutation_invariant(segmenter, features, segmenter.fit(features).assign(features))


SEGMENTER_CHECKS: Mapping[str, Callable[[Segmenter, PatientFeatures], Any]] = frozen_mapping({
    "check_covers_every_patient": _covers,
    "check_ties_share_labels": _ties,
    "check_single_equals_batch": _single,
    "check_permutation_invariant": _shuffled,
})
"""Every segmenter check by name, each called as ``check(segmenter, features)``."""
