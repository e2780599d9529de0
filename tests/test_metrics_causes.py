"""Causes per group: who is counted, which reason they carry, the ranking against the hospital."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_retention.data import ComplaintTable, VisitLog
from rfm_retention.metrics import (
    NOT_WARNED,
    CaseColumns,
    LapseRule,
    causes_by_group,
)


def _log() -> VisitLog:
    return VisitLog.from_arrays(
        patient_id=["a", "b", "c", "d", "e"], amount=[1.0] * 5,
        visit_time=["2024-01-02"] * 5,
        department=["cardiology", "cardiology", "cardiology", "renal", "renal"],
    )


RULE = LapseRule(grace_days=0, default_interval_days=20)


def test_lapsed_patients_without_a_case_are_not_warned() -> None:
    """A patient who lapsed in the period with no case carries the reason '(not warned)'."""
    r = causes_by_group(_log(), "2024-01-01", "2024-01-31", by="department",
                        as_of="2024-01-31", lapse_rule=RULE, min_group_size=1)
    assert r.hospital.patients == 5
    assert [(c.cause, c.count) for c in r.hospital.reasons] == [(NOT_WARNED, 5)]


def test_reason_of_the_latest_case_and_over_representation() -> None:
    """Each patient carries their latest case's reason; the ranking puts the concentrated first."""
    cases = CaseColumns.from_arrays(
        patient_id=["a", "a", "b", "c", "d", "e"], level=["high"] * 6,
        opened_at=["2024-01-05", "2024-01-20", "2024-01-06", "2024-01-07", "2024-01-08",
                   "2024-01-09"],
        reason=["price", "efficacy", "efficacy", "efficacy", "service", "efficacy"],
    )
    r = causes_by_group(_log(), "2024-01-01", "2024-01-31", by="department",
                        as_of="2024-01-31", cases=cases, lapse_rule=RULE, min_group_size=1)
    cardio = r.group("cardiology")
    assert [(c.cause, c.count) for c in cardio.reasons] == [("efficacy", 3), ("service", 0)]
    renal = r.group("renal")
    assert renal.reasons[0].cause == "service"
    assert math.isclose(renal.reasons[0].over_representation, (1 / 2) / (1 / 5))
    assert [c.cause for c in renal.over_represented()] == ["service"]


def test_complaints_by_category_valid_only() -> None:
    """Only valid complaints of the period count, grouped by the department seen before filing."""
    complaints = ComplaintTable.from_arrays(
        patient_id=["a", "d", "d", "e"], filed_at=["2024-01-10"] * 3 + ["2024-03-01"],
        category=["service", "price", "price", "price"], valid=[True, True, False, True],
    )
    r = causes_by_group(_log(), "2024-01-01", "2024-01-31", by="department",
                        as_of="2024-01-31", complaints=complaints, min_group_size=1)
    assert r.hospital.complaints == 2
    assert [(c.cause, c.count) for c in r.group("renal").categories] == [("price", 1),
                                                                         ("service", 0)]
    cols = r.to_columns()
    assert cols["group"][0] == "(hospital)"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcde"),
                          st.sampled_from(["price", "efficacy", "service"]),
                          st.integers(1, 60)), max_size=12),
       st.sampled_from(["department", "level", "team"]))
def test_group_counts_add_up_to_the_hospital(rows: list[tuple[str, str, int]], by: str) -> None:
    """Every counted patient and complaint is in exactly one group."""
    cases = CaseColumns.from_arrays(
        patient_id=[r[0] for r in rows], level=["high"] * len(rows),
        opened_at=[f"2024-0{1 + r[2] // 31}-{1 + r[2] % 28:02d}" for r in rows],
        reason=[r[1] for r in rows], owner=["desk" if r[2] % 2 else "dr" for r in rows],
    )
    r = causes_by_group(_log(), "2024-01-01", "2024-02-29", by=by, as_of="2024-03-31",
                        cases=cases, lapse_rule=RULE)
    assert sum(g.patients for g in r.groups) == r.hospital.patients
    for c in r.hospital.reasons:
        assert sum(x.count for g in r.groups for x in g.reasons if x.cause == c.cause) == c.count
