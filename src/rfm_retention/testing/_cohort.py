"""Deterministic synthetic patient cohorts with a hidden churn process and its ground truth.

:func:`synthetic_cohort` draws a hospital's patients over a period: their
conditions and care cadence, every visit with its charge, satisfaction
ratings, complaints, appointments, treatment courses, outcome assessments and
external reviews, as the validated tables of :mod:`rfm_retention.data`. A
hidden churn process (competing risks driven by each patient's latent
experience and treatment efficacy, plus price, competition, trust and no
stated cause) decides who stops coming and from when; in the months before,
the churner's revisits space out, appointments are missed and the signals of
the main driver degrade, so an early-warning system has something to find.
:class:`ChurnTruth` returns what really happened, to score such a system.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray
from rfm_retention._tabular import row_position
from rfm_retention.data import (
    AppointmentTable,
    AssessmentTable,
    ComplaintTable,
    CourseTable,
    PatientData,
    RatingTable,
    ReviewTable,
    VisitLog,
)
from rfm_retention.data._table import PatientTable
from rfm_retention.errors import ConfigError
from rfm_retention.testing._care import draw_care
from rfm_retention.testing._population import (
    ARRIVAL_MARGIN_DAYS,
    NO_REASON,
    Population,
    draw_population,
    numbered,
)
from rfm_retention.testing._presets import CHURN_REASONS, DEFAULT_SETTINGS, CohortSettings
from rfm_retention.testing._registry import draw_registry
from rfm_retention.testing._signals import (
    SignalDraw,
    draw_complaints,
    draw_outcomes,
    draw_ratings,
    draw_reviews,
)
from rfm_retention.time import SECONDS_PER_DAY, TimeLike, as_instant, day_number
from rfm_retention.vocabulary import ReasonCode

__all__ = [
    "SAMPLE_END",
    "SAMPLE_PATIENTS",
    "SAMPLE_SEED",
    "SAMPLE_START",
    "ChurnTruth",
    "SyntheticCohort",
    "sample_cohort",
    "synthetic_cohort",
]

SAMPLE_PATIENTS = 500
SAMPLE_SEED = 20240601
SAMPLE_START = dt.date(2022, 1, 1)
SAMPLE_END = dt.date(2024, 12, 31)

T = TypeVar("T", bound=PatientTable)


@attrs.frozen(eq=False)
class ChurnTruth:
    """What the hidden churn process did, one row per patient (sorted by id like the data).

    Attributes:
        patient_id: every patient of the cohort, sorted (= ``data.patients``).
        churned: whether the patient stopped coming within the cohort period.
        churned_from: the first day with no more visits (every visit of the
            patient is before it); NaT if the patient did not churn.
        degrading_from: the day the churner's signals started to degrade
            (revisits spacing out, missed appointments, the driver's scores
            falling): the lead time a warning can use. NaT if not churned.
        reason: the main driver of the churn, a
            :class:`~rfm_retention.vocabulary.ReasonCode` value (``"efficacy"``,
            ``"service"``...), ``""`` if the patient did not churn.
        primary_diagnosis: the ICD-10 code of the patient's chronic or rehab
            condition; ``""`` for patients who only have acute episodes.

    Example:
        >>> cohort = synthetic_cohort(200, seed=1)
        >>> truth = cohort.truth
        >>> bool(truth.churned.any())
        True
        >>> first = int(np.argmax(truth.churned))
        >>> truth.reason_of(str(truth.patient_id[first])) in set(ReasonCode)
        True
    """

    patient_id: npt.NDArray[np.str_]
    churned: npt.NDArray[np.bool_]
    churned_from: npt.NDArray[np.datetime64]
    degrading_from: npt.NDArray[np.datetime64]
    reason: npt.NDArray[np.str_]
    primary_diagnosis: npt.NDArray[np.str_]

    def __len__(self) -> int:
        return int(self.patient_id.shape[0])

    def index_of(self, patient_id: str) -> int:
        """Row of ``patient_id``; KeyError if the cohort has no such patient."""
        return row_position(self.patient_id, patient_id, f"no patient {patient_id!r} in the cohort")

    def reason_of(self, patient_id: str) -> ReasonCode | None:
        """The main driver of ``patient_id``'s churn, or None if they did not churn."""
        text = str(self.reason[self.index_of(patient_id)])
        return ReasonCode(text) if text else None

    def churned_by(self, as_of: TimeLike) -> npt.NDArray[np.bool_]:
        """Mask of patients whose churn date is on or before ``as_of``."""
        day = as_instant(as_of).astype("datetime64[D]")
        result: npt.NDArray[np.bool_] = self.churned & (self.churned_from <= day)
        return result

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """The columns in file order (``truth.csv`` of ``rfm-retention sample``)."""
        return {
            "patient_id": self.patient_id,
            "churned": self.churned,
            "churned_from": self.churned_from,
            "degrading_from": self.degrading_from,
            "reason": self.reason,
            "primary_diagnosis": self.primary_diagnosis,
        }


@attrs.frozen(eq=False)
class SyntheticCohort:
    """A synthetic hospital population: its data tables and the truth behind them.

    Attributes:
        data: every source (visits, ratings, complaints, appointments, courses,
            outcomes, reviews, the patient registry) as validated tables.
        truth: who churned, from when, and why.
        start: first day of the cohort period.
        end: last day of the cohort period (no event after it, except
            appointments still ``booked`` for later).
        seed: the seed it was drawn with (same seed, same cohort).
    """

    data: PatientData
    truth: ChurnTruth
    start: dt.date
    end: dt.date
    seed: int

    @property
    def n_patients(self) -> int:
        """How many patients the cohort has."""
        return len(self.truth)


def synthetic_cohort(
    n_patients: int,
    seed: int,
    start: dt.date = SAMPLE_START,
    end: dt.date = SAMPLE_END,
    *,
    settings: CohortSettings = DEFAULT_SETTINGS,
) -> SyntheticCohort:
    """Draw a cohort of ``n_patients`` patients visiting between ``start`` and ``end``.

    The same arguments always give the same cohort (one
    :class:`numpy.random.Generator` seeded with ``seed``). Every patient has
    at least one visit; first visits are spread over the period (a share of
    patients is already on the books at ``start``), none in its last 30 days.
    Generation is vectorised: 100,000 patients over three years take a few
    seconds.

    Args:
        n_patients: how many patients (0 gives empty tables).
        seed: seed of the random generator.
        start: first day of the period.
        end: last day of the period (at least 60 days after ``start``).
        settings: the rates, cadences and prices to draw from
            (:data:`~rfm_retention.testing._presets.DEFAULT_SETTINGS`).

    Returns:
        The data and the ground truth of its hidden churn process.

    Raises:
        ConfigError: on a negative size or a period too short.

    Example:
        >>> import datetime as dt
        >>> cohort = synthetic_cohort(300, seed=7, start=dt.date(2023, 1, 1),
        ...                           end=dt.date(2024, 6, 30))
        >>> cohort.data.visits.n_patients
        300
        >>> len(cohort.data.available)
        8
    """
    if isinstance(n_patients, bool) or not isinstance(n_patients, int | np.integer):
        raise ConfigError(f"n_patients must be a whole number, got {n_patients!r}")
    if n_patients < 0:
        raise ConfigError(f"n_patients must be >= 0, got {n_patients}")
    if isinstance(start, dt.datetime) or isinstance(end, dt.datetime):
        raise ConfigError("start and end are dates, not datetimes")
    if (end - start).days < 2 * ARRIVAL_MARGIN_DAYS:
        raise ConfigError(
            f"the cohort period {start}..{end} is too short: give at least "
            f"{2 * ARRIVAL_MARGIN_DAYS} days"
        )
    rng = np.random.default_rng(seed)
    start_day = day_number(start)
    end_day = day_number(end)
    pop = draw_population(rng, int(n_patients), start_day, end_day, settings)
    care = draw_care(rng, pop, end_day, settings)
    v, a, c = care.visits, care.appointments, care.courses
    given = SignalDraw(rng, pop, v, end_day, settings)
    ratings = draw_ratings(given)
    complaints = draw_complaints(given)
    outcomes = draw_outcomes(given)
    reviews = draw_reviews(given)
    visit_columns = {
        "amount": v.amount,
        "department": v.department,
        "diagnosis": _labels(tuple(cond.code for cond in settings.conditions), v.condition),
    }
    course_columns = {
        "prescribed_sessions": c.sessions,
        "completed_sessions": c.completed,
        "expected_end": _days(c.expected_end).astype("datetime64[s]"),
        "status": c.status,
    }
    visits = _table(VisitLog, pop, v.patient, v.t, visit_columns, "visit_id", "V")
    data = PatientData(
        visits=visits,
        ratings=_table(RatingTable, pop, ratings.patient, ratings.t, ratings.columns),
        complaints=_table(
            ComplaintTable,
            pop,
            complaints.patient,
            complaints.t,
            complaints.columns,
            "complaint_id",
            "C",
        ),
        appointments=_table(
            AppointmentTable,
            pop,
            a.patient,
            a.t,
            {"status": a.status, "department": a.department},
            "appointment_id",
            "A",
        ),
        courses=_table(CourseTable, pop, c.patient, c.prescribed, course_columns, "course_id", "T"),
        outcomes=_table(AssessmentTable, pop, outcomes.patient, outcomes.t, outcomes.columns),
        reviews=_table(ReviewTable, pop, reviews.patient, reviews.t, reviews.columns),
        registry=draw_registry(visits, int(seed), start_day, end_day),
    )
    return SyntheticCohort(
        data=data, truth=_truth(pop, settings), start=start, end=end, seed=int(seed)
    )


def sample_cohort() -> SyntheticCohort:
    """The embedded sample: 500 patients over 2022-2024, seed 20240601.

    What ``rfm-retention demo`` runs on and ``rfm-retention sample`` writes
    out; small enough to draw in a fraction of a second, large enough that
    every segment, warning level and churn reason shows up.

    Example:
        >>> cohort = sample_cohort()
        >>> (cohort.start.isoformat(), cohort.end.isoformat(), cohort.n_patients)
        ('2022-01-01', '2024-12-31', 500)
    """
    return synthetic_cohort(SAMPLE_PATIENTS, SAMPLE_SEED, SAMPLE_START, SAMPLE_END)


# ---------------------------------------------------------------- assembling tables
def _times(t: FloatArray) -> npt.NDArray[np.datetime64]:
    """Float day numbers as ``datetime64[s]``."""
    seconds = np.round(t * SECONDS_PER_DAY).astype(np.int64)
    return seconds.astype("datetime64[s]")


def _days(t: FloatArray) -> npt.NDArray[np.datetime64]:
    """Float day numbers (inf = none) as ``datetime64[D]`` (NaT = none)."""
    out = np.full(t.shape[0], np.datetime64("NaT", "D"))
    finite = np.isfinite(t)
    out[finite] = np.floor(t[finite]).astype(np.int64).astype("datetime64[D]")
    return out


def _numbered(prefix: str, n: int) -> npt.NDArray[np.str_]:
    """Ids of visits, complaints, appointments and courses: ``V0000001``..."""
    return numbered(prefix, n, 7)


def _in_order(patient: npt.NDArray[np.int64], t: FloatArray) -> npt.NDArray[np.intp]:
    """Row order by (patient, time): ids are then numbered along each patient's history."""
    order: npt.NDArray[np.intp] = np.lexsort((t, patient))
    return order


def _labels(values: tuple[str, ...], index: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    """Text per row from an index into ``values``; -1 gives ``""``."""
    table = np.array((*values, ""))
    labels: npt.NDArray[np.str_] = table[np.where(index < 0, len(values), index)]
    return labels


def _table(
    table_cls: type[T],
    pop: Population,
    patient: npt.NDArray[np.int64],
    t: FloatArray,
    columns: Mapping[str, npt.NDArray[Any]],
    id_field: str | None = None,
    id_prefix: str = "",
) -> T:
    """A validated table from per-row patient, time and columns, ids numbered along history."""
    order = _in_order(patient, t)
    built: dict[str, Any] = {
        "patient_id": pop.ids[patient[order]],
        table_cls.SCHEMA.time_field: _times(t[order]),
    }
    built.update({name: col[order] for name, col in columns.items()})
    if id_field is not None:
        built[id_field] = _numbered(id_prefix, order.shape[0])
    return table_cls.from_columns(built)


def _truth(pop: Population, settings: CohortSettings) -> ChurnTruth:
    churned = pop.reason != NO_REASON
    return ChurnTruth(
        patient_id=pop.ids,
        churned=churned,
        churned_from=_days(pop.churn_day),
        degrading_from=_days(pop.degrade_day),
        reason=_labels(tuple(r.value for r in CHURN_REASONS), pop.reason),
        primary_diagnosis=_labels(tuple(c.code for c in settings.conditions), pop.condition),
    )
