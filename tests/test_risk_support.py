"""Hand-made patient bundles for the risk tests (and a check that they are what they say)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from rfm_retention.data import (
    Appointment,
    AppointmentTable,
    Assessment,
    AssessmentTable,
    Complaint,
    ComplaintTable,
    Course,
    CourseTable,
    PatientData,
    Rating,
    RatingTable,
    Review,
    ReviewTable,
    Visit,
    VisitLog,
)
from rfm_retention.features import patient_features
from rfm_retention.risk.indicators._behaviour import episode_intervals
from rfm_retention.time import to_instant

AS_OF = dt.date(2024, 6, 30)


def day(offset: int) -> dt.date:
    """The date ``offset`` days before AS_OF (positive = in the past)."""
    return AS_OF - dt.timedelta(days=offset)


def visits_every(
    pid: Any, gap: int, n: int, *, last_ago: int, amount: float = 100.0, diagnosis: str = ""
) -> list[Visit]:
    """``n`` visits ``gap`` days apart, the last one ``last_ago`` days before AS_OF."""
    return [Visit(pid, day(last_ago + gap * k), amount, diagnosis=diagnosis) for k in range(n)]


def lapse(pid: Any, ago: int, usual: int = 40, amount: float = 100.0) -> list[Visit]:
    """Episodes of care every ``usual`` days, the last visit ``ago`` days back (``ago`` <= 89).

    The latest episode is two visits a day apart (one episode), the two before
    it ``usual`` days apart, so the usual interval is ``usual``. Two visits
    fall in the last 3 months and at most two in the 3 before, so the visit
    frequency and spend do not drop: only the interval speaks.
    """
    days = (ago, ago + 1, ago + 1 + usual, ago + 1 + 2 * usual)
    return [Visit(pid, day(d), amount) for d in days]


def bundle(
    visits: Sequence[Visit],
    *,
    ratings: Sequence[Rating] | None = None,
    complaints: Sequence[Complaint] | None = None,
    appointments: Sequence[Appointment] | None = None,
    courses: Sequence[Course] | None = None,
    outcomes: Sequence[Assessment] | None = None,
    reviews: Sequence[Review] | None = None,
) -> PatientData:
    """A PatientData from records; a None source is absent, an empty list is present but empty."""

    def table(cls: Any, rows: Sequence[Any] | None) -> Any:
        if rows is None:
            return None
        return cls.from_records(rows) if rows else cls.empty()

    return PatientData(
        visits=VisitLog.from_records(visits) if visits else VisitLog.empty(),
        ratings=table(RatingTable, ratings),
        complaints=table(ComplaintTable, complaints),
        appointments=table(AppointmentTable, appointments),
        courses=table(CourseTable, courses),
        outcomes=table(AssessmentTable, outcomes),
        reviews=table(ReviewTable, reviews),
    )


def test_visits_every_spacing() -> None:
    """visits_every lays visits out at the requested gap, ending last_ago days before AS_OF."""
    rows = visits_every("p", 30, 3, last_ago=10)
    assert [r.visit_time for r in rows] == [day(10), day(40), day(70)]


def test_lapse_usual_interval() -> None:
    """lapse() gives the requested usual interval (between episodes) and last visit."""
    data = bundle(lapse("p", 60))
    median, episodes = episode_intervals(data, to_instant(AS_OF), 14.0)
    assert median[0] == 40
    assert episodes[0] == 2
    f = patient_features(data.visits, AS_OF)
    assert f.days_since_last_visit[0] == 60
    assert f.visits_last_3_months[0] >= f.visits_prior_3_months[0]


def test_bundle_absent_vs_empty() -> None:
    """bundle() keeps None sources absent and empty lists present."""
    data = bundle(visits_every("p", 30, 2, last_ago=5), ratings=[])
    assert data.available == frozenset({"visits", "ratings"})
