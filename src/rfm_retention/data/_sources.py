"""Records and columnar tables for every patient data source of a hospital.

One record class (for host code that has rows) and one table class (columnar,
validated, sorted) per source. Field names are the CSV column names the
loaders read by default. Records are plain data: validation happens when a
table is built, so that every bad row is reported at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray, TextArray
from rfm_retention.data._schema import Field, Fill, RowRule, Schema, stars_to_score
from rfm_retention.data._table import PatientTable
from rfm_retention.time import TimeLike

__all__ = [
    "ACQUISITION_CHANNELS",
    "APPOINTMENT_STATUSES",
    "COURSE_STATUSES",
    "Appointment",
    "AppointmentTable",
    "Assessment",
    "AssessmentTable",
    "Complaint",
    "ComplaintTable",
    "Course",
    "CourseTable",
    "PatientEntry",
    "PatientRegistry",
    "Rating",
    "RatingTable",
    "Review",
    "ReviewTable",
    "Visit",
    "VisitLog",
    "stars_to_score",
]


_PATIENT = Field("patient_id", "id", doc="The host's patient identifier.")

APPOINTMENT_STATUSES = ("booked", "attended", "no_show", "cancelled")
"""``booked`` is an appointment still in the future (or not yet resolved)."""

COURSE_STATUSES = ("active", "completed", "abandoned")


# ---------------------------------------------------------------- visits
@attrs.frozen
class Visit:
    """One visit (encounter): who, when, how much, where, why.

    A plain record, not validated on its own: validation happens when a
    :class:`VisitLog` is built, so that every bad row is reported at once.

    Example:
        >>> Visit("p1", "2024-01-05", 120.0, department="cardiology", diagnosis="I10").amount
        120.0
    """

    patient_id: str | int
    visit_time: TimeLike
    amount: float
    department: str = ""
    diagnosis: str = ""
    visit_id: str | None = None


class VisitLog(PatientTable):
    """Every visit of every patient, columnar: the input to features and segmentation.

    Build it with :meth:`from_records`, :meth:`from_arrays` or :meth:`from_csv`
    (Synthea: ``mapping={"patient_id": "PATIENT", "visit_time": "START",
    "amount": "TOTAL_CLAIM_COST", "visit_id": "Id"}``). Rows are sorted by
    (patient, time) once, here, so every per-patient computation afterwards is
    a pass over contiguous groups.

    Example:
        >>> log = VisitLog.from_records([
        ...     Visit("p2", "2024-03-01", 80.0, department="cardiology"),
        ...     Visit("p1", "2024-01-05T09:30:00", 120.0),
        ...     Visit("p2", "2024-01-20", 40.0),
        ... ])
        >>> log.patient_ids.tolist(), log.group_starts.tolist(), log.amount.tolist()
        (['p1', 'p2'], [0, 1, 3], [120.0, 40.0, 80.0])
    """

    SCHEMA: ClassVar[Schema] = Schema(
        "visits",
        (
            _PATIENT,
            Field("visit_time", "time", doc="When the visit happened (date or date-time)."),
            Field("amount", "amount", doc="Amount charged for the visit."),
            Field(
                "department", "text", required=False,
                doc='Department seen (`""` if not given).',
            ),
            Field(
                "diagnosis", "text", required=False,
                doc='Diagnosis code or text (`""` if not given).',
            ),
            Field(
                "visit_id",
                "text",
                required=False,
                unique=True,
                doc="The host's visit id; must be unique when given.",
            ),
        ),
        time_field="visit_time",
    )

    @property
    def amount(self) -> FloatArray:
        """Amount charged per visit (>= 0)."""
        return self.columns["amount"]

    @property
    def department(self) -> TextArray:
        """Department per visit ('' where the host gave none)."""
        return self.columns["department"]

    @property
    def diagnosis(self) -> TextArray:
        """Diagnosis per visit ('' where the host gave none)."""
        return self.columns["diagnosis"]

    @property
    def visit_id(self) -> TextArray:
        """Visit ids ('' where the host gave none)."""
        return self.columns["visit_id"]

    # The two conveniences below are computed by the analytics layer above this
    # one, which plugs its functions in when the library is imported
    # (``rfm_retention/__init__.py``), so the data layer imports no analytics.
    derivations: ClassVar[dict[str, Callable[..., Any]]] = {}

    def features(self, as_of: TimeLike, **options: Any) -> Any:
        """:class:`~rfm_retention.features.PatientFeatures` as of ``as_of``.

        The same as :func:`rfm_retention.features.patient_features` on this log
        (``window=``, ``min_exposure_days=`` pass through).
        """
        return self.derivations["features"](self, as_of, **options)

    def btyd_summary(self, observation_period_end: TimeLike, **options: Any) -> Any:
        """Frequency, recency, T and monetary value: :func:`rfm_retention.btyd.btyd_summary`.

        Example:
            >>> log = VisitLog.from_arrays(patient_id=["a", "a"],
            ...                            visit_time=["2024-01-31", "2024-02-01"],
            ...                            amount=[10.0, 20.0])
            >>> log.btyd_summary("2024-03-31", period="M").recency.tolist()
            [1]
        """
        return self.derivations["btyd_summary"](self, observation_period_end, **options)


# ---------------------------------------------------------------- ratings
@attrs.frozen
class Rating:
    """A satisfaction rating, 0-100."""

    patient_id: str | int
    rated_at: TimeLike
    score: float
    channel: str = ""


class RatingTable(PatientTable):
    """Satisfaction ratings (CRM), 0-100."""

    SCHEMA: ClassVar[Schema] = Schema(
        "ratings",
        (
            _PATIENT,
            Field("rated_at", "time", doc="When the rating was given."),
            Field("score", "score", doc="Satisfaction."),
            Field("channel", "text", required=False, doc="Survey, app, phone..."),
        ),
        time_field="rated_at",
    )

    @property
    def score(self) -> FloatArray:
        """Satisfaction, 0-100."""
        return self.columns["score"]


# ---------------------------------------------------------------- complaints
@attrs.frozen
class Complaint:
    """A complaint; ``valid`` says whether the hospital upheld it."""

    patient_id: str | int
    filed_at: TimeLike
    valid: bool | str = True
    handling_satisfaction: float | None = None
    category: str = ""
    complaint_id: str | None = None


class ComplaintTable(PatientTable):
    """Complaints (CRM) with the patient's satisfaction with their handling."""

    SCHEMA: ClassVar[Schema] = Schema(
        "complaints",
        (
            _PATIENT,
            Field("filed_at", "time", doc="When the complaint was made."),
            Field(
                "valid", "flag", required=False, default=True,
                doc="Whether the hospital upheld it; **default yes**.",
            ),
            Field(
                "handling_satisfaction",
                "score",
                required=False,
                doc="The patient's satisfaction with how it was handled; empty (NaN) if not "
                "surveyed.",
            ),
            Field("category", "text", required=False, doc="price, service, efficacy..."),
            Field("complaint_id", "text", required=False, unique=True, doc="Unique when given."),
        ),
        time_field="filed_at",
    )

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        """Whether the hospital upheld the complaint."""
        return self.columns["valid"]

    @property
    def handling_satisfaction(self) -> FloatArray:
        """0-100, NaN where not surveyed."""
        return self.columns["handling_satisfaction"]

    @property
    def category(self) -> TextArray:
        """Complaint category ('' where none was given)."""
        return self.columns["category"]


# ---------------------------------------------------------------- appointments
@attrs.frozen
class Appointment:
    """A booked appointment and what became of it."""

    patient_id: str | int
    scheduled_at: TimeLike
    status: str
    department: str = ""
    appointment_id: str | None = None


class AppointmentTable(PatientTable):
    """Appointments: booked, attended, no-show, cancelled."""

    SCHEMA: ClassVar[Schema] = Schema(
        "appointments",
        (
            _PATIENT,
            Field("scheduled_at", "time", doc="The appointment's time."),
            Field(
                "status",
                "choice",
                choices=APPOINTMENT_STATUSES,
                doc="`booked` (not yet resolved), `attended`, `no_show` or `cancelled`.",
            ),
            Field("department", "text", required=False, doc="Department booked."),
            Field("appointment_id", "text", required=False, unique=True, doc="Unique when given."),
        ),
        time_field="scheduled_at",
    )

    @property
    def status(self) -> TextArray:
        """booked, attended, no_show or cancelled."""
        return self.columns["status"]


# ---------------------------------------------------------------- treatment courses
@attrs.frozen
class Course:
    """A prescribed treatment course (doctor's order) and how far it got."""

    patient_id: str | int
    prescribed_at: TimeLike
    prescribed_sessions: int
    completed_sessions: int = 0
    expected_end: TimeLike | None = None
    status: str = "active"
    course_id: str | None = None


class CourseTable(PatientTable):
    """Treatment courses (HIS doctor's orders)."""

    SCHEMA: ClassVar[Schema] = Schema(
        "courses",
        (
            _PATIENT,
            Field("prescribed_at", "time", doc="When the course (doctor's order) was made."),
            Field("prescribed_sessions", "count", doc="Sessions prescribed."),
            Field(
                "completed_sessions", "count", required=False,
                doc="Sessions done; 0 when not given.",
            ),
            Field(
                "expected_end", "time", required=False,
                doc="When the course should be finished; NaT when not given.",
            ),
            Field(
                "status",
                "choice",
                required=False,
                choices=COURSE_STATUSES,
                default="active",
                doc="`active` (default), `completed` or `abandoned`.",
            ),
            Field("course_id", "text", required=False, unique=True, doc="Unique when given."),
        ),
        time_field="prescribed_at",
        rules=(
            RowRule(
                "completed_sessions",
                "more than prescribed_sessions",
                lambda c: c["completed_sessions"] > c["prescribed_sessions"],
            ),
            RowRule(
                "expected_end",
                "before prescribed_at",
                lambda c: ~np.isnat(c["expected_end"]) & (c["expected_end"] < c["prescribed_at"]),
            ),
        ),
    )

    @property
    def prescribed_sessions(self) -> npt.NDArray[np.int64]:
        """Sessions prescribed."""
        return self.columns["prescribed_sessions"]

    @property
    def completed_sessions(self) -> npt.NDArray[np.int64]:
        """Sessions done; 0 where the host gave none."""
        done: npt.NDArray[np.int64] = np.maximum(self.columns["completed_sessions"], 0)
        return done

    @property
    def expected_end(self) -> npt.NDArray[np.datetime64]:
        """When the course should end (NaT where not given)."""
        return self.columns["expected_end"]

    @property
    def status(self) -> TextArray:
        """active, completed or abandoned."""
        return self.columns["status"]


# ---------------------------------------------------------------- outcomes / rehab
@attrs.frozen
class Assessment:
    """A treatment-outcome or rehabilitation assessment (follow-up system)."""

    patient_id: str | int
    assessed_at: TimeLike
    outcome_score: float | None = None
    expected_progress: float | None = None
    actual_progress: float | None = None


class AssessmentTable(PatientTable):
    """Outcome scores (0-100) and rehabilitation progress, expected vs actual (0-100 %)."""

    SCHEMA: ClassVar[Schema] = Schema(
        "outcomes",
        (
            _PATIENT,
            Field("assessed_at", "time", doc="When the assessment was made."),
            Field("outcome_score", "score", required=False, doc="Treatment outcome score."),
            Field(
                "expected_progress",
                "score",
                required=False,
                doc="Recovery progress expected by now, in %.",
            ),
            Field(
                "actual_progress", "score", required=False,
                doc="Recovery progress measured, in %.",
            ),
        ),
        time_field="assessed_at",
        rules=(
            RowRule(
                "outcome_score",
                "empty assessment: give outcome_score, expected_progress or actual_progress",
                lambda c: np.isnan(c["outcome_score"])
                & np.isnan(c["expected_progress"])
                & np.isnan(c["actual_progress"]),
            ),
        ),
        one_of=(("outcome_score", "expected_progress", "actual_progress"),),
    )

    @property
    def outcome_score(self) -> FloatArray:
        """Treatment outcome, 0-100 (NaN where not assessed)."""
        return self.columns["outcome_score"]

    @property
    def expected_progress(self) -> FloatArray:
        """Progress expected by now, 0-100 % (NaN where not given)."""
        return self.columns["expected_progress"]

    @property
    def actual_progress(self) -> FloatArray:
        """Progress measured, 0-100 % (NaN where not measured)."""
        return self.columns["actual_progress"]


# ---------------------------------------------------------------- external reviews
@attrs.frozen
class Review:
    """An external review (social media, third-party platform).

    Give ``score`` on 0-100, or ``stars`` on 1-5 (converted with
    :func:`stars_to_score`: 1 star is 0, 5 stars are 100); a score wins when
    both are given.

    Example:
        >>> table = ReviewTable.from_records([
        ...     Review("p1", "2024-05-01", score=70.0),
        ...     Review("p2", "2024-05-02", stars=4),
        ... ])
        >>> table.score.tolist()
        [70.0, 75.0]
    """

    patient_id: str | int
    posted_at: TimeLike
    score: float | None = None
    platform: str = ""
    stars: float | None = None


class ReviewTable(PatientTable):
    """External reviews, normalised to 0-100.

    A file may give ``score`` (0-100), ``stars`` (1-5) or both; each row needs
    one of them. Where ``score`` is empty it is computed from ``stars`` with
    :func:`stars_to_score`, so :attr:`score` is always 0-100. Other star scales:
    convert with ``stars_to_score(values, scale=10)`` and pass ``score``.

    Example:
        >>> table = ReviewTable.from_arrays(
        ...     patient_id=["p1", "p2"], posted_at=["2024-05-01", "2024-05-02"], stars=[5, 2]
        ... )
        >>> table.score.tolist(), table.stars.tolist()
        ([100.0, 25.0], [5.0, 2.0])
    """

    SCHEMA: ClassVar[Schema] = Schema(
        "reviews",
        (
            _PATIENT,
            Field("posted_at", "time", doc="When the review was posted."),
            Field(
                "score",
                "score",
                required=False,
                doc="The review on 0-100.",
            ),
            Field("platform", "text", required=False, doc="Where it was posted."),
            Field(
                "stars",
                "stars",
                required=False,
                doc="Star rating; fills `score` where `score` is empty.",
            ),
        ),
        time_field="posted_at",
        fills=(Fill("score", "stars", stars_to_score),),
        rules=(
            RowRule(
                "score",
                "missing: give score (0-100) or stars (1-5)",
                lambda c: np.isnan(c["score"]),
            ),
        ),
        one_of=(("score", "stars"),),
    )

    @property
    def score(self) -> FloatArray:
        """0-100, from the score column or converted from stars."""
        return self.columns["score"]

    @property
    def stars(self) -> FloatArray:
        """Stars as given (1-5), NaN where the row gave a score."""
        return self.columns["stars"]


# ---------------------------------------------------------------- patient registry
ACQUISITION_CHANNELS = ("talk", "free_clinic", "media", "referral", "walk_in", "online")
"""Channels the documents name (health talks, free clinics, media, referrals) and the
usual others; a host may use any text."""


@attrs.frozen
class PatientEntry:
    """One patient of the registry: how and when they first came into contact.

    Example:
        >>> PatientEntry("p2", "2024-01-03", channel="referral", referred_by="p1").channel
        'referral'
    """

    patient_id: str | int
    first_contact: TimeLike
    channel: str = ""
    referred_by: str | None = None
    deceased_at: TimeLike | None = None
    transferred_at: TimeLike | None = None


class PatientRegistry(PatientTable):
    """Every patient once: first contact, acquisition channel, referrer, departure flags.

    The lifecycle's "pre-visit" stage: where each patient came from (health
    talks, free clinics, media, referrals) and who referred them, for the
    acquisition KPIs and the referral tree; ``deceased_at`` and
    ``transferred_at`` feed :meth:`exclusions`.

    Example:
        >>> reg = PatientRegistry.from_arrays(patient_id=["p1", "p2"],
        ...     first_contact=["2023-05-01", "2024-01-03"], channel=["talk", "referral"],
        ...     referred_by=["", "p1"], deceased_at=["2024-06-01", None])
        >>> reg.channel.tolist(), reg.referred_by.tolist()
        (['talk', 'referral'], ['', 'p1'])
    """

    SCHEMA: ClassVar[Schema] = Schema(
        "registry",
        (
            Field(
                "patient_id", "id", unique=True,
                doc="The host's patient id; each patient once (a repeat is a bad row).",
            ),
            Field(
                "first_contact", "time",
                doc="First contact with the hospital (a talk, a free clinic, the first call).",
            ),
            Field("channel", "text", required=False,
                  doc="Acquisition channel: `talk`, `free_clinic`, `media`, `referral`, "
                  "`walk_in`, `online`, or the host's own."),
            Field(
                "referred_by", "text", required=False,
                doc="Patient id of the referrer; a patient cannot refer themself.",
            ),
            Field(
                "deceased_at", "time", required=False,
                doc="Day of death; not before `first_contact`.",
            ),
            Field(
                "transferred_at", "time", required=False,
                doc="Day care moved to another provider.",
            ),
        ),
        time_field="first_contact",
        rules=(
            RowRule(
                "referred_by",
                "is the patient themself",
                lambda c: c["referred_by"] == c["patient_id"].astype(str),
            ),
            RowRule(
                "deceased_at",
                "before first_contact",
                lambda c: ~np.isnat(c["deceased_at"]) & (c["deceased_at"] < c["first_contact"]),
            ),
        ),
    )

    @property
    def channel(self) -> TextArray:
        """Acquisition channel per patient ('' where not given)."""
        return self.columns["channel"]

    @property
    def referred_by(self) -> TextArray:
        """Referrer's patient id as text ('' where none)."""
        return self.columns["referred_by"]

    @property
    def first_contact(self) -> npt.NDArray[np.datetime64]:
        """First contact per patient."""
        return self.columns["first_contact"]
