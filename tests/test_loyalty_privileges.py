"""Returning-patient privileges decided from visits and points, naming the deciding rule."""

from __future__ import annotations

import datetime as dt

import pytest

from rfm_retention.data import Visit, VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.loyalty import (
    GREEN_CHANNEL,
    RETURNING_PACKAGE,
    MemoryStore,
    PointsLedger,
    Privilege,
    PrivilegeRule,
    privileges,
)

LOG = VisitLog.from_records([
    Visit("a", "2024-01-05", 80.0), Visit("a", "2024-05-05", 40.0),
    Visit("b", "2024-06-20", 10.0),
])


def test_spec_presets() -> None:
    """SPEC: the package is 20% below the ordinary price; the green channel gives priority."""
    assert RETURNING_PACKAGE.discount == pytest.approx(0.20)
    assert set(GREEN_CHANNEL.benefits) == {"priority booking", "priority examination",
                                           "priority consultation"}


def test_returning_patient_qualifies_new_patient_does_not() -> None:
    """A patient with an earlier visit gets both privileges; an unknown patient gets none."""
    known = privileges("a", LOG, as_of="2024-06-30")
    assert known.granted("returning_package")
    assert known.granted("green_channel")
    assert known.decision("green_channel").rule == "has visited before"
    new = privileges("zzz", LOG, as_of="2024-06-30")
    assert not new.granted("returning_package")
    assert new.decision("returning_package").reason == "0 visit(s), needs 1"


def test_visits_after_as_of_do_not_count() -> None:
    """Only visits on or before as_of are history."""
    assert not privileges("b", LOG, as_of="2024-06-19").granted("green_channel")
    assert privileges("b", LOG, as_of=dt.date(2024, 6, 20)).granted("green_channel")


def test_rules_are_data_and_can_read_the_ledger() -> None:
    """A host rule on recent visits or earned points decides, and is named."""
    ledger = PointsLedger(MemoryStore())
    ledger.award_visits(LOG)
    vip = Privilege("vip", "VIP lounge", ("lounge",), rules=(
        PrivilegeRule("two visits this quarter", min_visits=2, within_days=90),
        PrivilegeRule("loyal earner", min_points_earned=100),
    ))
    result = privileges("a", LOG, as_of="2024-06-30", ledger=ledger, catalogue=(vip,))
    assert result.points_earned == 100
    assert result.decision("vip").rule == "loyal earner"
    ledger.reverse_visit(patient_id="a", visit_time=dt.datetime(2024, 5, 5),
                         at=dt.datetime(2024, 7, 1))
    refused = privileges("a", LOG, as_of="2024-06-30", ledger=ledger, catalogue=(vip,))
    assert not refused.granted("vip")
    assert refused.decision("vip").reason == "1 visit(s) in the last 90 days, needs 2"


def test_integer_ids_and_bad_rules() -> None:
    """Integer-id logs are searched by value; nonsense rules are refused."""
    log = VisitLog.from_arrays(patient_id=[5, 9], visit_time=["2024-01-01", "2024-01-02"],
                               amount=[1.0, 1.0])
    assert privileges(9, log, as_of="2024-02-01").granted("green_channel")
    assert not privileges("x", log, as_of="2024-02-01").granted("green_channel")
    with pytest.raises(ConfigError):
        PrivilegeRule("bad", within_days=0)
    with pytest.raises(ConfigError):
        Privilege("p", "P", (), rules=())
