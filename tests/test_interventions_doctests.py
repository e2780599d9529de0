"""The docstring examples of the interventions package run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import rfm_retention.interventions as package

MODULES = sorted(
    f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    """Every example in the module's docstrings gives the output written beside it."""
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
