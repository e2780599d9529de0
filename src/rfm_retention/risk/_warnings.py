"""The day's warning list: records, the columnar list, day-over-day changes, explanations."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._display import Display
from rfm_retention._tabular import Tabular, text_rows, typed_columns
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.risk._odds import ChurnOdds
from rfm_retention.risk._panel import IndicatorPanel, SkippedIndicator
from rfm_retention.risk._policy import RiskAssessment, RiskPolicy, explanations
from rfm_retention.risk._reasons import REASON_ORDER, signals_behind
from rfm_retention.risk._records import WarningRecord
from rfm_retention.vocabulary import Dimension, ReasonCode, RiskLevel

__all__ = [
    "Change",
    "IndicatorReading",
    "PatientExplanation",
    "PatientWarning",
    "ResolvedWarning",
    "WarningList",
]


class Change(enum.StrEnum):
    """How a warning compares with the previous day's list."""

    NEW = "new"
    ESCALATED = "escalated"
    UNCHANGED = "unchanged"
    DE_ESCALATED = "de-escalated"


@attrs.frozen
class IndicatorReading:
    """One indicator's reading for one patient, with its evidence."""

    name: str
    dimension: Dimension
    value: float
    severity: float
    fired: bool
    signal: bool
    evidence: str
    reason: ReasonCode = ReasonCode.BEHAVIOUR_ONLY

    def __str__(self) -> str:
        mark = "FIRED" if self.fired else ("ok" if self.signal else "-")
        return f"{self.name} [{self.dimension.value}] {mark}: {self.evidence}"


@attrs.frozen
class PatientWarning:
    """One patient on the warning list.

    Attributes:
        patient_id: the host's patient id.
        level: LOW, MEDIUM or HIGH.
        score: 0-100 (the policy's score; higher is riskier).
        reason: the primary reason (see :mod:`rfm_retention.risk._reasons`).
        indicators: the signals behind the warning, most severe first: every
            fired indicator; when none fired (a level reached by sub-threshold
            signals), every indicator with a severity above 0.
        change: compared with the previous list, or None when none was given.
        probability: P(churn) from the trained or lifetime model (None without one).
        expected_spend_12m: expected spend over the next 12 months (None without odds).
        value_at_risk: ``probability x expected_spend_12m``.
        source: which model gave the odds.
        odds_evidence: why the model gives those odds: the terms that move them
            most, each with its log-odds ("silence ÷ own usual interval 3.20: +0.90").
    """

    patient_id: str | int
    level: RiskLevel
    score: float
    reason: ReasonCode
    indicators: tuple[IndicatorReading, ...]
    change: Change | None = None
    probability: float | None = None
    expected_spend_12m: float | None = None
    value_at_risk: float | None = None
    source: str = ""
    odds_evidence: str = ""

    @property
    def reasons(self) -> tuple[ReasonCode, ...]:
        """The primary reason, then the other reasons of the signals behind the warning."""
        out = [self.reason]
        for r in self.indicators:
            if r.reason not in out and r.reason != ReasonCode.BEHAVIOUR_ONLY:
                out.append(r.reason)
        return tuple(out)

    @property
    def evidence(self) -> str:
        """Every indicator's evidence as ``name: evidence``, joined with ``" | "``."""
        return " | ".join(f"{r.name}: {r.evidence}" for r in self.indicators)


@attrs.frozen
class ResolvedWarning:
    """A patient on the previous list who is no longer warned about."""

    patient_id: str | int
    previous_level: RiskLevel


@attrs.frozen(repr=False)
class PatientExplanation(Tabular):
    """Everything the scan knows about one patient: every indicator, dimension and verdict.

    ``level`` and ``score`` are the policy's verdict whatever the early-warning
    window says; ``beyond_window`` is True for a patient the window kept off
    the list (last visit more than ``lapsed_after_days`` days before the scan),
    and ``days_since_last_visit`` is None for a patient with no visit.
    """

    patient_id: str | int
    as_of: np.datetime64
    policy: str
    level: RiskLevel
    score: float
    reason: ReasonCode | None
    dimension_scores: Mapping[Dimension, float | None]
    readings: tuple[IndicatorReading, ...]
    rules_matched: tuple[str, ...] = ()
    days_since_last_visit: float | None = None
    beyond_window: bool = False
    lapsed_after_days: int | None = None

    ROW_KEY = "indicator"
    ROW_KEYS_ORDERED = False

    def _cells(self) -> dict[str, list[Any]]:
        """One row per indicator reading: name, dimension, value, severity, fired, evidence."""
        r = self.readings
        return {"indicator": [x.name for x in r], "dimension": [x.dimension.value for x in r],
                "value": [x.value for x in r], "severity": [x.severity for x in r],
                "fired": [x.fired for x in r], "evidence": [x.evidence for x in r]}

    def record(self, row: int) -> IndicatorReading:
        """The reading at ``row``."""
        return self.readings[row]

    def _display(self) -> Display:
        r = self.readings
        evidence = self._cells()
        figures = {"patient": self.patient_id, "as_of": self.as_of.astype("datetime64[D]"),
                   "level": self.level.label, "score": round(self.score, 1),
                   "reason": self.reason, "beyond_window": self.beyond_window}
        return Display("PatientExplanation", evidence, figures, head=len(r))

    def __str__(self) -> str:
        day = str(self.as_of.astype("datetime64[D]"))
        lines = [
            f"patient {self.patient_id} as of {day}: {self.level.label} "
            f"(score {self.score:.1f}, policy {self.policy})"
            + (f", reason {self.reason.value}" if self.reason else "")
        ]
        if self.beyond_window:
            lines.append(
                f"  not on the warning list: last visit {self.days_since_last_visit:.0f} days "
                f"before, beyond the {self.lapsed_after_days}-day early-warning window "
                "(hand to win-back)"
            )
        dims = ", ".join(
            f"{d.value} {'no data' if v is None else f'{v:.2f}'}"
            for d, v in self.dimension_scores.items()
        )
        lines.append(f"  dimensions: {dims}")
        if self.rules_matched:
            lines.append(f"  rules matched: {'; '.join(self.rules_matched)}")
        lines += [f"  {r}" for r in self.readings]
        return "\n".join(lines)


def _reading(panel: IndicatorPanel, k: int, row: int) -> IndicatorReading:
    r = panel.results[k]
    return IndicatorReading(
        name=r.name,
        dimension=r.dimension,
        value=float(r.value[row]),
        severity=float(r.severity[row]),
        fired=bool(r.fired[row]),
        signal=bool(r.signal[row]),
        evidence=r.evidence(row),
        reason=r.reason_of(row),
    )


PreviousLevels = Mapping[Any, RiskLevel | int | str]


@attrs.frozen(eq=False, repr=False)
class WarningList(Tabular):
    """The patients over threshold on one day, worst first (level, then score, then id).

    Columnar inside (a scan of a million patients builds no Python object per
    patient); records are built when you iterate, index, or call :meth:`get`.
    Evidence text is formatted only for the records you ask for.

    Attributes:
        as_of: the instant scanned.
        policy: the policy's name.
        patient_id: warned patients, in list order.
        level: their levels (``RiskLevel`` values).
        score: their scores.
        reason: their primary reasons (``ReasonCode`` values).
        change: per warning, a ``Change`` value, or "" when no previous list was given.
        resolved: patients warned about on the previous list and no longer.
        skipped: indicators not run because a source is absent.
        lapsed: patients beyond the early-warning window (last visit more than
            ``lapsed_after_days`` days before ``as_of``), sorted by id, whatever
            their level: beyond early warning, hand them to win-back. Empty
            when the window is off.
        lapsed_after_days: the window in days, or None when everyone was graded.
        notes: what the caller should know about the scan itself, in plain
            words (e.g. the scan date lies past the end of the data, so every
            patient is beyond the window and the list is empty for that reason).
        panel: every indicator's result for every patient (for :meth:`explain`).
        assessment: the policy's verdict for every patient of the panel.
        rules: the policy whose explanations (its optional ``explain`` hook:
            the rules a patient satisfies, say) :meth:`explain` lists as
            ``rules_matched``; None lists none.
    """

    FRAME_CATEGORIES = ("level", "change")
    ROW_KEYS_ORDERED = False  # list order: worst first

    as_of: np.datetime64
    policy: str
    patient_id: IdArray = attrs.field(repr=False)
    level: npt.NDArray[np.int8] = attrs.field(repr=False)
    score: npt.NDArray[np.float64] = attrs.field(repr=False)
    reason: npt.NDArray[np.str_] = attrs.field(repr=False)
    change: npt.NDArray[np.str_] = attrs.field(repr=False)
    rows: npt.NDArray[np.int64] = attrs.field(repr=False)
    panel: IndicatorPanel = attrs.field(repr=False)
    assessment: RiskAssessment = attrs.field(repr=False)
    resolved: tuple[ResolvedWarning, ...] = ()
    skipped: tuple[SkippedIndicator, ...] = ()
    rules: RiskPolicy | None = attrs.field(default=None, repr=False)
    lapsed: IdArray = attrs.field(factory=lambda: np.empty(0, np.int64), repr=False)
    lapsed_after_days: int | None = None
    odds: ChurnOdds | None = attrs.field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    @property
    def probability(self) -> npt.NDArray[np.float64] | None:
        """P(churn) of each warning, in list order (None without a model)."""
        return None if self.odds is None else self.odds.probability[self.rows]

    @property
    def value_at_risk(self) -> npt.NDArray[np.float64] | None:
        """P(churn) x expected 12-month spend of each warning, in list order."""
        return None if self.odds is None else self.odds.value_at_risk[self.rows]

    def by_value_at_risk(self) -> WarningList:
        """The same warnings, largest value at risk first (then the usual order).

        The documents' "valuable but absent" patients come first. ConfigError
        when the list has no odds (scan with a trained or lifetime model).
        """
        value = self.value_at_risk
        if value is None:
            raise ConfigError("the list has no churn odds: scan with a trained model first")
        order = np.argsort(-value, kind="stable")
        return attrs.evolve(
            self, patient_id=self.patient_id[order], level=self.level[order],
            score=self.score[order], reason=self.reason[order], change=self.change[order],
            rows=self.rows[order],
        )

    def __len__(self) -> int:
        return int(self.patient_id.shape[0])

    def _display(self) -> Display:
        levels = np.array([lv.label for lv in RiskLevel])[self.level.astype(np.int64)]
        columns = {"patient_id": self.patient_id, "level": levels, "score": self.score,
                   "reason": self.reason, "change": self.change}
        figures = {"as_of": self.as_of.astype("datetime64[D]"), "policy": self.policy,
                   **{lv.label: n for lv, n in self.counts().items()},
                   "lapsed": len(self.lapsed)}
        return Display("WarningList", columns, figures)

    def __iter__(self) -> Iterator[PatientWarning]:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, i: int) -> PatientWarning:
        if not -len(self) <= i < len(self):
            raise IndexError(f"warning {i} out of range ({len(self)} warnings)")
        i %= max(len(self), 1)
        row = int(self.rows[i])
        ks = signals_behind(self.panel, row)
        sev = np.array([self.panel.results[k].severity[row] for k in ks])
        order = ks[np.argsort(-sev, kind="stable")]
        change = str(self.change[i])
        odds = self.odds
        return PatientWarning(
            patient_id=self.patient_id[i].item(),
            level=RiskLevel(int(self.level[i])),
            score=float(self.score[i]),
            reason=ReasonCode(str(self.reason[i])),
            indicators=tuple(_reading(self.panel, int(k), row) for k in order),
            change=Change(change) if change else None,
            probability=None if odds is None else float(odds.probability[row]),
            expected_spend_12m=None if odds is None else float(odds.expected_spend_12m[row]),
            value_at_risk=None if odds is None else float(odds.value_at_risk[row]),
            source="" if odds is None else odds.source,
            odds_evidence="" if odds is None else odds.explain_row(row),
        )

    def to_records(self) -> tuple[WarningRecord, ...]:
        """One frozen :class:`~rfm_retention.risk.WarningRecord` per warning, in list order.

        The typed form a warning crosses to a case in
        (:func:`~rfm_retention.interventions.intake_warnings` reads it).
        """
        return tuple(
            WarningRecord(w.patient_id, w.level, w.reason, w.score, w.evidence,
                          w.change.value if w.change else "")
            for w in self
        )

    def top(self, n: int) -> list[PatientWarning]:
        """The first ``n`` warnings as records (the worst ones)."""
        return [self[i] for i in range(min(max(n, 0), len(self)))]

    def position(self, patient_id: str | int) -> int | None:
        """Position of a patient on the list, None when not warned about."""
        hits = np.flatnonzero(self.patient_id == patient_id)
        return int(hits[0]) if len(hits) else None

    def get(self, patient_id: str | int) -> PatientWarning | None:
        """The warning about one patient, or None when the patient is not on the list."""
        at = self.position(patient_id)
        return None if at is None else self[at]

    def row_of(self, patient_id: Any) -> int:
        """Position of a patient on the list; KeyError when the patient is not warned about."""
        at = self.position(patient_id)
        if at is None:
            raise KeyError(f"patient {patient_id!r} is not on the warning list")
        return at

    def record(self, row: int) -> PatientWarning:
        """The warning at position ``row`` of the list."""
        return self[row]

    def counts(self) -> dict[RiskLevel, int]:
        """How many warnings at each level (HIGH, MEDIUM, LOW)."""
        return {
            lvl: int(np.sum(self.level == lvl))
            for lvl in (RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW)
        }

    def levels_by_patient(self) -> dict[Any, RiskLevel]:
        """``{patient_id: level}``: what tomorrow's scan compares against."""
        return {
            pid: RiskLevel(int(lvl))
            for pid, lvl in zip(self.patient_id.tolist(), self.level.tolist(), strict=True)
        }

    def explain(self, patient_id: str | int) -> PatientExplanation:
        """One patient's full picture: every indicator's reading, dimension scores, verdict.

        Works for every patient in the data, warned about or not, including
        patients beyond the early-warning window (``beyond_window`` is True and
        the text says so); KeyError for an unknown patient.
        """
        from rfm_retention.risk._score import DIMENSIONS, dimension_scores

        row = self.panel.row_of(patient_id)
        one = self.panel.subset(np.array([row]))
        dims = dimension_scores(one)[:, 0]
        at = self.position(patient_id)
        matched = () if self.rules is None else explanations(self.rules, one)[0]
        readings = tuple(_reading(self.panel, k, row) for k in range(len(self.panel.results)))
        days = float(self.panel.days_since_last_visit()[row])
        return PatientExplanation(
            patient_id=self.panel.patients[row].item(),
            as_of=self.as_of,
            policy=self.policy,
            level=RiskLevel(int(self.assessment.level[row])),
            score=float(self.assessment.score[row]),
            reason=None if at is None else ReasonCode(str(self.reason[at])),
            dimension_scores={
                d: (None if np.isnan(v) else float(v))
                for d, v in zip(DIMENSIONS, dims, strict=True)
            },
            readings=readings,
            rules_matched=matched,
            days_since_last_visit=None if np.isnan(days) else days,
            beyond_window=self.is_lapsed(patient_id),
            lapsed_after_days=self.lapsed_after_days,
        )

    def is_lapsed(self, patient_id: str | int) -> bool:
        """Whether a patient is beyond the early-warning window (see :attr:`lapsed`)."""
        if not len(self.lapsed):
            return False
        try:
            pos = int(np.searchsorted(self.lapsed, patient_id))
        except TypeError:  # an id of the other kind (text vs integer) is nobody here
            return False
        return pos < len(self.lapsed) and bool(self.lapsed[pos] == patient_id)

    def compared_with(self, previous: WarningList | PreviousLevels) -> WarningList:
        """This list with each warning marked new / escalated / unchanged / de-escalated.

        ``previous`` is yesterday's list or a ``{patient_id: level}`` mapping
        (levels as ``RiskLevel``, ints or names). A patient absent from it (or
        at level none) is new. Patients warned about yesterday and not today
        are listed in :attr:`resolved` (also those who crossed the
        early-warning window since: :meth:`to_columns` says so).
        """
        before = previous.levels_by_patient() if isinstance(previous, WarningList) else previous
        prev_level: dict[Any, RiskLevel] = {}
        for pid, lvl in before.items():
            try:
                parsed = RiskLevel.parse(lvl) if isinstance(lvl, str) else RiskLevel(int(lvl))
            except ValueError as exc:
                raise ConfigError(f"previous list, patient {pid!r}: {exc}") from None
            prev_level[pid] = parsed
        old = np.array(
            [int(prev_level.get(p, RiskLevel.NONE)) for p in self.patient_id.tolist()],
            dtype=np.int8,
        )
        change = np.where(
            old == RiskLevel.NONE,
            Change.NEW.value,
            np.where(
                self.level > old,
                Change.ESCALATED.value,
                np.where(self.level == old, Change.UNCHANGED.value, Change.DE_ESCALATED.value),
            ),
        ).astype("U12")
        current = set(self.patient_id.tolist())
        resolved = tuple(
            ResolvedWarning(pid, lvl)
            for pid, lvl in sorted(prev_level.items(), key=lambda kv: (-kv[1], str(kv[0])))
            if lvl > RiskLevel.NONE and pid not in current
        )
        return attrs.evolve(self, change=change, resolved=resolved)

    def to_columns(self, *, include_resolved: bool = True) -> dict[str, npt.NDArray[Any]]:
        """Typed columns, one row per warning (and per resolved patient); see :meth:`to_rows`."""
        return typed_columns(self._cells(include_resolved=include_resolved))

    def to_rows(self, *, include_resolved: bool = True) -> tuple[list[str], list[list[str]]]:
        """The warnings CSV: header and one row of cells per warning (and resolved patient).

        Columns: ``patient_id``, ``level``, ``score`` (one decimal), ``reasons``
        (primary first, ``;``-separated), ``indicators`` (the signals behind
        it), ``evidence``, ``change`` (empty without a previous list); with
        churn odds also ``p_churn``, ``expected_spend_12m``, ``value_at_risk``
        and ``odds_evidence``. With
        ``include_resolved``, resolved patients follow as rows with level
        ``none`` and change ``resolved``.
        """
        return text_rows(self._cells(include_resolved=include_resolved))

    def _cells(self, *, include_resolved: bool = True) -> dict[str, list[Any]]:
        records = list(self)
        cols: dict[str, list[Any]] = {
            "patient_id": [w.patient_id for w in records],
            "level": [w.level.label for w in records],
            "score": [round(w.score, 1) for w in records],
            "reasons": [";".join(r.value for r in w.reasons) for w in records],
            "indicators": [";".join(r.name for r in w.indicators) for w in records],
            "evidence": [w.evidence for w in records],
            "change": [w.change.value if w.change else "" for w in records],
        }
        if self.odds is not None:
            cols["p_churn"] = [_rounded(w.probability, 4) for w in records]
            cols["expected_spend_12m"] = [_rounded(w.expected_spend_12m, 2) for w in records]
            cols["value_at_risk"] = [_rounded(w.value_at_risk, 2) for w in records]
            cols["odds_evidence"] = [w.odds_evidence for w in records]
        if include_resolved:
            for gone in self.resolved:
                row = {
                    "patient_id": gone.patient_id,
                    "level": RiskLevel.NONE.label,
                    "change": "resolved",
                    "evidence": f"was {gone.previous_level.label}; "
                    + (
                        f"beyond the {self.lapsed_after_days}-day early-warning window "
                        "(hand to win-back)"
                        if self.is_lapsed(gone.patient_id)
                        else "no longer over threshold"
                    ),
                }
                for key, column in cols.items():
                    column.append(row.get(key, ""))
        return cols


def _rounded(value: float | None, digits: int) -> float | str:
    return "" if value is None or np.isnan(value) else round(value, digits)


def reason_values(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    """Reason code indices -> their text values."""
    names = np.array([r.value for r in REASON_ORDER])
    out: npt.NDArray[np.str_] = names[codes]
    return out
