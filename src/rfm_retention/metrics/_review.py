"""The monthly programme review as one typed result: KPIs, groups, causes, before/after.

What ``rfm-retention report`` prints and what a page or notebook shows come
from the same :class:`ProgrammeReview`, so every figure has one definition.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from rfm_retention._progress import Progress
from rfm_retention.data._sources import ComplaintTable, PatientRegistry, RatingTable, VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._acquisition import (
    AcquisitionReport,
    ChannelCosts,
    ReferralTree,
    acquisition_report,
    channel_groups,
    referral_tree,
)
from rfm_retention.metrics._before_after import BeforeAfter, before_after
from rfm_retention.metrics._cases import CaseColumns
from rfm_retention.metrics._causes import CauseReport, causes_by_group
from rfm_retention.metrics._exclusions import Exclusions
from rfm_retention.metrics._groups import (
    MIN_GROUP_SIZE,
    GroupedKPIReport,
    PatientGroups,
    kpi_report_by,
)
from rfm_retention.metrics._lapse import LapseRule
from rfm_retention.metrics._report import KPIReport, kpi_report
from rfm_retention.metrics._winback import WIN_BACK_DAYS, ControlGroup
from rfm_retention.time import TimeLike, as_instant

__all__ = ["ProgrammeReview", "programme_review"]


@attrs.frozen
class ProgrammeReview:
    """Everything the monthly review looks at; parts the host did not ask for are None.

    Attributes:
        kpis: the programme-wide monthly KPIs.
        by: the same per group (``by=``), adding up to ``kpis``.
        causes: reasons and complaint categories per group against the hospital.
        before_after: churn and revisit before vs after ``programme_start``.
        acquisition: new patients per channel and month (with a registry).
        referrals: the referral tree (with a registry).
    """

    kpis: KPIReport
    by: GroupedKPIReport | None = None
    causes: CauseReport | None = None
    before_after: BeforeAfter | None = None
    acquisition: AcquisitionReport | None = None
    referrals: ReferralTree | None = None

    @property
    def as_of(self) -> np.datetime64:
        """The instant the review is known until (``datetime64[s]``): its KPIs' ``as_of``."""
        return self.kpis.as_of


def control_arm(visits: VisitLog, control: ControlGroup) -> PatientGroups:
    """Patients of the control group as ``control``, everyone else as ``programme``.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "b"], amount=[1.0, 1.0],
        ...                            visit_time=["2024-01-01", "2024-01-02"])
        >>> c = ControlGroup.from_arrays(patient_id=["b"], level=["high"], warned_at=["2024-02-01"])
        >>> control_arm(log, c).label.tolist()
        ['programme', 'control']
    """
    ids = visits.patient_ids
    held = np.isin(ids, control.patient_id)
    labels = np.where(held, "control", "programme")
    return PatientGroups.from_arrays(
        "arm", patient_id=ids, label=labels, basis="in the control group or not"
    )


def programme_review(
    visits: VisitLog,
    start: TimeLike,
    end: TimeLike,
    *,
    as_of: TimeLike,
    by: str | PatientGroups | None = None,
    causes: bool = False,
    programme_start: TimeLike | None = None,
    ratings: RatingTable | None = None,
    complaints: ComplaintTable | None = None,
    cases: CaseColumns | None = None,
    lapse_rule: LapseRule | None = None,
    exclusions: Exclusions | None = None,
    win_back_days: int = WIN_BACK_DAYS,
    control: ControlGroup | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
    registry: PatientRegistry | None = None,
    costs: ChannelCosts | None = None,
    progress: Progress | None = None,
) -> ProgrammeReview:
    """The KPIs, and on request the groups, the causes and the before/after comparison.

    ``causes=True`` breaks causes down by ``by`` (department when ``by`` is
    None). With ``programme_start`` and a ``control`` group, the before/after
    comparison is made for the control patients too (their difference in
    differences). With a ``registry``, the acquisition KPIs and the referral
    tree are added, ``by="channel"`` groups by acquisition channel, and its
    deceased/transferred days are the exclusions unless ``exclusions`` is given.
    ``progress`` (a :data:`~rfm_retention.Progress`) hears of the monthly KPI
    report's steps.

    Examples:
        >>> from rfm_retention.testing import sample_cohort
        >>> data = sample_cohort().data
        >>> review = programme_review(data.visits, "2023-01-01", "2024-06-30",
        ...     as_of="2024-12-31", by="department", causes=True,
        ...     complaints=data.complaints, programme_start="2024-01-01")
        >>> review.by.dimension, review.causes.dimension, review.before_after.change("churn").kpi
        ('department', 'department', 'churn')
    """
    if registry is not None and exclusions is None:
        exclusions = Exclusions.from_registry(registry)
    if by == "channel":
        if registry is None:
            raise ConfigError("KPIs by channel need the patient registry (its channel column)")
        by = channel_groups(registry)
    # each time input converted once, the instants handed to every report
    start, end = as_instant(start, field="start"), as_instant(end, field="end")
    as_of = as_instant(as_of)
    if programme_start is not None:
        programme_start = as_instant(programme_start, field="programme_start")
    options: dict[str, Any] = dict(
        as_of=as_of, ratings=ratings, cases=cases, lapse_rule=lapse_rule,
        exclusions=exclusions, win_back_days=win_back_days, control=control,
    )
    grouped = None
    if by is not None:
        grouped = kpi_report_by(visits, start, end, by=by, min_group_size=min_group_size,
                                progress=progress, **options)
        kpis = grouped.overall
    else:
        kpis = kpi_report(visits, start, end, progress=progress, **options)
    cause_report = None
    if causes:
        cause_report = causes_by_group(
            visits, start, end, by=by or "department", as_of=as_of, cases=cases,
            complaints=complaints, lapse_rule=lapse_rule, exclusions=exclusions,
            min_group_size=min_group_size,
        )
    change = None
    if programme_start is not None:
        if control is None:
            change = before_after(kpis, programme_start)
        else:
            arms = kpi_report_by(visits, start, end, by=control_arm(visits, control),
                                 min_group_size=0, **{**options, "control": None})
            has = {g.group for g in arms.groups}
            mine = arms.report_of("programme") if "programme" in has else kpis
            theirs = arms.report_of("control") if "control" in has else None
            change = before_after(mine, programme_start, control=theirs)
    acquisition = referrals = None
    if registry is not None:
        acquisition = acquisition_report(registry, visits, start, end, as_of=as_of, costs=costs,
                                         exclusions=exclusions)
        referrals = referral_tree(registry, visits, as_of=as_of)
    return ProgrammeReview(kpis, grouped, cause_report, change, acquisition, referrals)
