"""Follow-up coverage and deadline compliance, from plain case records.

The KPIs only need a few facts per case, so they read plain records (or
arrays) and work with any case store, the library's or the host's own:

* **Follow-up coverage** = cases with a first contact on or before ``as_of``
  ÷ cases opened on or before ``as_of``. "Every warning must have a record,
  a follow-up and an outcome."
* **Deadline compliance** = deadlines met ÷ deadlines decided. A deadline is
  *met* when the work was done on or before it, *breached* when it was done
  later or is still not done after it; a deadline that is still in the
  future with the work not done is *pending* and not counted. Computed for
  the first-contact deadline (24 h for high risk) and for the retention-plan
  deadline (48 h) separately.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import TimeArray
from rfm_retention.data._time import parse_times
from rfm_retention.errors import ConfigError
from rfm_retention.metrics._visits import as_id_array
from rfm_retention.time import TimeLike, as_instant
from rfm_retention.vocabulary import RiskLevel

__all__ = [
    "CaseColumns",
    "CaseRecord",
    "Compliance",
    "Coverage",
    "deadline_compliance",
    "followup_coverage",
    "parse_levels",
    "parse_time_column",
]

_TIME_FIELDS = ("opened_at", "first_contact_at", "first_contact_due", "plan_at", "plan_due")


@attrs.frozen
class CaseRecord:
    """The facts of one case the KPIs read; times may be None (not happened / no deadline)."""

    patient_id: str | int
    level: RiskLevel | str | int
    opened_at: TimeLike | None = None
    first_contact_at: TimeLike | None = None
    first_contact_due: TimeLike | None = None
    plan_at: TimeLike | None = None
    plan_due: TimeLike | None = None
    owner: str = ""
    reason: str = ""


def parse_levels(values: Any, *, what: str = "case") -> npt.NDArray[np.int64]:
    """Risk levels given as :class:`RiskLevel`, ints 0-3 or names (``"high"``) -> ints."""
    out = []
    for row, value in enumerate(np.asarray(values, dtype=object).tolist()):
        try:
            if isinstance(value, str):
                out.append(int(RiskLevel.parse(value)))
            else:
                out.append(int(RiskLevel(int(value))))
        except (ValueError, TypeError):
            raise ConfigError(f"{what} row {row}: not a risk level: {value!r}") from None
    return np.asarray(out, np.int64)


def parse_time_column(values: Any, name: str, n: int, *, what: str = "case") -> TimeArray:
    """``n`` times (datetimes, ISO text, None -> NaT); a bad value raises naming its row."""
    if values is None:
        return np.full(n, np.datetime64("NaT", "s"))
    parsed = parse_times(np.asarray(values, dtype=object) if not hasattr(values, "dtype")
                         else values)
    if parsed.problems:
        row, message = next(iter(sorted(parsed.problems.items())))
        raise ConfigError(f"{what} row {row}: {name}: {message}")
    if len(parsed.values) != n:
        raise ConfigError(f"{what}s: {name} has {len(parsed.values)} values for {n} rows")
    return parsed.values


@attrs.frozen(eq=False)
class CaseColumns:
    """Cases as parallel columns; NaT where a time is unknown or not applicable.

    Examples:
        >>> cases = CaseColumns.from_arrays(
        ...     patient_id=["p1", "p2"], level=["high", "medium"],
        ...     first_contact_at=["2024-03-02T09:00:00", None],
        ... )
        >>> cases.level.tolist(), int(np.isnat(cases.first_contact_at).sum())
        ([3, 2], 1)
    """

    patient_id: npt.NDArray[Any]
    level: npt.NDArray[np.int64]
    opened_at: TimeArray
    first_contact_at: TimeArray
    first_contact_due: TimeArray
    plan_at: TimeArray
    plan_due: TimeArray
    owner: npt.NDArray[np.str_] = attrs.field(default=None)
    reason: npt.NDArray[np.str_] = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        n = len(self.level)
        for name in ("owner", "reason"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(n, "", dtype=str))

    def __len__(self) -> int:
        return int(self.level.shape[0])

    def take(self, mask: npt.NDArray[np.bool_]) -> CaseColumns:
        """The cases where ``mask`` is True."""
        fields = attrs.fields(CaseColumns)
        return CaseColumns(**{f.name: getattr(self, f.name)[mask] for f in fields})

    @classmethod
    def from_arrays(
        cls,
        *,
        patient_id: Any,
        level: Any,
        opened_at: Any = None,
        first_contact_at: Any = None,
        first_contact_due: Any = None,
        plan_at: Any = None,
        plan_due: Any = None,
        owner: Any = None,
        reason: Any = None,
    ) -> CaseColumns:
        """From one sequence per field (times: datetimes, ISO text, None).

        ``owner`` is who is responsible for the case (a team or staff member,
        the "team" of the grouped KPIs); ``reason`` its primary churn reason.
        """
        ids = as_id_array(patient_id)
        levels = parse_levels(level)
        n = len(ids)
        if len(levels) != n:
            raise ConfigError(f"cases: level has {len(levels)} values for {n} cases")
        given = dict(
            opened_at=opened_at, first_contact_at=first_contact_at,
            first_contact_due=first_contact_due, plan_at=plan_at, plan_due=plan_due,
        )
        times = {name: parse_time_column(values, name, n) for name, values in given.items()}
        return cls(
            patient_id=ids, level=levels, **times,
            owner=_text_column(owner, "owner", n), reason=_text_column(reason, "reason", n),
        )

    @classmethod
    def from_records(cls, records: Iterable[Any]) -> CaseColumns:
        """From :class:`CaseRecord` objects, or any objects with those attribute names."""
        rows = list(records)
        columns: dict[str, Any] = {
            "patient_id": [r.patient_id for r in rows],
            "level": [r.level for r in rows],
        }
        for name in _TIME_FIELDS:
            columns[name] = np.array([getattr(r, name, None) for r in rows], dtype=object)
        for name in ("owner", "reason"):
            columns[name] = [str(getattr(r, name, "") or "") for r in rows]
        return cls.from_arrays(**columns)

    @classmethod
    def from_cases(cls, cases: Iterable[Any], *, id_like: Any = None) -> CaseColumns:
        """From intervention cases (:class:`~rfm_retention.interventions.Case`).

        ``opened_at`` is the warning time, ``first_contact_at`` the earliest
        contact; the first deadline met by a contact is the first-contact
        deadline, the one met by a plan the plan deadline (``plan_at`` is when
        it was met). Case stores keep patient ids as text: pass the visit log's
        ``patient_ids`` as ``id_like`` to turn them back into integers when the
        log's ids are integers.
        """
        rows = list(cases)

        def due_of(case: Any, plan: bool) -> tuple[Any, Any]:
            for due in getattr(case, "deadlines", ()):
                if (str(due.met_by) == "plan") == plan:
                    return due.due_at, due.met_at
            return None, None

        contact_due = [due_of(c, plan=False)[0] for c in rows]
        plan_due = [due_of(c, plan=True) for c in rows]
        ids: Any = [c.patient_id for c in rows]
        if id_like is not None and np.asarray(id_like).dtype.kind in "iu":
            try:
                ids = np.asarray([int(str(v)) for v in ids], np.int64)
            except ValueError:
                raise ConfigError(
                    "cases: the visit log uses integer patient ids but a case's id is not one"
                ) from None

        def col(values: list[Any]) -> npt.NDArray[Any]:
            return np.array(values, dtype=object)

        return cls.from_arrays(
            patient_id=ids,
            level=[int(c.level) for c in rows],
            opened_at=col([c.warned_at for c in rows]),
            first_contact_at=col([c.first_contact_at for c in rows]),
            first_contact_due=col(contact_due),
            plan_at=col([p[1] for p in plan_due]),
            plan_due=col([p[0] for p in plan_due]),
            owner=["+".join(getattr(c, "owners", ())) for c in rows],
            reason=[str(getattr(c, "reason", "") or "") for c in rows],
        )


def _text_column(values: Any, name: str, n: int) -> npt.NDArray[np.str_]:
    if values is None:
        return np.full(n, "", dtype=str)
    out = np.asarray(["" if v is None else str(v) for v in np.asarray(values, dtype=object)],
                     dtype=str).reshape(-1)
    if len(out) != n:
        raise ConfigError(f"cases: {name} has {len(out)} values for {n} cases")
    return out


@attrs.frozen
class Coverage:
    """Follow-up coverage: ``contacted / opened``.

    Examples:
        >>> Coverage(opened=8, contacted=6).rate
        0.75
    """

    opened: int
    contacted: int

    @property
    def rate(self) -> float:
        """``contacted / opened``; NaN with no case."""
        return self.contacted / self.opened if self.opened else float("nan")


@attrs.frozen
class Compliance:
    """Deadline compliance: ``met / (met + breached)``; pending deadlines are not counted.

    Examples:
        >>> Compliance(met=9, breached=1, pending=4).rate
        0.9
    """

    met: int
    breached: int
    pending: int

    @property
    def rate(self) -> float:
        """``met / (met + breached)``; NaN with no decided deadline."""
        decided = self.met + self.breached
        return self.met / decided if decided else float("nan")


def followup_coverage(cases: CaseColumns, *, as_of: TimeLike) -> Coverage:
    """Share of cases opened by ``as_of`` that had a first contact by ``as_of``.

    Cases without ``opened_at`` count as opened (the host gave no date).

    Examples:
        >>> cases = CaseColumns.from_arrays(
        ...     patient_id=[1, 2, 3], level=[3, 3, 2],
        ...     opened_at=["2024-03-01", "2024-03-01", "2024-03-05"],
        ...     first_contact_at=["2024-03-01T15:00:00", None, "2024-04-02"])
        >>> followup_coverage(cases, as_of="2024-03-31")
        Coverage(opened=3, contacted=1)
    """
    cutoff = as_instant(as_of)
    opened = np.isnat(cases.opened_at) | (cases.opened_at <= cutoff)
    contacted = opened & ~np.isnat(cases.first_contact_at) & (cases.first_contact_at <= cutoff)
    return Coverage(int(opened.sum()), int(contacted.sum()))


def deadline_compliance(due: TimeArray, done: TimeArray, *, as_of: TimeLike) -> Compliance:
    """Deadlines met, breached and pending as of ``as_of`` (rows without a deadline skipped).

    Work done after ``as_of`` is treated as not done yet (what was known then).

    Examples:
        >>> due = np.array(["2024-03-02T09:00", "2024-03-02T09:00", "2024-04-09T00:00"],
        ...                dtype="datetime64[s]")
        >>> done = np.array(["2024-03-02T08:00", "NaT", "NaT"], dtype="datetime64[s]")
        >>> deadline_compliance(due, done, as_of="2024-03-31")
        Compliance(met=1, breached=1, pending=1)
    """
    cutoff = as_instant(as_of)
    due = np.asarray(due).astype("datetime64[s]")
    done = np.asarray(done).astype("datetime64[s]")
    if due.shape != done.shape:
        raise ConfigError("deadline_compliance: due and done need one value per case each")
    has_due = ~np.isnat(due)
    is_done = ~np.isnat(done) & (done <= cutoff)
    met = has_due & is_done & (done <= due)
    breached = has_due & ~met & (is_done | (due < cutoff))
    pending = has_due & ~met & ~breached
    return Compliance(int(met.sum()), int(breached.sum()), int(pending.sum()))
