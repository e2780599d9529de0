"""Each package's ``__all__`` is exactly its public names, sorted: nothing hidden, nothing stray."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import rfm_retention

PACKAGES = [rfm_retention.__name__, *sorted(
    info.name
    for info in pkgutil.walk_packages(rfm_retention.__path__, f"{rfm_retention.__name__}.")
    if info.ispkg and not any(part.startswith("_") for part in info.name.split("."))
    and info.name != "rfm_retention.cli"  # the command line's surface is its commands
)]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_the_public_surface(name: str) -> None:
    """``__all__`` is sorted and equals the package's public, non-module names (both ways)."""
    package = importlib.import_module(name)
    exported = [n for n in package.__all__ if not n.startswith("_")]
    public = sorted(
        member
        for member, value in vars(package).items()
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
                 "rfm_retention.time"}
    stray = {m for m in public_modules - top_level if m.rsplit(".", 1)[1] not in allowed_leaf}
    assert stray == set()
