"""The patient data model: records, validated columnar tables, loaders and the bundle."""

from rfm_retention.data._bundle import SOURCE_FILES, PatientData, as_patient_data
from rfm_retention.data._schema import Field, RejectedRows, Schema
from rfm_retention.data._sources import (
    ACQUISITION_CHANNELS,
    APPOINTMENT_STATUSES,
    COURSE_STATUSES,
    Appointment,
    AppointmentTable,
    Assessment,
    AssessmentTable,
    Complaint,
    ComplaintTable,
    Course,
    CourseTable,
    PatientEntry,
    PatientRegistry,
    Rating,
    RatingTable,
    Review,
    ReviewTable,
    Visit,
    VisitLog,
    stars_to_score,
)
from rfm_retention.data._table import PatientTable
from rfm_retention.data._time import DateParsing

__all__ = [
    "ACQUISITION_CHANNELS",
    "APPOINTMENT_STATUSES",
    "COURSE_STATUSES",
    "SOURCE_FILES",
    "Appointment",
    "AppointmentTable",
    "Assessment",
    "AssessmentTable",
    "Complaint",
    "ComplaintTable",
    "Course",
    "CourseTable",
    "DateParsing",
    "Field",
    "PatientData",
    "PatientEntry",
    "PatientRegistry",
    "PatientTable",
    "Rating",
    "RatingTable",
    "RejectedRows",
    "Review",
    "ReviewTable",
    "Schema",
    "Visit",
    "VisitLog",
    "as_patient_data",
    "stars_to_score",
]
