"""The programme's KPIs by group: department, team, RFM segment, risk level, channel.

Every KPI of :func:`~rfm_retention.metrics.kpi_report` is split so that each
thing it counts belongs to exactly one group; the groups' counts therefore add
up to the programme-wide counts, month by month (the rates do not add up:
they are recomputed from each group's own counts).

Which group a count belongs to:

==============  ===========================================================
dimension       group of ...
==============  ===========================================================
``department``  churn: the department of the patient's last visit before the
                month (the visit whose silence the lapse follows); revisit:
                the department of the index visit; ratings and cases: the
                department of the patient's last visit on or before the
                rating or the warning (their first visit when none before).
``team``        cases: the case's owner; patients (churn, revisit, ratings):
                the owner of their latest case, ``(none)`` without a case.
``level``       cases and control warnings: their own risk level; patients:
                the level of their latest case, ``(none)`` without a case.
``segment``     the patient's RFM segment on the day before the report starts
                (:func:`segment_groups`), ``(new)`` for patients first seen later.
``channel``     the patient's acquisition channel (a :class:`PatientGroups`
                built from the patients source).
any other       a :class:`PatientGroups` the host builds (one label a patient).
==============  ===========================================================

A department left blank in the visits, a patient the labels do not know,
all go to the group ``(none)``, so nothing is dropped.

Small groups: a rate whose denominator is below ``min_group_size`` is not
shown (its counts are); a group-month whose patients at risk of churn are
below it is flagged ``small``. A rate of five patients says nothing and can
single out a patient.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import IntArray
from rfm_retention._display import Display
from rfm_retention._frozen import frozen_mapping
from rfm_retention._progress import Progress
from rfm_retention._tabular import Tabular
from rfm_retention.data._sources import RatingTable, VisitLog
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.features import patient_features
from rfm_retention.metrics._calendar import month_spans
from rfm_retention.metrics._cases import CaseColumns
from rfm_retention.metrics._churn import churn_by_group
from rfm_retention.metrics._exclusions import Exclusions, visits_as_of
from rfm_retention.metrics._lapse import LapseRule
from rfm_retention.metrics._report import (
    KPIReport,
    MonthContext,
    MonthlyKPIs,
    monthly_rows,
)
from rfm_retention.metrics._revisit import revisit_by_group
from rfm_retention.metrics._satisfaction import satisfaction_of
from rfm_retention.metrics._visits import (
    as_id_array,
    patient_positions,
    visit_row_at,
)
from rfm_retention.metrics._winback import WIN_BACK_DAYS, ControlGroup
from rfm_retention.time import TimeLike, as_date, as_instant, day_end
from rfm_retention.vocabulary import RiskLevel

__all__ = [
    "DIMENSIONS",
    "MIN_GROUP_SIZE",
    "NO_GROUP",
    "GroupKPIs",
    "GroupedKPIReport",
    "PatientGroups",
    "kpi_report_by",
    "segment_groups",
]


DIMENSIONS = ("department", "team", "segment", "level", "channel")
"""The dimensions ``rfm-retention report --by`` knows."""
NO_GROUP = "(none)"
"""The group of whatever has no label (blank department, patient without a case...)."""
MIN_GROUP_SIZE = 10
"""Default minimum denominator for a group's rate to be shown."""

BASIS = frozen_mapping({
    "department": "churn: department of the last visit before the month; revisit: of the index "
    "visit; ratings and cases: of the last visit on or before them",
    "team": "cases: the case owner; patients: the owner of their latest case",
    "level": "cases and control warnings: their level; patients: the level of their latest case",
    "segment": "RFM segment on the day before the report starts",
})


@attrs.frozen(eq=False)
class PatientGroups:
    """One label per patient: a segment, an acquisition channel, a programme arm...

    Patients of the visit log the labels do not name fall in :data:`NO_GROUP`.

    Examples:
        >>> g = PatientGroups.from_mapping("channel", {"p1": "referral", "p2": "free_clinic"})
        >>> g.dimension, g.patient_id.tolist(), g.label.tolist()
        ('channel', ['p1', 'p2'], ['referral', 'free_clinic'])
    """

    dimension: str
    patient_id: IdArray
    label: npt.NDArray[np.str_]
    basis: str = ""

    @classmethod
    def from_arrays(
        cls, dimension: str, *, patient_id: Any, label: Any, basis: str = ""
    ) -> PatientGroups:
        """From a patient id column and a label column of equal length."""
        ids = as_id_array(patient_id)
        labels = np.asarray([str(v) for v in np.asarray(label, dtype=object)], dtype=str)
        if ids.shape != labels.reshape(-1).shape:
            raise ConfigError(
                f"{dimension} groups: {len(labels)} labels for {len(ids)} patient ids"
            )
        if len(ids) and len(np.unique(ids)) != len(ids):
            raise ConfigError(f"{dimension} groups: a patient id is given twice")
        return cls(dimension, ids, labels.reshape(-1), basis or f"the patient's {dimension}")

    @classmethod
    def from_mapping(
        cls, dimension: str, labels: Mapping[Any, str], *, basis: str = ""
    ) -> PatientGroups:
        """From ``{patient_id: label}``."""
        ids = list(labels)
        return cls.from_arrays(
            dimension, patient_id=ids, label=[labels[k] for k in ids], basis=basis
        )

    def codes_for(self, universe: IdArray, names: list[str]) -> IntArray:
        """For each patient of ``universe``, the position of their label in ``names``."""
        lookup = {n: i for i, n in enumerate(names)}
        out = np.full(len(universe), lookup[NO_GROUP], np.int64)
        pos = patient_positions(universe, self.patient_id, what=f"{self.dimension} groups")
        known = pos >= 0
        out[pos[known]] = [lookup[v] for v in self.label[known].tolist()]
        return out


def segment_groups(visits: VisitLog, as_of: TimeLike) -> PatientGroups:
    """Each patient's RFM segment (eight segments, median splits) as of ``as_of``.

    Patients first seen after ``as_of`` have no segment yet: they are ``(new)``.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "a", "b", "c"], amount=[90, 90, 5, 9],
        ...     visit_time=["2024-01-02", "2024-03-01", "2024-01-05", "2024-06-01"])
        >>> g = segment_groups(log, "2024-03-31")
        >>> dict(zip(g.patient_id.tolist(), g.label.tolist()))
        {'a': 'core', 'b': 'inactive', 'c': '(new)'}
    """
    from rfm_retention.segmentation import eight_segments

    features = patient_features(visits, day_end(as_date(as_of)))  # the whole day, converted once
    seen = features.patient_id
    names: dict[Any, str] = {pid: "(new)" for pid in visits.patient_ids.tolist()}
    if len(seen):
        segments = eight_segments().fit(features).assign(features)
        names.update(zip(seen.tolist(), segments.codes.tolist(), strict=True))
    return PatientGroups.from_mapping("segment", names, basis=BASIS["segment"])


@attrs.frozen
class GroupKPIs:
    """The monthly KPIs of one group."""

    group: str
    months: tuple[MonthlyKPIs, ...]


def _denominators(m: MonthlyKPIs) -> dict[str, int]:
    """Each rate column of :meth:`KPIReport.to_columns` with the count it divides by."""
    out = {
        "churn_rate": m.churn.active_at_start,
        "revisit_3m_rate": m.revisit_3m.eligible,
        "revisit_6m_rate": m.revisit_6m.eligible,
    }
    if m.satisfaction is not None:
        out["satisfaction"] = m.satisfaction.ratings
    if m.coverage is not None:
        out["coverage"] = m.coverage.opened
    for name in ("contact_compliance", "plan_compliance"):
        c = getattr(m, name)
        if c is not None:
            out[name] = c.met + c.breached
    if m.win_back is not None:
        out["win_back_rate"] = m.win_back.eligible
    up = m.uplift
    if up is not None:
        out["control_rate"] = up.control.eligible
        both = min(up.treated.eligible, up.control.eligible)
        out.update(uplift=both, uplift_low=both, uplift_high=both)
    return out


@attrs.frozen(repr=False)
class GroupedKPIReport(Tabular):
    """Monthly KPIs per group, beside the programme-wide report they add up to.

    Attributes:
        dimension: what the groups are (``department``, ``team``, ...).
        basis: which department/owner/segment a count belongs to, in words.
        min_group_size: rates with a smaller denominator are not shown.
        overall: the programme-wide :class:`~rfm_retention.metrics.KPIReport`.
        groups: one :class:`GroupKPIs` per group, :data:`NO_GROUP` last.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "a", "b"], amount=[1.0] * 3,
        ...     visit_time=["2024-01-05", "2024-02-10", "2024-01-20"],
        ...     department=["cardiology", "cardiology", "renal"])
        >>> by = kpi_report_by(log, "2024-01-01", "2024-02-29", by="department",
        ...                    as_of="2024-09-30", min_group_size=1)
        >>> [(g.group, [m.revisit_3m.revisited for m in g.months]) for g in by.groups]
        [('cardiology', [1, 0]), ('renal', [0, 0])]
        >>> by.to_columns()["group"].tolist()
        ['cardiology', 'cardiology', 'renal', 'renal']
        >>> by.as_of
        np.datetime64('2024-09-30T23:59:59')
    """

    dimension: str
    basis: str
    min_group_size: int
    overall: KPIReport
    groups: tuple[GroupKPIs, ...]

    @property
    def as_of(self) -> np.datetime64:
        """The instant the KPIs are known until: the programme-wide report's ``as_of``."""
        return self.overall.as_of

    def _display(self) -> Display:
        figures = {"by": self.dimension, "groups": len(self.groups),
                   "from": self.overall.start, "to": self.overall.end}
        return Display("GroupedKPIReport", self.to_columns(), figures)

    def group(self, name: str) -> GroupKPIs:
        """The KPIs of the group called ``name``."""
        for g in self.groups:
            if g.group == name:
                return g
        raise KeyError(f"no {self.dimension} group {name!r}")

    def report_of(self, name: str) -> KPIReport:
        """The group's months as a :class:`~rfm_retention.metrics.KPIReport` of its own."""
        o = self.overall
        return KPIReport(o.start, o.end, o.as_of, self.group(name).months)

    def is_small(self, m: MonthlyKPIs) -> bool:
        """Whether a group-month has fewer patients at risk of churn than the minimum."""
        return m.churn.active_at_start < self.min_group_size

    ROW_KEY = ("group", "month")

    def _cells(self) -> dict[str, list[Any]]:
        """One row per group and month: ``group``, ``small``, then the report's columns.

        Rates whose denominator is below :attr:`min_group_size` are NaN (counts stay).
        """
        cols: dict[str, list[Any]] = {"group": [], "small": []}
        for g in self.groups:
            table = self.report_of(g.group)._cells()
            for i, m in enumerate(g.months):
                cols["group"].append(g.group)
                cols["small"].append(self.is_small(m))
                for name, count in _denominators(m).items():
                    if count < self.min_group_size:
                        table[name][i] = float("nan")
            for name, values in table.items():
                cols.setdefault(name, []).extend(values)
        return cols


@attrs.frozen(eq=False)
class GroupCodes:
    """Group codes for every kind of thing the KPIs count."""

    names: list[str]
    at_visit_row: IntArray | None  # department: code of each visit-log row
    of_patient: IntArray | None  # otherwise: code of each visit-log patient
    own_case: Callable[[CaseColumns], IntArray] | None = None
    own_control: Callable[[ControlGroup], IntArray] | None = None

    def at_events(self, log: VisitLog, patient: IntArray, when: Any) -> IntArray:
        none = self.names.index(NO_GROUP)
        if self.at_visit_row is not None:
            row = visit_row_at(log, patient, np.asarray(when).astype("datetime64[s]"))
            return np.where(row >= 0, self.at_visit_row[np.maximum(row, 0)], none)
        if self.of_patient is None:
            raise RuntimeError("internal: self.of_patient is unset")
        return np.where(patient >= 0, self.of_patient[np.maximum(patient, 0)], none)

    def of_cases(self, log: VisitLog, cases: CaseColumns) -> IntArray:
        if self.own_case is not None:
            return self.own_case(cases)
        pos = patient_positions(log.patient_ids, cases.patient_id, what="cases")
        when = np.where(np.isnat(cases.opened_at), cases.first_contact_at, cases.opened_at)
        return self.at_events(log, pos, when)

    def of_control(self, log: VisitLog, control: ControlGroup) -> IntArray:
        if self.own_control is not None:
            return self.own_control(control)
        pos = patient_positions(log.patient_ids, control.patient_id, what="control group")
        return self.at_events(log, pos, control.warned_at)


def _names(labels: Any) -> list[str]:
    found = sorted({str(v) for v in np.asarray(labels).tolist()} - {"", NO_GROUP})
    return [*found, NO_GROUP]


def _code(values: Any, names: list[str]) -> IntArray:
    lookup = {n: i for i, n in enumerate(names)}
    none = lookup[NO_GROUP]
    return np.asarray([lookup.get(str(v), none) for v in np.asarray(values).tolist()], np.int64)


def _latest_case_label(
    log: VisitLog, cases: CaseColumns, label: npt.NDArray[np.str_], names: list[str]
) -> IntArray:
    """Per visit-log patient: the code of ``label`` of their latest case (by warning time)."""
    out = np.full(log.n_patients, names.index(NO_GROUP), np.int64)
    pos = patient_positions(log.patient_ids, cases.patient_id, what="cases")
    when = cases.opened_at.astype("datetime64[s]").astype(np.int64)
    order = np.lexsort((when, pos))  # the last row per patient is their latest case
    codes = _code(label, names)
    pos, codes = pos[order], codes[order]
    keep = pos >= 0
    out[pos[keep]] = codes[keep]  # later assignments win
    return out


def _level_names(levels: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    return np.asarray([RiskLevel(int(v)).label for v in levels.tolist()], dtype=str)


def group_codes(
    by: str | PatientGroups,
    visits: VisitLog,
    start: TimeLike,
    cases: CaseColumns | None,
) -> tuple[str, str, GroupCodes]:
    if isinstance(by, PatientGroups):
        names = _names(by.label)
        patient = by.codes_for(visits.patient_ids, names)
        return by.dimension, by.basis, GroupCodes(names, None, patient)
    if by == "department":
        names = _names(visits.department)
        return by, BASIS[by], GroupCodes(names, _code(visits.department, names), None)
    if by == "segment":
        before = as_date(start) - dt.timedelta(days=1)
        return group_codes(segment_groups(visits, before), visits, start, cases)
    if by in ("team", "level"):
        if cases is None:
            raise ConfigError(f"KPIs by {by} need the cases (the {by} is the case's)")
        if by == "team":
            names = _names(cases.owner)
            patient = _latest_case_label(visits, cases, cases.owner, names)
            return by, BASIS[by], GroupCodes(names, None, patient, lambda c: _code(c.owner, names))
        level_names = [lv.label for lv in RiskLevel]
        names = [*level_names, NO_GROUP]
        patient = _latest_case_label(visits, cases, _level_names(cases.level), names)
        return by, BASIS[by], GroupCodes(
            names, None, patient,
            lambda c: _code(_level_names(c.level), names),
            lambda c: _code(_level_names(c.level), names),
        )
    if by == "channel":
        raise ConfigError("KPIs by channel need the patients source: pass PatientGroups "
                          "(PatientSource.channel_groups())")
    raise ConfigError(f"unknown group dimension {by!r}; use one of {', '.join(DIMENSIONS)} "
                      "or PatientGroups")


def kpi_report_by(
    visits: VisitLog,
    start: TimeLike,
    end: TimeLike,
    *,
    by: str | PatientGroups,
    as_of: TimeLike,
    ratings: RatingTable | None = None,
    cases: CaseColumns | None = None,
    lapse_rule: LapseRule | None = None,
    exclusions: Exclusions | None = None,
    win_back_days: int = WIN_BACK_DAYS,
    control: ControlGroup | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
    progress: Progress | None = None,
) -> GroupedKPIReport:
    """The monthly KPIs of :func:`~rfm_retention.metrics.kpi_report` for each group.

    ``by`` is ``"department"``, ``"team"``, ``"level"``, ``"segment"`` or a
    :class:`PatientGroups` (a channel, a programme arm, any host label); the
    module docstring says which group each count belongs to. The arguments
    otherwise mean what they mean for ``kpi_report``, whose result is
    :attr:`GroupedKPIReport.overall`; the groups' counts add up to it.
    ``progress`` hears of the overall report's steps.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "b", "c"], amount=[1.0] * 3,
        ...     visit_time=["2024-01-05", "2024-01-06", "2024-01-07"])
        >>> arm = PatientGroups.from_mapping("arm", {"a": "programme", "b": "programme"})
        >>> by = kpi_report_by(log, "2024-01-01", "2024-01-31", by=arm, as_of="2024-09-30")
        >>> [(g.group, g.months[0].revisit_3m.index_patients) for g in by.groups]
        [('programme', 2), ('(none)', 1)]
    """
    from rfm_retention.metrics._report import kpi_report

    if isinstance(min_group_size, bool) or not isinstance(min_group_size, int) \
            or min_group_size < 0:
        raise ConfigError(f"min_group_size must be a whole number >= 0, got {min_group_size!r}")
    # each time input converted once, the instants handed inward
    start, end = as_instant(start, field="start"), as_instant(end, field="end")
    as_of = as_instant(as_of)
    overall = kpi_report(
        visits, start, end, as_of=as_of, ratings=ratings, cases=cases, lapse_rule=lapse_rule,
        exclusions=exclusions, win_back_days=win_back_days, control=control, progress=progress,
    )
    dimension, basis, codes = group_codes(by, visits, start, cases)
    n = len(codes.names)
    rule = lapse_rule or LapseRule()
    as_of_day, vd, since = visits_as_of(visits, overall.as_of, exclusions)
    if codes.at_visit_row is not None:
        vd_code = codes.at_visit_row[vd.row]
    else:
        if codes.of_patient is None:
            raise RuntimeError("internal: codes.of_patient is unset")
        vd_code = codes.of_patient[vd.patient]
    churn = churn_by_group(
        vd, since, start, end, as_of_day=as_of_day, rule=rule, group=vd_code, n_groups=n
    )
    common: dict[str, Any] = dict(as_of_day=as_of_day, group=vd_code, n_groups=n)
    labels, rev3 = revisit_by_group(vd, since, start, end, months=3, **common)
    _, rev6 = revisit_by_group(vd, since, start, end, months=6, **common)
    rating_code = None
    if ratings is not None:
        pos = patient_positions(visits.patient_ids, ratings.row_patient_ids(), what="ratings")
        rating_code = codes.at_events(visits, pos, ratings.time)
    case_code = codes.of_cases(visits, cases) if cases is not None else None
    control_code = codes.of_control(visits, control) if control is not None else None
    _, bounds = month_spans(start, end)
    ctx = MonthContext(visits, bounds, overall.as_of, win_back_days, exclusions)
    groups = []
    for k, name in enumerate(codes.names):
        sat = None
        if ratings is not None and rating_code is not None:
            mine = rating_code == k
            sat = satisfaction_of(ratings.time[mine], ratings.score[mine], start, end)
        group_cases = group_control = None
        if cases is not None and case_code is not None:
            group_cases = cases.take(np.asarray(case_code == k))
        if control is not None and control_code is not None:
            group_control = control.take(np.asarray(control_code == k))
        rows = monthly_rows(
            ctx, labels, churn[k], rev3[k], rev6[k], sat, group_cases, group_control
        )
        used = (
            np.any(vd_code == k)
            or (rating_code is not None and bool(np.any(rating_code == k)))
            or (case_code is not None and bool(np.any(case_code == k)))
            or (control_code is not None and bool(np.any(control_code == k)))
        )
        if used:
            groups.append(GroupKPIs(name, rows))
    return GroupedKPIReport(dimension, basis, min_group_size, overall, tuple(groups))
