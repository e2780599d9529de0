"""KPIs by group: every count lands in one group, and the groups add up to the whole."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_retention.data import RatingTable, VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.metrics import (
    NO_GROUP,
    CaseColumns,
    ControlGroup,
    LapseRule,
    PatientGroups,
    kpi_report_by,
)

BASE = dt.date(2023, 1, 1)
START, END, AS_OF = "2023-02-01", "2023-12-31", "2023-11-15"
COUNTS = (
    "active_at_start", "lapsed", "revisit_3m_index", "revisit_3m_censored",
    "revisit_3m_revisited", "revisit_6m_index", "revisit_6m_revisited", "ratings",
    "cases_opened", "win_back_contacted", "win_back_won", "win_back_censored",
    "control_warned", "control_won",
)

visit = st.tuples(
    st.sampled_from(["p1", "p2", "p3", "p4", "p5", "p6"]),
    st.integers(0, 400),
    st.sampled_from(["", "cardiology", "renal", "endocrinology"]),
)


def _log(rows: list[tuple[str, int, str]]) -> VisitLog:
    return VisitLog.from_arrays(
        patient_id=[r[0] for r in rows],
        visit_time=[(BASE + dt.timedelta(days=r[1])).isoformat() for r in rows],
        amount=[1.0] * len(rows),
        department=[r[2] for r in rows],
    )


def _cases(draw: st.DrawFn) -> CaseColumns:
    n = draw(st.integers(0, 6))
    pids = draw(st.lists(st.sampled_from(["p1", "p2", "p3", "p7"]), min_size=n, max_size=n))
    opened = draw(st.lists(st.integers(20, 330), min_size=n, max_size=n))
    contact = draw(st.lists(st.none() | st.integers(0, 5), min_size=n, max_size=n))

    def day(d: int) -> str:
        return (BASE + dt.timedelta(days=d)).isoformat() + "T10:00:00"

    return CaseColumns.from_arrays(
        patient_id=pids,
        level=draw(st.lists(st.sampled_from(["low", "medium", "high"]), min_size=n, max_size=n)),
        opened_at=[day(o) for o in opened],
        first_contact_at=[
            None if c is None else day(o + c) for o, c in zip(opened, contact, strict=True)
        ],
        first_contact_due=[day(o + 1) for o in opened],
        owner=draw(st.lists(st.sampled_from(["desk", "dr_li", ""]), min_size=n, max_size=n)),
    )


@st.composite
def programmes(draw: st.DrawFn) -> dict[str, object]:
    log = _log(draw(st.lists(visit, min_size=1, max_size=40)))
    n_r = draw(st.integers(0, 5))
    ratings = RatingTable.from_arrays(
        patient_id=draw(st.lists(st.sampled_from(["p1", "p4", "p9"]), min_size=n_r,
                                 max_size=n_r)),
        rated_at=[(BASE + dt.timedelta(days=d)).isoformat()
                  for d in draw(st.lists(st.integers(0, 360), min_size=n_r, max_size=n_r))],
        score=draw(st.lists(st.integers(0, 100), min_size=n_r, max_size=n_r)),
    )
    control = ControlGroup.from_arrays(
        patient_id=["p5", "p6"], level=["high", "medium"],
        warned_at=["2023-03-01", (BASE + dt.timedelta(days=draw(st.integers(0, 300)))).isoformat()],
    )
    return dict(visits=log, ratings=ratings, cases=_cases(draw), control=control,
                lapse_rule=LapseRule(grace_days=draw(st.integers(0, 30)),
                                     default_interval_days=draw(st.integers(10, 120))))


def _sums_match(by: object) -> None:
    cols = by.to_columns()  # type: ignore[attr-defined]
    whole = by.overall.to_columns()  # type: ignore[attr-defined]
    for name in COUNTS:
        if name not in whole:
            continue
        for i, month in enumerate(whole["month"]):
            total = sum(v for v, m in zip(cols[name], cols["month"], strict=True) if m == month)
            assert total == whole[name][i], (name, month)


@settings(max_examples=60, deadline=None)
@given(programmes(), st.sampled_from(["department", "team", "level", "segment", "arm"]))
def test_group_counts_add_up_to_the_programme(data: dict[str, object], dim: str) -> None:
    """For every dimension, each month's group counts sum to the programme-wide counts."""
    by: object = dim
    if dim == "arm":
        by = PatientGroups.from_mapping("arm", {"p1": "a", "p2": "b", "p3": "a"})
    report = kpi_report_by(start=START, end=END, as_of=AS_OF, by=by, **data)  # type: ignore[arg-type]
    _sums_match(report)


def test_department_of_the_last_visit_before_the_month() -> None:
    """Churn counts a patient in the department of their last visit before the month."""
    log = _log([("a", 0, "cardiology"), ("a", 20, "renal"), ("b", 10, "cardiology")])
    by = kpi_report_by(log, "2023-02-01", "2023-02-28", by="department", as_of="2023-12-31",
                       min_group_size=0)
    active = {g.group: g.months[0].churn.active_at_start for g in by.groups}
    assert active == {"cardiology": 1, "renal": 1}


def test_revisit_by_department_of_the_index_visit() -> None:
    """A revisit counts in the department of the index visit, not of the return visit."""
    log = _log([("a", 40, "cardiology"), ("a", 60, "renal")])
    by = kpi_report_by(log, "2023-02-01", "2023-02-28", by="department", as_of="2023-12-31",
                       min_group_size=0)
    rev = {g.group: g.months[0].revisit_3m.revisited for g in by.groups}
    assert rev == {"cardiology": 1, "renal": 0}


def test_small_groups_hide_rates_but_show_counts() -> None:
    """Below the minimum a rate is blank and the row flagged small; the counts remain."""
    log = _log([("a", 0, "cardiology"), ("a", 20, "cardiology"), ("b", 10, "renal")])
    by = kpi_report_by(log, "2023-02-01", "2023-02-28", by="department", as_of="2023-12-31",
                       min_group_size=2)
    cols = {name: column.tolist() for name, column in by.to_columns().items()}
    assert cols["group"] == ["cardiology", "renal"]
    assert cols["active_at_start"] == [1, 1]
    assert cols["small"] == [True, True]
    assert all(math.isnan(v) for v in cols["churn_rate"])
    shown = kpi_report_by(log, "2023-02-01", "2023-02-28", by="department",
                          as_of="2023-12-31", min_group_size=1).to_columns()
    assert shown["churn_rate"].tolist() == [0.0, 0.0]


def test_team_groups_cases_by_owner() -> None:
    """By team, a case counts for its owner and its patient follows their latest case."""
    log = _log([("a", 0, "x"), ("a", 50, "x"), ("b", 0, "x")])
    cases = CaseColumns.from_arrays(
        patient_id=["a", "a"], level=["high", "high"],
        opened_at=["2023-01-10", "2023-01-20"], owner=["desk", "dr_li"],
        first_contact_at=["2023-01-11T09:00:00", None],
    )
    by = kpi_report_by(log, "2023-01-01", "2023-01-31", by="team", cases=cases,
                       as_of="2023-12-31", min_group_size=0)
    opened = {g.group: g.months[0].coverage.opened for g in by.groups}  # type: ignore[union-attr]
    assert opened == {"desk": 1, "dr_li": 1, NO_GROUP: 0}
    index = {g.group: g.months[0].revisit_3m.index_patients for g in by.groups}
    assert index == {"desk": 0, "dr_li": 1, NO_GROUP: 1}


def test_unknown_dimension_and_missing_cases_are_refused() -> None:
    """A dimension the library does not know, or team without cases, raises ConfigError."""
    log = _log([("a", 0, "x")])
    with pytest.raises(ConfigError, match="unknown group dimension"):
        kpi_report_by(log, START, END, by="weather", as_of=AS_OF)
    with pytest.raises(ConfigError, match="need the cases"):
        kpi_report_by(log, START, END, by="team", as_of=AS_OF)
    with pytest.raises(ConfigError, match="given twice"):
        PatientGroups.from_arrays("arm", patient_id=["a", "a"], label=["x", "y"])


def test_sample_departments_reconcile_over_a_year() -> None:
    """On the synthetic cohort, a year of department rows adds up to the programme figures."""
    from rfm_retention.testing import synthetic_cohort

    cohort = synthetic_cohort(n_patients=300, seed=3)
    by = kpi_report_by(cohort.data.visits, "2024-01-01", "2024-12-31", by="department",
                       as_of="2024-12-31", ratings=cohort.data.ratings)
    _sums_match(by)
    assert len(by.groups) >= 3
    assert np.sum([m.churn.lapsed for g in by.groups for m in g.months]) > 0


def test_cli_report_by_department_writes_group_rows(tmp_path: object) -> None:
    """``report --by department --out`` writes one row per group and month that add up."""
    import csv
    from pathlib import Path

    from rfm_retention.cli import main

    folder = Path(str(tmp_path))
    assert main(["sample", "--out", str(folder / "s"), "--patients", "150"]) == 0
    visits = str(folder / "s" / "visits.csv")
    common = ["report", "--visits", visits, "--from", "2024-01-01", "--to", "2024-03-31"]
    assert main([*common, "--out", str(folder / "all.csv")]) == 0
    assert main([*common, "--by", "department", "--out", str(folder / "by.csv")]) == 0
    with open(folder / "all.csv") as a, open(folder / "by.csv") as b:
        whole, rows = list(csv.DictReader(a)), list(csv.DictReader(b))
    assert len({r["group"] for r in rows}) >= 2
    for month in whole:
        lapsed = sum(int(r["lapsed"]) for r in rows if r["month"] == month["month"])
        assert lapsed == int(month["lapsed"])


def test_cli_report_causes_and_before_after_files(tmp_path: object) -> None:
    """``--causes`` and ``--programme-start`` with ``--out`` write their tables beside the KPIs."""
    import csv
    from pathlib import Path

    from rfm_retention.cli import main

    folder = Path(str(tmp_path))
    assert main(["sample", "--out", str(folder / "s"), "--patients", "150"]) == 0
    s = folder / "s"
    assert main(["report", "--visits", str(s / "visits.csv"), "--complaints",
                 str(s / "complaints.csv"), "--from", "2023-01-01", "--to", "2024-06-30",
                 "--by", "department", "--causes", "--programme-start", "2024-01-01",
                 "--out", str(folder / "by.csv")]) == 0
    with open(folder / "by.causes.csv") as a, open(folder / "by.before_after.csv") as b:
        causes, change = list(csv.DictReader(a)), list(csv.DictReader(b))
    assert causes[0]["group"] == "(hospital)"
    assert {r["kpi"] for r in change} == {"churn", "revisit_3m", "revisit_6m"}
    churn = next(r for r in change if r["kpi"] == "churn")
    assert float(churn["ci_low"]) <= float(churn["difference"]) <= float(churn["ci_high"])
