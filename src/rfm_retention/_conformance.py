"""The one shape of every conformance kit: named checks that raise :class:`ConformanceError`.

A kit is a mapping of check names to functions taking the plug-in (or a
factory of it); each check calls :func:`expect` for every promise, never a
bare ``assert`` (which ``python -O`` strips). :func:`run_checks` runs a kit;
:func:`parametrize_with_checks` turns one into a pytest parametrisation, one
test per check, like scikit-learn's helper of the same name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from rfm_retention.errors import ConformanceError
from rfm_retention.vocabulary import RiskLevel

__all__ = [
    "Promises",
    "equal_or_both_nan",
    "expect",
    "expect_no_error",
    "expect_nobody",
    "expect_refused",
    "parametrize_with_checks",
    "run_checks",
    "unknown_levels",
]

Check = Callable[..., Any]
T = TypeVar("T")


def expect(condition: object, check: str, promise: str) -> None:
    """Raise :class:`ConformanceError` naming ``check`` unless ``condition`` holds.

    Example:
        >>> expect(1 + 1 == 2, "check_sum", "one and one make two")
        >>> expect(False, "check_sum", "never")
        Traceback (most recent call last):
        ...
        rfm_retention.errors.ConformanceError: check_sum: never
    """
    if not condition:
        raise ConformanceError(check, promise)


def expect_nobody(bad: npt.NDArray[np.bool_], patients: npt.NDArray[Any], check: str,
                  what: str) -> None:
    """Raise :class:`ConformanceError` naming the first patient where ``bad`` holds.

    Example:
        >>> expect_nobody(np.array([False, True]), np.array(["a", "b"]), "check_x", "is late")
        Traceback (most recent call last):
        ...
        rfm_retention.errors.ConformanceError: check_x: patient 'b' is late
    """
    if bad.any():
        raise ConformanceError(check, f"patient {patients[np.flatnonzero(bad)[0]].item()!r} {what}")


def expect_no_error(call: Callable[[], T], check: str, what: str) -> T:
    """``call()``, a plug-in's own code: any exception it raises breaks ``check``.

    Example:
        >>> expect_no_error(lambda: 1 / 0, "check_ratio", "ratio()")
        Traceback (most recent call last):
        ...
        rfm_retention.errors.ConformanceError: check_ratio: ratio() raised ZeroDivisionError: ...
    """
    try:
        return call()
    except ConformanceError:
        raise
    except Exception as exc:  # a plug-in may fail in any way: report which promise broke
        raise ConformanceError(check, f"{what} raised {type(exc).__name__}: {exc}") from exc


def expect_refused(
    call: Callable[[], object], error: type[BaseException], check: str, promise: str
) -> None:
    """Raise :class:`ConformanceError` unless ``call()`` raises ``error`` (a refusal promised).

    Example:
        >>> expect_refused(lambda: {}["key"], KeyError, "check_lookup", "unknown keys raise")
        >>> expect_refused(lambda: None, KeyError, "check_lookup", "unknown keys raise")
        Traceback (most recent call last):
        ...
        rfm_retention.errors.ConformanceError: check_lookup: unknown keys raise
    """
    try:
        call()
    except error:
        return
    raise ConformanceError(check, promise)


def equal_or_both_nan(a: object, b: object) -> npt.NDArray[np.bool_]:
    """Element-wise: the same number, or no number (NaN) on both sides.

    Example:
        >>> equal_or_both_nan([1.0, np.nan, 2.0], [1.0, np.nan, 3.0]).tolist()
        [True, True, False]
    """
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    out: npt.NDArray[np.bool_] = (x == y) | (np.isnan(x) & np.isnan(y))
    return out


def unknown_levels(level: object) -> npt.NDArray[np.bool_]:
    """Element-wise: the value is not a :class:`~rfm_retention.vocabulary.RiskLevel`.

    Example:
        >>> unknown_levels([0, 3, 7]).tolist()
        [False, False, True]
    """
    known = np.array([int(lv) for lv in RiskLevel])
    out: npt.NDArray[np.bool_] = ~np.isin(np.asarray(level), known)
    return out


class Promises:
    """:func:`expect` and :func:`expect_refused` bound to one name, for a kit's shared helpers.

    Example:
        >>> promises = Promises("ledger store")
        >>> promises.expect(False, "events come back in order")
        Traceback (most recent call last):
        ...
        rfm_retention.errors.ConformanceError: ledger store: events come back in order
    """

    def __init__(self, check: str) -> None:
        self.check = check

    def expect(self, condition: object, promise: str) -> None:
        """:func:`expect` under this name."""
        expect(condition, self.check, promise)

    def refused(
        self, call: Callable[[], object], error: type[BaseException], promise: str
    ) -> None:
        """:func:`expect_refused` under this name."""
        expect_refused(call, error, self.check, promise)


def run_checks(checks: Mapping[str, Check], *args: Any, **kwargs: Any) -> None:
    """Run every check of a kit in order; the first broken promise raises.

    Example:
        >>> run_checks({"check_true": lambda x: expect(x, "check_true", "x holds")}, True)
    """
    for check in checks.values():
        check(*args, **kwargs)


def parametrize_with_checks(checks: Mapping[str, Check]) -> Any:
    """A ``pytest.mark.parametrize`` over a kit: one test per named check.

    The decorated test receives ``check`` (a function) and calls it on the
    plug-in; pytest names each test after the check. Needs pytest (a test
    extra), imported only when called.

    Example:
        In a host's test suite::

            from rfm_retention.segmentation.conformance import SEGMENTER_CHECKS

            @parametrize_with_checks(SEGMENTER_CHECKS)
            def test_my_segmenter(check):
                check(MySegmenter(), my_features)
    """
    import pytest

    return pytest.mark.parametrize("check", list(checks.values()), ids=list(checks))
