"""A conformance kit for indicators: run it on your own indicator in your own tests.

:func:`check_indicator` runs small checks, each a function you can also call
alone, and returns a report listing what failed:

- ``check_protocol``: the members of :class:`~rfm_retention.risk._indicator.Indicator`
  are there, with sensible types; ``sources`` are source names the bundle knows;
- ``check_shape``: one entry per patient of ``data.patients``, severity in
  [0, 1], booleans where expected, nothing fired or severe without a signal,
  declared measures present;
- ``check_determinism``: two evaluations give identical results and evidence;
- ``check_row_order``: shuffling the rows of every source changes nothing;
- ``check_as_of``: rows after ``as_of`` change nothing;
- ``check_independence``: a patient's result is the same when evaluated
  alongside only half of the other patients (skip it with
  ``population_norm=True`` for an indicator that compares patients with each other).

Example:
    In a host's test suite::

        def test_my_indicator_conforms():
            check_indicator(PortalSilence(), my_sample_data, "2024-06-30").raise_if_failed()

    or, one test per check, in the one shape of every kit (:data:`INDICATOR_CHECKS`,
    each raising :class:`~rfm_retention.errors.ConformanceError`)::

        @parametrize_with_checks(INDICATOR_CHECKS)
        def test_my_indicator(check):
            check(PortalSilence(), my_sample_data, "2024-06-30")

The policy kit lives here too: :data:`POLICY_CHECKS`, named checks of the
promises of :class:`~rfm_retention.risk.RiskPolicy`, each called as
``check(policy, panel)`` on an evaluated panel (see
:mod:`rfm_retention.risk._policy_checks`)::

    panel = evaluate(my_sample_data, "2024-06-30")
    run_checks(POLICY_CHECKS, MyPolicy(), panel)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._conformance import expect, expect_no_error
from rfm_retention._frozen import frozen_mapping
from rfm_retention.data import PatientData
from rfm_retention.data._bundle import SOURCE_FILES
from rfm_retention.data._table import IdArray, PatientTable
from rfm_retention.errors import ConfigError, ConformanceError
from rfm_retention.risk._indicator import Indicator, IndicatorResult, check_result
from rfm_retention.risk._policy_checks import (
    POLICY_CHECKS,
    check_empty_panel,
    check_explanations,
    check_one_level_per_patient,
    check_patients_graded_alone,
    check_policy_deterministic,
    check_policy_protocol,
    check_worse_signals_never_lower_risk,
    worse_signals,
)
from rfm_retention.time import TimeLike, as_instant
from rfm_retention.vocabulary import Dimension

__all__ = [
    "INDICATOR_CHECKS",
    "POLICY_CHECKS",
    "ConformanceReport",
    "check_as_of",
    "check_determinism",
    "check_empty_panel",
    "check_explanations",
    "check_independence",
    "check_indicator",
    "check_one_level_per_patient",
    "check_patients_graded_alone",
    "check_policy_deterministic",
    "check_policy_protocol",
    "check_protocol",
    "check_row_order",
    "check_shape",
    "check_worse_signals_never_lower_risk",
    "only_patients",
    "same_results",
    "shuffled_rows",
    "up_to",
    "worse_signals",
]


@attrs.frozen
class ConformanceReport:
    """Which checks passed and which failed (with the reason)."""

    indicator: str
    passed: tuple[str, ...]
    failures: Mapping[str, str]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.failures

    def raise_if_failed(self) -> None:
        """Raise :class:`~rfm_retention.errors.ConformanceError` listing every failure."""
        if self.failures:
            raise ConformanceError(", ".join(self.failures), str(self))

    def __str__(self) -> str:
        head = f"indicator {self.indicator!r}: {len(self.passed)} check(s) passed"
        if not self.failures:
            return head
        lines = [f"{head}, {len(self.failures)} failed:"]
        lines += [f"  {name}: {why}" for name, why in self.failures.items()]
        return "\n".join(lines)


# ---------------------------------------------------------------- data rewrites
def _rebuild(table: PatientTable, rows: npt.NDArray[np.int64]) -> PatientTable:
    """The same table with only ``rows`` (in the given order), validated again."""
    columns: dict[str, Any] = {}
    for f in table.SCHEMA.fields:
        col = table.columns[f.name][rows]
        if f.kind == "count" and not f.required and col.dtype.kind in "iu":
            obj = col.astype(object)
            obj[col < 0] = None  # "not given" is stored as -1
            col = obj
        columns[f.name] = col
    return type(table).from_columns(columns)


def _each_table(
    data: PatientData, pick: Callable[[str, PatientTable], npt.NDArray[np.int64]]
) -> PatientData:
    tables: dict[str, Any] = {name: _rebuild(t, pick(name, t)) for name, t in data.sources()}
    return PatientData(**tables)


def shuffled_rows(data: PatientData, seed: int = 0) -> PatientData:
    """The same data with the rows of every source fed in a random order."""
    rng = np.random.default_rng(seed)
    return _each_table(data, lambda _, t: rng.permutation(len(t)).astype(np.int64))


def only_patients(data: PatientData, patients: IdArray) -> PatientData:
    """The same data restricted to ``patients`` (rows of every source)."""
    return _each_table(
        data,
        lambda _, t: np.flatnonzero(np.isin(t.row_patient_ids(), patients)).astype(np.int64),
    )


def up_to(data: PatientData, as_of: TimeLike) -> PatientData:
    """The same data without rows after ``as_of``."""
    instant = as_instant(as_of)
    return _each_table(data, lambda _, t: np.flatnonzero(t.before(instant)).astype(np.int64))


def same_results(a: IndicatorResult, b: IndicatorResult, rows_a: Any, rows_b: Any) -> str:
    """'' when ``a`` at ``rows_a`` equals ``b`` at ``rows_b``; otherwise what differs."""
    for field in ("value", "severity", "fired", "signal"):
        x, y = getattr(a, field)[rows_a], getattr(b, field)[rows_b]
        equal = x == y
        if x.dtype.kind == "f":
            equal |= np.isnan(x) & np.isnan(y)
        if not np.all(equal):
            return f"{field} differs for {int(np.sum(~equal))} patient(s)"
    ra, rb = np.asarray(rows_a).reshape(-1), np.asarray(rows_b).reshape(-1)
    for i, j in list(zip(ra.tolist(), rb.tolist(), strict=True))[:50]:
        if a.evidence(i) != b.evidence(j):
            return f"evidence differs: {a.evidence(i)!r} vs {b.evidence(j)!r}"
    return ""


# ---------------------------------------------------------------- checks
def check_protocol(indicator: Any) -> str:
    """'' when ``indicator`` has the Indicator members with sensible types."""
    if not isinstance(indicator, Indicator):
        return "missing members: needs name, dimension, sources, measures and evaluate()"
    if not isinstance(indicator.name, str) or not indicator.name.isidentifier():
        return f"name must be an identifier-like string, got {indicator.name!r}"
    if not isinstance(indicator.dimension, Dimension):
        return f"dimension must be a Dimension, got {indicator.dimension!r}"
    unknown = set(indicator.sources) - set(SOURCE_FILES)
    if unknown:
        return f"unknown source(s) {sorted(unknown)}; known: {', '.join(SOURCE_FILES)}"
    if not all(isinstance(m, str) for m in indicator.measures):
        return "measures must be strings"
    return ""


def check_shape(indicator: Indicator, data: PatientData, as_of: TimeLike) -> str:
    """'' when the result is well formed (see :func:`.indicator.check_result`)."""
    as_of = as_instant(as_of)  # each check converts its time once and hands the instant on
    try:
        result = indicator.evaluate(data, as_of)
        check_result(result, data.patients, tuple(indicator.measures))
    except ConfigError as exc:
        return str(exc)
    if result.name != indicator.name or result.dimension != indicator.dimension:
        return "the result's name and dimension must be the indicator's"
    return ""


def check_determinism(indicator: Indicator, data: PatientData, as_of: TimeLike) -> str:
    """'' when two evaluations agree exactly."""
    as_of = as_instant(as_of)
    a, b = indicator.evaluate(data, as_of), indicator.evaluate(data, as_of)
    rows = np.arange(len(data.patients))
    return same_results(a, b, rows, rows)


def check_row_order(indicator: Indicator, data: PatientData, as_of: TimeLike, seed: int = 0) -> str:
    """'' when shuffling every source's rows leaves the result unchanged."""
    as_of = as_instant(as_of)
    a = indicator.evaluate(data, as_of)
    b = indicator.evaluate(shuffled_rows(data, seed), as_of)
    rows = np.arange(len(data.patients))
    return same_results(a, b, rows, rows)


def check_as_of(indicator: Indicator, data: PatientData, as_of: TimeLike) -> str:
    """'' when rows after ``as_of`` do not change any patient's result."""
    as_of = as_instant(as_of)
    a = indicator.evaluate(data, as_of)
    trimmed = up_to(data, as_of)
    b = indicator.evaluate(trimmed, as_of)
    rows_a = np.searchsorted(data.patients, trimmed.patients)
    return same_results(a, b, rows_a, np.arange(len(trimmed.patients)))


def check_independence(
    indicator: Indicator, data: PatientData, as_of: TimeLike, seed: int = 0
) -> str:
    """'' when each patient's result is the same with half of the others removed."""
    as_of = as_instant(as_of)
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.permutation(data.patients)[: max(1, len(data.patients) // 2)])
    part = only_patients(data, keep)
    a = indicator.evaluate(data, as_of)
    b = indicator.evaluate(part, as_of)
    rows_a = np.searchsorted(data.patients, part.patients)
    return same_results(a, b, rows_a, np.arange(len(part.patients)))


def check_indicator(
    indicator: Any,
    data: PatientData,
    as_of: TimeLike,
    *,
    population_norm: bool = False,
    seed: int = 0,
) -> ConformanceReport:
    """Run every check on ``indicator`` with ``data`` as of ``as_of``.

    ``data`` should have every source the indicator reads and a few patients
    with and without a signal. Set ``population_norm`` for an indicator that
    deliberately compares patients with each other (the independence check
    is then skipped).
    """
    as_of = as_instant(as_of)
    name = str(getattr(indicator, "name", type(indicator).__name__))
    failures: dict[str, str] = {}
    passed: list[str] = []
    problem = check_protocol(indicator)
    if problem:
        return ConformanceReport(name, (), {"protocol": problem})
    passed.append("protocol")
    missing = set(indicator.sources) - data.available
    if missing:
        return ConformanceReport(
            name, tuple(passed), {"data": f"the test data lacks source(s) {sorted(missing)}"}
        )
    checks: dict[str, Callable[[], str]] = {
        "shape": lambda: check_shape(indicator, data, as_of),
        "determinism": lambda: check_determinism(indicator, data, as_of),
        "row_order": lambda: check_row_order(indicator, data, as_of, seed),
        "as_of": lambda: check_as_of(indicator, data, as_of),
    }
    if not population_norm:
        checks["independence"] = lambda: check_independence(indicator, data, as_of, seed)
    for check, run in checks.items():
        try:
            problem = run()
        except Exception as exc:  # a plug-in may fail in any way; report, don't crash
            problem = f"raised {type(exc).__name__}: {exc}"
        if problem:
            failures[check] = problem
        else:
            passed.append(check)
    return ConformanceReport(name, tuple(passed), failures)


IndicatorCheck = Callable[[Indicator, PatientData, TimeLike], None]


def _raising(name: str, find: Callable[[Indicator, PatientData, TimeLike], str] | None,
             doc: str) -> IndicatorCheck:
    """A check reporting a problem as text (``find``), as a kit check raising ConformanceError."""

    def check(indicator: Indicator, data: PatientData, as_of: TimeLike) -> None:
        problem = check_protocol(indicator)
        expect(problem == "", name, problem)
        if find is None:
            return
        missing = sorted(set(indicator.sources) - data.available)
        expect(not missing, name, f"the test data lacks source(s) {missing}")
        problem = expect_no_error(lambda: find(indicator, data, as_of), name, "evaluate()")
        expect(problem == "", name, problem)

    check.__name__ = check.__qualname__ = name
    check.__doc__ = doc
    return check


INDICATOR_CHECKS: Mapping[str, IndicatorCheck] = frozen_mapping({
    name: _raising(name, find, doc)
    for name, find, doc in (
        ("check_protocol", None, "The Indicator members are there, with sensible types."),
        ("check_shape", check_shape, "One well-formed entry per patient of the data."),
        ("check_determinism", check_determinism, "Two evaluations agree exactly."),
        ("check_row_order", check_row_order, "Shuffling every source's rows changes nothing."),
        ("check_as_of", check_as_of, "Rows after as_of change no patient's result."),
        ("check_independence", check_independence,
         "A patient's result is the same with half of the others removed."),
    )
})
"""Every indicator check by name, each called as ``check(indicator, data, as_of)``; leave
``check_independence`` out for an indicator that compares patients with each other."""
