"""The BTYD summary, checked against cases computed by hand from the documented definitions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.btyd import BTYD_COLUMNS, btyd_summary, period_numbers
from rfm_retention.data import Visit, VisitLog
from rfm_retention.errors import ConfigError


def _log(*visits: tuple[str, str, float]) -> VisitLog:
    return VisitLog.from_records(Visit(p, t, a) for p, t, a in visits)


def _row(summary: object, column: str) -> list[object]:
    values: list[object] = getattr(summary, column).tolist()
    return values


def test_daily_summary_by_hand() -> None:
    """Two visits on one day are one period; monetary is the mean of the repeat days' spend."""
    log = _log(("a", "2024-01-01", 10.0), ("a", "2024-01-01T18:00:00", 5.0),
               ("a", "2024-01-11", 30.0), ("a", "2024-02-01", 20.0), ("b", "2024-02-20", 7.0))
    s = btyd_summary(log, "2024-03-01")
    assert _row(s, "patient_id") == ["a", "b"]
    assert _row(s, "frequency") == [2, 0]
    assert _row(s, "recency") == [31, 0]
    assert _row(s, "T") == [60, 10]  # 1 Jan -> 1 Mar 2024 is 31 + 29 days
    assert _row(s, "monetary_value") == [25.0, 0.0]


def test_weekly_periods_run_monday_to_sunday() -> None:
    """Sunday and the following Monday are different weeks; Monday and Sunday of one are not."""
    log = _log(("a", "2024-01-07", 1.0),   # Sunday, week of Mon 1 Jan
               ("a", "2024-01-08", 2.0),   # Monday, next week
               ("a", "2024-01-14", 4.0))   # Sunday, same week as the Monday
    s = btyd_summary(log, "2024-01-31", period="W")  # Wednesday of the week of 29 Jan
    assert (_row(s, "frequency"), _row(s, "recency"), _row(s, "T")) == ([1], [1], [4])
    assert _row(s, "monetary_value") == [6.0]


def test_monthly_periods_are_calendar_months() -> None:
    """31 Jan and 1 Feb are one month apart; 1 and 29 Feb are the same month."""
    log = _log(("a", "2024-01-31", 10.0), ("a", "2024-02-01", 20.0),
               ("a", "2024-02-29", 40.0), ("a", "2024-04-30", 30.0))
    s = btyd_summary(log, "2024-12-15", period="M")
    assert (_row(s, "frequency"), _row(s, "recency"), _row(s, "T")) == ([2], [3], [11])
    assert _row(s, "monetary_value") == [45.0]  # (20 + 40 + 30) / 2 repeat months


def test_visits_after_the_end_are_ignored_even_inside_its_period() -> None:
    """Nothing after observation_period_end counts, not even later in the same month."""
    log = _log(("a", "2024-01-10", 10.0), ("a", "2024-01-20", 10.0), ("b", "2024-01-16", 1.0))
    s = btyd_summary(log, "2024-01-15", period="M")
    assert _row(s, "patient_id") == ["a"]
    assert (_row(s, "frequency"), _row(s, "recency"), _row(s, "T")) == ([0], [0], [0])
    assert _row(s, "monetary_value") == [0.0]


def test_end_as_date_includes_the_day_and_as_datetime_cuts_within_it() -> None:
    """A date end keeps every visit that day; a datetime end keeps only those up to it."""
    log = _log(("a", "2024-01-01", 10.0), ("a", "2024-01-11T10:00:00", 30.0))
    assert _row(btyd_summary(log, dt.date(2024, 1, 11)), "frequency") == [1]
    assert _row(btyd_summary(log, dt.datetime(2024, 1, 11, 9)), "frequency") == [0]
    assert _row(btyd_summary(log, "2024-01-11T10:00:00"), "frequency") == [1]


def test_include_first_visit_counts_every_period() -> None:
    """include_first_visit=True counts and averages the first period too (lifetimes' option)."""
    log = _log(("a", "2024-01-01", 10.0), ("a", "2024-01-11", 30.0), ("b", "2024-01-05", 8.0))
    s = btyd_summary(log, "2024-01-31", include_first_visit=True)
    assert _row(s, "frequency") == [2, 1]
    assert _row(s, "monetary_value") == [20.0, 8.0]
    assert _row(s, "recency") == [10, 0]


def test_empty_log_and_bad_period() -> None:
    """An empty log gives an empty summary; an unknown period is a ConfigError."""
    s = btyd_summary(VisitLog.empty(), "2024-01-01", period="W")
    assert len(s) == 0
    assert list(s.to_columns()) == list(BTYD_COLUMNS)
    with pytest.raises(ConfigError, match="period"):
        btyd_summary(_log(("a", "2024-01-01", 1.0)), "2024-02-01", period="Y")  # type: ignore[arg-type]


def test_visit_log_method_and_pandas_frame() -> None:
    """VisitLog.btyd_summary is the same function; to_pandas gives lifetimes' float frame."""
    pytest.importorskip("pandas")
    log = _log(("a", "2024-01-01", 10.0), ("a", "2024-01-11", 30.0))
    frame = btyd_summary(log, "2024-01-31").to_pandas()
    assert list(frame.columns) == ["frequency", "recency", "T", "monetary_value"]
    assert frame.index.name == "patient_id"
    assert frame.loc["a"].tolist() == [1.0, 10.0, 30.0, 30.0]
    assert all(frame.dtypes == np.float64)


def test_period_numbers_edges() -> None:
    """Day, week and month numbers step exactly at midnight, Monday and the 1st."""
    t = np.array(["2023-12-31T23:59:59", "2024-01-01T00:00:00", "2024-01-07T23:00:00",
                  "2024-01-08T00:00:00"], "datetime64[s]")
    assert np.diff(period_numbers(t, "D")).tolist() == [1, 6, 1]
    assert np.diff(period_numbers(t, "W")).tolist() == [1, 0, 1]
    assert np.diff(period_numbers(t, "M")).tolist() == [1, 0, 0]


def _reference(visits: list[tuple[str, dt.date, float]], end: dt.date, period: str) -> dict[
        str, tuple[int, int, int, float]]:
    """The definitions, one patient at a time, in plain Python."""
    def number(day: dt.date) -> int:
        if period == "D":
            return day.toordinal()
        if period == "W":
            return (day.toordinal() - 1) // 7  # ordinal 1 (1 Jan 0001) was a Monday
        return day.year * 12 + day.month

    out = {}
    for pid in sorted({p for p, d, _ in visits if d <= end}):
        spend: dict[int, float] = {}
        for p, d, a in visits:
            if p == pid and d <= end:
                spend[number(d)] = spend.get(number(d), 0.0) + a
        keys = sorted(spend)
        repeat = [spend[k] for k in keys[1:]]
        out[pid] = (len(keys) - 1, keys[-1] - keys[0], number(end) - keys[0],
                    sum(repeat) / len(repeat) if repeat else 0.0)
    return out


_visit = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),
    st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2024, 12, 31)),
    st.integers(min_value=0, max_value=10_000).map(float),
)


@given(st.lists(_visit, max_size=40), st.dates(min_value=dt.date(2023, 6, 1),
                                                max_value=dt.date(2025, 1, 1)),
       st.sampled_from(["D", "W", "M"]))
def test_matches_the_definitions_on_any_log(visits: list[tuple[str, dt.date, float]],
                                            end: dt.date, period: str) -> None:
    """Vectorised summary equals the per-patient definition for any visits, end and period."""
    log = VisitLog.from_arrays(patient_id=[v[0] for v in visits],
                               visit_time=[v[1] for v in visits],
                               amount=[v[2] for v in visits]) if visits else VisitLog.empty()
    s = btyd_summary(log, end, period=period)  # type: ignore[arg-type]
    expected = _reference(visits, end, period)
    assert _row(s, "patient_id") == list(expected)
    for k, pid in enumerate(expected):
        f, r, t, m = expected[pid]
        assert (s.frequency[k], s.recency[k], s.T[k]) == (f, r, t)
        assert s.monetary_value[k] == pytest.approx(m)
        assert 0 <= s.frequency[k] <= s.recency[k] <= s.T[k]
