"""Time, converted once: the accepted type, the internal instant and the day arithmetic.

Every public entry point of the library that takes a point in time (a scan's
``as_of``, a ledger operation's ``at``, a case's ``warned_at``) accepts a
:data:`TimeLike` and converts it at the door with :func:`to_instant`; the
instant travels inward unchanged. One rule, everywhere:

* an aware datetime (or ISO text with an offset) is converted to UTC and
  stored naive;
* a bare date (``datetime.date`` or ``"2024-03-01"``) stands for the *end* of
  that day, :data:`END_OF_DAY` seconds after midnight, so that everything that
  happened on the day counts as before it;
* instants have whole-second precision (``datetime64[s]``).

**Converted once.** An entry point converts its time input with
:func:`to_instant` and hands the instant inward; an inner layer given a value
that already is the instant (a ``datetime64[s]``, or the naive whole-second
datetime a record holds) takes it as it is (:func:`as_instant`,
:func:`to_datetime`), so one public call converts its input exactly once.
An inner layer that works in whole days (a risk model, a backtest) hands on
the end of its day as :func:`day_end` gives it: arithmetic, not a conversion.

**Results report the instant.** Every result that is "as of" a time (features,
BTYD summary, segmentation, indicator panel, warning list, KPI and cause
reports, backtest, a patient's loyalty membership) has an ``as_of`` attribute
holding that instant, a ``datetime64[s]``: the same type and value whichever
result, for the same input (``"2024-06-30"`` is ``2024-06-30T23:59:59`` on all
of them). The instant rather than a date, because a scan at
``2024-06-30T12:00`` judges the morning's visits only and a date would hide
that; ``datetime64[s]`` rather than :class:`datetime.datetime`, because it is
what the columns hold and compares with them without a conversion. The
calendar day is ``result.as_of.astype("datetime64[D]")`` (or :func:`as_date`).

Records (ledger events, case events) hold the same instant as a naive-UTC
:class:`datetime.datetime` (:func:`to_datetime`): the time something happened
at is a datetime, the time a result is judged at is its ``as_of``; columns
hold it as ``datetime64[s]``; KPIs count in day numbers (days since
1970-01-01, :func:`day_number`).

Example:
    >>> to_instant("2024-03-01")
    np.datetime64('2024-03-01T23:59:59')
    >>> to_datetime("2024-03-01T08:30:00+08:00")
    datetime.datetime(2024, 3, 1, 0, 30)
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rfm_retention.errors import ConfigError, RFMRetentionError

__all__ = [
    "END_OF_DAY",
    "SECONDS_PER_DAY",
    "TimeLike",
    "as_date",
    "as_day",
    "as_instant",
    "day_end",
    "day_number",
    "day_of",
    "iso",
    "naive_utc",
    "parse_iso",
    "to_date",
    "to_datetime",
    "to_instant",
]

TimeLike = dt.date | dt.datetime | np.datetime64 | str
"""What every entry point accepts as a point in time: date, datetime, ``datetime64`` or ISO text."""

SECONDS_PER_DAY: Final = 86_400
"""Seconds in a calendar day (UTC has no leap seconds in ``datetime64``)."""

END_OF_DAY: Final = SECONDS_PER_DAY - 1
"""Seconds after midnight of the instant a bare date stands for: 23:59:59, the day's last second."""


def naive_utc(value: dt.datetime) -> dt.datetime:
    """``value`` as a naive UTC datetime: an aware time is converted, a naive one kept.

    Every stored time (visits, case events, ledger events) is naive UTC, so
    times given with an offset compare correctly with the rest.

    Example:
        >>> naive_utc(dt.datetime(2024, 3, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))))
        datetime.datetime(2024, 3, 1, 0, 30)
    """
    if value.tzinfo is None or value.utcoffset() is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def parse_iso(text: str) -> dt.datetime | dt.date:
    """ISO 8601 text as a date (``YYYY-MM-DD``) or a datetime (anything longer).

    Raises ``ValueError`` when the text is not ISO 8601.

    Example:
        >>> parse_iso("2024-03-01"), parse_iso("2024-03-01T08:30")
        (datetime.date(2024, 3, 1), datetime.datetime(2024, 3, 1, 8, 30))
    """
    text = text.strip()
    if len(text) <= 10:
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text)


def to_instant(
    value: TimeLike,
    *,
    field: str = "as_of",
    error: type[RFMRetentionError] = ConfigError,
) -> np.datetime64:
    """The one conversion: a :data:`TimeLike` as the internal instant (naive UTC ``datetime64[s]``).

    A date stands for the end of that day (:data:`END_OF_DAY`). Anything else
    (a number, NaT, text that is not ISO 8601) raises ``error`` (a
    :class:`~rfm_retention.errors.ConfigError` unless the caller's layer has
    its own, as the ledger does) naming ``field``.

    Example:
        >>> bool(to_instant(dt.date(2024, 3, 1)) == to_instant("2024-03-01T23:59:59"))
        True
    """
    if isinstance(value, str):
        try:
            value = parse_iso(value)
        except ValueError as exc:
            raise error(f"{field}: not an ISO date or time: {value!r} ({exc})") from None
    instant: np.datetime64
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise error(f"{field} is missing (NaT)")
        instant = value.astype("datetime64[s]")
    elif isinstance(value, dt.datetime):
        instant = np.datetime64(naive_utc(value).replace(microsecond=0), "s")
    elif isinstance(value, dt.date):
        instant = np.datetime64(value, "D").astype("datetime64[s]") + np.timedelta64(
            END_OF_DAY, "s"
        )
    else:
        raise error(
            f"{field} must be a date, datetime or ISO text, got {type(value).__name__} {value!r}"
        )
    return instant


def as_instant(
    value: TimeLike,
    *,
    field: str = "as_of",
    error: type[RFMRetentionError] = ConfigError,
) -> np.datetime64:
    """``value`` itself when it already is the instant (``datetime64[s]``), else :func:`to_instant`.

    What inner layers and functions that are both public and called from
    inside the library use: an instant handed down by an entry point is not
    converted a second time, a host's date or text is converted here, once.

    Example:
        >>> instant = to_instant("2024-03-01")
        >>> as_instant(instant) is instant, bool(as_instant("2024-03-01") == instant)
        (True, True)
    """
    if (
        isinstance(value, np.datetime64)
        and value.dtype == _INSTANT
        and not np.isnat(value)
    ):
        return value
    return to_instant(value, field=field, error=error)


_INSTANT: Final = np.dtype("datetime64[s]")
_EPOCH: Final = dt.date(1970, 1, 1)


def to_datetime(
    value: TimeLike,
    *,
    field: str = "at",
    error: type[RFMRetentionError] = ConfigError,
) -> dt.datetime:
    """:func:`to_instant` as a naive-UTC :class:`datetime.datetime`, the form records hold.

    The ledger and the case book both read their times through this, so
    ``"2024-03-01"`` means 23:59:59 on 1 March in both. A value already in
    that form (a naive datetime in whole seconds, as a record holds it) is
    returned as it is: like :func:`as_instant`, a time handed inward by an
    entry point is not converted a second time.

    Example:
        >>> to_datetime(dt.date(2024, 3, 1))
        datetime.datetime(2024, 3, 1, 23, 59, 59)
    """
    if isinstance(value, dt.datetime) and value.tzinfo is None and value.microsecond == 0:
        return value
    moment: dt.datetime = to_instant(value, field=field, error=error).astype(dt.datetime)
    return moment


def iso(moment: dt.datetime) -> str:
    """Seconds-precision ISO text, the form stored and shown everywhere.

    Example:
        >>> iso(dt.datetime(2024, 3, 1, 8, 30))
        '2024-03-01T08:30:00'
    """
    return moment.isoformat(timespec="seconds")


def as_day(value: TimeLike) -> np.datetime64:
    """The calendar day (``datetime64[D]``) that contains :func:`to_instant` of ``value``.

    Example:
        >>> as_day("2024-03-01T08:30")
        np.datetime64('2024-03-01')
    """
    day: np.datetime64 = as_instant(value).astype("datetime64[D]")
    return day


def day_number(value: TimeLike) -> int:
    """The day number (days since 1970-01-01) of the calendar day containing ``value``.

    Example:
        >>> day_number("1970-01-02"), day_number(dt.datetime(1970, 1, 2, 23, 59))
        (1, 1)
    """
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return (value - _EPOCH).days  # a calendar date needs no instant
    return int(as_day(value).astype(np.int64))


def to_date(day: int | np.integer[Any]) -> dt.date:
    """A day number (days since 1970-01-01) back to a :class:`datetime.date`.

    Example:
        >>> to_date(day_number("2024-03-01"))
        datetime.date(2024, 3, 1)
    """
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def day_end(day: int | np.integer[Any] | dt.date) -> np.datetime64:
    """The instant a calendar day stands for as an ``as_of``: its last second.

    Day arithmetic, not a conversion: what an inner layer that works in whole
    days (a risk model, a backtest) hands on as the instant, so a date its
    entry point already converted is not converted again.

    Example:
        >>> day_end(day_number("2024-03-01")), day_end(dt.date(2024, 3, 1))
        (np.datetime64('2024-03-01T23:59:59'), np.datetime64('2024-03-01T23:59:59'))
    """
    number = day_number(day) if isinstance(day, dt.date) else int(day)
    instant: np.datetime64 = np.datetime64(number, "D").astype(_INSTANT) + np.timedelta64(
        END_OF_DAY, "s"
    )
    return instant


def as_date(value: TimeLike) -> dt.date:
    """The calendar day that contains :func:`to_instant` of ``value``, as a :class:`datetime.date`.

    Example:
        >>> as_date("2024-03-01T23:30:00+08:00")
        datetime.date(2024, 3, 1)
    """
    return to_date(day_number(value))


def day_of(times: npt.NDArray[np.datetime64]) -> npt.NDArray[np.int64]:
    """Day numbers (days since 1970-01-01) of a ``datetime64`` column.

    Example:
        >>> day_of(np.array(["1970-01-02T12:00"], "datetime64[s]")).tolist()
        [1]
    """
    return times.astype("datetime64[D]").astype(np.int64)
