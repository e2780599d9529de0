"""What care the patients receive: planned revisits, acute episodes, treatment courses, bookings.

Every step is vectorised over all events at once: per-patient sequences are
built by repeating patient-level values and taking cumulative sums within
each patient's contiguous block, never by looping over patients.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.risk.levels import ReasonCode
from rfm_retention.testing._population import KIND_CODES, FloatArray, IntArray, Population
from rfm_retention.testing.presets import ACUTE, CHRONIC, CHURN_REASONS, REHAB, CohortSettings

BoolArray = npt.NDArray[np.bool_]

# Visit origins (Visits.origin).
PLANNED = 0
"""A planned revisit of a chronic or rehab patient (booked in advance)."""
SESSION = 1
"""A session of a prescribed treatment course (booked)."""
EPISODE = 2
"""An acute episode (mostly walk-in)."""
CONSULT = 3
"""A rehab patient's first consultation, where the course is prescribed (booked)."""

CLINIC_OPENS = 8.0 / 24.0
CLINIC_HOURS = 9.0 / 24.0
DAYS_PER_YEAR = 365.25
MAX_NO_SHOWS_AFTER_CHURN = 2
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
    conditions = settings.conditions
    n = len(pop)
    first = clinic_time(rng, pop.arrival)
    cond = np.maximum(pop.condition, 0)
    cadence = np.array([c.cadence_days for c in conditions], np.float64)
    lo, hi = cadence[cond, 0], cadence[cond, 1]

    # -- rehab courses start at the first visit; their span delays the follow-ups
    rehab = np.flatnonzero(pop.kind == KIND_CODES[REHAB])
    r_sessions = rng.integers(REHAB_SESSIONS[0], REHAB_SESSIONS[1] + 1, rehab.shape[0])
    r_gaps = rng.uniform(*REHAB_GAP_DAYS, int(r_sessions.sum()))
    r_offsets = grouped_cumsum(r_sessions, r_gaps)
    r_span = np.zeros(n)
    r_span[rehab] = r_offsets[np.cumsum(r_sessions) - 1] if rehab.size else 0.0

    # -- planned revisits on the patient's cadence, stretched during the lead time
    has_plan = pop.kind != KIND_CODES[ACUTE]
    planned_pat = np.flatnonzero(has_plan)
    plan_start = first + r_span + np.where(pop.kind == KIND_CODES[REHAB], rng.uniform(lo, hi), 0.0)
    horizon = float(end_day + 1) + BOOKING_HORIZON_DAYS
    p_lo = lo[planned_pat]
    counts = (np.ceil(np.maximum(horizon - plan_start[planned_pat], 0.0) / p_lo) + 2).astype(
        np.int64
    )
    pat = np.repeat(planned_pat, counts)
    position = group_position(counts)
    gaps = rng.uniform(lo[pat], hi[pat])
    gaps[position == 0] = 0.0
    s = plan_start[pat] + grouped_cumsum(counts, gaps)
    w0 = pop.degrade_day[pat]
    lead_start = np.where(np.isfinite(w0), w0, 0.0)
    warped = clinic_time(rng, np.where(s > w0, w0 + (s - lead_start) * pop.stretch[pat], s))
    chronic_first = (position == 0) & (pop.kind[pat] == KIND_CODES[CHRONIC])
    warped[chronic_first] = first[pat[chronic_first]]
    happens = warped < pop.stop[pat]
    plan_pat, plan_t = pat[happens], warped[happens]

    # -- planned times the patient never came to: missed (churned) or booked (future)
    missed = ~happens & (warped < end_day + 1) & np.isfinite(pop.churn_day[pat])
    missed_rank = grouped_cumsum(counts, missed.astype(np.float64))
    missed &= (missed_rank <= MAX_NO_SHOWS_AFTER_CHURN) & (rng.random(missed.shape[0]) < 0.6)
    future = ~happens & (warped >= end_day + 1) & (warped < horizon)
    future &= ~np.isfinite(pop.churn_day[pat])
    future &= grouped_cumsum(counts, future.astype(np.float64)) == 1

    # -- acute episodes (acute-only patients' first visit is one of them)
    acute_idx = np.array([i for i, c in enumerate(conditions) if c.kind == ACUTE], np.int64)
    acute_w = np.array([conditions[i].share for i in acute_idx], np.float64)
    rate = np.where(
        has_plan, settings.acute_episodes_per_year[1], settings.acute_episodes_per_year[0]
    )
    span = np.maximum(pop.stop - first, 0.0)
    n_episodes = rng.poisson(rate * span / DAYS_PER_YEAR)
    ep_pat = np.repeat(np.arange(n), n_episodes)
    ep_t = first[ep_pat] + rng.random(ep_pat.shape[0]) * span[ep_pat]
    ep_t = clinic_time(rng, ep_t)
    keep = ep_t < pop.stop[ep_pat]
    ep_pat, ep_t = ep_pat[keep], ep_t[keep]
    acute_first = np.flatnonzero(~has_plan)
    ep_pat = np.concatenate((acute_first, ep_pat))
    ep_t = np.concatenate((first[acute_first], ep_t))
    ep_cond = rng.choice(acute_idx, size=ep_pat.shape[0], p=acute_w / acute_w.sum())

    # -- chronic courses start at one of the patient's planned visits
    plan_counts = np.bincount(plan_pat, minlength=n)
    plan_starts = np.cumsum(plan_counts) - plan_counts
    takers = np.flatnonzero(
        (pop.kind == KIND_CODES[CHRONIC])
        & (plan_counts > 0)
        & (rng.random(n) < settings.signals.course_share)
    )
    pick = plan_starts[takers] + np.floor(rng.random(takers.shape[0]) * plan_counts[takers])
    c_prescribed = plan_t[pick.astype(np.int64)] if takers.size else np.empty(0)
    c_sessions = rng.integers(CHRONIC_SESSIONS[0], CHRONIC_SESSIONS[1] + 1, takers.shape[0])
    c_gaps = rng.uniform(*CHRONIC_GAP_DAYS, int(c_sessions.sum()))

    courses, sessions = _courses(
        rng,
        pop,
        end_day,
        settings,
        patient=np.concatenate((rehab, takers)),
        prescribed=np.concatenate((first[rehab], c_prescribed)),
        n_sessions=np.concatenate((r_sessions, c_sessions)),
        gaps=np.concatenate((r_gaps, c_gaps)),
    )

    # -- every visit, with its charge
    v_patient = np.concatenate((rehab, plan_pat, ep_pat, sessions.patient))
    v_t = np.concatenate((first[rehab], plan_t, ep_t, sessions.t))
    v_cond = np.concatenate(
        (pop.condition[rehab], pop.condition[plan_pat], ep_cond, courses.condition[sessions.course])
    )
    v_origin = np.concatenate(
        (
            np.full(rehab.shape[0], CONSULT),
            np.full(plan_pat.shape[0], PLANNED),
            np.full(ep_pat.shape[0], EPISODE),
            np.full(sessions.patient.shape[0], SESSION),
        )
    ).astype(np.int64)
    no_course = np.full(rehab.shape[0] + plan_pat.shape[0] + ep_pat.shape[0], -1, np.int64)
    v_course = np.concatenate((no_course, sessions.course))
    v_progress = np.concatenate((np.full(no_course.shape[0], np.nan), sessions.progress))
    amount = _charges(rng, pop, settings, v_patient, v_t, v_cond, v_origin)
    department = np.where(
        v_origin == SESSION,
        np.array([c.session_department for c in conditions])[v_cond],
        np.array([c.department for c in conditions])[v_cond],
    )
    visits = Visits(v_patient, v_t, v_cond, v_origin, v_course, v_progress, amount, department)

    appointments = _appointments(
        rng,
        pop,
        settings,
        visits,
        first=first,
        extra_t=np.concatenate((warped[missed], warped[future])),
        extra_patient=np.concatenate((pat[missed], pat[future])),
        extra_status=np.concatenate(
            (np.full(int(missed.sum()), "no_show"), np.full(int(future.sum()), "booked"))
        ),
    )
    return Care(visits, courses, appointments)


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
    *,
    patient: IntArray,
    prescribed: FloatArray,
    n_sessions: IntArray,
    gaps: FloatArray,
) -> tuple[Courses, _Sessions]:
    """Courses and the sessions actually attended (cut by churn, abandonment or the end)."""
    n_courses = patient.shape[0]
    course_of = np.repeat(np.arange(n_courses), n_sessions)
    nominal = prescribed[course_of] + grouped_cumsum(n_sessions, gaps)
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
    mean_gap = np.where(
        n_sessions > 0,
        nominal[starts + n_sessions - 1] - prescribed,
        0.0,
    )
    expected_end = np.floor(prescribed + mean_gap + COURSE_SLACK_DAYS)
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
    *,
    first: FloatArray,
    extra_t: FloatArray,
    extra_patient: IntArray,
    extra_status: npt.NDArray[np.str_],
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
