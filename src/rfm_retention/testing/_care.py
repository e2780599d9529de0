"""What care the patients receive: planned revisits, acute episodes, treatment courses, bookings.

Every step is vectorised over all events at once: per-patient sequences are
built by repeating patient-level values and taking cumulative sums within
each patient's contiguous block, never by looping over patients.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray, IntArray
from rfm_retention.testing._population import KIND_CODES, Population
from rfm_retention.testing._presets import ACUTE, CHRONIC, CHURN_REASONS, REHAB, CohortSettings
from rfm_retention.vocabulary import ReasonCode

# Visit origins (Visits.origin).
PLANNED = 0
"""A planned revisit of a chronic or rehab patient (booked in advance)."""
SESSION = 1
"""A session of a prescribed treatment course (booked)."""
EPISODE = 2
"""An acute episode (mostly walk-in)."""
CONSULT = 3
"""A rehab patient's first consultation, where the course is prescribed (booked)."""
ORIGINS = (CONSULT, PLANNED, EPISODE, SESSION)
"""The order in which visits of each origin are concatenated."""

CLINIC_OPENS = 8.0 / 24.0
CLINIC_HOURS = 9.0 / 24.0
DAYS_PER_YEAR = 365.25
MAX_NO_SHOWS_AFTER_CHURN = 2
NO_SHOW_AFTER_CHURN = 0.6
"""Chance a churner's planned slot after the churn date is recorded as a no-show."""
BOOKING_HORIZON_DAYS = 180.0
"""A planned revisit falling this soon after the cohort's end is listed as ``booked``."""

_EFFICACY = CHURN_REASONS.index(ReasonCode.EFFICACY)
_PRICE = CHURN_REASONS.index(ReasonCode.PRICE)

REHAB_SESSIONS = (10, 20)
REHAB_GAP_DAYS = (2.0, 5.0)
CHRONIC_SESSIONS = (4, 8)
CHRONIC_GAP_DAYS = (6.0, 8.0)
COURSE_SLACK_DAYS = 7.0
SESSION_PRICE_FACTOR = 0.6
CONSULT_PRICE_FACTOR = 2.0
UNHAPPY_EFFICACY = 75.0
UNHAPPY_ABANDON = 0.25
BOOKED_EPISODE_SHARE = 0.3


@attrs.frozen(eq=False)
class Visits:
    """Every visit, unsorted: patient row, time, condition, origin, course link."""

    patient: IntArray
    t: FloatArray
    condition: IntArray
    origin: IntArray
    course: IntArray
    """Row in Courses for course sessions, -1 otherwise."""
    progress: FloatArray
    """For a course session: the share of the course done with it (0-1); NaN otherwise."""
    amount: FloatArray
    department: npt.NDArray[np.str_]


@attrs.frozen(eq=False)
class Courses:
    """Every treatment course: who, what, when, how many sessions, how it ended."""

    patient: IntArray
    condition: IntArray
    prescribed: FloatArray
    sessions: IntArray
    completed: IntArray
    expected_end: FloatArray
    status: npt.NDArray[np.str_]


@attrs.frozen(eq=False)
class Appointments:
    """Every appointment: patient, time, department, status."""

    patient: IntArray
    t: FloatArray
    department: npt.NDArray[np.str_]
    status: npt.NDArray[np.str_]


@attrs.frozen(eq=False)
class Care:
    """The visits, courses and appointments of a population."""

    visits: Visits
    courses: Courses
    appointments: Appointments


def grouped_cumsum(counts: IntArray, values: FloatArray) -> FloatArray:
    """Cumulative sums restarting at each group (groups are consecutive runs of ``counts``)."""
    total = np.cumsum(values)
    ends = np.cumsum(counts)
    before = np.concatenate(([0.0], total))[ends - counts]
    result: FloatArray = total - np.repeat(before, counts)
    return result


def group_position(counts: IntArray) -> IntArray:
    """0, 1, 2, ... within each group of ``counts`` consecutive rows."""
    starts = np.cumsum(counts) - counts
    result: IntArray = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)
    return result


def clinic_time(rng: np.random.Generator, t: FloatArray) -> FloatArray:
    """The same days, at a random time within clinic hours (08:00-17:00)."""
    result: FloatArray = np.floor(t) + CLINIC_OPENS + rng.random(t.shape[0]) * CLINIC_HOURS
    return result


def draw_care(
    rng: np.random.Generator, pop: Population, end_day: int, settings: CohortSettings
) -> Care:
    """Draw planned revisits, episodes, courses, sessions and appointments."""
    first = clinic_time(rng, pop.arrival)
    rehab = _rehab_courses(rng, pop, first)
    plan = _planned_revisits(rng, pop, first, rehab, end_day, settings)
    episodes = _episodes(rng, pop, first, settings)
    chronic = _chronic_courses(rng, pop, plan, settings)
    courses, sessions = _courses(rng, pop, end_day, settings, _CourseSpecs.join(rehab, chronic))
    visits = _visits(rng, pop, settings, first, rehab, plan, episodes, courses, sessions)
    appointments = _appointments(rng, pop, settings, visits, first, plan)
    return Care(visits, courses, appointments)


@attrs.frozen(eq=False)
class _CourseSpecs:
    """Courses as prescribed: who, when, how many sessions, the nominal gaps between them."""

    patient: IntArray
    prescribed: FloatArray
    sessions: IntArray
    gaps: FloatArray
    """One gap per session, flat, course after course."""

    @classmethod
    def join(cls, a: _CourseSpecs, b: _CourseSpecs) -> _CourseSpecs:
        return cls(
            np.concatenate((a.patient, b.patient)),
            np.concatenate((a.prescribed, b.prescribed)),
            np.concatenate((a.sessions, b.sessions)),
            np.concatenate((a.gaps, b.gaps)),
        )

    def spans(self) -> FloatArray:
        """Days from prescription to the last session as planned, per course."""
        ends = np.cumsum(self.sessions) - 1
        spans: FloatArray = grouped_cumsum(self.sessions, self.gaps)[ends]
        return spans if self.sessions.size else np.empty(0)


def _draw_specs(
    rng: np.random.Generator,
    patient: IntArray,
    prescribed: FloatArray,
    sessions: tuple[int, int],
    gap_days: tuple[float, float],
) -> _CourseSpecs:
    counts = rng.integers(sessions[0], sessions[1] + 1, len(patient)).astype(np.int64)
    return _CourseSpecs(patient, prescribed, counts, rng.uniform(*gap_days, int(counts.sum())))


def _rehab_courses(rng: np.random.Generator, pop: Population, first: FloatArray) -> _CourseSpecs:
    """Every rehab patient gets a course of sessions at their first consultation."""
    rehab = np.flatnonzero(pop.kind == KIND_CODES[REHAB])
    return _draw_specs(rng, rehab, first[rehab], REHAB_SESSIONS, REHAB_GAP_DAYS)


@attrs.frozen(eq=False)
class _Plan:
    """Planned revisits that happened, and the planned slots missed or still booked."""

    patient: IntArray
    t: FloatArray
    missed_patient: IntArray
    missed_t: FloatArray
    booked_patient: IntArray
    booked_t: FloatArray


def _planned_revisits(
    rng: np.random.Generator,
    pop: Population,
    first: FloatArray,
    rehab: _CourseSpecs,
    end_day: int,
    settings: CohortSettings,
) -> _Plan:
    """Revisits on each chronic/rehab patient's cadence, stretched during the lead time.

    Chronic patients start at their first visit; rehab patients after their
    course. The plan runs past the cohort's end: a slot after a churner's
    churn date may show up as a missed appointment, a stayer's first slot
    after the end as a ``booked`` one.
    """
    cadence = np.array([c.cadence_days for c in settings.conditions], np.float64)
    cond = np.maximum(pop.condition, 0)
    lo, hi = cadence[cond, 0], cadence[cond, 1]
    start = first.copy()
    start[rehab.patient] += rehab.spans() + rng.uniform(lo[rehab.patient], hi[rehab.patient])
    horizon = float(end_day + 1) + BOOKING_HORIZON_DAYS
    planned = np.flatnonzero(pop.kind != KIND_CODES[ACUTE])
    room = np.maximum(horizon - start[planned], 0.0)
    counts = (np.ceil(room / lo[planned]) + 2).astype(np.int64)
    pat = np.repeat(planned, counts)
    position = group_position(counts)
    gaps = np.where(position == 0, 0.0, rng.uniform(lo[pat], hi[pat]))
    s = start[pat] + grouped_cumsum(counts, gaps)
    lead = pop.degrade_day[pat]
    lead_start = np.where(np.isfinite(lead), lead, 0.0)
    t = clinic_time(rng, np.where(s > lead, lead_start + (s - lead_start) * pop.stretch[pat], s))
    chronic_first = (position == 0) & (pop.kind[pat] == KIND_CODES[CHRONIC])
    t[chronic_first] = first[pat[chronic_first]]
    happens = t < pop.stop[pat]

    churner = np.isfinite(pop.churn_day[pat])
    missed = ~happens & (t < end_day + 1) & churner
    missed &= grouped_cumsum(counts, missed.astype(np.float64)) <= MAX_NO_SHOWS_AFTER_CHURN
    missed &= rng.random(missed.shape[0]) < NO_SHOW_AFTER_CHURN
    booked = ~happens & (t >= end_day + 1) & (t < horizon) & ~churner
    booked &= grouped_cumsum(counts, booked.astype(np.float64)) == 1
    return _Plan(pat[happens], t[happens], pat[missed], t[missed], pat[booked], t[booked])


@attrs.frozen(eq=False)
class _Episodes:
    patient: IntArray
    t: FloatArray
    condition: IntArray


def _episodes(
    rng: np.random.Generator, pop: Population, first: FloatArray, settings: CohortSettings
) -> _Episodes:
    """Acute episodes: a Poisson process per patient; acute-only patients arrive with one."""
    conditions = settings.conditions
    acute = np.array([i for i, c in enumerate(conditions) if c.kind == ACUTE], np.int64)
    weights = np.array([conditions[i].share for i in acute], np.float64)
    acute_only = pop.kind == KIND_CODES[ACUTE]
    only_rate, planned_rate = settings.acute_episodes_per_year
    rate = np.where(acute_only, only_rate, planned_rate)
    day_after = np.floor(first) + 1.0
    span = np.maximum(pop.stop - day_after, 0.0)
    counts = rng.poisson(rate * span / DAYS_PER_YEAR)
    pat = np.repeat(np.arange(len(pop)), counts)
    t = clinic_time(rng, day_after[pat] + rng.random(pat.shape[0]) * span[pat])
    keep = t < pop.stop[pat]
    arrivals = np.flatnonzero(acute_only)
    pat = np.concatenate((arrivals, pat[keep]))
    t = np.concatenate((first[arrivals], t[keep]))
    condition = rng.choice(acute, size=pat.shape[0], p=weights / weights.sum())
    return _Episodes(pat, t, condition)


def _chronic_courses(
    rng: np.random.Generator, pop: Population, plan: _Plan, settings: CohortSettings
) -> _CourseSpecs:
    """A share of chronic patients get a course, prescribed at one of their planned visits."""
    n = len(pop)
    counts = np.bincount(plan.patient, minlength=n)
    starts = np.cumsum(counts) - counts
    takers = np.flatnonzero(
        (pop.kind == KIND_CODES[CHRONIC])
        & (counts > 0)
        & (rng.random(n) < settings.signals.course_share)
    )
    pick = starts[takers] + np.floor(rng.random(takers.shape[0]) * counts[takers]).astype(np.int64)
    return _draw_specs(rng, takers, plan.t[pick], CHRONIC_SESSIONS, CHRONIC_GAP_DAYS)


def _visits(
    rng: np.random.Generator,
    pop: Population,
    settings: CohortSettings,
    first: FloatArray,
    rehab: _CourseSpecs,
    plan: _Plan,
    episodes: _Episodes,
    courses: Courses,
    sessions: _Sessions,
) -> Visits:
    """Every visit with its condition, origin, course link, charge and department."""
    consults = rehab.patient
    parts = (consults, plan.patient, episodes.patient, sessions.patient)
    origin = np.concatenate(
        [np.full(p.shape[0], o, np.int64) for p, o in zip(parts, ORIGINS, strict=True)]
    )
    patient = np.concatenate(parts)
    t = np.concatenate((first[consults], plan.t, episodes.t, sessions.t))
    condition = np.concatenate(
        (
            pop.condition[consults],
            pop.condition[plan.patient],
            episodes.condition,
            courses.condition[sessions.course],
        )
    )
    not_session = patient.shape[0] - sessions.patient.shape[0]
    course = np.concatenate((np.full(not_session, -1, np.int64), sessions.course))
    progress = np.concatenate((np.full(not_session, np.nan), sessions.progress))
    amount = _charges(rng, pop, settings, patient, t, condition, origin)
    names = [c.department for c in settings.conditions]
    names += [c.session_department for c in settings.conditions]
    department = np.array(names)[
        np.where(origin == SESSION, condition + len(names) // 2, condition)
    ]
    return Visits(patient, t, condition, origin, course, progress, amount, department)


@attrs.frozen(eq=False)
class _Sessions:
    patient: IntArray
    t: FloatArray
    course: IntArray
    progress: FloatArray


def _courses(
    rng: np.random.Generator,
    pop: Population,
    end_day: int,
    settings: CohortSettings,
    specs: _CourseSpecs,
) -> tuple[Courses, _Sessions]:
    """Courses and the sessions actually attended (cut by churn, abandonment or the end)."""
    patient, prescribed, n_sessions = specs.patient, specs.prescribed, specs.sessions
    n_courses = patient.shape[0]
    course_of = np.repeat(np.arange(n_courses), n_sessions)
    nominal = prescribed[course_of] + grouped_cumsum(n_sessions, specs.gaps)
    session_t = clinic_time(rng, nominal)
    index = group_position(n_sessions)
    starts = np.cumsum(n_sessions) - n_sessions

    # abandonment: an efficacy churner stops when the lead time starts; others at random
    degrade = pop.degrade_day[patient]
    efficacy_churn = (pop.reason[patient] == _EFFICACY) & (degrade > prescribed)
    p_abandon = settings.signals.course_abandon + UNHAPPY_ABANDON * (
        pop.efficacy[patient] < UNHAPPY_EFFICACY
    )
    random_abandon = rng.random(n_courses) < p_abandon
    after = np.floor(rng.random(n_courses) * np.maximum(n_sessions - 1, 1)).astype(np.int64) + 1
    after = np.minimum(after, n_sessions - 1)
    abandon_at = np.where(
        random_abandon & (n_sessions > 1), session_t[starts + np.maximum(after, 0)], np.inf
    )
    abandon_at = np.where(efficacy_churn, np.minimum(degrade, abandon_at), abandon_at)
    cut = np.minimum(pop.stop[patient], abandon_at)
    done = session_t < cut[course_of]
    completed = np.bincount(course_of[done], minlength=n_courses).astype(np.int64)
    status = np.where(
        completed == n_sessions,
        "completed",
        np.where(cut < end_day + 1, "abandoned", "active"),
    )
    expected_end = np.floor(prescribed + specs.spans() + COURSE_SLACK_DAYS)
    courses = Courses(
        patient=patient,
        condition=pop.condition[patient],
        prescribed=prescribed,
        sessions=n_sessions.astype(np.int64),
        completed=completed,
        expected_end=expected_end,
        status=status.astype(str),
    )
    sessions = _Sessions(
        patient=patient[course_of][done],
        t=session_t[done],
        course=course_of[done],
        progress=((index + 1) / n_sessions[course_of])[done],
    )
    return courses, sessions


def _charges(
    rng: np.random.Generator,
    pop: Population,
    settings: CohortSettings,
    patient: IntArray,
    t: FloatArray,
    condition: IntArray,
    origin: IntArray,
) -> FloatArray:
    """Log-normal charges per condition, scaled per patient, cut during a price churner's lead."""
    conditions = settings.conditions
    median = np.array([c.median_amount for c in conditions])[condition]
    sigma = np.array([c.amount_sigma for c in conditions])[condition]
    factor = np.where(
        origin == SESSION,
        SESSION_PRICE_FACTOR,
        np.where(origin == CONSULT, CONSULT_PRICE_FACTOR, 1.0),
    )
    base = (
        median * factor * pop.spend_level[patient] * np.exp(sigma * rng.standard_normal(t.shape[0]))
    )
    rehab_session = (origin == SESSION) & (pop.kind[patient] == KIND_CODES[REHAB])
    base = np.where(rehab_session, base / SESSION_PRICE_FACTOR, base)
    lo, hi = settings.signals.price_cut
    cutting = (pop.reason[patient] == _PRICE) & pop.degrading(patient, t)
    base = np.where(cutting, base * rng.uniform(lo, hi, t.shape[0]), base)
    amount: FloatArray = np.maximum(np.round(base, 2), 1.0)
    return amount


def _appointments(
    rng: np.random.Generator,
    pop: Population,
    settings: CohortSettings,
    visits: Visits,
    first: FloatArray,
    plan: _Plan,
) -> Appointments:
    """Attended bookings for planned visits, no-shows and cancellations before some of them."""
    booked = (visits.origin != EPISODE) | (rng.random(visits.t.shape[0]) < BOOKED_EPISODE_SHARE)
    b_pat, b_t, b_dep = visits.patient[booked], visits.t[booked], visits.department[booked]
    is_first = b_t == first[b_pat]
    lo, hi = settings.signals.no_show
    p = np.where(pop.degrading(b_pat, b_t), hi, lo)
    miss1 = (rng.random(b_t.shape[0]) < p) & ~is_first
    miss2 = miss1 & (rng.random(b_t.shape[0]) < p)
    t1 = b_t - rng.uniform(5.0, 14.0, b_t.shape[0])
    t2 = t1 - rng.uniform(5.0, 14.0, b_t.shape[0])
    cancel = (rng.random(b_t.shape[0]) < settings.signals.cancelled) & ~is_first
    t3 = b_t - rng.uniform(2.0, 10.0, b_t.shape[0])
    ok1 = miss1 & (t1 > first[b_pat])
    ok2 = miss2 & (t2 > first[b_pat])
    ok3 = cancel & (t3 > first[b_pat])
    extra_patient = np.concatenate((plan.missed_patient, plan.booked_patient))
    extra_t = np.concatenate((plan.missed_t, plan.booked_t))
    extra_status = np.concatenate(
        (np.full(plan.missed_t.shape[0], "no_show"), np.full(plan.booked_t.shape[0], "booked"))
    )
    departments = np.array([c.department for c in settings.conditions])
    extra_dep = departments[pop.condition[extra_patient]]
    patient = np.concatenate((b_pat, b_pat[ok1], b_pat[ok2], b_pat[ok3], extra_patient))
    t = np.concatenate((b_t, t1[ok1], t2[ok2], t3[ok3], extra_t))
    department = np.concatenate((b_dep, b_dep[ok1], b_dep[ok2], b_dep[ok3], extra_dep))
    status = np.concatenate(
        (
            np.full(b_t.shape[0], "attended"),
            np.full(int(ok1.sum()), "no_show"),
            np.full(int(ok2.sum()), "no_show"),
            np.full(int(ok3.sum()), "cancelled"),
            extra_status,
        )
    )
    return Appointments(patient, t, department, status.astype(str))
