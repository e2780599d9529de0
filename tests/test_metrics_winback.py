"""Win-back rate, the control-group draw and uplift, with hand-computed numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.metrics import (
    CaseColumns,
    ControlGroup,
    Exclusions,
    draw_control_group,
    kpi_report,
    win_back_rate,
    win_back_uplift,
)
from rfm_retention.vocabulary import RiskLevel


@pytest.fixture
def log() -> VisitLog:
    return VisitLog.from_arrays(
        patient_id=["a", "b", "c", "d", "e"],
        visit_time=[
            "2024-03-31T10:00:00",  # a: exactly 30 days after contact -> inside
            "2024-03-31T10:00:01",  # b: one second past the window -> outside
            "2024-03-01T10:00:00",  # c: at the contact instant -> not "after"
            "2024-03-05",  # d: low risk, ignored
            "2024-05-20",  # e: contacted late, window still open on as_of
        ],
        amount=[1.0] * 5,
    )


def test_win_back_window_edges(log: VisitLog) -> None:
    """Visits strictly after the first contact and at most N days later count."""
    cases = CaseColumns.from_arrays(
        patient_id=["a", "b", "c", "d", "e", "f"],
        level=["high", "medium", "high", "low", "medium", "high"],
        first_contact_at=["2024-03-01T10:00:00"] * 4 + ["2024-05-15T00:00:00", None],
    )
    r = win_back_rate(log, cases, as_of="2024-05-31")
    # contacted: a, b, c, e (d is low, f never contacted); e's window ends 06-14 -> censored
    assert (r.contacted, r.censored, r.won_back, r.eligible) == (4, 1, 1, 3)
    assert r.rate == pytest.approx(1 / 3)
    wider = win_back_rate(log, cases, as_of="2024-05-31", within_days=31)
    assert wider.won_back == 2


def test_win_back_levels_parameter(log: VisitLog) -> None:
    """Choosing the levels changes which cases count."""
    cases = CaseColumns.from_arrays(patient_id=["d"], level=[RiskLevel.LOW],
                                    first_contact_at=["2024-03-01T00:00:00"])
    assert win_back_rate(log, cases, as_of="2024-12-31").contacted == 0
    low = win_back_rate(log, cases, as_of="2024-12-31", levels=(RiskLevel.LOW,))
    assert (low.contacted, low.won_back) == (1, 1)


def test_uplift_and_interval_by_hand(log: VisitLog) -> None:
    """Uplift = treated rate - control rate, with the normal-approximation interval."""
    treated = CaseColumns.from_arrays(
        patient_id=["a", "b"], level=["high", "high"],
        first_contact_at=["2024-03-01T10:00:00"] * 2,
    )
    up = win_back_uplift(
        log, treated,
        control_patient_id=["c", "x"], control_level=["medium", "high"],
        control_warned_at=np.array(["2024-02-20T00:00", "2024-02-20T00:00"], "datetime64[s]"),
        as_of="2024-12-31",
    )
    # treated: a won, b not -> 1/2; control: c visits 03-01 within 30 days of 02-20, x never
    assert (up.treated.won_back, up.treated.eligible) == (1, 2)
    assert (up.control.won_back, up.control.eligible) == (1, 2)
    assert up.uplift == 0.0
    half = 1.96 * math.sqrt(0.25 / 2 + 0.25 / 2)
    assert up.confidence_interval == pytest.approx((-half, half))


def test_control_group_is_reproducible_and_order_free() -> None:
    """Same (id, seed) -> same assignment, whatever the list's order or other members."""
    ids = np.array([f"patient-{i}" for i in range(5000)])
    mask = draw_control_group(ids, fraction=0.2, seed=7)
    perm = np.random.default_rng(0).permutation(len(ids))
    assert np.array_equal(draw_control_group(ids[perm], fraction=0.2, seed=7), mask[perm])
    assert np.array_equal(draw_control_group(ids[:10], fraction=0.2, seed=7), mask[:10])
    assert 900 < int(mask.sum()) < 1100
    other = draw_control_group(ids, fraction=0.2, seed=8)
    assert not np.array_equal(other, mask)


def test_control_group_integer_ids_match_text() -> None:
    """Integer id 42 and text id "42" are the same patient for the draw."""
    ints = draw_control_group(np.arange(1000), fraction=0.5, seed=3)
    texts = draw_control_group([str(i) for i in range(1000)], fraction=0.5, seed=3)
    assert np.array_equal(ints, texts)


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=40, unique=True),
       st.floats(0.0, 1.0), st.integers(0, 2**40))
def test_control_group_is_nested_in_fraction(ids: list[str], fraction: float, seed: int) -> None:
    """A larger fraction keeps every patient a smaller one put in control."""
    small = draw_control_group(ids, fraction=fraction / 2, seed=seed)
    large = draw_control_group(ids, fraction=fraction, seed=seed)
    assert not (small & ~large).any()
    assert draw_control_group(ids, fraction=1.0, seed=seed).all()
    assert not draw_control_group(ids, fraction=0.0, seed=seed).any()


def test_control_group_bad_arguments() -> None:
    """Fractions outside [0, 1] and negative seeds are refused."""
    with pytest.raises(ConfigError, match="fraction"):
        draw_control_group(["a"], fraction=1.5, seed=1)
    with pytest.raises(ConfigError, match="seed"):
        draw_control_group(["a"], fraction=0.5, seed=-1)


def test_win_back_exclusions_by_hand(log: VisitLog) -> None:
    """Deceased/transferred patients leave both counts unless they came back first."""
    cases = CaseColumns.from_arrays(
        patient_id=["a", "b", "c", "x", "e"], level=["high"] * 5,
        first_contact_at=["2024-03-01T10:00:00"] * 4 + ["2024-05-15T00:00:00"],
    )
    gone = Exclusions.from_records([
        ("a", "2024-03-31", "deceased"),  # back on 03-31, the exclusion day: still won back
        ("b", "2024-03-31", "transferred"),  # not back, marked on the window's last day
        ("c", "2024-04-01", "deceased"),  # marked after the window closed: a plain failure
        ("x", "2024-02-01", "transferred"),  # never visited, marked before the contact
        ("e", "2024-05-16", "deceased"),  # window still open on as_of: censored first
    ])
    r = win_back_rate(log, cases, as_of="2024-05-31", exclusions=gone)
    assert (r.contacted, r.censored, r.won_back, r.excluded) == (5, 1, 1, 2)
    assert (r.eligible, r.rate) == (2, 0.5)
    earlier = Exclusions.from_records([("a", "2024-03-30", "deceased")])
    r2 = win_back_rate(log, cases, as_of="2024-05-31", exclusions=earlier)
    # a's return on 03-31 came after the mark: no longer a win, a leaves the cohort
    assert (r2.won_back, r2.excluded) == (0, 1)


@pytest.fixture
def programme() -> tuple[VisitLog, CaseColumns, ControlGroup, Exclusions]:
    log = VisitLog.from_arrays(
        patient_id=["a", "c", "e", "f"],
        visit_time=["2024-03-10", "2024-03-20", "2024-04-15", "2024-02-01"],
        amount=[1.0] * 4,
    )
    cases = CaseColumns.from_arrays(
        patient_id=["a", "b", "g"], level=["high", "high", "medium"],
        first_contact_at=["2024-03-01T10:00:00", "2024-03-01T10:00:00", "2024-04-02T09:00:00"],
    )
    control = ControlGroup.from_arrays(
        patient_id=["c", "d", "e", "h"], level=["high", "high", "medium", "low"],
        warned_at=["2024-03-02", "2024-03-05", "2024-04-01T08:00:00", "2024-04-01"],
    )
    return log, cases, control, Exclusions.from_records([("g", "2024-04-10", "deceased")])


def test_report_uplift_by_hand(
    programme: tuple[VisitLog, CaseColumns, ControlGroup, Exclusions],
) -> None:
    """The report pairs each month's cases with the month's control warnings, and pools them."""
    log, cases, control, gone = programme
    report = kpi_report(log, "2024-03-01", "2024-04-30", as_of="2024-06-30", cases=cases,
                        control=control, exclusions=gone)
    cols = {name: column.tolist() for name, column in report.to_columns().items()}
    # March: treated a (back 03-10) and b (never) -> 1/2; control c (back 03-20) and d -> 1/2.
    # April: treated g marked deceased 04-10 -> excluded, no rate; control e back 04-15 -> 1/1,
    # h is low risk and does not count.
    assert cols["win_back_contacted"] == [2, 1]
    assert cols["win_back_excluded"] == [0, 1]
    assert cols["control_warned"] == [2, 1]
    assert cols["control_won"] == [1, 1]
    assert cols["uplift"][0] == 0.0
    half = 1.96 * math.sqrt(0.25 / 2 + 0.25 / 2)
    assert (cols["uplift_low"][0], cols["uplift_high"][0]) == pytest.approx((-half, half))
    assert math.isnan(cols["uplift"][1])
    pooled = report.uplift
    assert pooled is not None
    # treated 1 of 2 eligible, control 2 of 3
    assert (pooled.treated.won_back, pooled.treated.eligible) == (1, 2)
    assert (pooled.control.won_back, pooled.control.eligible) == (2, 3)
    assert pooled.uplift == pytest.approx(0.5 - 2 / 3)
    half = 1.96 * math.sqrt(0.25 / 2 + (2 / 3) * (1 / 3) / 3)
    # -0.167 - 0.874 is below -1: the interval is clipped there
    assert pooled.confidence_interval == pytest.approx((-1.0, 0.5 - 2 / 3 + half))
    direct = win_back_uplift(log, cases, control=control, as_of="2024-06-30", exclusions=gone)
    assert direct == pooled


def test_report_without_control_has_no_uplift(
    programme: tuple[VisitLog, CaseColumns, ControlGroup, Exclusions],
) -> None:
    """No control group: no uplift columns; a control group without cases is refused."""
    log, cases, control, _ = programme
    report = kpi_report(log, "2024-03-01", "2024-04-30", as_of="2024-06-30", cases=cases)
    assert report.uplift is None
    assert "uplift" not in report.to_columns()
    with pytest.raises(ConfigError, match="needs the cases"):
        kpi_report(log, "2024-03-01", "2024-04-30", as_of="2024-06-30", control=control)


def test_control_group_bad_rows() -> None:
    """Bad levels, bad or missing warning times and mixed argument forms name the problem."""
    with pytest.raises(ConfigError, match="control group row 1: not a risk level"):
        ControlGroup.from_arrays(patient_id=["a", "b"], level=["high", "urgent"],
                                 warned_at=["2024-01-01", "2024-01-01"])
    with pytest.raises(ConfigError, match="control group row 0: warned_at"):
        ControlGroup.from_arrays(patient_id=["a"], level=["high"], warned_at=["someday"])
    with pytest.raises(ConfigError, match="row 1: warned_at is missing"):
        ControlGroup.from_arrays(patient_id=["a", "b"], level=["high"] * 2,
                                 warned_at=["2024-01-01", None])
    log = VisitLog.from_arrays(patient_id=["a"], visit_time=["2024-01-01"], amount=[1.0])
    cases = CaseColumns.from_arrays(patient_id=["a"], level=["high"])
    with pytest.raises(ConfigError, match="control="):
        win_back_uplift(log, cases, ["a"], as_of="2024-02-01")
