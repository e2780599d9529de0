"""The lifecycle's first stage: new patients per channel, whether they come back, what they cost.

Definitions, from the :class:`~rfm_retention.data.PatientRegistry`:

* **Acquired** in a month: patients whose ``first_contact`` falls in it,
  per acquisition channel (blank = ``(none)``).
* **First visit**: the patient's first visit day on or after the first
  contact (``visited`` counts those who had one by ``as_of``).
* **Revisit at 3 / 6 months**: another visit day after the first visit and
  no later than it plus 3 / 6 calendar months, censored and excluded
  exactly as :mod:`~rfm_retention.metrics._revisit` does; ``retained`` is
  the 6-month revisit.
* **Cost per acquired** ``= cost / acquired`` and **cost per retained**
  ``= cost / retained`` when the host supplies the channel's cost for the
  month (:class:`ChannelCosts`); cost per retained is shown only once every
  6-month window of the month's patients has closed (no censored patient).

The referral tree (:func:`referral_tree`): every ``referred_by`` link, who
referred whom; a referrer is **retained** at the referral when they had at
least two visit days by the referred patient's first contact (a returning
patient bringing a new one: the loop the documents close).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import IntArray
from rfm_retention._display import Display
from rfm_retention._tabular import Tabular
from rfm_retention.data._sources import PatientRegistry, VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._calendar import add_months, month_spans
from rfm_retention.metrics._exclusions import Exclusions
from rfm_retention.metrics._groups import NO_GROUP, PatientGroups
from rfm_retention.metrics._revisit import RevisitRate, count_revisits
from rfm_retention.metrics._visits import VisitDays, patient_positions, visit_days
from rfm_retention.time import TimeLike, as_date, as_instant, day_number, to_date

__all__ = [
    "AcquisitionReport",
    "ChannelCosts",
    "ChannelMonth",
    "ReferralTree",
    "acquisition_report",
    "channel_groups",
    "referral_tree",
]


def channel_groups(registry: PatientRegistry) -> PatientGroups:
    """Each registry patient's acquisition channel, to group KPIs by (``kpi_report_by``).

    Examples:
        >>> from rfm_retention.data import PatientRegistry
        >>> reg = PatientRegistry.from_arrays(patient_id=["a", "b"],
        ...     first_contact=["2024-01-01"] * 2, channel=["media", ""])
        >>> channel_groups(reg).label.tolist()
        ['media', '(none)']
    """
    labels = np.where(registry.channel == "", NO_GROUP, registry.channel)
    return PatientGroups.from_arrays(
        "channel", patient_id=registry.row_patient_ids(), label=labels,
        basis="acquisition channel in the patient registry",
    )


@attrs.frozen
class ChannelCosts:
    """What the host spent per channel and month (talks, free clinics, media...).

    Examples:
        >>> costs = ChannelCosts.from_records([("media", "2024-01", 5000.0)])
        >>> costs.cost_of("media", dt.date(2024, 1, 1)), costs.cost_of("talk", dt.date(2024, 1, 1))
        (5000.0, None)
    """

    amounts: Mapping[tuple[str, dt.date], float]

    @classmethod
    def from_records(cls, rows: Iterable[tuple[str, Any, Any]]) -> ChannelCosts:
        """From ``(channel, month, cost)``; the month as ``YYYY-MM`` or any date in it."""
        out: dict[tuple[str, dt.date], float] = {}
        for i, (channel, month, cost) in enumerate(rows):
            text = str(month).strip()
            try:
                day = as_date(text + "-01" if len(text) == 7 else text).replace(day=1)
                amount = float(cost)
            except (ValueError, TypeError, ConfigError):
                raise ConfigError(
                    f"channel costs row {i}: need channel, month (YYYY-MM) and a cost, got "
                    f"{(channel, month, cost)!r}"
                ) from None
            if not amount >= 0:
                raise ConfigError(f"channel costs row {i}: cost must be >= 0, got {cost!r}")
            key = (str(channel), day)
            if key in out:
                raise ConfigError(f"channel costs row {i}: {channel} {day:%Y-%m} given twice")
            out[key] = amount
        return cls(out)

    def cost_of(self, channel: str, month: dt.date) -> float | None:
        """The cost of ``channel`` in ``month`` (None when the host gave none)."""
        return self.amounts.get((channel, month))


@attrs.frozen
class ChannelMonth:
    """New patients of one channel and month, their return, their cost."""

    channel: str
    month: dt.date
    acquired: int
    visited: int
    revisit_3m: RevisitRate
    revisit_6m: RevisitRate
    cost: float | None = None

    @property
    def retained(self) -> int:
        """Patients who came back within 6 months of their first visit."""
        return self.revisit_6m.revisited

    @property
    def cost_per_acquired(self) -> float:
        """``cost / acquired``; NaN without a cost or a patient."""
        if self.cost is None or not self.acquired:
            return float("nan")
        return self.cost / self.acquired

    @property
    def cost_per_retained(self) -> float:
        """``cost / retained`` once every 6-month window closed; NaN before or without a cost."""
        if self.cost is None or not self.retained or self.revisit_6m.censored:
            return float("nan")
        return self.cost / self.retained


@attrs.frozen(repr=False)
class AcquisitionReport(Tabular):
    """New patients per channel and month (see the module docstring).

    Examples:
        >>> from rfm_retention.data import PatientRegistry, VisitLog
        >>> reg = PatientRegistry.from_arrays(patient_id=["a", "b"],
        ...     first_contact=["2024-01-03", "2024-01-09"], channel=["talk", "talk"])
        >>> log = VisitLog.from_arrays(patient_id=["a", "a", "b"], amount=[1.0] * 3,
        ...     visit_time=["2024-01-05", "2024-03-01", "2024-01-10"])
        >>> costs = ChannelCosts.from_records([("talk", "2024-01", 900.0)])
        >>> r = acquisition_report(reg, log, "2024-01-01", "2024-01-31", as_of="2024-12-31",
        ...                        costs=costs)
        >>> m = r.rows[0]
        >>> m.acquired, m.visited, m.retained, m.cost_per_acquired, m.cost_per_retained
        (2, 2, 1, 450.0, 900.0)
    """

    start: dt.date
    end: dt.date
    as_of: np.datetime64
    rows: tuple[ChannelMonth, ...]

    def _display(self) -> Display:
        acquired = sum(r.acquired for r in self.rows)
        figures = {"from": self.start, "to": self.end, "acquired": acquired}
        return Display("AcquisitionReport", self.to_columns(), figures)

    ROW_KEY = ("channel", "month")

    def _cells(self) -> dict[str, list[Any]]:
        """One row per channel and month (``month`` a ``datetime64[M]``)."""
        cols: dict[str, list[Any]] = {}
        for r in self.rows:
            row = {
                "channel": r.channel, "month": np.datetime64(r.month, "M"),
                "acquired": r.acquired, "visited": r.visited,
                "revisit_3m_eligible": r.revisit_3m.eligible,
                "revisit_3m_rate": r.revisit_3m.rate,
                "revisit_6m_eligible": r.revisit_6m.eligible,
                "retained": r.retained, "revisit_6m_rate": r.revisit_6m.rate,
                "cost": float("nan") if r.cost is None else r.cost,
                "cost_per_acquired": r.cost_per_acquired,
                "cost_per_retained": r.cost_per_retained,
            }
            for name, value in row.items():
                cols.setdefault(name, []).append(value)
        return cols


def _first_visit_rows(vd: VisitDays, patient: IntArray, day: IntArray) -> IntArray:
    """Row of each patient's first visit day on or after ``day``; -1 when none."""
    out = np.full(len(patient), -1, np.int64)
    if len(vd) == 0 or len(patient) == 0:
        return out
    low = min(int(vd.day.min()), int(day.min()))
    span = max(int(vd.day.max()), int(day.max())) - low + 1
    keys = vd.patient * span + (vd.day - low)
    at = np.searchsorted(keys, np.maximum(patient, 0) * span + (day - low), side="left")
    clipped = np.minimum(at, len(vd) - 1)
    ok = (patient >= 0) & (at < len(vd)) & (vd.patient[clipped] == patient)
    out[ok] = clipped[ok]
    return out


def acquisition_report(
    registry: PatientRegistry,
    visits: VisitLog,
    start: TimeLike,
    end: TimeLike,
    *,
    as_of: TimeLike,
    costs: ChannelCosts | None = None,
    exclusions: Exclusions | None = None,
) -> AcquisitionReport:
    """New patients per channel per month, their 3/6-month revisit, and their cost.

    ``exclusions`` defaults to the registry's own deceased/transferred days.

    Examples:
        >>> from rfm_retention.testing import sample_cohort
        >>> data = sample_cohort().data
        >>> r = acquisition_report(data.registry, data.visits, "2023-01-01", "2023-03-31",
        ...                        as_of="2024-12-31")
        >>> sum(m.acquired for m in r.rows if m.channel == "referral") > 0
        True
    """
    # each time input converted once, the instants handed inward
    instant = as_instant(as_of)
    start, end = as_instant(start, field="start"), as_instant(end, field="end")
    months, bounds = month_spans(start, end)
    n_months = len(months)
    as_of_day = day_number(instant)
    contact = registry.first_contact.astype("datetime64[D]").astype(np.int64)
    month = np.searchsorted(bounds, contact, side="right") - 1
    inside = (month >= 0) & (month < n_months) & (contact <= as_of_day)
    labels = np.where(registry.channel == "", NO_GROUP, registry.channel)
    channels = sorted(set(labels[inside].tolist()))
    lookup = {c: i for i, c in enumerate(channels)}
    n = len(channels) * n_months
    cell = np.asarray([lookup[c] for c in labels[inside].tolist()], np.int64) * n_months
    cell = cell + month[inside]
    acquired = np.bincount(cell, minlength=n)

    vd = visit_days(visits, as_of_day)
    pos = patient_positions(visits.patient_ids, registry.row_patient_ids()[inside],
                            what="registry")
    rows = _first_visit_rows(vd, pos, contact[inside])
    has = rows >= 0
    visited = np.bincount(cell[has], minlength=n)
    ex = exclusions if exclusions is not None else Exclusions.from_registry(registry)
    since = ex.since_for(visits.patient_ids)
    rates = {}
    for m in (3, 6):
        window_end = add_months(vd.day[rows[has]], m)
        idx, cen, exc, rev = count_revisits(
            vd, rows[has], window_end, cell[has], n, as_of_day, since
        )
        rates[m] = [RevisitRate(m, int(idx[c]), int(cen[c]), int(exc[c]), int(rev[c]))
                    for c in range(n)]
    out = []
    for k, channel in enumerate(channels):
        for i in range(n_months):
            c = k * n_months + i
            day = to_date(bounds[i])
            cost = costs.cost_of(channel, day) if costs is not None else None
            out.append(ChannelMonth(channel, day, int(acquired[c]), int(visited[c]),
                                    rates[3][c], rates[6][c], cost))
    return AcquisitionReport(as_date(start), as_date(end), instant, tuple(out))


@attrs.frozen(eq=False)
class ReferralTree(Tabular):
    """Who referred whom, with each referrer's direct and total (all generations) counts.

    Attributes:
        referrer, referred: one entry per referral link (ids as text).
        first_contact: the referred patient's first contact.
        referrer_retained: the referrer had 2+ visit days by that day.
        referred_visited: the referred patient has had a visit by ``as_of``.
        generation: 1 for a patient referred by someone nobody referred, 2 for the next...
        as_of: the instant the visits are known until (``datetime64[s]``).
    """

    referrer: npt.NDArray[np.str_]
    referred: npt.NDArray[np.str_]
    first_contact: npt.NDArray[np.datetime64]
    referrer_retained: npt.NDArray[np.bool_]
    referred_visited: npt.NDArray[np.bool_]
    generation: IntArray
    as_of: np.datetime64 = attrs.field(kw_only=True)

    def __len__(self) -> int:
        return int(self.referred.shape[0])

    @property
    def by_retained(self) -> int:
        """Referrals made by a retained patient (the lifecycle's closed loop)."""
        return int(self.referrer_retained.sum())

    def referrers(self) -> dict[str, list[Any]]:
        """One row per referrer: direct referrals, those who visited, all descendants.

        Examples:
            >>> from rfm_retention.data import PatientRegistry, VisitLog
            >>> reg = PatientRegistry.from_arrays(patient_id=["a", "b", "c"],
            ...     first_contact=["2024-01-01", "2024-02-01", "2024-03-01"],
            ...     referred_by=["", "a", "b"])
            >>> log = VisitLog.from_arrays(patient_id=["a", "a", "b"], amount=[1.0] * 3,
            ...     visit_time=["2024-01-02", "2024-01-20", "2024-02-03"])
            >>> tree = referral_tree(reg, log, as_of="2024-06-30")
            >>> tree.referrers()
            {'referrer': ['a', 'b'], 'referred': [1, 1], 'visited': [1, 0], 'descendants': [2, 1]}
        """
        names = sorted(set(self.referrer.tolist()))
        lookup = {n: i for i, n in enumerate(names)}
        code = np.asarray([lookup[r] for r in self.referrer.tolist()], np.int64)
        direct = np.bincount(code, minlength=len(names))
        visited = np.bincount(code[self.referred_visited], minlength=len(names))
        # descendants: add each referred patient's own descendants, deepest generation first
        total = direct.astype(np.int64).copy()
        as_referrer = np.asarray([lookup.get(r, -1) for r in self.referred.tolist()], np.int64)
        for g in sorted(set(self.generation.tolist()), reverse=True):
            at = (self.generation == g) & (as_referrer >= 0)
            np.add.at(total, code[at], total[as_referrer[at]])
        return {"referrer": names, "referred": direct.tolist(), "visited": visited.tolist(),
                "descendants": total.tolist()}

    ROW_KEY = "referred"
    ROW_KEYS_ORDERED = False

    def _cells(self) -> dict[str, list[Any]]:
        """One row per referral link."""
        return {
            "referrer": self.referrer.tolist(), "referred": self.referred.tolist(),
            "first_contact": list(self.first_contact.astype("datetime64[D]")),
            "referrer_retained": self.referrer_retained.tolist(),
            "referred_visited": self.referred_visited.tolist(),
            "generation": self.generation.tolist(),
        }


def referral_tree(registry: PatientRegistry, visits: VisitLog, *, as_of: TimeLike) -> ReferralTree:
    """Every referral link of the registry (see the module docstring).

    A chain of referrals that loops back on itself is refused (ConfigError
    naming a patient of the loop). Referrers need not be in the registry.

    Examples:
        >>> from rfm_retention.data import PatientRegistry, VisitLog
        >>> reg = PatientRegistry.from_arrays(patient_id=["a", "b"],
        ...     first_contact=["2024-01-01", "2024-02-01"], referred_by=["", "a"])
        >>> log = VisitLog.from_arrays(patient_id=["a", "a"], amount=[1.0, 1.0],
        ...     visit_time=["2024-01-02", "2024-01-20"])
        >>> tree = referral_tree(reg, log, as_of="2024-06-30")
        >>> len(tree), tree.by_retained, tree.generation.tolist()
        (1, 1, [1])
        >>> tree.as_of
        np.datetime64('2024-06-30T23:59:59')
    """
    instant = as_instant(as_of)
    as_of_day = day_number(instant)
    linked = registry.referred_by != ""
    referred = registry.row_patient_ids()[linked].astype(str)
    referrer = registry.referred_by[linked].astype(str)
    contact = registry.first_contact[linked]
    # generation: follow referred_by upwards, one level per pass
    parent = {c: p for c, p in zip(referred.tolist(), referrer.tolist(), strict=True)}
    generation = np.ones(len(referred), np.int64)
    current = referrer.copy()
    for _ in range(len(referred) + 1):
        up = np.asarray([parent.get(p, "") for p in current.tolist()], dtype=str)
        more = up != ""
        if not more.any():
            break
        generation[more] += 1
        current = np.where(more, up, current)
        if int(generation.max()) > len(referred):
            loop = referred[int(np.argmax(generation))]
            raise ConfigError(f"registry: the referrals of patient {loop} loop back on themselves")
    vd = visit_days(visits, as_of_day)
    ids = visits.patient_ids
    key_ids: Any = referrer if ids.dtype.kind not in "iu" else _as_int(referrer)
    r_pos = patient_positions(ids, key_ids, what="registry referred_by")
    contact_day = contact.astype("datetime64[D]").astype(np.int64)
    days_before = _visit_days_before(vd, r_pos, contact_day)
    c_pos = patient_positions(ids, registry.row_patient_ids()[linked], what="registry")
    visited = c_pos >= 0
    return ReferralTree(referrer, referred, contact, days_before >= 2, visited, generation,
                        as_of=instant)


def _as_int(values: npt.NDArray[np.str_]) -> npt.NDArray[np.int64]:
    try:
        return values.astype(np.int64)
    except ValueError:
        raise ConfigError(
            "registry: the visit log uses integer patient ids but a referred_by is not one"
        ) from None


def _visit_days_before(vd: VisitDays, patient: IntArray, day: IntArray) -> IntArray:
    """How many visit days each patient had on or before ``day`` (0 for unknown patients)."""
    out = np.zeros(len(patient), np.int64)
    if len(vd) == 0 or len(patient) == 0:
        return out
    low = min(int(vd.day.min()), int(day.min()))
    span = max(int(vd.day.max()), int(day.max())) - low + 2
    keys = vd.patient * span + (vd.day - low)
    known = patient >= 0
    hi = np.searchsorted(keys, np.maximum(patient, 0) * span + (day - low), side="right")
    lo = np.searchsorted(keys, np.maximum(patient, 0) * span, side="left")
    out[known] = (hi - lo)[known]
    return out
