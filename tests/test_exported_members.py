"""Every package exports exactly what it says (both ways), and every exported name exists."""

from __future__ import annotations

import importlib
import pkgutil
import types

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


PUBLIC_PACKAGES = [rfm_retention.__name__, *sorted(
    info.name
    for info in pkgutil.walk_packages(rfm_retention.__path__, f"{rfm_retention.__name__}.")
    if info.ispkg and not any(part.startswith("_") for part in info.name.split("."))
    and info.name != "rfm_retention.cli"  # the command line's surface is its commands
)]


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_all_is_the_public_surface(name: str) -> None:
    """``__all__`` is sorted and equals the package's public, non-module names (both ways)."""
    package = importlib.import_module(name)
    exported = [n for n in package.__all__ if not n.startswith("_")]
    public = sorted(
        member
        for member, value in ((m, getattr(package, m)) for m in dir(package))  # lazy too
        if not member.startswith("_") and not isinstance(value, types.ModuleType)
        and member not in {"annotations"}
    )
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n)), "__all__ is unsorted"
    assert sorted(exported) == public


def test_implementation_modules_are_private() -> None:
    """Below a package, only plug-in kits, strategies and subpackages are public modules."""
    public_modules = {
        info.name
        for info in pkgutil.walk_packages(rfm_retention.__path__, f"{rfm_retention.__name__}.")
        if not info.ispkg and not any(p.startswith("_") for p in info.name.split("."))
        and ".cli." not in info.name
    }
    allowed_leaf = {"conformance", "state_machine", "strategies"}
    top_level = {"rfm_retention.btyd", "rfm_retention.errors", "rfm_retention.features",
                 "rfm_retention.time", "rfm_retention.vocabulary"}
    stray = {m for m in public_modules - top_level if m.rsplit(".", 1)[1] not in allowed_leaf}
    assert stray == set()
