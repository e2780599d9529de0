"""rfm_retention: keep hospital patients coming back.

Segments patients by recency, frequency and monetary value; warns before a
patient drifts away; says what staff should do about it; rewards returning;
and measures the programme.

The top level holds the names a host reaches for first. Each capability keeps
its full surface in its own package: :mod:`rfm_retention.data`,
:mod:`rfm_retention.segmentation`, :mod:`rfm_retention.risk`,
:mod:`rfm_retention.interventions`, :mod:`rfm_retention.loyalty`,
:mod:`rfm_retention.metrics` and :mod:`rfm_retention.testing`.
"""

import importlib
import typing as _typing

from rfm_retention._progress import Progress, ProgressEvent
from rfm_retention.btyd import BTYDSummary, btyd_summary
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
    CaseError,
    ConfigError,
    ContactRefused,
    IdempotencyConflict,
    InsufficientPoints,
    LedgerError,
    MissingDependencyError,
    NotFittedError,
    NumericOverflowError,
    RFMRetentionError,
    RowIssue,
    StoreIntegrityError,
    ValidationError,
)
from rfm_retention.features import (
    FEATURE_COLUMNS,
    FeatureState,
    PatientFeatures,
    patient_features,
)

if _typing.TYPE_CHECKING:  # imported on first use (below), so the command line starts fast
    from rfm_retention.interventions import CaseBook, intake_warnings
    from rfm_retention.loyalty import MemoryStore, PointsLedger, SQLiteStore
    from rfm_retention.metrics import backtest, kpi_report
    from rfm_retention.risk import ReasonCode, RiskLevel, WarningList, scan
    from rfm_retention.segmentation import Segment, Segmentation, eight_segments, score_segments

_LAZY = {
    "rfm_retention.interventions": ("CaseBook", "intake_warnings"),
    "rfm_retention.loyalty": ("MemoryStore", "PointsLedger", "SQLiteStore"),
    "rfm_retention.metrics": ("backtest", "kpi_report"),
    "rfm_retention.risk": ("ReasonCode", "RiskLevel", "WarningList", "scan"),
    "rfm_retention.segmentation": ("Segment", "Segmentation", "eight_segments", "score_segments"),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> object:
    """The top-level names of the analytics packages, imported when first asked for: a
    program that needs only the data layer (``rfm-retention features``) never loads the
    ledger, the cases or the risk model."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'rfm_retention' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))


# The data layer's per-log conveniences (VisitLog.features, .btyd_summary) are
# computed by the layers above it: plug them in (data imports no analytics).
VisitLog.derivations.update(features=patient_features, btyd_summary=btyd_summary)

__version__ = "0.1.0"

__all__ = [
    "FEATURE_COLUMNS",
    "Appointment",
    "AppointmentTable",
    "Assessment",
    "AssessmentTable",
    "BTYDSummary",
    "CaseBook",
    "CaseError",
    "Complaint",
    "ComplaintTable",
    "ConfigError",
    "ContactRefused",
    "Course",
    "CourseTable",
    "DateParsing",
    "FeatureState",
    "IdempotencyConflict",
    "InsufficientPoints",
    "LedgerError",
    "MemoryStore",
    "MissingDependencyError",
    "NotFittedError",
    "NumericOverflowError",
    "PatientData",
    "PatientFeatures",
    "PointsLedger",
    "Progress",
    "ProgressEvent",
    "RFMRetentionError",
    "Rating",
    "RatingTable",
    "ReasonCode",
    "RejectedRows",
    "Review",
    "ReviewTable",
    "RiskLevel",
    "RowIssue",
    "SQLiteStore",
    "Segment",
    "Segmentation",
    "StoreIntegrityError",
    "ValidationError",
    "Visit",
    "VisitLog",
    "WarningList",
    "__version__",
    "backtest",
    "btyd_summary",
    "eight_segments",
    "intake_warnings",
    "kpi_report",
    "patient_features",
    "scan",
    "score_segments",
]
