"""The examples in the docstrings of the risk model and the quality metrics run as shown."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "rfm_retention.model",
    "rfm_retention.model._calibration",
    "rfm_retention.model._fit",
    "rfm_retention.model._inputs",
    "rfm_retention.model._risk_model",
    "rfm_retention.model._scorer",
    "rfm_retention.model._terms",
    "rfm_retention.model._train",
    "rfm_retention.metrics._quality",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    """Every docstring example of the module passes."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
