"""Replaying the past: the data as it stood on a given day, and what happened next.

A backtest must not peek: the scan at date ``t`` sees only rows dated on or
before ``t`` (:func:`data_until` cuts every source), and the outcome is read
from the visits after ``t`` (:func:`outcome_labels`).
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.data._bundle import PatientData
from rfm_retention.data._sources import VisitLog
from rfm_retention.data._table import IdArray, PatientTable
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._lapse import LapseRule, lapse_days
from rfm_retention.metrics._visits import as_id_array, patient_positions, visit_days

__all__ = ["OUTCOME_KINDS", "ChurnOutcome", "data_until", "outcome_labels", "table_until"]

OUTCOME_KINDS = ("no_visit", "lapse", "known")
DEFAULT_HORIZON_DAYS = 90
"""Three months: memory of the hospital has faded by 80 % after 3 months without contact."""


def table_until(table: PatientTable, instant: np.datetime64) -> Any:
    """The rows of ``table`` dated on or before ``instant``, re-grouped (no re-validation)."""
    keep = table.before(instant)
    if keep.all():
        return table
    index = table.patient_index[keep]  # still sorted: rows are grouped by patient
    starts = np.ones(len(index), bool)
    starts[1:] = index[1:] != index[:-1]
    present = index[starts]
    remapped = (np.cumsum(starts) - 1).astype(np.int64)
    return attrs.evolve(
        table,
        columns={name: col[keep] for name, col in table.columns.items()},
        patient_ids=table.patient_ids[present],
        patient_index=remapped,
        group_starts=np.searchsorted(remapped, np.arange(len(present) + 1)).astype(np.int64),
        source_row=table.source_row[keep],
    )


def data_until(data: PatientData, instant: np.datetime64) -> PatientData:
    """Every source of ``data`` cut to rows dated on or before ``instant``.

    Sources that carry a *current* state (a course's ``status``, completed
    sessions) keep the state of the export: on a real export that is a small
    leak a backtest cannot undo, worth knowing when reading its figures.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "a", "b"], amount=[1.0] * 3,
        ...     visit_time=["2024-01-01", "2024-03-01", "2024-04-01"])
        >>> cut = data_until(PatientData(visits=log), np.datetime64("2024-02-29T23:59:59"))
        >>> len(cut.visits), cut.visits.patient_ids.tolist()
        (1, ['a'])
    """
    tables = {name: table_until(table, instant) for name, table in data.sources()}
    return PatientData(**tables)


@attrs.frozen
class ChurnOutcome:
    """What counts as "the patient left" after a scan date.

    Attributes:
        kind: ``"no_visit"`` (default): no visit in the ``horizon_days`` days
            after the scan date. ``"lapse"``: the patient lapses (see
            :class:`~rfm_retention.metrics.LapseRule`) within those days.
            ``"known"``: the host knows when each patient left (a synthetic
            cohort's ground truth, a CRM's "left" flag): positive when that
            day is on or before the horizon's end; build it with
            :meth:`known_churn`.
        horizon_days: how far ahead the outcome looks.
        rule: the lapse rule (used by ``"lapse"`` outcomes and their lead
            times, and by the ``"active"`` population whatever the outcome).
        churn_patient_id: with ``"known"``: patients who left.
        churn_day: with ``"known"``: the day each left (day numbers).

    Examples:
        >>> ChurnOutcome(kind="lapse", horizon_days=180).kind
        'lapse'
    """

    kind: Literal["no_visit", "lapse", "known"] = "no_visit"
    horizon_days: int = DEFAULT_HORIZON_DAYS
    rule: LapseRule = attrs.field(factory=LapseRule)
    churn_patient_id: IdArray | None = attrs.field(default=None, eq=False, repr=False)
    churn_day: npt.NDArray[np.int64] | None = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def known_churn(
        cls,
        patient_id: Any,
        churned_from: Any,
        *,
        horizon_days: int = DEFAULT_HORIZON_DAYS,
        rule: LapseRule | None = None,
    ) -> ChurnOutcome:
        """ChurnOutcome from known churn dates (NaT or missing = never left).

        Examples:
            >>> from rfm_retention.testing import synthetic_cohort
            >>> truth = synthetic_cohort(100, seed=2).truth
            >>> ChurnOutcome.known_churn(truth.patient_id, truth.churned_from).kind
            'known'
        """
        ids = as_id_array(patient_id)
        when = np.asarray(churned_from).astype("datetime64[D]")
        if len(ids) != len(when):
            raise ConfigError("known churn: patient_id and churned_from need equal lengths")
        left = ~np.isnat(when)
        order = np.argsort(ids[left], kind="stable")
        return cls(
            kind="known",
            horizon_days=horizon_days,
            rule=rule or LapseRule(),
            churn_patient_id=ids[left][order],
            churn_day=when[left][order].astype(np.int64),
        )

    def __attrs_post_init__(self) -> None:
        if (self.kind == "known") != (self.churn_patient_id is not None):
            raise ConfigError(
                'known churn dates go with kind="known" (use ChurnOutcome.known_churn)'
            )
        if self.kind not in OUTCOME_KINDS:
            known = ", ".join(OUTCOME_KINDS)
            raise ConfigError(f"outcome must be one of {known}, got {self.kind!r}")
        if isinstance(self.horizon_days, bool) or self.horizon_days < 1:
            raise ConfigError(f"horizon_days must be a positive number, got {self.horizon_days!r}")


@attrs.frozen(eq=False)
class Labels:
    """The population judged at one date and its outcomes.

    Attributes:
        patient_id: the population (sorted ids).
        positive: whether each left (per the :class:`ChurnOutcome`).
    """

    patient_id: IdArray
    positive: npt.NDArray[np.bool_]


def outcome_labels(
    visits: VisitLog,
    at_day: int,
    outcome: ChurnOutcome,
    *,
    observed_until_day: int,
    population: Literal["active", "all"] = "active",
) -> Labels:
    """Who is judged at ``at_day`` and who left within the horizon after it.

    The population is every patient with a visit on or before ``at_day``;
    ``"active"`` (default) keeps only those not already lapsed on that day,
    since a warning is about patients who can still be kept. The outcome needs
    the whole horizon observed: ``at_day + horizon_days`` must not be after
    ``observed_until_day``.

    Examples:
        >>> from rfm_retention.time import day_number
        >>> log = VisitLog.from_arrays(patient_id=["a", "a", "b"], amount=[1.0] * 3,
        ...     visit_time=["2024-01-01", "2024-02-15", "2024-01-20"])
        >>> labels = outcome_labels(log, day_number("2024-01-31"), ChurnOutcome(horizon_days=30),
        ...                         observed_until_day=day_number("2024-06-30"))
        >>> labels.patient_id.tolist(), labels.positive.tolist()
        (['a', 'b'], [False, True])
    """
    end = at_day + outcome.horizon_days
    if end > observed_until_day:
        raise ConfigError(
            f"the {outcome.horizon_days}-day horizon after "
            f"{np.datetime64(at_day, 'D')} ends after the data does "
            f"({np.datetime64(observed_until_day, 'D')}); choose an earlier date"
        )
    vd = visit_days(visits, observed_until_day)
    _, lapse = lapse_days(vd, outcome.rule)
    n = visits.n_patients
    seen = vd.day <= at_day
    is_last_seen = seen & (vd.next_day > at_day)
    in_pop = np.zeros(n, bool)
    in_pop[vd.patient[is_last_seen]] = True
    if population == "active":
        lapsed_already = np.zeros(n, bool)
        lapsed_already[vd.patient[is_last_seen & (lapse <= at_day)]] = True
        in_pop &= ~lapsed_already
    elif population != "all":
        raise ConfigError(f"population must be 'active' or 'all', got {population!r}")
    if outcome.kind == "known":
        if outcome.churn_patient_id is None:
            raise RuntimeError("internal: outcome.churn_patient_id is unset")
        if outcome.churn_day is None:
            raise RuntimeError("internal: outcome.churn_day is unset")
        churn = np.full(n, np.iinfo(np.int64).max, np.int64)
        where = patient_positions(visits.patient_ids, outcome.churn_patient_id, what="churn")
        churn[where[where >= 0]] = outcome.churn_day[where >= 0]
        positive = churn <= end
    elif outcome.kind == "no_visit":
        came = np.zeros(n, bool)
        came[vd.patient[(vd.day > at_day) & (vd.day <= end)]] = True
        positive = ~came
    else:
        event = (vd.next_day >= lapse) & (lapse > at_day) & (lapse <= end)
        positive = np.zeros(n, bool)
        positive[vd.patient[event]] = True
    return Labels(visits.patient_ids[in_pop], positive[in_pop])
