"""The examples in the docstrings of the data model, features and BTYD modules run as shown."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "rfm_retention.data._time",
    "rfm_retention.data.schema",
    "rfm_retention.data.sources",
    "rfm_retention.data.table",
    "rfm_retention.data.bundle",
    "rfm_retention.features",
    "rfm_retention._feature_state",
    "rfm_retention._engines._sources",
    "rfm_retention.btyd",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    """Every docstring example of the module passes."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
