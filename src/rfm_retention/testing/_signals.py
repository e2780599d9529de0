"""What patients say and how they fare: ratings, complaints, outcome assessments, reviews.

Each signal is drawn per visit from the patient's latent satisfaction or
efficacy, and degrades during a churner's lead time according to the main
driver of their churn, so a warning system has something to find before the
patient is gone.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray, IntArray, TextArray
from rfm_retention._frozen import frozen_mapping
from rfm_retention.testing._care import EPISODE, SESSION, Visits
from rfm_retention.testing._population import Population
from rfm_retention.testing._presets import CHURN_REASONS, CohortSettings
from rfm_retention.vocabulary import ReasonCode

RATING_CHANNELS = ("sms_survey", "app", "phone", "kiosk")
COMPLAINT_CATEGORIES = (
    "waiting_time",
    "service",
    "billing",
    "communication",
    "efficacy",
    "facilities",
)
REVIEW_PLATFORMS = ("maps", "social_media", "health_portal")
DRIVER_CATEGORY = frozen_mapping({
    ReasonCode.SERVICE: "service",
    ReasonCode.TRUST: "communication",
    ReasonCode.PRICE: "price",
    ReasonCode.EFFICACY: "efficacy",
})
"""The complaint category a churner's degraded complaints carry, by main driver."""
EFFICACY_COMPLAINT_SHARE = 0.4
"""Efficacy churners complain less than service ones: this share of ``complaint_degraded``."""
ACUTE_ASSESSMENT_SHARE = 0.2
REVIEW_STARS_PIVOT = 45.0
REVIEW_STARS_SPAN = 50.0
REVIEW_NOISE = 8.0
UNHAPPY_SATISFACTION = 75.0
RATING_DELAY_DAYS = (0.05, 3.0)
COMPLAINT_DELAY_DAYS = (0.05, 5.0)
ASSESSMENT_DELAY_DAYS = (1.0 / 24.0, 1.0 / 24.0)
"""Assessments are recorded an hour after the visit."""
REVIEW_DELAY_DAYS = (0.1, 10.0)


def _reason_index(reason: ReasonCode) -> int:
    return CHURN_REASONS.index(reason)


@attrs.frozen(eq=False)
class Scores:
    """Rows of one score-bearing source: patient row, time, score(s), a text column."""

    patient: IntArray
    t: FloatArray
    columns: dict[str, npt.NDArray[Any]]


def _driven_by(pop: Population, patient: IntArray, *reasons: ReasonCode) -> npt.NDArray[np.bool_]:
    codes = np.array([_reason_index(r) for r in reasons], np.int64)
    result: npt.NDArray[np.bool_] = np.isin(pop.reason[patient], codes)
    return result


def _in_lead(pop: Population, visits: Visits, *reasons: ReasonCode) -> npt.NDArray[np.bool_]:
    """Visits inside the lead time of a churner whose main driver is one of ``reasons``."""
    lead: npt.NDArray[np.bool_] = pop.degrading(visits.patient, visits.t) & _driven_by(
        pop, visits.patient, *reasons
    )
    return lead


def _drop(
    pop: Population,
    patient: IntArray,
    t: FloatArray,
    active: npt.NDArray[np.bool_],
    span: tuple[float, float],
) -> FloatArray:
    """Points lost: span[0] at the start of the lead time rising to span[1] at churn."""
    inside = active & pop.degrading(patient, t)
    result: FloatArray = np.where(inside, span[0] + (span[1] - span[0]) * pop.ramp(patient, t), 0.0)
    return result


@attrs.frozen(eq=False)
class SignalDraw:
    """What every signal is drawn from: the cohort's generator (drawn from in a fixed
    order, so a seed gives one cohort), its patients and visits, its last day, its
    settings."""

    rng: np.random.Generator
    pop: Population
    visits: Visits
    end_day: int
    settings: CohortSettings


def _after_visits(
    given: SignalDraw,
    chance: npt.NDArray[np.floating[Any]] | float,
    delay_days: tuple[float, float],
) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """Events following some visits: (visit row, event time), within the cohort period.

    Each visit is followed by an event with probability ``chance``, after a
    delay drawn uniformly from ``delay_days``; events after ``end_day`` are
    dropped (the cohort's data stops there).
    """
    rng, visits = given.rng, given.visits
    picked = np.flatnonzero(rng.random(len(visits.t)) < chance)
    t = visits.t[picked] + rng.uniform(delay_days[0], delay_days[1], len(picked))
    keep = t < given.end_day + 1
    return picked[keep], t[keep]


def _labels(rng: np.random.Generator, labels: tuple[str, ...], n: int) -> TextArray:
    """``n`` labels drawn uniformly from ``labels``."""
    drawn: TextArray = np.array(labels)[rng.integers(0, len(labels), n)]
    return drawn


def draw_ratings(given: SignalDraw) -> Scores:
    """Satisfaction ratings after a share of visits; service and trust churners rate lower."""
    rng, pop, visits, sig = given.rng, given.pop, given.visits, given.settings.signals
    rows, t = _after_visits(given, sig.rating_per_visit, RATING_DELAY_DAYS)
    patient = visits.patient[rows]
    driven = _driven_by(pop, patient, ReasonCode.SERVICE, ReasonCode.TRUST)
    score = (
        pop.satisfaction[patient]
        + rng.normal(0.0, sig.rating_noise, patient.shape[0])
        - _drop(pop, patient, t, driven, sig.rating_drop)
    )
    channel = _labels(rng, RATING_CHANNELS, patient.shape[0])
    return Scores(patient, t, {"score": np.clip(np.round(score), 0, 100), "channel": channel})


def draw_complaints(given: SignalDraw) -> Scores:
    """Complaints: rare in general, frequent in a service, trust or price churner's lead time."""
    rng, pop, visits, sig = given.rng, given.pop, given.visits, given.settings.signals
    degraded = _in_lead(pop, visits, ReasonCode.SERVICE, ReasonCode.TRUST, ReasonCode.PRICE)
    efficacy_lead = _in_lead(pop, visits, ReasonCode.EFFICACY)
    p = sig.complaint_per_visit + sig.complaint_unhappy * (
        pop.satisfaction[visits.patient] < UNHAPPY_SATISFACTION
    )
    p = np.where(degraded, sig.complaint_degraded, p)
    p = np.where(efficacy_lead, sig.complaint_degraded * EFFICACY_COMPLAINT_SHARE, p)
    rows, t = _after_visits(given, p, COMPLAINT_DELAY_DAYS)
    patient, lead = visits.patient[rows], (degraded | efficacy_lead)[rows]
    m = patient.shape[0]
    valid = rng.random(m) < np.where(lead, sig.complaint_valid[1], sig.complaint_valid[0])
    trust_lead = lead & _driven_by(pop, patient, ReasonCode.TRUST, ReasonCode.SERVICE)
    handling = rng.normal(
        np.where(trust_lead, sig.handling_mean[1], sig.handling_mean[0]), sig.handling_sd, m
    )
    handling = np.where(
        rng.random(m) < sig.handling_surveyed, np.clip(np.round(handling), 0, 100), np.nan
    )
    category = _labels(rng, COMPLAINT_CATEGORIES, m)
    reasons = np.array([r.value for r in CHURN_REASONS] + [""])[pop.reason[patient]]
    for reason, label in DRIVER_CATEGORY.items():
        category = np.where(lead & (reasons == reason.value), label, category)
    return Scores(
        patient,
        t,
        {"valid": valid, "handling_satisfaction": handling, "category": category},
    )


def draw_outcomes(given: SignalDraw) -> Scores:
    """Outcome scores at a share of visits; rehab progress (expected vs actual) at sessions."""
    rng, pop, visits, sig = given.rng, given.pop, given.visits, given.settings.signals
    share = np.where(
        visits.origin == EPISODE,
        sig.assessment_per_visit * ACUTE_ASSESSMENT_SHARE,
        sig.assessment_per_visit,
    )
    rows, t = _after_visits(given, share, ASSESSMENT_DELAY_DAYS)
    patient, progress = visits.patient[rows], visits.progress[rows]
    session = visits.origin[rows] == SESSION
    m = patient.shape[0]
    driven = _driven_by(pop, patient, ReasonCode.EFFICACY)
    outcome = (
        pop.efficacy[patient]
        + rng.normal(0.0, sig.outcome_noise, m)
        - _drop(pop, patient, t, driven, sig.outcome_drop)
    )
    expected = np.round(100.0 * progress, 1)
    pace = np.clip(
        1.0 + (pop.efficacy[patient] - sig.efficacy_mean) / 60.0 + rng.normal(0.0, 0.05, m),
        0.4,
        1.2,
    )
    pace = np.where(driven & pop.degrading(patient, t), pace * sig.progress_lag, pace)
    actual = np.clip(np.round(expected * pace, 1), 0, 100)
    return Scores(
        patient,
        t,
        {
            "outcome_score": np.clip(np.round(outcome), 0, 100),
            "expected_progress": np.where(session, expected, np.nan),
            "actual_progress": np.where(session, actual, np.nan),
        },
    )


def draw_reviews(given: SignalDraw) -> Scores:
    """External 1-5 star reviews (stored 0-100); churners post more, and worse, in their lead."""
    rng, pop, visits, sig = given.rng, given.pop, given.visits, given.settings.signals
    unhappy = _in_lead(pop, visits, ReasonCode.SERVICE, ReasonCode.TRUST, ReasonCode.EFFICACY)
    chance = np.where(unhappy, sig.review_per_visit[1], sig.review_per_visit[0])
    rows, t = _after_visits(given, chance, REVIEW_DELAY_DAYS)
    patient = visits.patient[rows]
    m = patient.shape[0]
    feeling = (
        np.minimum(pop.satisfaction[patient], pop.efficacy[patient] + 5.0)
        + rng.normal(0.0, REVIEW_NOISE, m)
        - _drop(
            pop,
            patient,
            t,
            _driven_by(pop, patient, ReasonCode.SERVICE, ReasonCode.TRUST),
            sig.rating_drop,
        )
        - _drop(pop, patient, t, _driven_by(pop, patient, ReasonCode.EFFICACY), sig.outcome_drop)
    )
    stars = np.clip(np.round(1.0 + 4.0 * (feeling - REVIEW_STARS_PIVOT) / REVIEW_STARS_SPAN), 1, 5)
    platform = _labels(rng, REVIEW_PLATFORMS, m)
    return Scores(patient, t, {"stars": stars, "platform": platform})
