"""Every package exports exactly what it says, and every exported name exists."""

from __future__ import annotations

import importlib

import pytest

import rfm_retention

PACKAGES = (
    "rfm_retention",
    "rfm_retention.data",
    "rfm_retention.errors",
    "rfm_retention.features",
    "rfm_retention.btyd",
    "rfm_retention.segmentation",
    "rfm_retention.risk",
    "rfm_retention.interventions",
    "rfm_retention.loyalty",
    "rfm_retention.metrics",
    "rfm_retention.model",
    "rfm_retention.testing",
)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist_once(name: str) -> None:
    """Each ``__all__`` lists only real attributes, once each (ruff keeps it sorted)."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(set(exported)) == len(exported)
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []


def test_top_level_surface_is_the_intended_one() -> None:
    """The top level exports the entry points of every capability and nothing private."""
    exported = set(rfm_retention.__all__)
    for entry in ("VisitLog", "PatientData", "scan", "eight_segments", "PointsLedger",
                  "CaseBook", "kpi_report", "backtest", "RFMRetentionError"):
        assert entry in exported
    assert not [n for n in exported if n.startswith("_") and n != "__version__"]


def test_every_library_error_derives_from_the_root() -> None:
    """A host catching RFMRetentionError catches every error the library raises on purpose."""
    errors = importlib.import_module("rfm_retention.errors")
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, rfm_retention.RFMRetentionError), name
