"""The indicator kit in the one shape: named checks raising ConformanceError, also under -O."""

from __future__ import annotations

import functools
import itertools

import attrs
import pytest

from kit_support import checks_failing_under_python_o
from rfm_retention.data import PatientData
from rfm_retention.errors import ConformanceError
from rfm_retention.risk import IntervalExtension, default_indicators
from rfm_retention.risk.conformance import INDICATOR_CHECKS
from rfm_retention.testing import parametrize_with_checks, synthetic_cohort

AS_OF = "2024-06-30"


@functools.cache
def data() -> PatientData:
    """A small synthetic hospital with every source."""
    return synthetic_cohort(120, seed=17).data


@pytest.mark.parametrize("indicator", list(default_indicators()), ids=lambda i: i.name)
@parametrize_with_checks(INDICATOR_CHECKS)
def test_built_in_indicators_pass_every_check(indicator, check) -> None:  # type: ignore[no-untyped-def]
    """Every built-in indicator keeps every promise of the indicator kit."""
    check(indicator, data(), AS_OF)


@attrs.frozen
class CrowdNoise(IntervalExtension):
    """Adds the number of patients in the data to every value: a result that depends on others."""

    def measure(self, data, instant):  # type: ignore[no-untyped-def]
        """The interval extension plus the population size."""
        m = super().measure(data, instant)
        return attrs.evolve(m, value=m.value + len(data.patients))


class NotAnIndicator:
    """Has a name and nothing else."""

    name = "not_an_indicator"


CALLS = itertools.count(1)
"""How many times a Jumpy indicator has been evaluated."""


class Jumpy(IntervalExtension):
    """Evaluates differently every time it is called."""

    def evaluate(self, data, as_of):  # type: ignore[no-untyped-def]
        """The interval extension, its values shifted by the number of earlier calls."""
        result = super().evaluate(data, as_of)
        return attrs.evolve(result, value=result.value + next(CALLS))


BROKEN = {
    "check_protocol": (NotAnIndicator, "missing members"),
    "check_determinism": (Jumpy, "value differs"),
    "check_independence": (CrowdNoise, "value differs"),
}
"""A broken indicator for the checks a hand-written plug-in most often breaks."""


@pytest.mark.parametrize("check_name", list(BROKEN))
def test_a_broken_indicator_fails_the_check(check_name: str) -> None:
    """The check raises ConformanceError naming itself and what differs."""
    make, says = BROKEN[check_name]
    with pytest.raises(ConformanceError, match=says) as caught:
        INDICATOR_CHECKS[check_name](make(), data(), AS_OF)
    assert caught.value.check == check_name


def test_data_without_a_needed_source_is_named() -> None:
    """Checking an indicator on data that lacks its source fails naming the source."""
    visits_only = PatientData(visits=data().visits)
    with pytest.raises(ConformanceError, match="lacks source"):
        INDICATOR_CHECKS["check_shape"](default_indicators()["complaints"], visits_only, AS_OF)


def test_broken_indicators_fail_under_python_o() -> None:
    """With assertions stripped (python -O) the checks still catch the broken indicators."""
    failing = checks_failing_under_python_o(__name__, "INDICATOR_CHECKS", "data(), AS_OF")
    assert failing == list(BROKEN)
