"""Causes per group: which churn reasons and complaint categories are over-represented where.

For the monthly meeting: in each department (or team, segment, level,
channel) the distribution of causes, set against the hospital-wide one, so
the meeting sees where a cause is concentrated and where to act.

Definitions, for a period ``[start, end]``:

* **Patients counted**: those warned in the period (a case opened in it) and
  those who lapsed in it (:mod:`~rfm_retention.metrics._lapse`; excluded
  patients leave from their exclusion day), each patient once.
* **Their primary reason**: the reason of their latest case opened on or
  before the period's end; ``(not warned)`` for a lapsed patient who never
  had a case (a lapse the warning system missed is itself a finding).
* **Their group**: as for :func:`~rfm_retention.metrics.kpi_report_by`,
  taken at the latest case in the period, or at the lapse for the others.
* **Complaint categories**: valid complaints filed in the period, by
  category (blank = ``(none)``), grouped at the filing time.
* ``share = count / group total`` (per kind: reasons over patients,
  categories over complaints); ``hospital_share`` the same over everyone;
  ``over_representation = share / hospital_share`` (1 = as everywhere, 2 =
  twice as common here); ``z = (share - hospital_share) /
  sqrt(hospital_share * (1 - hospital_share) / group total)``, how far the
  group is from the hospital in standard errors (above 2: unlikely to be
  chance alone).
* Causes are ranked by ``over_representation``, then count. A group whose
  total is below ``min_group_size`` shows its counts but no shares.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import attrs
import numpy as np

from rfm_retention._arrays import IntArray
from rfm_retention._display import Display
from rfm_retention._tabular import Tabular
from rfm_retention.data._sources import ComplaintTable, VisitLog
from rfm_retention.metrics._calendar import check_period
from rfm_retention.metrics._cases import CaseColumns
from rfm_retention.metrics._exclusions import Exclusions
from rfm_retention.metrics._groups import (
    MIN_GROUP_SIZE,
    NO_GROUP,
    PatientGroups,
    group_codes,
)
from rfm_retention.metrics._lapse import LapseRule, lapse_events
from rfm_retention.metrics._visits import patient_positions
from rfm_retention.time import TimeLike, as_date, as_instant, day_end, day_number

__all__ = ["NOT_WARNED", "CauseReport", "CauseShare", "GroupCauses", "causes_by_group"]

NOT_WARNED = "(not warned)"
"""The reason of a lapsed patient who never had a case."""
HOSPITAL = "(hospital)"
"""The name of the hospital-wide distribution."""


@attrs.frozen
class CauseShare:
    """One cause in one group, beside its share hospital-wide.

    Examples:
        >>> c = CauseShare("reason", "efficacy", count=6, total=10, hospital_count=30,
        ...                hospital_total=100)
        >>> c.share, c.hospital_share, c.over_representation, round(c.z, 2)
        (0.6, 0.3, 2.0, 2.07)
    """

    kind: str
    cause: str
    count: int
    total: int
    hospital_count: int
    hospital_total: int

    @property
    def share(self) -> float:
        """``count / total``; NaN with no total."""
        return self.count / self.total if self.total else float("nan")

    @property
    def hospital_share(self) -> float:
        """The cause's share hospital-wide."""
        return self.hospital_count / self.hospital_total if self.hospital_total else float("nan")

    @property
    def over_representation(self) -> float:
        """``share / hospital_share`` (1 = as common as everywhere)."""
        h = self.hospital_share
        return self.share / h if h else float("nan")

    @property
    def z(self) -> float:
        """Standard errors between the group's share and the hospital's."""
        h = self.hospital_share
        if not self.total or not 0 < h < 1:
            return float("nan")
        return (self.share - h) / math.sqrt(h * (1 - h) / self.total)


@attrs.frozen
class GroupCauses:
    """The ranked causes of one group: reasons of its patients, categories of its complaints."""

    group: str
    patients: int
    complaints: int
    reasons: tuple[CauseShare, ...]
    categories: tuple[CauseShare, ...]

    def over_represented(self, *, at_least: float = 1.0) -> tuple[CauseShare, ...]:
        """The causes (reasons and categories) more common here than hospital-wide."""
        both = (*self.reasons, *self.categories)
        return tuple(c for c in both if c.count and c.over_representation > at_least)


@attrs.frozen(repr=False)
class CauseReport(Tabular):
    """Causes per group over a period, and the hospital-wide distribution they are set against.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "b", "c"], amount=[1.0] * 3,
        ...     visit_time=["2024-01-02", "2024-01-03", "2024-01-04"],
        ...     department=["cardiology", "cardiology", "renal"])
        >>> cases = CaseColumns.from_arrays(patient_id=["a", "b", "c"], level=["high"] * 3,
        ...     opened_at=["2024-02-01"] * 3, reason=["efficacy", "efficacy", "price"])
        >>> r = causes_by_group(log, "2024-02-01", "2024-02-29", by="department",
        ...                     as_of="2024-02-29", cases=cases, min_group_size=1)
        >>> [(c.cause, c.count, c.over_representation) for c in r.group("renal").reasons][:1]
        [('price', 1, 3.0)]
    """

    dimension: str
    basis: str
    start: dt.date
    end: dt.date
    min_group_size: int
    hospital: GroupCauses
    groups: tuple[GroupCauses, ...]

    def group(self, name: str) -> GroupCauses:
        """The causes of the group called ``name``."""
        for g in self.groups:
            if g.group == name:
                return g
        raise KeyError(f"no {self.dimension} group {name!r}")

    def _display(self) -> Display:
        figures = {"by": self.dimension, "from": self.start, "to": self.end,
                   "patients": self.hospital.patients, "complaints": self.hospital.complaints}
        return Display("CauseReport", self.to_columns(), figures)

    def is_small(self, cause: CauseShare) -> bool:
        """Whether a cause's group total is below the minimum (its share is then not shown)."""
        return cause.total < self.min_group_size

    ROW_KEY = ("group", "kind", "cause")

    def _cells(self) -> dict[str, list[Any]]:
        """One row per group and cause, ranked within each group (hospital-wide first)."""
        cols: dict[str, list[Any]] = {}
        for g in (self.hospital, *self.groups):
            for rank, c in enumerate((*g.reasons, *g.categories)):
                hide = self.is_small(c)
                row: dict[str, Any] = {
                    "group": g.group, "kind": c.kind, "rank": rank + 1, "cause": c.cause,
                    "count": c.count, "total": c.total, "small": hide,
                    "share": float("nan") if hide else c.share,
                    "hospital_share": c.hospital_share,
                    "over_representation": float("nan") if hide else c.over_representation,
                    "z": float("nan") if hide else c.z,
                }
                for name, value in row.items():
                    cols.setdefault(name, []).append(value)
        return cols


def _ranked(
    kind: str, group: IntArray, cause: IntArray, names: list[str], n_groups: int
) -> tuple[list[tuple[CauseShare, ...]], tuple[CauseShare, ...], IntArray]:
    """Per group and for the hospital: every cause's counts, ranked by over-representation."""
    n_causes = len(names)
    table = np.bincount(group * n_causes + cause, minlength=n_groups * n_causes)
    table = table.reshape(n_groups, n_causes)
    hospital = table.sum(axis=0)
    h_total = int(hospital.sum())
    totals = table.sum(axis=1)

    def rank(counts: IntArray, total: int) -> tuple[CauseShare, ...]:
        shares = [
            CauseShare(kind, names[j], int(counts[j]), total, int(hospital[j]), h_total)
            for j in range(n_causes) if hospital[j]
        ]
        return tuple(sorted(shares, key=lambda c: (-_or0(c.over_representation), -c.count,
                                                   c.cause)))

    per_group = [rank(table[k], int(totals[k])) for k in range(n_groups)]
    return per_group, rank(hospital, h_total), totals


def _or0(x: float) -> float:
    return 0.0 if math.isnan(x) else x


def _index(values: list[str]) -> tuple[list[str], IntArray]:
    names = sorted(set(values))
    lookup = {n: i for i, n in enumerate(names)}
    return names, np.asarray([lookup[v] for v in values], np.int64)


def causes_by_group(
    visits: VisitLog,
    start: TimeLike,
    end: TimeLike,
    *,
    by: str | PatientGroups,
    as_of: TimeLike,
    cases: CaseColumns | None = None,
    complaints: ComplaintTable | None = None,
    lapse_rule: LapseRule | None = None,
    exclusions: Exclusions | None = None,
    min_group_size: int = MIN_GROUP_SIZE,
) -> CauseReport:
    """Primary reasons and complaint categories per group, ranked against the hospital.

    See the module docstring for who is counted and how causes are ranked.
    ``by`` takes what :func:`~rfm_retention.metrics.kpi_report_by` takes.

    Examples:
        >>> from rfm_retention.data import ComplaintTable, VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "b"], amount=[1.0, 1.0],
        ...     visit_time=["2024-01-02", "2024-01-03"], department=["er", "renal"])
        >>> complaints = ComplaintTable.from_arrays(patient_id=["a", "a", "b"],
        ...     filed_at=["2024-02-03"] * 3, category=["price", "price", "service"])
        >>> r = causes_by_group(log, "2024-02-01", "2024-02-29", by="department",
        ...     as_of="2024-02-29", complaints=complaints, min_group_size=1)
        >>> [(c.cause, c.count) for c in r.group("er").categories]
        [('price', 2), ('service', 0)]
    """
    # each time input converted once, the instants handed inward
    start, end = as_instant(start, field="start"), as_instant(end, field="end")
    as_of = as_instant(as_of)
    first, last, as_of_day = day_number(start), day_number(end), day_number(as_of)
    check_period(first, last, start, end)
    dimension, basis, codes = group_codes(by, visits, start, cases)
    n_groups = len(codes.names)
    end_of_period = day_end(last)

    # the patients: warned in the period, or lapsed in it (each once)
    since = (exclusions or Exclusions.none()).since_for(visits.patient_ids)
    events = lapse_events(visits, as_of=as_of, rule=lapse_rule)
    in_period = (events.lapse_day >= first) & (events.lapse_day <= min(last, as_of_day))
    in_period &= events.lapse_day < since[events.patient]
    lapsed, at = np.unique(events.patient[in_period], return_index=True)  # first lapse each
    lapse_time = np.full(visits.n_patients, np.datetime64("NaT", "s"))
    lapse_time[lapsed] = events.lapse_day[in_period][at].astype("datetime64[D]")
    latest = np.full(visits.n_patients, -1, np.int64)  # latest case by the period's end
    if cases is not None:
        pos = patient_positions(visits.patient_ids, cases.patient_id, what="cases")
        opened = cases.opened_at
        rows = np.flatnonzero((pos >= 0) & ~np.isnat(opened) & (opened <= end_of_period))
        rows = rows[np.lexsort((opened[rows].astype(np.int64), pos[rows]))]
        latest[pos[rows]] = rows  # later rows of a patient overwrite earlier ones
    has_case = latest >= 0
    case_day = np.full(visits.n_patients, -1, np.int64)
    if cases is not None and has_case.any():
        case_day[has_case] = cases.opened_at[latest[has_case]].astype("datetime64[D]").astype(
            np.int64
        )
    warned = has_case & (case_day >= first) & (case_day <= last)
    patients = np.union1d(lapsed, np.flatnonzero(warned)).astype(np.int64)
    own_row = np.where(warned[patients], latest[patients], -1)
    when = lapse_time[patients]
    reason_text = np.full(len(patients), NOT_WARNED, dtype=object)
    if cases is not None:
        with_case = latest[patients] >= 0
        when[own_row >= 0] = cases.opened_at[own_row[own_row >= 0]]
        reason_text[with_case] = [
            str(r) or NO_GROUP for r in cases.reason[latest[patients][with_case]].tolist()
        ]
    group = codes.at_events(visits, patients, when)
    if cases is not None and codes.own_case is not None and (own_row >= 0).any():
        group[own_row >= 0] = codes.own_case(cases)[own_row[own_row >= 0]]
    reason_names, reason_code = _index(reason_text.tolist())
    reasons, h_reasons, n_patients = _ranked("reason", group, reason_code, reason_names, n_groups)

    n_complaints = np.zeros(n_groups, np.int64)
    categories: list[tuple[CauseShare, ...]] = [() for _ in range(n_groups)]
    h_categories: tuple[CauseShare, ...] = ()
    if complaints is not None:
        day = complaints.time.astype("datetime64[D]").astype(np.int64)
        keep = complaints.valid & (day >= first) & (day <= min(last, as_of_day))
        pos = patient_positions(
            visits.patient_ids, complaints.row_patient_ids()[keep], what="complaints"
        )
        c_group = codes.at_events(visits, pos, complaints.time[keep])
        cat_names, cat_code = _index(
            [c or NO_GROUP for c in complaints.category[keep].tolist()]
        )
        categories, h_categories, n_complaints = _ranked(
            "complaint", c_group, cat_code, cat_names, n_groups
        )
    groups = tuple(
        GroupCauses(codes.names[k], int(n_patients[k]), int(n_complaints[k]), reasons[k],
                    categories[k])
        for k in range(n_groups)
        if n_patients[k] or n_complaints[k] or codes.names[k] != NO_GROUP
    )
    hospital = GroupCauses(HOSPITAL, int(n_patients.sum()), int(n_complaints.sum()),
                           h_reasons, h_categories)
    return CauseReport(dimension, basis, as_date(start), as_date(end), min_group_size,
                       hospital, groups)
