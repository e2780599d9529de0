"""Backtesting a warning system: replay it at past dates and score it on what happened next.

For every scan date ``t`` (see :mod:`~rfm_retention.metrics._replay` for the
no-peeking rules):

1. the **population** is every patient seen on or before ``t`` and not
   already lapsed (or everyone seen, with ``population="all"``);
2. the **outcome** is "no visit in the ``horizon`` days after ``t``" (default)
   or "lapsed within the horizon" (the lapse rule of the KPIs);
3. the method under test and the **naive baseline** (days since the last
   visit, alone) each score the population from the data cut at ``t``;
4. each gets: AUC, average precision, precision and recall at ``k`` (``k`` =
   how many patients the team can call in a week), lift in the top decile,
   the probability figures (Brier score, log-loss, decile calibration error;
   see :mod:`~rfm_retention.metrics._quality`) and precision and
   recall *per level* — patients at that level *or above*, the set a team
   acting from that level would call. The baseline has no levels of its own,
   so it is given the method's level counts: its top ``n_high`` patients are
   "high", the next ``n_medium`` "medium" and so on (ties broken by patient
   id). Both then spend the same effort, and the figures compare like for like.

**Probabilities.** A method that states P(churn) (``Scores.probability``:
the trained model, the trainable score's ``score / 100``) is judged on it.
One that only ranks (days since the last visit) states no probability: its
Brier, log-loss and calibration columns are those of its implied rate, the
same probability (the base rate) for everyone, which is also the bar every
probability must beat (``base_rate_brier``).

**No judging on training labels.** A scorer with a ``labels_until`` date
(a trained model: the last day its training labels read) is refused at any
scan date before it.

**Lead time**, over all scan dates together, follows the chosen outcome: it
measures how early the method warned about the *departures that outcome
defines*. A departure is a patient, the day ``v`` of their last visit before
it, and the day ``L`` they count as gone, seen by the end of the data:

* ``"no_visit"``: a silence longer than the horizon ``H``: ``L = v + H + 1``,
  the first day on which "no visit in the ``H`` days after" has come true
  (the next visit, if any, is on or after ``L``);
* ``"lapse"``: a lapse of the lapse rule: ``L = v + floor(E + G) + 1``;
* ``"known"``: a known churn day ``L``; ``v`` is the patient's last visit day
  before ``L`` (patients with no visit before it are skipped).

A departure *could be warned about* when at least one scan date ``t`` falls
strictly between ``v`` and ``L``; it *was* warned about when such a scan
flagged the patient at ``warn_level`` or above, and its lead time is ``L``
minus the first such ``t``, in days. Flags before ``v`` do not count: the
patient came back after them. Reported: departures that could have been
warned about (``lapses_warnable``), how many were (``lapses_warned``) and the
median lead time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray, IntArray
from rfm_retention._display import Display
from rfm_retention._progress import Progress, report_progress
from rfm_retention._tabular import Tabular
from rfm_retention.data._bundle import PatientData, as_patient_data
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.features import patient_features
from rfm_retention.metrics._lapse import lapse_days
from rfm_retention.metrics._quality import (
    average_precision,
    brier_score,
    decile_calibration_error,
    log_loss,
)
from rfm_retention.metrics._ranking import (
    auc,
    lift_at,
    median_or_nan,
    precision_at_k,
    precision_recall,
    recall_at_k,
)
from rfm_retention.metrics._replay import ChurnOutcome, data_until, outcome_labels
from rfm_retention.metrics._visits import (
    VisitDays,
    as_id_array,
    last_day_before,
    patient_positions,
    visit_days,
)
from rfm_retention.time import TimeLike, day_end, day_number, to_date
from rfm_retention.vocabulary import RiskLevel

__all__ = [
    "DEFAULT_K",
    "Backtest",
    "DaysSinceLastVisit",
    "Departures",
    "LeadTimes",
    "LevelResult",
    "MethodResult",
    "Scorer",
    "Scores",
    "backtest",
    "departures",
    "match_levels",
]


DEFAULT_K = 100
"""Patients a retention team can call in a week; set it to your team's capacity."""
TOP_DECILE = 0.1
LEVELS = (RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOW)


@attrs.frozen(eq=False)
class Scores:
    """A method's verdict on a population: a score (higher = riskier) and a level each.

    Examples:
        >>> s = Scores.of(["b", "a"], [10.0, 80.0], [0, 3])
        >>> s.patient_id.tolist(), s.level.tolist()
        (['a', 'b'], [3, 0])
    """

    patient_id: IdArray
    score: FloatArray
    level: IntArray
    probability: FloatArray | None = None

    @classmethod
    def of(
        cls, patient_id: Any, score: Any, level: Any = None, probability: Any = None
    ) -> Scores:
        """From parallel sequences (levels as ``RiskLevel`` values; default all NONE;
        ``probability``: the method's P(churn), if it states one)."""
        ids = as_id_array(patient_id)
        s = np.asarray(score, np.float64)
        lv = np.zeros(len(ids), np.int64) if level is None else np.asarray(level, np.int64)
        if not (len(ids) == len(s) == len(lv)):
            raise ConfigError("scores: patient_id, score and level need equal lengths")
        prob = None if probability is None else np.asarray(probability, np.float64)
        if prob is not None and (prob.shape != s.shape or not ((prob >= 0) & (prob <= 1)).all()):
            raise ConfigError("scores: one probability in [0, 1] per patient is needed")
        order = np.argsort(ids, kind="stable")
        return cls(ids[order], s[order], lv[order], None if prob is None else prob[order])


@runtime_checkable
class Scorer(Protocol):
    """Anything that scores patients from the data as it stood on a day.

    ``data`` is already cut to rows on or before ``at``; a scorer must not
    look further. Implement ``name`` and ``score``::

        class MyModel:
            name = "my model"
            def score(self, data, at):
                return Scores.of(ids, probabilities, levels)
    """

    @property
    def name(self) -> str:
        """Label in reports."""
        ...

    def score(self, data: PatientData, at: dt.date) -> Scores:
        """Score (and grade) the patients of ``data`` as of ``at``."""
        ...


@attrs.frozen
class DaysSinceLastVisit:
    """The naive baseline: the longer since the last visit, the riskier; no levels.

    Examples:
        >>> from rfm_retention.data import PatientData, VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "b"], amount=[1.0, 1.0],
        ...                            visit_time=["2024-01-01", "2024-03-01"])
        >>> s = DaysSinceLastVisit().score(PatientData(visits=log), dt.date(2024, 3, 31))
        >>> s.score.tolist()
        [90.0, 30.0]
    """

    name: ClassVar[str] = "baseline: days since last visit"

    def score(self, data: PatientData, at: dt.date) -> Scores:
        """Days since each patient's last visit as of ``at``."""
        f = patient_features(data.visits, day_end(at))  # the day's instant, not a conversion
        return Scores.of(f.patient_id, f.days_since_last_visit.astype(np.float64))


def match_levels(score: FloatArray, patient_id: IdArray, reference: IntArray) -> IntArray:
    """Levels for ``score`` with the same count per level as ``reference`` (by rank).

    The highest ``count(reference == HIGH)`` scores become HIGH, the next
    ``count(MEDIUM)`` MEDIUM, then LOW; equal scores are ordered by patient id.

    Examples:
        >>> match_levels(np.array([1.0, 9.0, 5.0]), np.array(["a", "b", "c"]),
        ...              np.array([3, 0, 2])).tolist()
        [0, 3, 2]
    """
    order = np.lexsort((patient_id, -score))
    out = np.zeros(len(score), np.int64)
    start = 0
    for level in LEVELS:
        count = int((reference == int(level)).sum())
        out[order[start : start + count]] = int(level)
        start += count
    return out


@attrs.frozen
class LevelResult:
    """Precision and recall of flagging the patients at ``level`` or above."""

    level: RiskLevel
    flagged: int
    precision: float
    recall: float


def _percent(value: float) -> str:
    """A share as a percentage with one decimal; blank when undefined (no patient to divide by)."""
    return "" if np.isnan(value) else f"{value * 100.0:,.1f}"


def _fixed(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals; blank when undefined."""
    return "" if np.isnan(value) else f"{value:.{digits}f}"


def level_cell(result: LevelResult) -> str:
    """``precision/recall (n=flagged)`` in percent; ``—`` when the level flagged nobody.

    Example:
        >>> level_cell(LevelResult(RiskLevel.HIGH, 10, 0.3, float("nan")))
        '30/ (n=10)'
    """
    if result.flagged == 0:
        return "—"
    p, r = (_fixed(v * 100.0, 0) for v in (result.precision, result.recall))
    return f"{p}/{r} (n={result.flagged})"


@attrs.frozen
class MethodResult:
    """One method at one scan date."""

    at: dt.date
    method: str
    patients: int
    positives: int
    auc: float
    precision_at_k: float
    recall_at_k: float
    lift_top_decile: float
    by_level: tuple[LevelResult, ...]
    average_precision: float = float("nan")
    brier: float = float("nan")
    log_loss: float = float("nan")
    calibration_error: float = float("nan")
    states_probability: bool = False

    @property
    def base_rate(self) -> float:
        """``positives / patients``: the precision of calling patients at random."""
        return self.positives / self.patients if self.patients else float("nan")

    @property
    def base_rate_brier(self) -> float:
        """Brier score of predicting the base rate for everyone: ``r (1 - r)``."""
        r = self.base_rate
        return r * (1.0 - r)


@attrs.frozen(eq=False)
class LeadTimes:
    """Lead times of one method over every scan date (see the module docstring).

    Attributes:
        method: the method's name.
        lapses: departures (under the backtest's outcome) at least one scan
            date fell before, after the last visit: those that could be warned about.
        warned: of those, departures the method flagged ahead.
        days: lead time of each warned departure, in days.

    Examples:
        >>> lt = LeadTimes("scan", lapses=3, warned=2, days=np.array([12, 36]))
        >>> lt.median_days
        24.0
    """

    method: str
    lapses: int
    warned: int
    days: IntArray = attrs.field(repr=False)

    @property
    def median_days(self) -> float:
        """Median lead time in days; NaN when no lapse was warned about."""
        return median_or_nan(self.days)


@attrs.frozen(eq=False, repr=False)
class Backtest(Tabular):
    """Every method's figures at every scan date, and their lead times.

    ``as_of`` is the instant the outcomes are observed until (the end of
    ``observed_until``, by default of the last visit's day), as on every result.
    """

    outcome: ChurnOutcome
    k: int
    warn_level: RiskLevel
    results: tuple[MethodResult, ...]
    lead_times: tuple[LeadTimes, ...]
    as_of: np.datetime64 = attrs.field(kw_only=True)

    def _display(self) -> Display:
        figures = {"outcome": self.outcome.kind, "k": self.k, "warn_level": self.warn_level.label}
        return Display("Backtest", self.to_columns(), figures)

    def lead_time_of(self, method: str) -> LeadTimes:
        """The lead times of one method by name."""
        for lead in self.lead_times:
            if lead.method == method:
                return lead
        raise KeyError(f"no method named {method!r} in this backtest")

    @property
    def effective_k(self) -> int:
        """The ``k`` precision at ``k`` really used: ``k``, capped at the fewest patients scored."""
        return min((r.patients for r in self.results), default=self.k)

    def to_rows(self) -> tuple[list[str], list[list[str]]]:
        """The metrics as a display table: header and one row per (scan date, method).

        Shares are percentages, undefined figures are blank, and each level
        column reads ``precision/recall (n=flagged)``; a level that flagged
        nobody shows ``—`` (there is nothing to be precise about).

        Example:
            >>> lv = LevelResult(RiskLevel.HIGH, 0, float("nan"), 0.0)
            >>> level_cell(lv), level_cell(attrs.evolve(lv, flagged=4, precision=0.5))
            ('—', '50/0 (n=4)')
        """
        header = ["at", "method", "patients", "left %", "AUC", "AP",
                  f"prec@{self.effective_k} %", "lift top 10%", "high P/R %", "medium+ P/R %"]
        rows = [
            [r.at.isoformat(), r.method, str(r.patients), _percent(r.base_rate),
             _fixed(r.auc, 3),
             _fixed(r.average_precision, 3), _percent(r.precision_at_k),
             _fixed(r.lift_top_decile, 2), level_cell(r.by_level[0]), level_cell(r.by_level[1])]
            for r in self.results
        ]
        return header, rows

    ROW_KEY = ("at", "method")

    def record(self, row: int) -> MethodResult:
        """The figures of one (scan date, method) row."""
        return self.results[row]

    def _cells(self) -> dict[str, list[Any]]:
        """One row per (scan date, method); lead-time columns repeat the method's totals."""
        cols: dict[str, list[Any]] = {}

        def put(name: str, value: Any) -> None:
            cols.setdefault(name, []).append(value)

        for r in self.results:
            lead = self.lead_time_of(r.method)
            put("at", np.datetime64(r.at, "D"))
            put("method", r.method)
            put("patients", r.patients)
            put("positives", r.positives)
            put("base_rate", r.base_rate)
            put("auc", r.auc)
            put(f"precision_at_{self.k}", r.precision_at_k)
            put(f"recall_at_{self.k}", r.recall_at_k)
            put("lift_top_decile", r.lift_top_decile)
            put("average_precision", r.average_precision)
            put("brier", r.brier)
            put("base_rate_brier", r.base_rate_brier)
            put("log_loss", r.log_loss)
            put("calibration_error", r.calibration_error)
            put("states_probability", r.states_probability)
            for lv in r.by_level:
                put(f"{lv.level.label}_flagged", lv.flagged)
                put(f"{lv.level.label}_precision", lv.precision)
                put(f"{lv.level.label}_recall", lv.recall)
            put("lapses_warnable", lead.lapses)
            put("lapses_warned", lead.warned)
            put("median_lead_days", lead.median_days)
        return cols


def _aligned(
    scores: Scores, population: IdArray
) -> tuple[FloatArray, IntArray, FloatArray | None]:
    """Scores of ``population``; patients the method did not score rank last, level NONE
    (and, with probabilities, get the lowest probability the method gave)."""
    where = patient_positions(scores.patient_id, population, what="scores")
    known = where >= 0
    score = np.full(len(population), -np.inf)
    level = np.zeros(len(population), np.int64)
    score[known] = scores.score[where[known]]
    level[known] = scores.level[where[known]]
    if np.isnan(score).any():
        raise ConfigError("a scorer returned NaN scores; give every patient a number")
    prob = None
    if scores.probability is not None:
        floor = float(scores.probability.min()) if scores.probability.size else 0.0
        prob = np.full(len(population), floor)
        prob[known] = scores.probability[where[known]]
    return score, level, prob


def _evaluate(
    at: dt.date, method: str, score: FloatArray, level: IntArray,
    positive: npt.NDArray[np.bool_], k: int, probability: FloatArray | None = None,
) -> MethodResult:
    by_level = []
    for lv in LEVELS:
        flagged = level >= int(lv)
        p, r = precision_recall(flagged, positive)
        by_level.append(LevelResult(lv, int(flagged.sum()), p, r))
    n = len(score)
    states = probability is not None
    if probability is None:  # a ranking only: its implied rate is the base rate for everyone
        probability = np.full(n, float(positive.mean()) if n else 0.0)
    return MethodResult(
        at=at,
        method=method,
        patients=n,
        positives=int(positive.sum()),
        auc=auc(score, positive) if n else float("nan"),
        precision_at_k=precision_at_k(score, positive, k) if n else float("nan"),
        recall_at_k=recall_at_k(score, positive, k) if n else float("nan"),
        lift_top_decile=lift_at(score, positive, TOP_DECILE) if n else float("nan"),
        by_level=tuple(by_level),
        average_precision=average_precision(score, positive) if n else float("nan"),
        brier=brier_score(probability, positive),
        log_loss=log_loss(probability, positive),
        calibration_error=decile_calibration_error(probability, positive),
        states_probability=states,
    )


@attrs.frozen(eq=False)
class Departures:
    """Departures under an outcome (see the module docstring), one row each.

    Attributes:
        patient: position of the patient in the visit log's ``patient_ids``.
        last_visit_day: ``v``, day number of the last visit before the departure.
        day: ``L``, day number from which the patient counts as gone.
    """

    patient: IntArray
    last_visit_day: IntArray
    day: IntArray


def departures(
    visits: Any, outcome: ChurnOutcome, observed_until_day: int
) -> Departures:
    """The departures the outcome defines, seen by ``observed_until_day``.

    Examples:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "a", "b"], amount=[1.0] * 3,
        ...     visit_time=["2024-01-01", "2024-05-01", "2024-01-10"])
        >>> gone = departures(log, ChurnOutcome(horizon_days=90), day_number("2024-06-30"))
        >>> [str(to_date(d)) for d in gone.day]  # v + 90 + 1: a's 121-day gap, b's silence
        ['2024-04-01', '2024-04-10']
    """
    vd = visit_days(visits, observed_until_day)
    if outcome.kind == "known":
        return _known_departures(visits, vd, outcome, observed_until_day)
    if outcome.kind == "no_visit":
        limit = vd.day + np.int64(outcome.horizon_days) + 1
    else:
        _, limit = lapse_days(vd, outcome.rule)
    event = (vd.next_day >= limit) & (limit <= observed_until_day)
    return Departures(vd.patient[event], vd.day[event], limit[event])


def _known_departures(
    visits: Any, vd: VisitDays, outcome: ChurnOutcome, observed_until_day: int
) -> Departures:
    if outcome.churn_patient_id is None:
        raise RuntimeError("internal: outcome.churn_patient_id is unset")
    if outcome.churn_day is None:
        raise RuntimeError("internal: outcome.churn_day is unset")
    where = patient_positions(visits.patient_ids, outcome.churn_patient_id, what="churn")
    seen = (where >= 0) & (outcome.churn_day <= observed_until_day)
    patient, day = where[seen], outcome.churn_day[seen].astype(np.int64)
    row = last_day_before(vd, patient, day)  # last visit day strictly before the churn day
    has = row >= 0
    return Departures(patient[has], vd.day[row[has]], day[has])


def _lead_times(
    method: str,
    flagged_patient: IntArray,
    flagged_day: IntArray,
    scan_days: IntArray,
    event_patient: IntArray,
    event_last: IntArray,
    event_lapse: IntArray,
) -> LeadTimes:
    # lapses with a scan date strictly between the last visit and the lapse day
    first_scan = np.searchsorted(scan_days, event_last, side="right")
    clipped = np.minimum(first_scan, len(scan_days) - 1)
    warnable = (first_scan < len(scan_days)) & (scan_days[clipped] < event_lapse)
    span = np.int64(1 << 32)
    keys = np.sort(flagged_patient * span + flagged_day)
    query = event_patient * span + event_last
    pos = np.searchsorted(keys, query, side="right")
    hit_key = np.append(keys, np.int64(-1))[pos]  # -1: no flag after the last visit
    found = warnable & (hit_key // span == event_patient) & (hit_key % span < event_lapse)
    days = (event_lapse[found] - hit_key[found] % span).astype(np.int64)
    return LeadTimes(method, int(warnable.sum()), int(found.sum()), days)


def _check_not_trained_on(methods: Sequence[Scorer], scan_days: IntArray) -> None:
    """ConfigError when a scan date (a day number) is before a method's ``labels_until``."""
    first = to_date(int(scan_days.min()))
    for m in methods:
        until = getattr(m, "labels_until", None)
        if until is not None and first < until:
            raise ConfigError(
                f"{m.name!r} was trained on outcomes read up to {until}; it cannot be "
                f"backtested at {first}. Backtest on or after {until}, or train earlier"
            )


def backtest(
    data: PatientData | Any,
    at: Sequence[TimeLike],
    *,
    scorer: Scorer | Sequence[Scorer],
    baseline: Scorer | None = None,
    outcome: ChurnOutcome | None = None,
    k: int = DEFAULT_K,
    warn_level: RiskLevel = RiskLevel.MEDIUM,
    population: Literal["active", "all"] = "active",
    observed_until: TimeLike | None = None,
    progress: Progress | None = None,
) -> Backtest:
    """Replay ``scorer`` (and the baseline) at each date of ``at`` and score them.

    Args:
        data: the full history (visits plus any sources); a
            :class:`~rfm_retention.data.VisitLog` or a table of visits on a
            dataframe engine (pulled once by
            :func:`~rfm_retention.data.as_patient_data`) is the visits alone.
        at: scan dates; each needs its whole horizon inside the data.
        scorer: the method under test (the risk scan, a trained score, yours),
            or several, each reported in turn.
        baseline: the comparison; default :class:`DaysSinceLastVisit`. When it
            has no levels it gets the first method's level counts.
        outcome: what "left" means and the horizon; default no visit in 90 days.
        k: patients the team can call in a week (precision/recall at k).
        warn_level: the level from which a flag counts for lead time.
        population: ``"active"`` (not yet lapsed, default) or ``"all"`` seen.
        observed_until: last day the data covers; default the last visit day.
        progress: a :data:`~rfm_retention.Progress` callback, told of each
            scan date done (stage ``"backtest"``, unit ``"dates"``).

    Examples:
        >>> from rfm_retention.testing import synthetic_cohort
        >>> class Frequency:  # fewer visits per year = riskier, graded by hand
        ...     name = "infrequent"
        ...     def score(self, data, at):
        ...         f = patient_features(data.visits, at)
        ...         level = np.where(f.visits_per_year < 2, 2, 0)
        ...         return Scores.of(f.patient_id, -f.visits_per_year, level)
        >>> cohort = synthetic_cohort(300, seed=3)
        >>> bt = backtest(cohort.data, ["2023-06-30", "2023-09-30"], scorer=Frequency())
        >>> [(r.at.isoformat(), r.method) for r in bt.results][:2]
        [('2023-06-30', 'infrequent'), ('2023-06-30', 'baseline: days since last visit')]
        >>> 0.0 <= bt.results[0].auc <= 1.0
        True
    """
    if not at:
        raise ConfigError("give at least one scan date")
    methods, base = _methods(scorer, baseline, k)
    scan_days = _scan_days(at)
    _check_not_trained_on([*methods, base], scan_days)
    data = _history(data)
    outcome = outcome or ChurnOutcome()
    observed = _observed_day(data.visits, observed_until)
    flags = _Flags.empty([*methods, base])
    results: list[MethodResult] = []
    report_progress(progress, "backtest", 0, len(scan_days), "dates")
    for done, day in enumerate(scan_days.tolist(), start=1):
        labels = outcome_labels(
            data.visits, day, outcome, observed_until_day=observed, population=population
        )
        for judged in _judge_day(data, day, labels.patient_id, methods, base):
            name, score, level, prob = judged
            results.append(_evaluate(to_date(day), name, score, level, labels.positive, k, prob))
            flags.add(judged, labels.patient_id, data.visits, day, warn_level)
        report_progress(progress, "backtest", done, len(scan_days), "dates")
    leads = flags.lead_times(departures(data.visits, outcome, observed), scan_days)
    return Backtest(
        outcome, k, warn_level, tuple(results), leads, as_of=day_end(observed)
    )


def _methods(
    scorer: Scorer | Sequence[Scorer], baseline: Scorer | None, k: int
) -> tuple[list[Scorer], Scorer]:
    """The methods under test and the baseline, after checking ``k`` and their names."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"k must be a positive whole number, got {k!r}")
    base = baseline if baseline is not None else DaysSinceLastVisit()
    methods = [scorer] if isinstance(scorer, Scorer) else list(scorer)
    if not methods:
        raise ConfigError("give at least one method to backtest")
    names = [m.name for m in methods] + [base.name]
    if len(set(names)) != len(names):
        raise ConfigError(f"the methods and the baseline need distinct names, got {names}")
    return methods, base


def _history(data: PatientData | Any) -> PatientData:
    """The full history as a bundle; ConfigError when it has no visit."""
    bundle = as_patient_data(data, what="backtest")
    if len(bundle.visits) == 0:
        raise ConfigError("the visit log is empty: nothing to backtest")
    return bundle


def _observed_day(visits: Any, observed_until: TimeLike | None) -> int:
    """The day number the data covers up to: ``observed_until``, or the last visit's day."""
    if observed_until is not None:
        return day_number(observed_until)
    return int(visits.time.max().astype("datetime64[D]").astype(np.int64))


def _scan_days(at: Sequence[TimeLike]) -> IntArray:
    """The scan dates as sorted, distinct day numbers (each converted once)."""
    return np.unique(np.array([day_number(a) for a in at], np.int64))


Judged = tuple[str, FloatArray, IntArray, "FloatArray | None"]


def _judge_day(
    data: PatientData, day: int, population: IdArray, methods: Sequence[Scorer], base: Scorer
) -> list[Judged]:
    """Every method's and the baseline's scores, levels and probabilities of ``population``,
    each from the data cut at the end of ``day``."""
    when = to_date(day)
    past = data_until(data, day_end(day))
    judged = [(m.name, *_aligned(m.score(past, when), population)) for m in methods]
    score, level, prob = _aligned(base.score(past, when), population)
    judged.append((base.name, score, _baseline_levels(score, level, population, judged), prob))
    return judged


def _baseline_levels(
    score: FloatArray, level: IntArray, population: IdArray, judged: Sequence[Judged]
) -> IntArray:
    """The baseline's own levels, or, when it has none, the first method's level counts."""
    return level if level.any() else match_levels(score, population, judged[0][2])


@attrs.define
class _Flags:
    """Per method, the patients (log positions) flagged at ``warn_level`` and the scan days."""

    patients: dict[str, list[IntArray]]
    days: dict[str, list[IntArray]]

    @classmethod
    def empty(cls, methods: Sequence[Scorer]) -> _Flags:
        """No flag yet for any of ``methods``."""
        return cls({m.name: [] for m in methods}, {m.name: [] for m in methods})

    def add(
        self, judged: Judged, population: IdArray, visits: Any, day: int, warn_level: RiskLevel
    ) -> None:
        """Record who one method flagged at ``warn_level`` or above on ``day``."""
        name, _, level, _ = judged
        chosen = level >= int(warn_level)
        positions = patient_positions(visits.patient_ids, population, what="population")
        self.patients[name].append(positions[chosen])
        self.days[name].append(np.full(int(chosen.sum()), day, np.int64))

    def lead_times(self, gone: Departures, scan_days: IntArray) -> tuple[LeadTimes, ...]:
        """Each method's lead times on the departures ``gone``."""
        return tuple(
            _lead_times(
                name, np.concatenate(self.patients[name]), np.concatenate(self.days[name]),
                scan_days, gone.patient, gone.last_visit_day, gone.day,
            )
            for name in self.patients
        )
