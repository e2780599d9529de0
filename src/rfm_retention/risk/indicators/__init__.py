"""The built-in indicators, one per signal of the documents (SPEC section 4)."""

from rfm_retention.risk.indicators._behaviour import (
    FrequencyDrop,
    IntervalExtension,
    NoShows,
    SpendDrop,
)
from rfm_retention.risk.indicators._efficacy import (
    CourseNotCompleted,
    PoorOutcome,
    RehabilitationLag,
)
from rfm_retention.risk.indicators._experience import (
    ComplaintHandling,
    Complaints,
    LowSatisfaction,
)
from rfm_retention.risk.indicators._reputation import LowReputation

__all__ = [
    "BUILT_IN_INDICATORS",
    "ComplaintHandling",
    "Complaints",
    "CourseNotCompleted",
    "FrequencyDrop",
    "IntervalExtension",
    "LowReputation",
    "LowSatisfaction",
    "NoShows",
    "PoorOutcome",
    "RehabilitationLag",
    "SpendDrop",
]

BUILT_IN_INDICATORS = (
    IntervalExtension,
    FrequencyDrop,
    NoShows,
    SpendDrop,
    LowSatisfaction,
    Complaints,
    ComplaintHandling,
    CourseNotCompleted,
    RehabilitationLag,
    PoorOutcome,
    LowReputation,
)
"""Every built-in indicator class, in the order a default scan runs and reports them."""
