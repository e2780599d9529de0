"""Spend totals that overflow float64 are a library error naming the patient, on every path."""

from __future__ import annotations

import warnings

import pytest

from rfm_retention import FeatureState, NumericOverflowError, VisitLog, patient_features


def _log() -> VisitLog:
    """Patient P2 has two finite amounts whose sum is beyond float64; P1 is ordinary."""
    return VisitLog.from_arrays(
        patient_id=["P1", "P2", "P2"],
        visit_time=["2024-01-05T10:00:00", "2024-02-01T10:00:00", "2024-03-01T10:00:00"],
        amount=[10.0, 1.5e308, 1.5e308],
    )


def test_numpy_path_names_the_overflowing_patient() -> None:
    """patient_features raises NumericOverflowError naming P2, with no RuntimeWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NumericOverflowError, match="P2") as caught:
            patient_features(_log(), "2024-06-30")
    assert "P1" not in str(caught.value)


def test_feature_state_path_names_the_overflowing_patient() -> None:
    """The mergeable FeatureState refuses the same overflow by patient, not with inf."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NumericOverflowError, match="P2"):
            FeatureState.from_visits(_log()).features("2024-06-30")
