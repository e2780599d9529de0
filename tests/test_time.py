"""The public time module: one accepted type, one conversion, the same meaning everywhere."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.errors import ConfigError, LedgerError
from rfm_retention.interventions import (
    CaseBook,
    Channel,
    Contact,
    ContactResult,
    InMemoryCaseStore,
)
from rfm_retention.loyalty import MemoryStore, PointsLedger
from rfm_retention.risk import ReasonCode, RiskLevel, WarningRecord
from rfm_retention.time import END_OF_DAY, SECONDS_PER_DAY, to_datetime, to_instant


def test_constants() -> None:
    """The end of a day is its last second; a day has 86 400 seconds."""
    assert (SECONDS_PER_DAY, END_OF_DAY) == (86_400, 86_399)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_every_form_of_a_date_is_the_same_instant(day: dt.date) -> None:
    """A date, its ISO text and its end-of-day datetime give one instant."""
    last = dt.datetime.combine(day, dt.time(23, 59, 59))
    forms = [day, day.isoformat(), last, last.isoformat(), np.datetime64(last, "s")]
    assert len({to_instant(f) for f in forms}) == 1


def test_aware_text_is_converted_to_utc() -> None:
    """An offset is applied and dropped: instants are naive UTC."""
    assert to_datetime("2024-03-01T08:30:00+08:00") == dt.datetime(2024, 3, 1, 0, 30)


@pytest.mark.parametrize("bad", [20240301, None, np.datetime64("NaT"), "03/01/2024"])
def test_bad_times_name_the_field(bad: object) -> None:
    """Numbers, None, NaT and non-ISO text are refused with the field's name."""
    with pytest.raises(ConfigError, match="when"):
        to_instant(bad, field="when")  # type: ignore[arg-type]


def test_ledger_and_case_book_read_a_date_the_same_way() -> None:
    """The ledger and the case book store the same instant for the same input."""
    ledger = PointsLedger(MemoryStore())
    book = CaseBook(InMemoryCaseStore())
    for n, value in enumerate(["2024-03-01", dt.date(2024, 3, 1), "2024-03-01T23:59:59"]):
        event = ledger.earn("p1", 1, key=f"k{n}", at=value)
        intake = book.intake(WarningRecord(f"p{n}", RiskLevel.HIGH, ReasonCode.SERVICE), value)
        assert intake.case is not None
        assert event.at == intake.case.warned_at == dt.datetime(2024, 3, 1, 23, 59, 59)
        contact = Contact(value, "nurse", Channel.PHONE, ContactResult.REACHED)
        assert contact.at == event.at  # a case record reads the date as the book does
    with pytest.raises(LedgerError):
        ledger.earn("p1", 1, key="bad", at=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        book.intake(WarningRecord("p9", RiskLevel.HIGH, ReasonCode.SERVICE), 1.5)
