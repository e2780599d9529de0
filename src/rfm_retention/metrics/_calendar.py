"""Calendar arithmetic on day numbers, vectorised: month spans and "plus N calendar months".

KPIs count in calendar days and calendar months. Everything here works on
day numbers (days since 1970-01-01, ``int64``) so that a whole column of
visits is handled in one numpy expression.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import IntArray
from rfm_retention.errors import ConfigError
from rfm_retention.time import TimeLike, as_day

__all__ = ["add_months", "check_period", "month_spans"]


def add_months(days: IntArray | int, months: int) -> IntArray:
    """Day numbers moved ``months`` calendar months ahead, clipped to the month's end.

    Same rule as ``dateutil.relativedelta``: 31 January + 1 month is the last
    day of February; 15 March + 3 months is 15 June.

    Examples:
        >>> from rfm_retention.time import day_number
        >>> int(add_months(day_number("2024-01-31"), 1)) == day_number("2024-02-29")
        True
    """
    d = np.asarray(days, np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    offset = d - month.astype("datetime64[D]")
    target = month + np.timedelta64(months, "M")
    length = (target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype(
        "datetime64[D]"
    )
    clipped = np.minimum(offset, length - np.timedelta64(1, "D"))
    out: IntArray = (target.astype("datetime64[D]") + clipped).astype(np.int64)
    return out


def check_period(first: Any, last: Any, start: TimeLike, end: TimeLike) -> None:
    """ConfigError when the period ``[start, end]`` ends before it starts.

    ``first`` and ``last`` are ``start`` and ``end`` already converted (day
    numbers, months): the caller converts each time once and compares here.

    Examples:
        >>> check_period(20, 10, "2024-01-21", "2024-01-11")
        Traceback (most recent call last):
        ...
        rfm_retention.errors.ConfigError: the period ends (2024-01-11) before it starts (2024-01-21)
    """
    if last < first:
        raise ConfigError(f"the period ends ({end}) before it starts ({start})")


def month_spans(start: TimeLike, end: TimeLike) -> tuple[npt.NDArray[np.datetime64], IntArray]:
    """The calendar months touching ``[start, end]`` and their boundaries.

    Returns ``(months, bounds)``: ``months`` as ``datetime64[M]`` (one per
    month) and ``bounds`` as day numbers with one more entry, so month ``i``
    covers days ``bounds[i] <= day < bounds[i + 1]``.
    """
    first = as_day(start).astype("datetime64[M]")
    last = as_day(end).astype("datetime64[M]")
    check_period(first, last, start, end)
    months = np.arange(first, last + np.timedelta64(1, "M"), dtype="datetime64[M]")
    edges = np.append(months, last + np.timedelta64(1, "M"))
    bounds: IntArray = edges.astype("datetime64[D]").astype(np.int64)
    return months, bounds
