"""The working calendar deadlines are counted in: opening hours, weekends and holidays.

A hospital's service desk does not work at 3 a.m. on a public holiday, so
"first contact within 24 hours" can mean 24 clock hours or 24 *working* hours;
the playbook says which, this calendar does the counting. Holidays and
make-up working days (a Saturday worked to bridge a holiday) are supplied by
the host: the library ships no country's holiday list.

All instants going in and out are naive UTC, like every other time in the
library. Opening hours are local wall-clock times of ``timezone`` (an IANA
name such as ``"Asia/Shanghai"``); with ``timezone=None`` the instants are
taken to be local time already.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Iterable, Iterator

import attrs

from rfm_retention.errors import ConfigError, InputFileError, RowIssue, ValidationError

__all__ = ["WorkingCalendar", "read_holidays"]

_UTC = dt.UTC
# A calendar that finds no working time within ten years is misconfigured,
# not slow: stop instead of looping.
_SEARCH_LIMIT_DAYS = 3660


def _spans(value: Iterable[tuple[dt.time, dt.time]]) -> tuple[tuple[dt.time, dt.time], ...]:
    spans = tuple((start, end) for start, end in value)
    if not spans:
        raise ConfigError("WorkingCalendar: hours needs at least one (start, end) span")
    previous_end: dt.time | None = None
    for start, end in spans:
        if not (isinstance(start, dt.time) and isinstance(end, dt.time)):
            raise ConfigError(f"WorkingCalendar: hours must be datetime.time pairs, got {spans!r}")
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ConfigError("WorkingCalendar: hours are wall-clock times; use timezone= instead")
        if not start < end:
            raise ConfigError(f"WorkingCalendar: span {start}-{end} must start before it ends")
        if previous_end is not None and start < previous_end:
            raise ConfigError("WorkingCalendar: hours spans must be sorted and not overlap")
        previous_end = end
    return spans


def _weekdays(value: Iterable[int]) -> frozenset[int]:
    days = frozenset(value)
    if not days <= set(range(7)):
        raise ConfigError(f"WorkingCalendar: weekdays are 0 (Monday) to 6 (Sunday), got {days}")
    return days


def _dates(value: Iterable[dt.date]) -> frozenset[dt.date]:
    days = frozenset(value)
    for day in days:
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise ConfigError(f"WorkingCalendar: holidays and make-up days are dates, got {day!r}")
    return days


def _zone(value: str | None) -> str | None:
    if value is not None:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"WorkingCalendar: unknown timezone {value!r}") from None
    return value


@attrs.frozen
class WorkingCalendar:
    """When staff work: daily opening spans, working weekdays, holidays, make-up days.

    Example:
        >>> import datetime as dt
        >>> cal = WorkingCalendar(
        ...     hours=((dt.time(8), dt.time(12)), (dt.time(13), dt.time(17))),
        ...     holidays=frozenset({dt.date(2024, 10, 1)}),
        ... )
        >>> cal.add_working_hours(dt.datetime(2024, 9, 27, 16), 8)  # Friday 16:00
        datetime.datetime(2024, 9, 30, 16, 0)

    Attributes:
        hours: Opening spans of a working day, sorted, not overlapping (a lunch
            break is the gap between two spans). Default 08:00-17:30.
        weekdays: Working weekdays, 0 = Monday. Default Monday to Friday.
        holidays: Dates with no working time even on a working weekday.
        extra_working_days: Dates that are worked although their weekday is not
            (make-up days); a date in both sets is a holiday.
        timezone: IANA zone the opening hours are given in; ``None`` means the
            instants passed in are already local time.
    """

    hours: tuple[tuple[dt.time, dt.time], ...] = attrs.field(
        default=((dt.time(8, 0), dt.time(17, 30)),), converter=_spans
    )
    weekdays: frozenset[int] = attrs.field(default=frozenset(range(5)), converter=_weekdays)
    holidays: frozenset[dt.date] = attrs.field(default=frozenset(), converter=_dates)
    extra_working_days: frozenset[dt.date] = attrs.field(default=frozenset(), converter=_dates)
    timezone: str | None = attrs.field(default=None, converter=_zone)

    @classmethod
    def always_open(cls) -> WorkingCalendar:
        """Every hour of every day: working hours equal clock hours.

        Example:
            >>> import datetime as dt
            >>> WorkingCalendar.always_open().add_working_hours(dt.datetime(2024, 1, 6), 24)
            datetime.datetime(2024, 1, 7, 0, 0)
        """
        return cls(hours=((dt.time(0), dt.time.max),), weekdays=frozenset(range(7)))

    # -- days ---------------------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` (a local date) has opening hours at all."""
        if day in self.holidays:
            return False
        return day in self.extra_working_days or day.weekday() in self.weekdays

    def local_time(self, moment: dt.datetime) -> dt.datetime:
        """The naive-UTC ``moment`` as naive wall-clock time of ``timezone``.

        Example:
            >>> import datetime as dt
            >>> WorkingCalendar(timezone="Asia/Shanghai").local_time(dt.datetime(2024, 3, 30, 23))
            datetime.datetime(2024, 3, 31, 7, 0)
        """
        return self._shift(moment, to_local=True)

    def utc_time(self, local: dt.datetime) -> dt.datetime:
        """Naive wall-clock time of ``timezone`` as a naive-UTC instant (the inverse).

        Example:
            >>> import datetime as dt
            >>> shanghai = WorkingCalendar(timezone="Asia/Shanghai")
            >>> seven = dt.datetime(2024, 4, 30, 7)
            >>> shanghai.utc_time(seven), shanghai.local_time(shanghai.utc_time(seven)) == seven
            (datetime.datetime(2024, 4, 29, 23, 0), True)
        """
        return self._shift(local, to_local=False)

    def _shift(self, moment: dt.datetime, *, to_local: bool) -> dt.datetime:
        """``moment`` read in one of UTC and ``timezone``, written in the other."""
        if self.timezone is None:
            return moment
        zone = zoneinfo.ZoneInfo(self.timezone)
        source, target = (_UTC, zone) if to_local else (zone, _UTC)
        return moment.replace(tzinfo=source).astimezone(target).replace(tzinfo=None)

    def _utc(self, day: dt.date, at: dt.time) -> dt.datetime:
        local = dt.datetime.combine(day, at)
        if at == dt.time.max:  # "until midnight": the span ends at the next day's start
            local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
        return self.utc_time(local)

    def spans_on(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The opening spans of local date ``day`` as naive-UTC (start, end) pairs."""
        if not self.is_working_day(day):
            return []
        return [(self._utc(day, start), self._utc(day, end)) for start, end in self.hours]

    def _spans_from(self, moment: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Opening spans that end after ``moment``, in order, clipped to start at it."""
        day = self.local_time(moment).date() - dt.timedelta(days=1)  # zone shifts can straddle
        found_any = False
        for offset in range(_SEARCH_LIMIT_DAYS):
            for start, end in self.spans_on(day + dt.timedelta(days=offset)):
                if end > moment:
                    found_any = True
                    yield max(start, moment), end
            if offset > 400 and not found_any:  # a year without one working day
                break
        if not found_any:
            raise ConfigError(
                "WorkingCalendar has no working time after "
                f"{moment:%Y-%m-%d %H:%M}.\nHint: check weekdays= and holidays=."
            )
        raise ConfigError(  # pragma: no cover - ten years of spans were consumed
            f"WorkingCalendar: no answer within {_SEARCH_LIMIT_DAYS} days of {moment}"
        )

    # -- instants -----------------------------------------------------------

    def is_open(self, moment: dt.datetime) -> bool:
        """Whether ``moment`` falls inside an opening span (start inclusive, end exclusive)."""
        day = self.local_time(moment).date()
        return any(
            start <= moment < end
            for offset in (-1, 0, 1)
            for start, end in self.spans_on(day + dt.timedelta(days=offset))
        )

    def next_open(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` itself when open, otherwise the start of the next opening span.

        Example:
            >>> import datetime as dt
            >>> WorkingCalendar().next_open(dt.datetime(2024, 1, 6, 10))  # a Saturday
            datetime.datetime(2024, 1, 8, 8, 0)
        """
        start, _ = next(self._spans_from(moment))
        return start

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The instant by which ``hours`` of working time have passed since ``start``.

        Time outside opening spans does not count. A deadline that runs out
        exactly at closing time is that closing time (not the next opening).
        """
        if hours < 0:
            raise ConfigError(f"add_working_hours: hours must be >= 0, got {hours}")
        remaining = dt.timedelta(hours=hours)
        if not remaining:
            return start
        for span_start, span_end in self._spans_from(start):
            available = span_end - span_start
            if remaining <= available:
                return span_start + remaining
            remaining -= available
        raise AssertionError("unreachable: _spans_from raises when it runs out")  # pragma: no cover

    def working_hours_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working hours inside ``[start, end)``; 0 when ``end <= start``.

        Example:
            >>> import datetime as dt
            >>> WorkingCalendar().working_hours_between(
            ...     dt.datetime(2024, 1, 5, 17), dt.datetime(2024, 1, 8, 9))
            1.5
        """
        if end <= start:
            return 0.0
        total = dt.timedelta()
        for span_start, span_end in self._spans_from(start):
            if span_start >= end:
                break
            total += min(span_end, end) - span_start
        return total.total_seconds() / 3600.0


def read_holidays(path: str | os.PathLike[str]) -> frozenset[dt.date]:
    """The dates of a holidays file: one ISO date (``YYYY-MM-DD``) per line.

    ``#`` starts a comment; blank lines are skipped. Every line that is not a
    date is reported at once in a :class:`~rfm_retention.errors.ValidationError`
    (row = the 0-based line, with its 1-based line number), so the file is
    fixed in one pass.

    Example:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder) / "holidays.txt"
        ...     _ = path.write_text("# national day\\n2024-10-01\\n2024-10-02  # bridge\\n")
        ...     sorted(read_holidays(path))
        [datetime.date(2024, 10, 1), datetime.date(2024, 10, 2)]
    """
    name = os.fspath(path)
    days: set[dt.date] = set()
    issues: list[RowIssue] = []
    try:
        with open(name, encoding="utf-8-sig") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        raise InputFileError(name, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(name, f"cannot be read as UTF-8 text ({exc})") from None
    for number, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            days.add(dt.date.fromisoformat(text))
        except ValueError:
            issues.append(RowIssue(number - 1, "date", "not an ISO date (YYYY-MM-DD)", text,
                                   line=number))
    if issues:
        raise ValidationError(name, issues, hint="write one date per line as YYYY-MM-DD "
                              "(# starts a comment).")
    return frozenset(days)
