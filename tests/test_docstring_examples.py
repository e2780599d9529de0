"""Every docstring example in the library runs and prints what it shows: one doctest mechanism."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import rfm_retention

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(rfm_retention.__path__, f"{rfm_retention.__name__}.")
    if not info.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every example in the module's docstrings gives the output written beside it."""
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    result = doctest.testmod(
        importlib.import_module(name),
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
