"""rfm_retention: keep hospital patients coming back.

Segments patients by recency, frequency and monetary value; warns before a
patient drifts away; says what staff should do about it; rewards returning;
and measures the programme. See https://rfm-retention docs (``docs/``).
"""

from rfm_retention.data import (
    Appointment,
    AppointmentTable,
    Assessment,
    AssessmentTable,
    Complaint,
    ComplaintTable,
    Course,
    CourseTable,
    DateParsing,
    PatientData,
    Rating,
    RatingTable,
    RejectedRows,
    Review,
    ReviewTable,
    Visit,
    VisitLog,
)
from rfm_retention.errors import (
    ConfigError,
    RFMRetentionError,
    ValidationError,
)
from rfm_retention.features import PatientFeatures, patient_features

__version__ = "0.1.0"

__all__ = [
    "Appointment",
    "AppointmentTable",
    "Assessment",
    "AssessmentTable",
    "Complaint",
    "ComplaintTable",
    "ConfigError",
    "Course",
    "CourseTable",
    "DateParsing",
    "PatientData",
    "PatientFeatures",
    "RFMRetentionError",
    "Rating",
    "RatingTable",
    "RejectedRows",
    "Review",
    "ReviewTable",
    "ValidationError",
    "Visit",
    "VisitLog",
    "__version__",
    "patient_features",
]
