"""Fixtures for other projects' tests, registered with pytest by entry point (``pytest11``).

Installing rfm-retention makes these fixtures available to every test suite
in the environment (no import, no ``conftest.py`` line needed):

* ``sample_cohort``: the fixed-seed cohort the demo runs on (built once per session);
* ``synthetic_cohort_factory(n, seed, ...)``: any synthetic cohort, each built once
  per session;
* ``ledger_store_factory(kind)``: a fresh points-ledger store, ``"memory"`` or
  ``"sqlite"`` (a file in the test's temporary folder, closed afterwards);
* ``case_store_factory(kind)``: the same for the interventions' case store;
* the conformance kits as parametrized arguments: a test that takes
  ``ledger_store_check``, ``case_store_check``, ``segmenter_check``,
  ``indicator_check``, ``policy_check`` or ``scorer_check`` runs once per
  check of that kit (named after the check), and calls it on the host's own
  store, segmenter, indicator, risk policy or backtest scorer. The same kits
  are plain read-only mappings
  (:data:`~rfm_retention.loyalty.conformance.LEDGER_STORE_CHECKS`,
  :data:`~rfm_retention.interventions.conformance.CASE_STORE_CHECKS`,
  :data:`~rfm_retention.segmentation.conformance.SEGMENTER_CHECKS`,
  :data:`~rfm_retention.risk.conformance.INDICATOR_CHECKS`,
  :data:`~rfm_retention.risk.conformance.POLICY_CHECKS`,
  :data:`~rfm_retention.metrics.conformance.SCORER_CHECKS`) for
  :func:`~rfm_retention.testing.parametrize_with_checks` and
  :func:`~rfm_retention.testing.run_checks`, re-exported here.

This module is loaded only by pytest; ``import rfm_retention`` never imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from rfm_retention._conformance import parametrize_with_checks, run_checks
from rfm_retention.testing._cohort import SyntheticCohort
from rfm_retention.testing._cohort import sample_cohort as _sample
from rfm_retention.testing._cohort import synthetic_cohort as _synthetic

__all__ = ["KIT_ARGUMENTS", "case_store_factory", "kits", "ledger_store_factory",
           "parametrize_with_checks", "pytest_generate_tests", "run_checks", "sample_cohort",
           "synthetic_cohort_factory"]

STORE_KINDS = ("memory", "sqlite")
"""What the store factories build: an in-memory store or a SQLite file."""


KIT_ARGUMENTS = (
    "ledger_store_check", "case_store_check", "segmenter_check", "indicator_check",
    "policy_check", "scorer_check",
)
"""Test arguments the plugin parametrizes over a conformance kit, one test per check."""


def kits() -> dict[str, Mapping[str, Callable[..., Any]]]:
    """Each kit argument's checks by name (imported when a test asks for one).

    Example:
        >>> sorted(kits())  # doctest: +NORMALIZE_WHITESPACE
        ['case_store_check', 'indicator_check', 'ledger_store_check', 'policy_check',
         'scorer_check', 'segmenter_check']
    """
    from rfm_retention.interventions.conformance import CASE_STORE_CHECKS
    from rfm_retention.loyalty.conformance import LEDGER_STORE_CHECKS
    from rfm_retention.metrics.conformance import SCORER_CHECKS
    from rfm_retention.risk.conformance import INDICATOR_CHECKS, POLICY_CHECKS
    from rfm_retention.segmentation.conformance import SEGMENTER_CHECKS

    return {"ledger_store_check": LEDGER_STORE_CHECKS, "case_store_check": CASE_STORE_CHECKS,
            "segmenter_check": SEGMENTER_CHECKS, "indicator_check": INDICATOR_CHECKS,
            "policy_check": POLICY_CHECKS,
            "scorer_check": SCORER_CHECKS}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize a test taking a kit argument over that kit's checks (ids: the check names)."""
    wanted = [name for name in KIT_ARGUMENTS if name in metafunc.fixturenames]
    if not wanted:
        return
    every = kits()
    for name in wanted:
        checks = every[name]
        metafunc.parametrize(name, list(checks.values()), ids=list(checks))


@pytest.fixture(scope="session")
def sample_cohort() -> SyntheticCohort:
    """The demo's sample cohort (fixed seed), built once per test session.

    Example:
        ``def test_mine(sample_cohort): assert len(sample_cohort.data.visits) > 0``
    """
    return _sample()


@pytest.fixture(scope="session")
def synthetic_cohort_factory() -> Callable[..., SyntheticCohort]:
    """``factory(n, seed, start=..., end=..., settings=...)``: a synthetic cohort, cached.

    Example:
        ``cohort = synthetic_cohort_factory(300, seed=7)``
    """
    made: dict[tuple[Any, ...], SyntheticCohort] = {}

    def factory(n_patients: int, seed: int, *args: Any, **kwargs: Any) -> SyntheticCohort:
        key = (n_patients, seed, args, tuple(sorted(kwargs.items())))
        if key not in made:
            made[key] = _synthetic(n_patients, seed, *args, **kwargs)
        return made[key]

    return factory


def _store_factory(tmp_path: Path, name: str, memory: Callable[[], Any],
                   sqlite: Callable[[Path], Any]) -> Iterator[Callable[[str], Any]]:
    """A factory of fresh stores; the SQLite ones are files in ``tmp_path``, closed at the end."""
    opened: list[Any] = []

    def factory(kind: str = "memory") -> Any:
        if kind not in STORE_KINDS:
            raise ValueError(f"store kind must be one of {STORE_KINDS}, got {kind!r}")
        if kind == "memory":
            return memory()
        store = sqlite(tmp_path / f"{name}-{len(opened)}.db")
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def ledger_store_factory(tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    """``factory("memory" | "sqlite")``: a fresh, empty points-ledger store.

    Example:
        ``ledger = PointsLedger(ledger_store_factory("sqlite"))``
    """
    from rfm_retention.loyalty import MemoryStore, SQLiteStore

    yield from _store_factory(tmp_path, "ledger", MemoryStore, SQLiteStore)


@pytest.fixture
def case_store_factory(tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    """``factory("memory" | "sqlite")``: a fresh, empty case store.

    Example:
        ``book = CaseBook(case_store_factory("sqlite"))``
    """
    from rfm_retention.interventions import InMemoryCaseStore, SQLiteCaseStore

    yield from _store_factory(tmp_path, "cases", InMemoryCaseStore, SQLiteCaseStore)
