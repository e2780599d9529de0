"""Extreme dates and windows, case words given as text, local calendar months: library errors."""

from __future__ import annotations

import datetime as dt
import pathlib
import re

import pytest

from rfm_retention.cli import main
from rfm_retention.errors import ConfigError
from rfm_retention.interventions import (
    CaseBook,
    Channel,
    ContactResult,
    DeadlineRule,
    DeadlineUnit,
    InMemoryCaseStore,
    Outcome,
    Purpose,
    WorkingCalendar,
)
from rfm_retention.risk import WarningRecord
from rfm_retention.vocabulary import ReasonCode, RiskLevel

WARNED = dt.datetime(2024, 5, 6, 9, 0)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("sample")
    assert main(["sample", "--out", str(folder), "--patients", "120"]) == 0
    return folder


@pytest.mark.parametrize(
    "args",
    [
        ["features", "--as-of", "0001-01-01"],
        ["btyd", "--as-of", "0001-01-01"],
        ["scan", "--as-of", "0001-01-01"],
        ["segment", "--as-of", "0001-01-01"],
        ["features", "--as-of", "2024-06-30", "--window-months", "100000"],
        ["scan", "--as-of", "9999-12-31"],
    ],
)
def test_extreme_dates_and_windows_never_raise_out_of_the_cli(
    sample: pathlib.Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Year 1, year 9999 and a 100,000-month window give a result or a one-line error (exit 2)."""
    code = main([args[0], "--visits", str(sample / "visits.csv"), *args[1:]])
    err = capsys.readouterr().err
    assert code in (0, 2)
    assert "Traceback" not in err


def test_cases_open_at_the_end_of_time_is_a_one_line_error(
    sample: pathlib.Path, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deadlines past 9999-12-31 are refused with a CaseError message and exit code 2."""
    warnings = tmp_path / "warnings.csv"
    assert main(["scan", "--visits", str(sample / "visits.csv"), "--as-of", "2024-06-30",
                 "--out", str(warnings)]) == 0
    capsys.readouterr()
    for extra in ([], ["--working-hours", "--timezone", "Asia/Shanghai"]):
        code = main(["cases", "open", "--warnings", str(warnings), "--db",
                     str(tmp_path / f"cases{len(extra)}.db"), "--at", "9999-12-31T12:00", *extra])
        err = capsys.readouterr().err
        assert code == 2
        assert "years 1 to 9999" in err


@pytest.mark.parametrize(
    ("call", "hint"),
    [
        (
            lambda b, c: b.record_contact(c, at=WARNED, actor="a", channel="phone",
                                          result=ContactResult.REACHED),
            "channel=Channel.PHONE",
        ),
        (
            lambda b, c: b.record_contact(c, at=WARNED, actor="a", channel=Channel.PHONE,
                                          result="reached"),
            "result=ContactResult.REACHED",
        ),
        (
            lambda b, c: b.record_contact(c, at=WARNED, actor="a", channel=Channel.PHONE,
                                          result=ContactResult.REACHED, purpose="care"),
            "purpose=Purpose.CARE",
        ),
        (
            lambda b, c: b.record_plan(c, at=WARNED, actor="a", purpose="marketing"),
            "purpose=Purpose.MARKETING",
        ),
        (
            lambda b, c: b.record_plan(c, at=WARNED, actor="a", channel="sms"),
            "channel=Channel.SMS",
        ),
        (lambda b, c: b.close(c, at=WARNED, actor="a", outcome="won_back"),
         "outcome=Outcome.WON_BACK"),
        (lambda b, c: b.close(c, at=WARNED, actor="a", outcome="vanished"),
         "outcome= takes one of Outcome.WON_BACK, Outcome.LOST"),
        (lambda b, c: b.record_contact(c, at=WARNED, actor="a", channel="fax",
                                       result=ContactResult.REACHED),
         "channel= takes one of Channel.PHONE, Channel.SMS"),
    ],
)
def test_case_words_given_as_text_are_refused_with_the_enum_to_use(
    call: object, hint: str
) -> None:
    """Text for a channel, result, purpose or outcome is a ConfigError naming the enum member."""
    book = CaseBook(InMemoryCaseStore())
    case = book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), WARNED).case
    assert case is not None
    with pytest.raises(ConfigError, match=re.escape(hint)):
        call(book, case.case_id)  # type: ignore[operator]
    assert len(book.history(case.case_id)) == 1  # nothing was recorded


def test_case_words_given_as_enums_are_recorded() -> None:
    """Channel, ContactResult, Purpose and Outcome members are taken and stored as given."""
    book = CaseBook(InMemoryCaseStore())
    case = book.intake(WarningRecord("p1", RiskLevel.HIGH, ReasonCode.PRICE), WARNED).case
    assert case is not None
    hour = dt.timedelta(hours=1)
    book.record_contact(case.case_id, at=WARNED + hour, actor="a", channel=Channel.WECHAT,
                        result=ContactResult.REACHED, purpose=Purpose.CARE)
    book.record_plan(case.case_id, at=WARNED + 2 * hour, actor="a", purpose=Purpose.MARKETING,
                     channel=Channel.SMS)
    closed = book.close(case.case_id, at=WARNED + 3 * hour, actor="a", outcome=Outcome.WON_BACK)
    contact = closed.contacts[0]
    assert (contact.channel, contact.result) == (Channel.WECHAT, ContactResult.REACHED)
    assert closed.plan is not None
    assert closed.plan.purpose is Purpose.MARKETING
    assert closed.outcome is Outcome.WON_BACK


def test_calendar_months_count_on_the_local_wall_clock() -> None:
    """Shanghai 31 March 07:00 + 1 month is 30 April 07:00 there, not 1 May."""
    shanghai = WorkingCalendar(timezone="Asia/Shanghai")
    start = shanghai.utc_time(dt.datetime(2024, 3, 31, 7, 0))
    due = DeadlineRule("review", 1, DeadlineUnit.CALENDAR_MONTHS).due_from(start, shanghai)
    assert shanghai.local_time(due) == dt.datetime(2024, 4, 30, 7, 0)
    utc = DeadlineRule("review", 1, DeadlineUnit.CALENDAR_MONTHS).due_from(
        dt.datetime(2024, 3, 31, 7, 0), WorkingCalendar()
    )
    assert utc == dt.datetime(2024, 4, 30, 7, 0)
