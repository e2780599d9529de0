"""Built-in indicators: values, thresholds at their exact edges, little history, absent data."""

from __future__ import annotations

import numpy as np
import pytest

from rfm_retention.data import Appointment, Assessment, Complaint, Course, Rating, Review, Visit
from rfm_retention.errors import ConfigError
from rfm_retention.risk import (
    CareIntervals,
    CareNorm,
    ComplaintHandling,
    Complaints,
    CourseNotCompleted,
    FrequencyDrop,
    IntervalExtension,
    LowReputation,
    LowSatisfaction,
    NoShows,
    PoorOutcome,
    RehabilitationLag,
    SpendDrop,
    evaluate,
)
from test_risk_support import AS_OF, bundle, day, visits_every


def one(indicator, data, pid):  # type: ignore[no-untyped-def]
    """Value, severity, fired, signal and evidence of one patient."""
    r = indicator.evaluate(data, AS_OF)
    row = int(np.searchsorted(data.patients, pid))
    return (
        float(r.value[row]),
        float(r.severity[row]),
        bool(r.fired[row]),
        bool(r.signal[row]),
        r.evidence(row),
    )


# ------------------------------------------------------------------ interval extension
def test_interval_exactly_plus_50_percent_does_not_fire() -> None:
    """A gap exactly 50 % longer than the usual interval is not 'more than 50 %'."""
    data = bundle(visits_every("p", 40, 3, last_ago=60))
    value, severity, fired, signal, _ = one(IntervalExtension(), data, "p")
    assert value == pytest.approx(0.5)
    assert signal
    assert not fired
    assert severity == pytest.approx(0.5)


def test_interval_just_over_50_percent_fires_with_readable_evidence() -> None:
    """One day past +50 % fires, and the evidence states gap, usual interval and excess."""
    data = bundle(visits_every("p", 40, 3, last_ago=61))
    value, _, fired, _, evidence = one(IntervalExtension(), data, "p")
    assert fired
    assert value == pytest.approx(61 / 40 - 1)
    assert evidence == "last visit 61 days ago; usual interval 40 days (+52%)"


def test_interval_one_visit_chronic_patient_uses_disease_norm() -> None:
    """A one-visit hypertension patient is judged against the 60-day norm, not ignored."""
    data = bundle([Visit("h", day(95), 50.0, diagnosis="I10"), Visit("x", day(95), 50.0)])
    value, _, fired, signal, evidence = one(IntervalExtension(), data, "h")
    assert signal
    assert fired
    assert value == pytest.approx(95 / 60 - 1)
    assert "hypertension norm 60 days" in evidence
    value, _, fired, signal, evidence = one(IntervalExtension(), data, "x")
    assert signal
    assert not fired
    assert value == pytest.approx(95 / 90 - 1)
    assert "general revisit norm 90 days" in evidence
    assert not one(IntervalExtension(fallback_days=None), data, "x")[3]


def test_interval_course_sessions_are_one_episode() -> None:
    """Sessions every 3 days are one episode: the usual interval is the gap between episodes."""
    course = [Visit("r", day(400 - 3 * k), 50.0) for k in range(10)]  # days 373..400 ago
    follow_ups = [Visit("r", day(ago), 50.0) for ago in (313, 253, 193)]
    value, _, fired, _, evidence = one(IntervalExtension(), bundle(course + follow_ups), "r")
    assert evidence == "last visit 193 days ago; usual interval 60 days (+222%)"
    assert fired
    assert value == pytest.approx(193 / 60 - 1)


def test_interval_median_ignores_one_past_absence() -> None:
    """One long absence in the past does not stretch the usual interval (median, not mean)."""
    agos = (700, 400, 370, 340, 310, 280)  # one 300-day gap, then every 30 days
    data = bundle([Visit("m", day(ago), 50.0) for ago in agos])
    value, _, fired, _, _ = one(IntervalExtension(), data, "m")
    assert value == pytest.approx(280 / 30 - 1)
    assert fired


def test_interval_norm_by_prefix_and_range_host_extension() -> None:
    """Host norms match by code prefix and by ICD range; the first matching norm wins."""
    norms = CareIntervals(
        (
            CareNorm("asthma", 90, 180, prefixes=("J45",)),
            CareNorm("diab", 60, 90, ranges=(("E10", "E14"),)),
        )
    )
    data = bundle(
        [
            Visit("a", day(200), 1.0, diagnosis="J45.909"),
            Visit("d", day(100), 1.0, diagnosis="e11.9"),
        ]
    )
    ind = IntervalExtension(care_intervals=norms)
    assert one(ind, data, "a")[0] == pytest.approx(200 / 180 - 1)
    assert one(ind, data, "d")[0] == pytest.approx(100 / 90 - 1)


def test_care_norm_rejects_bad_ranges() -> None:
    """A norm with an inverted or malformed range is a ConfigError."""
    with pytest.raises(ConfigError):
        CareNorm("x", 30, 60, ranges=(("I15", "I10"),))
    with pytest.raises(ConfigError):
        CareNorm("x", 60, 30, codes=("a",))


def test_interval_ignores_visits_after_as_of() -> None:
    """A visit after as_of does not count: the gap is measured from the last earlier visit."""
    rows = [*visits_every("p", 30, 3, last_ago=90), Visit("p", day(-5), 10.0)]
    assert one(IntervalExtension(), bundle(rows), "p")[0] == pytest.approx(2.0)


# ------------------------------------------------------------------ frequency and spend
def test_frequency_drop_exactly_30_percent_fires() -> None:
    """10 visits in the prior 3 months and 6 in the last is exactly 30 % beyond one visit: fires."""
    prior = [Visit("p", day(100 + k), 10.0) for k in range(10)]
    last = [Visit("p", day(10 + k), 10.0) for k in range(6)]
    value, _, fired, _, evidence = one(FrequencyDrop(), bundle(prior + last), "p")
    assert value == pytest.approx(0.3)
    assert fired
    assert evidence == (
        "6 visit(s) in the last 3 months vs 10 in the 3 before "
        "(-40%; -30% beyond one visit's variation)"
    )


def test_frequency_drop_plain_ratio_without_jitter_allowance() -> None:
    """With jitter_visits=0 the value is the plain ratio: 10 then 7 visits is exactly -30 %."""
    prior = [Visit("p", day(100 + k), 10.0) for k in range(10)]
    last = [Visit("p", day(10 + k), 10.0) for k in range(7)]
    value, _, fired, _, evidence = one(FrequencyDrop(jitter_visits=0), bundle(prior + last), "p")
    assert value == pytest.approx(0.3)
    assert fired
    assert evidence == "7 visit(s) in the last 3 months vs 10 in the 3 before (-30%)"


def test_frequency_drop_one_visit_dip_is_jitter_no_visit_is_not() -> None:
    """2 visits then 1 is a regular rhythm's phase jitter; 1 visit then none is a 100 % drop."""
    rows = [Visit("d", day(d), 10.0) for d in (150, 100, 30)]
    rows += [Visit("g", day(120), 10.0)]
    data = bundle(rows)
    value, severity, fired, _, _ = one(FrequencyDrop(), data, "d")
    assert value == pytest.approx(0.0)
    assert severity == 0.0
    assert not fired
    value, severity, fired, _, evidence = one(FrequencyDrop(), data, "g")
    assert value == pytest.approx(1.0)
    assert severity == 1.0
    assert fired
    assert evidence == "0 visit(s) in the last 3 months vs 1 in the 3 before (-100%)"


def test_frequency_drop_without_prior_visits_is_no_signal() -> None:
    """Nothing in the prior 3 months means nothing to drop from: no signal."""
    value, _, fired, signal, _ = one(FrequencyDrop(), bundle([Visit("p", day(5), 1.0)]), "p")
    assert np.isnan(value)
    assert not fired
    assert not signal


def test_spend_drop_per_visit_is_price_monthly_is_behaviour() -> None:
    """A per-visit spend drop of 40 % fires with reason price; stopping altogether is behaviour."""
    rows = [Visit("c", day(120), 100.0), Visit("c", day(20), 60.0), Visit("s", day(120), 100.0)]
    data = bundle(rows)
    c, s = int(np.searchsorted(data.patients, "c")), int(np.searchsorted(data.patients, "s"))
    per_visit = SpendDrop(basis="per_visit").evaluate(data, AS_OF)
    assert per_visit.fired[c]
    assert per_visit.value[c] == pytest.approx(0.4)
    assert per_visit.reason_of(c).value == "price"
    monthly = SpendDrop().evaluate(data, AS_OF)  # default: monthly, net of one visit
    assert not monthly.fired[c]  # still came once, at 60 % of the price: within one visit
    assert monthly.value[c] == pytest.approx(1.0 - (60.0 + 100.0) / 100.0)
    assert monthly.fired[s]
    assert monthly.value[s] == pytest.approx(1.0)
    assert monthly.reason_of(s).value == "behaviour_only"
    assert "monthly spend -100%" in monthly.evidence(s)


def test_spend_drop_monthly_beyond_one_visit_keeps_price_reason() -> None:
    """Two visits at half price after three at full price: monthly drop past 40 %, reason price."""
    rows = [Visit("p", day(d), 100.0) for d in (150, 130, 110)]
    rows += [Visit("p", day(d), 50.0) for d in (40, 20)]
    result = SpendDrop().evaluate(bundle(rows), AS_OF)
    assert result.value[0] == pytest.approx(1.0 - (100.0 + 100.0) / 300.0)
    assert not result.fired[0]  # 33 % < 40 %
    rows += [Visit("q", day(d), 100.0) for d in (170, 150, 130, 110)]
    rows += [Visit("q", day(20), 40.0)]
    data = bundle(rows)
    q = int(np.searchsorted(data.patients, "q"))
    result = SpendDrop().evaluate(data, AS_OF)
    assert result.value[q] == pytest.approx(1.0 - (40.0 + 100.0) / 400.0)
    assert result.fired[q]
    assert result.reason_of(q).value == "price"


# ------------------------------------------------------------------ appointments
def test_no_shows_count_consecutive_resolved_appointments() -> None:
    """Cancelled and future appointments are skipped; two misses in a row fire."""
    appts = [
        Appointment("p", day(50), "no_show"),
        Appointment("p", day(40), "attended"),
        Appointment("p", day(30), "no_show"),
        Appointment("p", day(25), "cancelled"),
        Appointment("p", day(20), "no_show"),
        Appointment("p", day(-3), "booked"),
        Appointment("q", day(20), "no_show"),
    ]
    data = bundle(visits_every("p", 30, 2, last_ago=1), appointments=appts)
    assert one(NoShows(), data, "p")[:3] == (2.0, 0.5, True)
    assert one(NoShows(), data, "q")[2] is False  # one miss: not yet


def test_absent_source_is_no_signal_never_bad() -> None:
    """Without an appointments source nobody has a signal and the panel lists it as skipped."""
    data = bundle(visits_every("p", 30, 3, last_ago=200))
    panel = evaluate(data, AS_OF)
    assert not panel["no_shows"].signal.any()
    assert not panel["no_shows"].available
    assert "no_shows" in [s.name for s in panel.skipped]
    assert panel["no_shows"].evidence(0) == "no data (source absent)"


# ------------------------------------------------------------------ experience
def test_satisfaction_two_consecutive_low_ratings_fire() -> None:
    """Two ratings below 80 in a row fire; an 80 in between resets the run."""
    ratings = [
        Rating("a", day(30), 70),
        Rating("a", day(10), 79),
        Rating("b", day(30), 70),
        Rating("b", day(20), 80),
        Rating("b", day(10), 60),
    ]
    data = bundle(
        visits_every("a", 30, 2, last_ago=1) + visits_every("b", 30, 2, last_ago=1), ratings=ratings
    )
    assert one(LowSatisfaction(), data, "a")[:3] == (2.0, 0.5, True)
    assert one(LowSatisfaction(), data, "b")[:3] == (1.0, 0.25, False)


def test_complaints_exactly_two_valid_in_six_months_fire() -> None:
    """Exactly 2 valid complaints within 6 months fire; invalid and older ones do not count."""
    complaints = [
        Complaint("p", day(10), True, category="price"),
        Complaint("p", day(100), True),
        Complaint("p", day(50), False),
        Complaint("p", day(200), True),
        Complaint("q", day(10), True),
    ]
    data = bundle(
        visits_every("p", 30, 2, last_ago=1) + visits_every("r", 30, 2, last_ago=1),
        complaints=complaints,
    )
    result = Complaints().evaluate(data, AS_OF)
    p, q, r = (int(np.searchsorted(data.patients, x)) for x in "pqr")
    assert result.value[p] == 2
    assert result.fired[p]
    assert result.reason_of(p).value == "price"  # latest valid complaint's category
    assert result.value[q] == 1
    assert not result.fired[q]
    assert result.signal[r]
    assert result.value[r] == 0


def test_complaint_handling_below_70() -> None:
    """Handling satisfaction 69 fires, 70 does not; unsurveyed complaints are no signal."""
    complaints = [
        Complaint("a", day(10), True, 69),
        Complaint("b", day(10), True, 70),
        Complaint("c", day(10), True),
    ]
    data = bundle([Visit(x, day(5), 1.0) for x in "abc"], complaints=complaints)
    assert one(ComplaintHandling(), data, "a")[2] is True
    assert one(ComplaintHandling(), data, "b")[2] is False
    assert one(ComplaintHandling(), data, "c")[3] is False


# ------------------------------------------------------------------ efficacy
def test_course_not_completed_abandoned_and_overdue() -> None:
    """Abandoned and overdue-incomplete courses fire; active on-track and completed do not."""
    courses = [
        Course("a", day(100), 10, 3, status="abandoned"),
        Course("b", day(100), 10, 6, expected_end=day(10)),
        Course("c", day(100), 10, 6, expected_end=day(-10)),
        Course("d", day(100), 10, 10, expected_end=day(10), status="completed"),
    ]
    data = bundle([Visit(x, day(5), 1.0) for x in "abcde"], courses=courses)
    ind = CourseNotCompleted()
    assert one(ind, data, "a")[:3] == (pytest.approx(0.7), 1.0, True)
    value, severity, fired, _, evidence = one(ind, data, "b")
    assert fired
    assert value == pytest.approx(0.4)
    assert severity == pytest.approx(0.8)
    assert "6 of 10 sessions done (overdue)" in evidence
    assert one(ind, data, "c")[2] is False
    assert one(ind, data, "d")[2] is False
    assert one(ind, data, "e")[3] is False  # no course: no signal


def test_outcomes_rehab_lag_and_poor_outcome() -> None:
    """The latest assessment counts: outcome 79 fires, 80 does not; lag fires when behind."""
    outcomes = [
        Assessment("a", day(60), 90, 50, 50),
        Assessment("a", day(10), 79, 60, 45),
        Assessment("b", day(10), 80, 60, 60),
    ]
    data = bundle([Visit(x, day(5), 1.0) for x in "ab"], outcomes=outcomes)
    # a fired score starts at severity 0.5 and ramps to 1 at 60; 80 and above is calm
    assert one(PoorOutcome(), data, "a")[:3] == (79.0, pytest.approx(0.5 + 0.5 / 20), True)
    assert one(PoorOutcome(), data, "b")[1:3] == (0.0, False)
    lag = one(RehabilitationLag(), data, "a")
    assert lag[0] == pytest.approx(0.25)
    assert lag[2]
    assert lag[4] == "recovery progress 45% vs 60% expected (25% behind)"
    assert one(RehabilitationLag(), data, "b")[2] is False


def test_low_reputation_mean_of_recent_reviews() -> None:
    """The mean of the last 12 months' reviews below 60 fires; older reviews are ignored."""
    reviews = [
        Review("a", day(20), 25),
        Review("a", day(40), 75),
        Review("a", day(500), 0),
        Review("b", day(20), 60),
    ]
    data = bundle([Visit(x, day(5), 1.0) for x in "ab"], reviews=reviews)
    assert one(LowReputation(), data, "a")[:3] == (50.0, pytest.approx(0.5 + 0.5 * 10 / 40), True)
    assert one(LowReputation(), data, "b")[1:3] == (0.0, False)


@pytest.mark.parametrize(
    "make",
    [
        lambda: IntervalExtension(threshold=0),
        lambda: FrequencyDrop(threshold=1.5),
        lambda: NoShows(consecutive=0),
        lambda: SpendDrop(basis="weekly"),  # type: ignore[arg-type]
        lambda: LowSatisfaction(below=120),
        lambda: Complaints(months=0),
        lambda: CourseNotCompleted(min_shortfall=0.9),
        lambda: RehabilitationLag(tolerance=0.7),
        lambda: PoorOutcome(below=0),
        lambda: LowReputation(months=0),
    ],
)
def test_parameters_are_validated(make) -> None:  # type: ignore[no-untyped-def]
    """Nonsensical thresholds are a ConfigError naming the indicator."""
    with pytest.raises(ConfigError):
        make()


def test_care_norms_match_plain_words() -> None:
    """Hosts coding diagnoses in words get the same norms ("Hypertension", "diabetes")."""
    data = bundle(
        [
            Visit("h", day(90), 1.0, diagnosis=" Hypertension "),
            Visit("d", day(90), 1.0, diagnosis="diabetes"),
        ]
    )
    ind = IntervalExtension()
    assert one(ind, data, "h")[0] == pytest.approx(90 / 60 - 1)
    assert one(ind, data, "d")[0] == pytest.approx(0.0)
