"""Patients the host marks as deceased or transferred: not lost, just gone.

A patient who died or moved to another hospital's care did not "churn": the
retention KPIs leave them out of numerator *and* denominator from the day the
host marks them. Each KPI's docstring says exactly how it applies the mark.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.data import PatientRegistry
from rfm_retention.data._sources import VisitLog
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._visits import (
    NO_DAY,
    VisitDays,
    as_id_array,
    patient_positions,
    visit_days,
)
from rfm_retention.time import TimeLike, day_number

__all__ = ["EXCLUSION_REASONS", "Exclusion", "Exclusions", "visits_as_of"]

EXCLUSION_REASONS = ("deceased", "transferred")


@attrs.frozen
class Exclusion:
    """One patient leaving the KPIs' population from ``since`` on."""

    patient_id: str | int
    since: TimeLike
    reason: str = "deceased"


@attrs.frozen(eq=False)
class Exclusions:
    """Columnar exclusions: for each patient id, the first day they no longer count.

    Examples:
        >>> ex = Exclusions.from_records([Exclusion("p1", "2024-03-10", "deceased")])
        >>> ex.patient_id.tolist(), ex.reason.tolist()
        (['p1'], ['deceased'])
    """

    patient_id: IdArray
    since_day: npt.NDArray[np.int64]
    reason: npt.NDArray[np.str_]

    @classmethod
    def none(cls) -> Exclusions:
        """No patient excluded."""
        return cls(np.empty(0, "U1"), np.empty(0, np.int64), np.empty(0, "U1"))

    @classmethod
    def from_records(cls, records: Iterable[Exclusion | tuple[Any, ...]]) -> Exclusions:
        """From :class:`Exclusion` records or ``(patient_id, since[, reason])`` tuples.

        A patient listed twice keeps the earliest date. Unknown reasons and bad
        dates raise ConfigError naming the row.
        """
        ids: list[Any] = []
        days: list[int] = []
        reasons: list[str] = []
        for row, rec in enumerate(records):
            if isinstance(rec, Exclusion):
                pid, since, reason = rec.patient_id, rec.since, rec.reason
            else:
                values = (*rec, "deceased") if len(rec) == 2 else tuple(rec)
                if len(values) != 3:
                    raise ConfigError(
                        f"exclusion row {row}: expected (patient_id, since[, reason]), got {rec!r}"
                    )
                pid, since, reason = values
            if reason not in EXCLUSION_REASONS:
                raise ConfigError(
                    f"exclusion row {row} (patient {pid!r}): reason must be one of "
                    f"{', '.join(EXCLUSION_REASONS)}, got {reason!r}"
                )
            try:
                days.append(day_number(since))
            except ConfigError as exc:
                raise ConfigError(f"exclusion row {row} (patient {pid!r}): {exc}") from None
            ids.append(pid)
            reasons.append(reason)
        return cls.from_arrays(ids, days, reasons)

    @classmethod
    def from_registry(cls, registry: PatientRegistry) -> Exclusions:
        """Deceased and transferred patients of a :class:`~rfm_retention.data.PatientRegistry`.

        The earlier of the two days counts when both are given.

        Example:
            >>> from rfm_retention.data import PatientRegistry
            >>> reg = PatientRegistry.from_arrays(patient_id=["p1", "p2"],
            ...     first_contact=["2023-05-01", "2024-01-03"], deceased_at=["2024-06-01", None])
            >>> Exclusions.from_registry(reg).patient_id.tolist()
            ['p1']
        """
        dead, moved = registry.columns["deceased_at"], registry.columns["transferred_at"]
        died_first = ~np.isnat(dead) & (np.isnat(moved) | (dead <= moved))
        gone = died_first | ~np.isnat(moved)
        since = np.where(died_first, dead, moved)[gone].astype("datetime64[D]")
        reason = np.where(died_first, "deceased", "transferred")[gone]
        return cls.from_arrays(registry.row_patient_ids()[gone], since, reason)

    @classmethod
    def from_arrays(cls, patient_id: Any, since_day: Any, reason: Any = None) -> Exclusions:
        """From parallel arrays; ``since_day`` as day numbers or ``datetime64`` values."""
        ids = as_id_array(patient_id)
        since = np.asarray(since_day)
        if since.dtype.kind == "M":
            since = since.astype("datetime64[D]").astype(np.int64)
        since = since.astype(np.int64)
        reasons = (
            np.full(len(ids), "deceased") if reason is None else np.asarray(reason, dtype=str)
        )
        if not (len(ids) == len(since) == len(reasons)):
            raise ConfigError("exclusions: patient_id, since and reason need equal lengths")
        order = np.lexsort((since, ids))
        ids, since, reasons = ids[order], since[order], reasons[order]
        first = np.ones(len(ids), bool)
        first[1:] = ids[1:] != ids[:-1]
        return cls(ids[first], since[first], reasons[first])

    def __len__(self) -> int:
        return int(self.patient_id.shape[0])

    def since_for(self, universe: IdArray) -> npt.NDArray[np.int64]:
        """For each id of ``universe`` (sorted, unique), its exclusion day (far future if none)."""
        out = np.full(len(universe), NO_DAY, np.int64)
        if len(self) == 0:
            return out
        where = patient_positions(universe, self.patient_id, what="exclusions")
        known = where >= 0
        out[where[known]] = self.since_day[known]
        return out


def visits_as_of(
    visits: VisitLog, as_of: TimeLike, exclusions: Exclusions | None
) -> tuple[int, VisitDays, npt.NDArray[np.int64]]:
    """What every visit KPI starts from: the day number of ``as_of``, the visit days cut at
    it, and each patient's excluded-since day (``exclusions`` or nobody excluded).

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "a"], amount=[1.0, 1.0],
        ...                            visit_time=["2024-01-05", "2024-03-01"])
        >>> day, vd, since = visits_as_of(log, "2024-02-01", None)
        >>> len(vd), since.tolist() == [NO_DAY]
        (1, True)
    """
    as_of_day = day_number(as_of)
    since = (exclusions or Exclusions.none()).since_for(visits.patient_ids)
    return as_of_day, visit_days(visits, as_of_day), since
