"""Records and columnar tables for every patient data source of a hospital.

One record class (for host code that has rows) and one table class (columnar,
validated, sorted) per source. Field names are the CSV column names the
loaders read by default. Records are plain data: validation happens when a
table is built, so that every bad row is reported at once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np
import numpy.typing as npt
from dateutil.relativedelta import relativedelta

from rfm_retention.data.schema import Field, Schema
from rfm_retention.data.table import PatientTable

if TYPE_CHECKING:
    from rfm_retention.features import PatientFeatures

__all__ = [
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
    "Rating",
    "RatingTable",
    "Review",
    "ReviewTable",
    "Visit",
    "VisitLog",
    "stars_to_score",
]

Time = dt.date | dt.datetime | str
FloatArray = npt.NDArray[np.float64]
TextArray = npt.NDArray[np.str_]

_PATIENT = Field("patient_id", "id", doc="The host's patient identifier.")

APPOINTMENT_STATUSES = ("booked", "attended", "no_show", "cancelled")
"""``booked`` is an appointment still in the future (or not yet resolved)."""

COURSE_STATUSES = ("active", "completed", "abandoned")


# ---------------------------------------------------------------- visits
@attrs.frozen
class Visit:
    """One visit (encounter): who, when, how much, where, why."""

    patient_id: str | int
    visit_time: Time
    amount: float
    department: str = ""
    diagnosis: str = ""
    visit_id: str | None = None


class VisitLog(PatientTable):
    """Every visit of every patient, columnar: the input to features and segmentation.

    Build it with :meth:`from_records`, :meth:`from_arrays` or :meth:`from_csv`
    (Synthea: ``mapping={"patient_id": "PATIENT", "visit_time": "START",
    "amount": "TOTAL_CLAIM_COST", "visit_id": "Id"}``).
    """

    SCHEMA: ClassVar[Schema] = Schema(
        "visits",
        (
            _PATIENT,
            Field("visit_time", "time", doc="When the visit happened (date or datetime)."),
            Field("amount", "amount", doc="Amount charged for the visit, >= 0."),
            Field("department", "text", required=False, doc="Department seen."),
            Field("diagnosis", "text", required=False, doc="Diagnosis code or text."),
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
        return self.columns["amount"]

    @property
    def department(self) -> TextArray:
        return self.columns["department"]

    @property
    def diagnosis(self) -> TextArray:
        return self.columns["diagnosis"]

    @property
    def visit_id(self) -> TextArray:
        """Visit ids ('' where the host gave none)."""
        return self.columns["visit_id"]

    def features(
        self,
        as_of: Time,
        *,
        window: int | relativedelta | None = None,
        min_exposure_days: int = 365,
    ) -> PatientFeatures:
        """One row per patient seen on or before ``as_of``: see :func:`patient_features`."""
        from rfm_retention.features import patient_features

        return patient_features(
            self, as_of, window=window, min_exposure_days=min_exposure_days
        )


# ---------------------------------------------------------------- ratings
@attrs.frozen
class Rating:
    """A satisfaction rating, 0-100."""

    patient_id: str | int
    rated_at: Time
    score: float
    channel: str = ""


class RatingTable(PatientTable):
    """Satisfaction ratings (CRM), 0-100."""

    SCHEMA: ClassVar[Schema] = Schema(
        "ratings",
        (
            _PATIENT,
            Field("rated_at", "time", doc="When the rating was given."),
            Field("score", "score", doc="Satisfaction, 0-100."),
            Field("channel", "text", required=False, doc="Survey, app, phone..."),
        ),
        time_field="rated_at",
    )

    @property
    def score(self) -> FloatArray:
        return self.columns["score"]


# ---------------------------------------------------------------- complaints
@attrs.frozen
class Complaint:
    """A complaint; ``valid`` says whether the hospital upheld it."""

    patient_id: str | int
    filed_at: Time
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
            Field("valid", "flag", required=False, default=True, doc="Upheld (default yes)."),
            Field(
                "handling_satisfaction",
                "score",
                required=False,
                doc="Satisfaction with how it was handled, 0-100; empty if not surveyed.",
            ),
            Field("category", "text", required=False, doc="price, service, efficacy..."),
            Field("complaint_id", "text", required=False, unique=True, doc="Unique when given."),
        ),
        time_field="filed_at",
    )

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        return self.columns["valid"]

    @property
    def handling_satisfaction(self) -> FloatArray:
        """0-100, NaN where not surveyed."""
        return self.columns["handling_satisfaction"]

    @property
    def category(self) -> TextArray:
        return self.columns["category"]


# ---------------------------------------------------------------- appointments
@attrs.frozen
class Appointment:
    """A booked appointment and what became of it."""

    patient_id: str | int
    scheduled_at: Time
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
                doc="booked, attended, no_show (also no-show) or cancelled.",
            ),
            Field("department", "text", required=False),
            Field("appointment_id", "text", required=False, unique=True),
        ),
        time_field="scheduled_at",
    )

    @property
    def status(self) -> TextArray:
        return self.columns["status"]


# ---------------------------------------------------------------- treatment courses
@attrs.frozen
class Course:
    """A prescribed treatment course (doctor's order) and how far it got."""

    patient_id: str | int
    prescribed_at: Time
    prescribed_sessions: int
    completed_sessions: int = 0
    expected_end: Time | None = None
    status: str = "active"
    course_id: str | None = None


class CourseTable(PatientTable):
    """Treatment courses (HIS doctor's orders)."""

    SCHEMA: ClassVar[Schema] = Schema(
        "courses",
        (
            _PATIENT,
            Field("prescribed_at", "time", doc="When the course was ordered."),
            Field("prescribed_sessions", "count", doc="Sessions prescribed."),
            Field("completed_sessions", "count", required=False, doc="Sessions done (default 0)."),
            Field("expected_end", "time", required=False, doc="When it should be finished."),
            Field(
                "status",
                "choice",
                required=False,
                choices=COURSE_STATUSES,
                default="active",
                doc="active (default), completed or abandoned.",
            ),
            Field("course_id", "text", required=False, unique=True),
        ),
        time_field="prescribed_at",
    )

    @property
    def prescribed_sessions(self) -> npt.NDArray[np.int64]:
        return self.columns["prescribed_sessions"]

    @property
    def completed_sessions(self) -> npt.NDArray[np.int64]:
        """Sessions done; 0 where the host gave none."""
        done: npt.NDArray[np.int64] = np.maximum(self.columns["completed_sessions"], 0)
        return done

    @property
    def expected_end(self) -> npt.NDArray[np.datetime64]:
        return self.columns["expected_end"]

    @property
    def status(self) -> TextArray:
        return self.columns["status"]


# ---------------------------------------------------------------- outcomes / rehab
@attrs.frozen
class Assessment:
    """A treatment-outcome or rehabilitation assessment (follow-up system)."""

    patient_id: str | int
    assessed_at: Time
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
            Field("outcome_score", "score", required=False, doc="Treatment outcome, 0-100."),
            Field(
                "expected_progress",
                "score",
                required=False,
                doc="Recovery progress expected by now, 0-100 %.",
            ),
            Field("actual_progress", "score", required=False, doc="Progress measured, 0-100 %."),
        ),
        time_field="assessed_at",
    )

    @property
    def outcome_score(self) -> FloatArray:
        return self.columns["outcome_score"]

    @property
    def expected_progress(self) -> FloatArray:
        return self.columns["expected_progress"]

    @property
    def actual_progress(self) -> FloatArray:
        return self.columns["actual_progress"]


# ---------------------------------------------------------------- external reviews
@attrs.frozen
class Review:
    """An external review (social media, third-party platform), 0-100."""

    patient_id: str | int
    posted_at: Time
    score: float
    platform: str = ""


def stars_to_score(stars: Any, *, scale: int = 5) -> FloatArray:
    """Map 1..``scale`` stars to 0-100 (1 star -> 0, ``scale`` stars -> 100).

    Values outside 1..scale become NaN, which the table then reports.

    >>> stars_to_score([1, 3, 5]).tolist()
    [0.0, 50.0, 100.0]
    """
    s = np.asarray(stars, dtype=np.float64)
    out = (s - 1.0) / (scale - 1) * 100.0
    return np.where((s >= 1) & (s <= scale), out, np.nan)


class ReviewTable(PatientTable):
    """External reviews, normalised to 0-100 (see :func:`stars_to_score` for stars)."""

    SCHEMA: ClassVar[Schema] = Schema(
        "reviews",
        (
            _PATIENT,
            Field("posted_at", "time", doc="When the review was posted."),
            Field("score", "score", doc="0-100; convert 1-5 stars with stars_to_score."),
            Field("platform", "text", required=False),
        ),
        time_field="posted_at",
    )

    @property
    def score(self) -> FloatArray:
        return self.columns["score"]
