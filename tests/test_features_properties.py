"""Properties of patient features that must hold for any visit log."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention.data import VisitLog
from rfm_retention.features import FEATURE_COLUMNS, PatientFeatures, patient_features

Row = tuple[str, dt.datetime, float, str]

_time = st.datetimes(min_value=dt.datetime(2022, 1, 1), max_value=dt.datetime(2024, 12, 31))
_row = st.tuples(
    st.sampled_from(["p1", "p2", "p3", "p4"]),
    _time.map(lambda t: t.replace(microsecond=0)),
    st.integers(min_value=0, max_value=100_000).map(lambda c: c / 100),
    st.sampled_from(["", "cardiology", "icu"]),
)
# Times are drawn from a few days so that same-time visits are common.
_tied_time = st.sampled_from([dt.datetime(2023, 5, 1), dt.datetime(2023, 5, 1, 9),
                              dt.datetime(2024, 2, 29)])
_row_with_ties = st.tuples(_row.map(lambda r: r[0]), _tied_time, _row.map(lambda r: r[2]),
                           _row.map(lambda r: r[3]))
_rows = st.lists(st.one_of(_row, _row_with_ties), max_size=40)
_as_of = st.one_of(st.dates(min_value=dt.date(2022, 6, 1), max_value=dt.date(2025, 3, 1)),
                   _time.map(lambda t: t.replace(microsecond=0)))
_window = st.one_of(st.none(), st.integers(min_value=1, max_value=800),
                    st.builds(relativedelta, months=st.integers(min_value=1, max_value=24)))


def _log(rows: list[Row]) -> VisitLog:
    if not rows:
        return VisitLog.empty()
    return VisitLog.from_arrays(patient_id=[r[0] for r in rows], visit_time=[r[1] for r in rows],
                                amount=[r[2] for r in rows], department=[r[3] for r in rows])


def _assert_same(a: PatientFeatures, b: PatientFeatures) -> None:
    assert len(a) == len(b)
    for name in FEATURE_COLUMNS:
        x, y = getattr(a, name), getattr(b, name)
        if x.dtype.kind == "f":
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-9, err_msg=name)
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)


@given(_rows, _as_of, _window, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(rows: list[Row], as_of: dt.date, window: object,
                                   rnd: random.Random) -> None:
    """Shuffling the input rows never changes any feature."""
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    _assert_same(patient_features(_log(rows), as_of, window=window),  # type: ignore[arg-type]
                 patient_features(_log(shuffled), as_of, window=window))  # type: ignore[arg-type]


@given(_rows, _as_of, _window)
def test_a_patients_features_ignore_other_patients(rows: list[Row], as_of: dt.date,
                                                   window: object) -> None:
    """Each patient's row equals the row computed from that patient's visits alone."""
    everyone = patient_features(_log(rows), as_of, window=window)  # type: ignore[arg-type]
    for k, pid in enumerate(everyone.patient_id.tolist()):
        alone = patient_features(_log([r for r in rows if r[0] == pid]), as_of, window=window)  # type: ignore[arg-type]
        _assert_same(everyone.take(np.array([k])), alone)


@given(_rows, _as_of, _window)
def test_visits_after_as_of_change_nothing(rows: list[Row], as_of: dt.date | dt.datetime,
                                           window: object) -> None:
    """Dropping every visit after as_of gives exactly the same features."""
    cutoff = as_of if isinstance(as_of, dt.datetime) else dt.datetime.combine(as_of, dt.time.max)
    past = [r for r in rows if r[1] <= cutoff]
    _assert_same(patient_features(_log(rows), as_of, window=window),  # type: ignore[arg-type]
                 patient_features(_log(past), as_of, window=window))  # type: ignore[arg-type]


@given(_rows, _as_of, _window)
def test_matches_the_definitions_one_patient_at_a_time(rows: list[Row], as_of: dt.date,
                                                       window: object) -> None:
    """Every column equals its documented definition, computed per patient in plain Python."""
    f = patient_features(_log(rows), as_of, window=window, min_exposure_days=30)  # type: ignore[arg-type]
    day = as_of.date() if isinstance(as_of, dt.datetime) else as_of
    cutoff = as_of if isinstance(as_of, dt.datetime) else dt.datetime.combine(as_of, dt.time.max)
    if window is None:
        start = dt.date.min
    elif isinstance(window, int):
        start = day - dt.timedelta(days=window)
    else:
        start = day - window  # type: ignore[operator]
    three, six = day - relativedelta(months=3), day - relativedelta(months=6)
    for k, pid in enumerate(f.patient_id.tolist()):
        mine = sorted((r for r in rows if r[0] == pid and r[1] <= cutoff), key=lambda r: r[1])
        days = [r[1].date() for r in mine]
        in_window = [r for r in mine if r[1].date() > start]
        last3 = [r for r in mine if r[1].date() > three]
        prior3 = [r for r in mine if six < r[1].date() <= three]
        assert f.first_visit[k] == np.datetime64(days[0])
        assert f.days_since_last_visit[k] == (day - days[-1]).days
        assert f.tenure_days[k] == (day - days[0]).days
        assert f.total_visits[k] == len(mine)
        assert f.visits_in_window[k] == len(in_window)
        assert np.isclose(f.spend_in_window[k], sum(r[2] for r in in_window))
        span = (day - days[0]).days + 1
        exposure = max(span if window is None else min(span, (day - start).days), 30)
        assert np.isclose(f.visits_per_year[k], len(in_window) * 365.25 / exposure)
        if len(mine) > 1:
            assert np.isclose(f.mean_interval_days[k], (days[-1] - days[0]).days / (len(mine) - 1))
            assert f.last_interval_days[k] == (days[-1] - days[-2]).days
        else:
            assert np.isnan(f.mean_interval_days[k])
        assert f.visits_last_3_months[k] == len(last3)
        assert f.visits_prior_3_months[k] == len(prior3)
        assert np.isclose(f.spend_last_3_months[k], sum(r[2] for r in last3))
        assert np.isclose(f.spend_prior_3_months[k], sum(r[2] for r in prior3))
        last_time = mine[-1][1]
        tied = sorted((r[2], r[3]) for r in mine if r[1] == last_time)
        assert f.last_department[k] == tied[-1][1]  # same-time visits: ordered by amount, dept


@given(_rows, _as_of, _window)
def test_invariants(rows: list[Row], as_of: dt.date, window: object) -> None:
    """Counts nest, times are ordered, amounts are non-negative, for every patient."""
    f = patient_features(_log(rows), as_of, window=window)  # type: ignore[arg-type]
    assert np.all(f.first_visit <= f.last_visit)
    assert np.all(f.days_since_last_visit <= f.tenure_days)
    assert np.all(f.days_since_last_visit >= 0)
    assert np.all(f.visits_in_window <= f.total_visits)
    assert np.all(f.visits_last_3_months + f.visits_prior_3_months <= f.total_visits)
    assert np.all(f.total_visits >= 1)
    assert np.all(f.spend_in_window >= 0)
    assert f.patient_id.tolist() == sorted(set(f.patient_id.tolist()))
