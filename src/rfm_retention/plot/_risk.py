"""Risk pictures: the funnel from scanned patients to won-back ones, and one patient's story."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from rfm_retention.data import PatientData
from rfm_retention.interventions import Case, Outcome
from rfm_retention.plot._axes import LEVEL_COLOURS, axes
from rfm_retention.risk import RiskLevel, WarningList

__all__ = ["funnel_stages", "patient_timeline", "risk_funnel"]


def funnel_stages(warnings: WarningList, cases: Iterable[Case] = ()) -> list[tuple[str, int]]:
    """The stages and counts: patients, warned, each level, cases opened, contacted, won back.

    Examples:
        >>> from rfm_retention.risk import scan
        >>> from rfm_retention.testing import synthetic_cohort
        >>> w = scan(synthetic_cohort(200, seed=3).data, "2024-06-30")
        >>> [name for name, _ in funnel_stages(w)]
        ['patients scanned', 'warned', 'high', 'medium', 'low']
    """
    counts = warnings.counts()
    stages = [("patients scanned", len(warnings.panel)), ("warned", len(warnings))]
    stages += [(lv.label, counts[lv]) for lv in (RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW)]
    book = list(cases)
    if book:
        stages += [
            ("cases opened", len(book)),
            ("contacted", sum(c.first_contact_at is not None for c in book)),
            ("won back", sum(c.outcome is Outcome.WON_BACK for c in book)),
        ]
    return stages


def risk_funnel(warnings: WarningList, cases: Iterable[Case] = (), *, ax: Any = None) -> Any:
    """Patients scanned -> warned -> by level -> cases opened -> contacted -> won back.

    ``cases`` are the cases opened from the warnings (``CaseBook.cases()``);
    without them the funnel stops at the levels.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> from rfm_retention.risk import scan
        >>> from rfm_retention.testing import synthetic_cohort
        >>> w = scan(synthetic_cohort(200, seed=3).data, "2024-06-30")
        >>> len(risk_funnel(w, ax=Figure().subplots()).patches)
        5
    """
    ax = axes(ax, "plot.risk_funnel")
    stages = funnel_stages(warnings, cases)
    colours = [LEVEL_COLOURS.get(name, "#34495e") for name, _ in stages]
    y = np.arange(len(stages))
    values = [n for _, n in stages]
    ax.barh(y, values, color=colours)
    for yi, n in zip(y, values, strict=True):
        ax.text(n, yi, f" {n:,}", va="center", fontsize=9)
    ax.set_yticks(y, [name for name, _ in stages])
    ax.invert_yaxis()
    ax.set_xlabel("patients")
    ax.set_xlim(0, max([*values, 1]) * 1.15)
    day = warnings.as_of.astype("datetime64[D]")
    ax.set_title(f"From scan to win-back, {day}")
    return ax


_ROWS = ("visits", "ratings", "complaints", "warnings", "contacts")


def _times_of(table: Any, patient_id: Any) -> tuple[Any, Any]:
    """Row times of one patient in a table, and the positions of those rows."""
    if table is None or not len(table.patient_ids):
        return np.empty(0, "datetime64[s]"), np.empty(0, np.int64)
    pos = int(np.searchsorted(table.patient_ids, patient_id))
    if pos >= len(table.patient_ids) or table.patient_ids[pos] != patient_id:
        return np.empty(0, "datetime64[s]"), np.empty(0, np.int64)
    rows = np.arange(table.group_starts[pos], table.group_starts[pos + 1])
    return table.time[rows], rows


def patient_timeline(
    data: PatientData,
    patient_id: Any,
    *,
    warnings: Sequence[WarningList] = (),
    cases: Iterable[Case] = (),
    ax: Any = None,
) -> Any:
    """One patient's story on one time axis: visits, ratings, complaints, warnings, contacts.

    Each kind of event has its own row. Ratings are labelled with their score;
    warnings (one per list of ``warnings`` the patient is on) are coloured by
    level; contacts come from the patient's ``cases``.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> from rfm_retention.testing import synthetic_cohort
        >>> data = synthetic_cohort(200, seed=3).data
        >>> ax = patient_timeline(data, "P000027", ax=Figure().subplots())
        >>> [t.get_text() for t in ax.get_yticklabels()]
        ['visits', 'ratings', 'complaints', 'warnings', 'contacts']
    """
    ax = axes(ax, "plot.patient_timeline")
    row = {name: i for i, name in enumerate(_ROWS)}
    visit_times, _ = _times_of(data.visits, patient_id)
    ax.scatter(visit_times.astype("datetime64[ms]").tolist(), [row["visits"]] * len(visit_times),
               marker="o", color="#2980b9", label="visit")
    rating_times, rows = _times_of(data.ratings, patient_id)
    if len(rating_times):
        scores = data.ratings.score[rows] if data.ratings is not None else []
        xs = rating_times.astype("datetime64[ms]").tolist()
        ax.scatter(xs, [row["ratings"]] * len(xs), marker="s", color="#8e44ad", label="rating")
        for x, s in zip(xs, scores, strict=True):
            ax.annotate(f"{s:.0f}", (x, row["ratings"]), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=8)
    complaint_times, _ = _times_of(data.complaints, patient_id)
    ax.scatter(complaint_times.astype("datetime64[ms]").tolist(),
               [row["complaints"]] * len(complaint_times), marker="x", color="#c0392b",
               label="complaint")
    for w in warnings:
        at = w.position(patient_id)
        if at is not None:
            level = RiskLevel(int(w.level[at]))
            ax.scatter([w.as_of.astype("datetime64[ms]").tolist()], [row["warnings"]],
                       marker="^", color=LEVEL_COLOURS.get(level.label, "#34495e"))
    contacts = [c.at for case in cases if case.patient_id == str(patient_id)
                for c in case.contacts]
    ax.scatter(contacts, [row["contacts"]] * len(contacts), marker="D", color="#16a085",
               label="contact")
    ax.set_yticks(range(len(_ROWS)), list(_ROWS))
    ax.set_ylim(-0.6, len(_ROWS) - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("date")
    ax.set_title(f"Patient {patient_id}")
    ax.grid(axis="x", alpha=0.3)
    return ax
