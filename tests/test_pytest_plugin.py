"""The pytest plugin: entry point, fixtures, and the docs' host-project example run as written."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "guide" / "testing-kit.md"


def test_plugin_is_registered_by_entry_point() -> None:
    """Installing the package registers ``rfm_retention`` under ``pytest11``."""
    points = importlib.metadata.entry_points(group="pytest11")
    assert any(p.value == "rfm_retention.testing._pytest_plugin" for p in points)


def test_docs_example_passes_in_a_host_project(pytester: pytest.Pytester) -> None:
    """The docs page's complete test file runs green in a fresh project, plugin fixtures."""
    example = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S)
    assert example is not None
    pytester.makepyfile(test_retention=example.group(1))
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_docs_conformance_example_runs_one_test_per_check(pytester: pytest.Pytester) -> None:
    """The docs page's kit example runs every store, segmenter, policy and scorer check alone."""
    from rfm_retention.interventions.conformance import CASE_STORE_CHECKS
    from rfm_retention.loyalty.conformance import LEDGER_STORE_CHECKS
    from rfm_retention.metrics.conformance import SCORER_CHECKS
    from rfm_retention.risk.conformance import POLICY_CHECKS
    from rfm_retention.segmentation.conformance import SEGMENTER_CHECKS

    examples = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S)
    assert len(examples) == 2
    pytester.makepyfile(test_plugins=examples[1])
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider")
    kits = sum(len(kit) for kit in (LEDGER_STORE_CHECKS, CASE_STORE_CHECKS, SEGMENTER_CHECKS,
                                     POLICY_CHECKS, SCORER_CHECKS))
    result.assert_outcomes(passed=kits + 1)
    result.stdout.fnmatch_lines(["*test_my_ledger_store?check_append_only? PASSED*",
                                 "*test_my_segmenter?check_ties_share_labels? PASSED*",
                                 "*test_my_policy?check_empty_panel? PASSED*",
                                 "*test_my_scorer?check_higher_is_riskier? PASSED*"])


def test_kit_argument_reports_the_broken_promise(pytester: pytest.Pytester) -> None:
    """A host store that breaks a promise fails that check's test with the ConformanceError."""
    pytester.makepyfile(
        """
        from rfm_retention.loyalty import MemoryStore

        class Forgetful(MemoryStore):
            def events(self, **kwargs):
                return ()

        def test_mine(ledger_store_check):
            ledger_store_check(Forgetful())
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1
    result.stdout.fnmatch_lines(["*ConformanceError*"])


def test_store_factories_refuse_an_unknown_kind(pytester: pytest.Pytester) -> None:
    """Asking for a store kind that does not exist fails the host's test with the known kinds."""
    pytester.makepyfile(
        """
        def test_kind(ledger_store_factory):
            ledger_store_factory("redis")
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*store kind must be one of ('memory', 'sqlite')*"])


def test_strategies_without_hypothesis_raise_the_hint() -> None:
    """Without hypothesis, importing the strategies raises MissingDependencyError with the hint."""
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n    import rfm_retention.testing.strategies\n"
        "except ImportError as e:\n    print(type(e).__name__, str(e).splitlines()[-1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "MissingDependencyError Hint: pip install 'rfm-retention[test]'"
