"""The numbers the synthetic cohort is drawn from, in one place, as named presets.

Every rate, cadence and price the generator uses lives here, so a test suite
that needs a different hospital (more diabetics, harsher churn, dearer
visits) copies a preset with :func:`attrs.evolve` and passes it to
:func:`~rfm_retention.testing.synthetic_cohort` instead of editing code.

The defaults follow the source documents where they speak: hypertension
revisits every 1-2 months, diabetes every 2-3 months, acute visits one-off;
satisfaction, outcome and handling scores on 0-100; churn driven mostly by
efficacy below expectation (about 45 %) and service experience (about 37 %),
the rest by price, competition, loss of trust or no stated cause.
"""

from __future__ import annotations

from typing import Literal

import attrs

from rfm_retention.errors import ConfigError
from rfm_retention.vocabulary import ReasonCode

__all__ = [
    "ACUTE",
    "CHRONIC",
    "CHURN_REASONS",
    "DEFAULT_CHURN",
    "DEFAULT_CONDITIONS",
    "DEFAULT_SETTINGS",
    "DEFAULT_SIGNALS",
    "REHAB",
    "ChurnHazards",
    "CohortCondition",
    "CohortSettings",
    "ConditionKind",
    "SignalRates",
]

ConditionKind = Literal["chronic", "rehab", "acute"]
CHRONIC: ConditionKind = "chronic"
REHAB: ConditionKind = "rehab"
ACUTE: ConditionKind = "acute"


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _non_negative(owner: object, names: tuple[str, ...]) -> None:
    """Every named attribute (a number) is at least 0."""
    for name in names:
        _require(getattr(owner, name) >= 0, f"{type(owner).__name__}.{name} must be >= 0")


def _probabilities(owner: object, names: tuple[str, ...]) -> None:
    """Every named attribute (a number or a pair of numbers) lies in [0, 1]."""
    for name in names:
        value = getattr(owner, name)
        values = value if isinstance(value, tuple) else (value,)
        _require(
            all(0.0 <= v <= 1.0 for v in values),
            f"{type(owner).__name__}.{name} must be a probability in [0, 1], got {value}",
        )


@attrs.frozen
class CohortCondition:
    """A diagnosis and the care pattern that goes with it.

    Attributes:
        code: ICD-10 code written to ``visits.diagnosis``.
        name: plain-language name (documentation only).
        department: department written to ``visits.department``.
        kind: ``chronic`` (regular revisits every ``cadence_days``), ``rehab``
            (a prescribed course of sessions, then follow-ups every
            ``cadence_days``) or ``acute`` (one-off visits).
        share: weight of the condition among patients (chronic and rehab) or
            among acute episodes (acute); normalised within each group.
        cadence_days: (shortest, longest) days between planned revisits;
            each interval is drawn uniformly between them.
        median_amount: median charge per visit; amounts are log-normal.
        amount_sigma: sigma of the log of the charge (spread).
        course_department: the department that runs the condition's
            treatment courses (cardiac rehabilitation, diabetes education...);
            empty means ``department``.
    """

    code: str
    name: str
    department: str
    kind: ConditionKind
    share: float
    cadence_days: tuple[float, float] = (0.0, 0.0)
    median_amount: float = 100.0
    amount_sigma: float = 0.5
    course_department: str = ""

    def __attrs_post_init__(self) -> None:
        label = f"condition {self.code!r}"
        _require(self.kind in (CHRONIC, REHAB, ACUTE), f"{label}: unknown kind {self.kind!r}")
        _require(self.share > 0, f"{label}: share must be > 0")
        _require(self.median_amount > 0, f"{label}: median_amount must be > 0")
        _require(self.amount_sigma >= 0, f"{label}: amount_sigma must be >= 0")
        lo, hi = self.cadence_days
        _require(
            self.kind == ACUTE or 0 < lo <= hi,
            f"{label}: cadence_days must be (shortest, longest) with 0 < shortest <= longest",
        )

    @property
    def session_department(self) -> str:
        """Where the condition's course sessions take place."""
        return self.course_department or self.department


_C = CohortCondition
DEFAULT_CONDITIONS: tuple[CohortCondition, ...] = (
    # code, name, department, kind, share, cadence_days, median_amount, amount_sigma, courses in
    _C("I10", "essential hypertension", "cardiology", CHRONIC, 0.22, (30, 60), 160, 0.45,
       "cardiac_rehabilitation"),
    _C("E11", "type 2 diabetes", "endocrinology", CHRONIC, 0.15, (60, 90), 220, 0.5,
       "diabetes_education"),
    _C("J45", "asthma", "respiratory", CHRONIC, 0.06, (90, 180), 150, 0.5,
       "pulmonary_rehabilitation"),
    _C("N18", "chronic kidney disease", "nephrology", CHRONIC, 0.04, (30, 90), 380, 0.55,
       "renal_nutrition"),
    _C("M17", "knee osteoarthritis", "rehabilitation", REHAB, 0.08, (60, 120), 90, 0.35),
    _C("J06", "acute upper respiratory infection", "general_medicine", ACUTE, 0.30,
       median_amount=60, amount_sigma=0.45),
    _C("A09", "infectious gastroenteritis", "emergency", ACUTE, 0.15,
       median_amount=130, amount_sigma=0.5),
    _C("S93", "ankle sprain", "orthopaedics", ACUTE, 0.15, median_amount=240, amount_sigma=0.6),
    _C("H10", "conjunctivitis", "ophthalmology", ACUTE, 0.12, median_amount=70, amount_sigma=0.4),
    _C("N39", "urinary tract infection", "urology", ACUTE, 0.12,
       median_amount=110, amount_sigma=0.45),
    _C("K35", "acute appendicitis", "general_surgery", ACUTE, 0.04,
       median_amount=3800, amount_sigma=0.35),
    _C("Z00", "general health check-up", "health_check", ACUTE, 0.12,
       median_amount=300, amount_sigma=0.3),
)  # fmt: skip
"""Four chronic conditions, one rehabilitation pathway, seven kinds of acute episode.

Patients who have none of the chronic or rehab conditions come for acute
episodes only (``acute_only_share`` of :class:`CohortSettings`).
"""


@attrs.frozen
class ChurnHazards:
    """The hidden churn process: competing monthly hazards, one per reason.

    Each patient draws a churn time for every reason from an exponential
    distribution with that reason's hazard; the earliest wins and becomes the
    patient's churn date and main driver. The experience and efficacy hazards
    grow exponentially as the patient's latent satisfaction / treatment
    efficacy falls below the pivot, so bad experiences and poor results raise
    the risk of leaving.

    Attributes:
        efficacy: monthly hazard at ``efficacy_pivot``.
        efficacy_pivot: latent efficacy (0-100) where the hazard equals ``efficacy``.
        efficacy_scale: points of efficacy below the pivot that multiply the hazard by e.
        service: monthly hazard at ``service_pivot``.
        service_pivot: latent satisfaction (0-100) where the hazard equals ``service``.
        service_scale: points of satisfaction below the pivot that multiply it by e.
        price: monthly hazard of a patient with average price sensitivity.
        competition: constant monthly hazard (a competitor's pull).
        trust: monthly hazard at average satisfaction, rising like ``service``.
        behaviour_only: constant monthly hazard with no stated cause.
        acute_multiplier: acute-only patients are this much quicker to drift away.
        lead_days: (shortest, longest) days before the churn date at which the
            patient's signals start to degrade (the warning's lead time).
        stretch: (least, most) factor by which revisit intervals lengthen
            during the lead time.
    """

    efficacy: float = 0.0105
    efficacy_pivot: float = 82.0
    efficacy_scale: float = 8.0
    service: float = 0.0068
    service_pivot: float = 84.0
    service_scale: float = 7.0
    price: float = 0.0018
    competition: float = 0.0012
    trust: float = 0.0009
    behaviour_only: float = 0.0012
    acute_multiplier: float = 1.8
    lead_days: tuple[float, float] = (60.0, 150.0)
    stretch: tuple[float, float] = (1.6, 2.4)

    def __attrs_post_init__(self) -> None:
        _non_negative(
            self, ("efficacy", "service", "price", "competition", "trust", "behaviour_only")
        )
        _require(
            self.efficacy_scale > 0 and self.service_scale > 0,
            "ChurnHazards: efficacy_scale and service_scale must be > 0",
        )
        _require(self.acute_multiplier > 0, "ChurnHazards.acute_multiplier must be > 0")
        _require(
            0 <= self.lead_days[0] <= self.lead_days[1],
            "ChurnHazards.lead_days must be (shortest, longest), 0 <= shortest <= longest",
        )
        _require(
            1 <= self.stretch[0] <= self.stretch[1],
            "ChurnHazards.stretch must be (least, most), 1 <= least <= most",
        )


DEFAULT_CHURN = ChurnHazards()

CHURN_REASONS: tuple[ReasonCode, ...] = (
    ReasonCode.EFFICACY,
    ReasonCode.SERVICE,
    ReasonCode.PRICE,
    ReasonCode.COMPETITION,
    ReasonCode.TRUST,
    ReasonCode.BEHAVIOUR_ONLY,
)
"""The order of the competing risks (and of the reason index used internally)."""


@attrs.frozen
class SignalRates:
    """How often each source records something, and how much a churner's signals degrade.

    Attributes:
        satisfaction_mean: mean of the patients' latent satisfaction (0-100).
        satisfaction_sd: spread of latent satisfaction between patients.
        efficacy_mean: mean of the patients' latent treatment efficacy (0-100).
        efficacy_sd: spread of latent efficacy between patients.
        rating_per_visit: probability a visit is followed by a satisfaction rating.
        rating_noise: sd of a rating around the patient's latent satisfaction.
        rating_drop: (at the start, at the churn date) points lost by a service
            or trust churner's ratings during the lead time.
        complaint_per_visit: probability of a complaint after an ordinary visit.
        complaint_unhappy: extra probability for patients with latent satisfaction below 75.
        complaint_degraded: probability after a visit in a service, trust or
            price churner's lead time.
        complaint_valid: share of complaints the hospital upholds (ordinary, degraded).
        handling_mean: mean handling satisfaction (ordinary, trust churner's lead time).
        handling_sd: spread of handling satisfaction.
        handling_surveyed: share of complaints with a handling satisfaction score.
        no_show: probability a planned visit is preceded by a missed appointment
            (ordinary, during the lead time).
        cancelled: probability a planned visit is preceded by a cancelled appointment.
        assessment_per_visit: probability a chronic visit or course session
            carries an outcome assessment (acute visits: a fifth of it).
        outcome_noise: sd of an outcome score around the latent efficacy.
        outcome_drop: (start, churn date) points an efficacy churner's outcome
            scores lose during the lead time.
        progress_lag: factor on actual rehabilitation progress during an
            efficacy churner's lead time.
        review_per_visit: probability a visit is followed by an external review
            (ordinary, during a service, trust or efficacy churner's lead time).
        price_cut: (least, most) factor on a price churner's charges during the lead time.
        course_share: share of chronic patients who get a course of sessions
            (every rehab patient gets one).
        course_abandon: probability an ordinary course is abandoned part-way.
    """

    satisfaction_mean: float = 87.0
    satisfaction_sd: float = 7.0
    efficacy_mean: float = 86.0
    efficacy_sd: float = 7.0
    rating_per_visit: float = 0.35
    rating_noise: float = 5.0
    rating_drop: tuple[float, float] = (10.0, 30.0)
    complaint_per_visit: float = 0.008
    complaint_unhappy: float = 0.04
    complaint_degraded: float = 0.3
    complaint_valid: tuple[float, float] = (0.6, 0.85)
    handling_mean: tuple[float, float] = (80.0, 50.0)
    handling_sd: float = 12.0
    handling_surveyed: float = 0.8
    no_show: tuple[float, float] = (0.05, 0.35)
    cancelled: float = 0.04
    assessment_per_visit: float = 0.35
    outcome_noise: float = 5.0
    outcome_drop: tuple[float, float] = (8.0, 28.0)
    progress_lag: float = 0.6
    review_per_visit: tuple[float, float] = (0.02, 0.12)
    price_cut: tuple[float, float] = (0.35, 0.55)
    course_share: float = 0.15
    course_abandon: float = 0.08

    def __attrs_post_init__(self) -> None:
        _probabilities(
            self,
            (
                "rating_per_visit", "complaint_per_visit", "complaint_unhappy",
                "complaint_degraded", "complaint_valid", "handling_surveyed", "no_show",
                "cancelled", "assessment_per_visit", "progress_lag", "review_per_visit",
                "price_cut", "course_share", "course_abandon",
            ),
        )  # fmt: skip
        _non_negative(
            self, ("satisfaction_sd", "efficacy_sd", "rating_noise", "handling_sd", "outcome_noise")
        )


DEFAULT_SIGNALS = SignalRates()


@attrs.frozen
class CohortSettings:
    """Everything :func:`~rfm_retention.testing.synthetic_cohort` draws from.

    Attributes:
        conditions: the diagnoses and their care patterns.
        acute_only_share: share of patients with no chronic or rehab condition.
        existing_share: share of patients already on the books when the
            cohort starts (their first visit falls in its first 90 days); the
            others arrive uniformly over the cohort.
        acute_episodes_per_year: (acute-only patients, chronic patients) rate
            of acute episodes besides planned care.
        churn: the hidden churn process.
        signals: rates of ratings, complaints, appointments and so on.
    """

    conditions: tuple[CohortCondition, ...] = DEFAULT_CONDITIONS
    acute_only_share: float = 0.45
    existing_share: float = 0.4
    acute_episodes_per_year: tuple[float, float] = (0.4, 0.25)
    churn: ChurnHazards = DEFAULT_CHURN
    signals: SignalRates = DEFAULT_SIGNALS

    def __attrs_post_init__(self) -> None:
        _probabilities(self, ("acute_only_share", "existing_share"))
        kinds = {c.kind for c in self.conditions}
        _require(ACUTE in kinds, "CohortSettings.conditions needs at least one acute condition")
        _require(
            bool(kinds - {ACUTE}) or self.acute_only_share == 1.0,
            "CohortSettings.conditions needs a chronic or rehab condition (or acute_only_share=1)",
        )
        _require(
            len({c.code for c in self.conditions}) == len(self.conditions),
            "CohortSettings.conditions: codes must be unique",
        )
        _require(
            all(rate >= 0 for rate in self.acute_episodes_per_year),
            "CohortSettings.acute_episodes_per_year must be >= 0",
        )


DEFAULT_SETTINGS = CohortSettings()
