"""Working calendar: opening spans, weekends, holidays, make-up days, zones."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.errors import ConfigError
from rfm_retention.interventions import DeadlineRule, DeadlineUnit, WorkingCalendar

D = dt.datetime


def _zone_available(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except zoneinfo.ZoneInfoNotFoundError:
        return False
    return True


needs_zones = pytest.mark.skipif(
    not (_zone_available("Asia/Shanghai") and _zone_available("Europe/Berlin")),
    reason="no time-zone database on this system (install tzdata)",
)
SPLIT_DAY = ((dt.time(8), dt.time(12)), (dt.time(13), dt.time(17)))  # 8 working hours


def test_weekend_warning_counts_from_monday_opening():
    """A warning on Saturday starts its working-hour clock at Monday's opening."""
    cal = WorkingCalendar(hours=SPLIT_DAY)
    assert cal.add_working_hours(D(2024, 1, 6, 11), 1) == D(2024, 1, 8, 9)


def test_after_hours_warning_starts_next_morning():
    """A 22:00 warning on a Tuesday with 24 working hours is due Friday 16:00 (8 h/day)."""
    cal = WorkingCalendar(hours=SPLIT_DAY)
    assert cal.add_working_hours(D(2024, 1, 2, 22), 24) == D(2024, 1, 5, 17)
    assert cal.add_working_hours(D(2024, 1, 2, 22), 23) == D(2024, 1, 5, 16)


def test_lunch_break_does_not_count():
    """Two working hours from 11:00 end at 14:00 when 12:00-13:00 is a break."""
    cal = WorkingCalendar(hours=SPLIT_DAY)
    assert cal.add_working_hours(D(2024, 1, 2, 11), 2) == D(2024, 1, 2, 14)


def test_deadline_running_out_at_closing_is_closing_time():
    """Exactly the remaining hours of the day end at closing, not next opening."""
    cal = WorkingCalendar(hours=SPLIT_DAY)
    assert cal.add_working_hours(D(2024, 1, 2, 16), 1) == D(2024, 1, 2, 17)


def test_holiday_is_skipped_and_make_up_day_is_worked():
    """A weekday holiday has no hours; a Saturday make-up day has them."""
    cal = WorkingCalendar(
        hours=SPLIT_DAY,
        holidays=frozenset({dt.date(2024, 1, 8)}),
        extra_working_days=frozenset({dt.date(2024, 1, 6)}),
    )
    assert cal.add_working_hours(D(2024, 1, 5, 16), 2) == D(2024, 1, 6, 9)
    assert cal.add_working_hours(D(2024, 1, 6, 16), 2) == D(2024, 1, 9, 9)
    assert not cal.is_working_day(dt.date(2024, 1, 8))


def test_long_holiday_run_is_crossed():
    """A nine-day holiday block (spring festival) pushes the deadline past it, no error."""
    days = frozenset(dt.date(2024, 2, 10) + dt.timedelta(days=i) for i in range(9))
    cal = WorkingCalendar(hours=SPLIT_DAY, weekdays=range(7), holidays=days)
    assert cal.add_working_hours(D(2024, 2, 9, 16), 2) == D(2024, 2, 19, 9)


def test_calendar_without_working_time_is_refused():
    """No working weekday at all is a configuration error, not an endless loop."""
    cal = WorkingCalendar(weekdays=())
    with pytest.raises(ConfigError, match="no working time"):
        cal.add_working_hours(D(2024, 1, 1), 1)


@needs_zones
def test_timezone_hours_are_local_instants_utc():
    """Shanghai 08:00-17:30 is 00:00-09:30 UTC; a 10:00 UTC warning waits for the next day."""
    cal = WorkingCalendar(timezone="Asia/Shanghai")
    assert cal.next_open(D(2024, 1, 2, 10)) == D(2024, 1, 3, 0)
    assert cal.is_open(D(2024, 1, 2, 9))
    assert not cal.is_open(D(2024, 1, 2, 9, 30))


@needs_zones
def test_daylight_saving_switch_shifts_utc_opening():
    """Berlin opens at 07:00 UTC before the March switch and 06:00 UTC after it."""
    cal = WorkingCalendar(timezone="Europe/Berlin")
    # Friday 29 March 2024, 15:30 UTC = 16:30 CET: one hour left that day.
    assert cal.add_working_hours(D(2024, 3, 29, 15, 30), 2) == D(2024, 4, 1, 7, 0)
    assert cal.working_hours_between(D(2024, 3, 29, 15, 30), D(2024, 4, 1, 7, 0)) == 2.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hours": ()}, "at least one"),
        ({"hours": ((dt.time(17), dt.time(8)),)}, "start before"),
        ({"hours": ((dt.time(8), dt.time(12)), (dt.time(11), dt.time(13)))}, "overlap"),
        ({"weekdays": (7,)}, "0 \\(Monday\\)"),
        ({"timezone": "Mars/Olympus"}, "unknown timezone"),
    ],
)
def test_bad_calendar_settings_are_named(kwargs, message):
    """Each nonsensical setting is refused with a message naming it."""
    with pytest.raises(ConfigError, match=message):
        WorkingCalendar(**kwargs)


def test_clock_working_and_month_units():
    """The same 24 from Friday 17:00: clock hours vs working hours; months keep wall time."""
    start, cal = D(2024, 1, 5, 17), WorkingCalendar(hours=SPLIT_DAY)
    assert DeadlineRule("x", 24).due_from(start, cal) == D(2024, 1, 6, 17)
    assert DeadlineRule("x", 24, DeadlineUnit.WORKING_HOURS).due_from(start, cal) == D(
        2024, 1, 10, 17
    )
    assert DeadlineRule("x", 1, DeadlineUnit.CALENDAR_MONTHS).due_from(
        D(2024, 1, 31, 9), cal
    ) == D(2024, 2, 29, 9)


moments = st.datetimes(min_value=D(2023, 1, 1), max_value=D(2026, 12, 31)).map(
    lambda m: m.replace(microsecond=0)
)


holiday_sets = st.frozensets(
    st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2027, 3, 31)), max_size=40
)


@given(moments, st.integers(min_value=0, max_value=200), holiday_sets)
def test_working_hours_round_trip(start, hours, holidays):
    """Adding N working hours then measuring them back gives N, and never moves backwards."""
    cal = WorkingCalendar(hours=SPLIT_DAY, holidays=holidays)
    due = cal.add_working_hours(start, hours)
    assert due >= start
    assert cal.working_hours_between(start, due) == pytest.approx(hours)
    assert hours == 0 or due.date() not in holidays


@given(moments)
def test_next_open_is_open_and_not_earlier(moment):
    """next_open never goes back in time and always lands inside opening hours."""
    cal = WorkingCalendar(hours=SPLIT_DAY)
    opened = cal.next_open(moment)
    assert opened >= moment
    assert cal.is_open(opened)


def test_read_holidays_gives_dates_and_names_every_bad_line(tmp_path) -> None:
    """A holidays file gives typed dates; each line that is not one is a row of one error."""
    from rfm_retention.errors import InputFileError, ValidationError
    from rfm_retention.interventions import read_holidays

    good = tmp_path / "holidays.txt"
    good.write_text("# national day\n2024-10-01\n\n2024-10-02  # bridge\n", encoding="utf-8")
    assert read_holidays(good) == frozenset({dt.date(2024, 10, 1), dt.date(2024, 10, 2)})
    bad = tmp_path / "bad.txt"
    bad.write_text("2024-10-01\n01/10/2024\n2024-13-01\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        read_holidays(bad)
    assert [(i.row, i.line, i.value) for i in caught.value.issues] == [
        (1, 2, "01/10/2024"), (2, 3, "2024-13-01")]
    assert "line 2: date '01/10/2024': not an ISO date" in str(caught.value)
    assert "Hint: write one date per line as YYYY-MM-DD" in str(caught.value)
    assert "quarantine" not in str(caught.value)  # there is no such option here
    with pytest.raises(InputFileError, match="no such file"):
        read_holidays(tmp_path / "none.txt")
