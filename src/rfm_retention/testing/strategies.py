"""Hypothesis strategies for patient data: records, visit logs, features and every source table.

For property-based tests of code that consumes this library's data model,
in this library and in yours::

    from hypothesis import given
    from rfm_retention.testing import strategies as rs

    @given(rs.visit_logs(ties=True, single_visit_patients=True))
    def test_my_report_has_one_row_per_patient(log):
        assert len(my_report(log)) == log.n_patients

Values are realistic rather than arbitrary (ICD-10 codes with their
departments, scores on 0-100, course sessions that never exceed the
prescription), and the edges a real feed has are drawn on purpose: patients
with a single visit, several visits at the same instant, zero charges,
missing handling scores, absent sources.

This is the only module of the package that imports hypothesis (a test
extra): ``import rfm_retention.testing`` does not need it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from rfm_retention.errors import MissingDependencyError

try:
    from hypothesis import strategies as st
except ImportError as exc:  # raised once, with the hint, instead of a bare ModuleNotFoundError
    raise MissingDependencyError("hypothesis", "test", "rfm_retention.testing.strategies") from exc

from rfm_retention.data import (
    APPOINTMENT_STATUSES,
    AppointmentTable,
    AssessmentTable,
    ComplaintTable,
    CourseTable,
    PatientData,
    PatientTable,
    RatingTable,
    ReviewTable,
    Visit,
    VisitLog,
)
from rfm_retention.features import PatientFeatures, patient_features
from rfm_retention.testing._cohort import SyntheticCohort, synthetic_cohort
from rfm_retention.testing._presets import DEFAULT_CONDITIONS
from rfm_retention.time import SECONDS_PER_DAY, day_number

__all__ = [
    "DEFAULT_END",
    "DEFAULT_START",
    "amounts",
    "appointment_tables",
    "assessment_tables",
    "complaint_tables",
    "course_tables",
    "diagnoses",
    "patient_data",
    "patient_feature_tables",
    "patient_id_lists",
    "rating_tables",
    "review_tables",
    "rfm_features",
    "synthetic_cohorts",
    "visit_logs",
    "visit_records",
]

DEFAULT_START = dt.date(2022, 1, 1)
DEFAULT_END = dt.date(2024, 12, 31)

IdKind = Literal["text", "int"]
T = TypeVar("T", bound=PatientTable)

_CARE_SETTINGS = tuple((c.code, c.department) for c in DEFAULT_CONDITIONS)
_CHANNELS = ("sms_survey", "app", "phone", "kiosk", "")
_CATEGORIES = ("service", "waiting_time", "billing", "price", "communication", "efficacy", "")
_PLATFORMS = ("maps", "social_media", "health_portal", "")


# ---------------------------------------------------------------- building blocks
def patient_id_lists(
    *, min_size: int = 0, max_size: int = 20, kind: IdKind = "text"
) -> st.SearchStrategy[list[Any]]:
    """Lists of distinct patient ids: ``"P000042"``-style text or positive integers.

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(patient_id_lists(min_size=2, max_size=2, kind="int"))
        ... def check(ids):
        ...     assert (len(set(ids))) == 2
        >>> check()
    """
    if kind == "int":
        element: st.SearchStrategy[Any] = st.integers(1, 10**9)
    elif kind == "text":
        element = st.integers(1, 999_999).map(lambda i: f"P{i:06d}")
    else:
        raise ValueError(f"kind must be 'text' or 'int', not {kind!r}")
    return st.lists(element, min_size=min_size, max_size=max_size, unique=True)


def amounts(*, max_value: float = 20_000.0) -> st.SearchStrategy[float]:
    """Charges in currency units with cents, >= 0 (zero-charge visits included).

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(amounts())
        ... def check(amount):
        ...     assert 0.0 <= amount <= 20_000.0
        >>> check()
    """
    return st.floats(0.0, max_value, allow_nan=False, allow_infinity=False).map(
        lambda x: round(x, 2)
    )


def diagnoses() -> st.SearchStrategy[tuple[str, str]]:
    """(ICD-10 code, department) pairs of the presets, or ``("", "")`` for an uncoded visit.

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(diagnoses())
        ... def check(pair):
        ...     code, department = pair
        ...     assert (code == "") == (department == "")
        >>> check()
    """
    return st.sampled_from((*_CARE_SETTINGS, ("", "")))


def _times(
    draw: st.DrawFn,
    n: int,
    *,
    start: dt.date,
    end: dt.date,
    ties: bool,
    with_time_of_day: bool,
) -> list[int]:
    """``n`` instants (seconds since the epoch) between start and end, sorted.

    With ``ties`` some instants repeat exactly; without, every instant lies on
    its own day.
    """
    first = day_number(start)
    span = (end - start).days
    if not ties and n > span + 1:
        n = span + 1
    days = draw(st.lists(st.integers(0, span), min_size=n, max_size=n, unique=not ties))
    days.sort()
    clock = (
        draw(st.lists(st.integers(0, SECONDS_PER_DAY - 1), min_size=n, max_size=n))
        if with_time_of_day
        else [0] * n
    )
    seconds = [(first + d) * SECONDS_PER_DAY + c for d, c in zip(days, clock, strict=True)]
    if ties and n > 1:
        repeat = draw(st.lists(st.booleans(), min_size=n - 1, max_size=n - 1))
        for i, again in enumerate(repeat, start=1):
            if again:
                seconds[i] = seconds[i - 1]
    return sorted(seconds)


def _as_datetime64(seconds: Sequence[int]) -> npt.NDArray[np.datetime64]:
    return np.array(seconds, dtype=np.int64).astype("datetime64[s]")


def _id_array(ids: Sequence[Any], kind_hint: Sequence[Any]) -> npt.NDArray[Any]:
    """Ids as an array of the same kind as the patient universe (int64 or text)."""
    if kind_hint and isinstance(kind_hint[0], int):
        return np.array(ids, dtype=np.int64)
    return np.array(ids, dtype=str) if len(ids) else np.empty(0, "U1")


# ---------------------------------------------------------------- visits
@st.composite
def visit_records(
    draw: st.DrawFn,
    /,
    *,
    patient_id: st.SearchStrategy[Any] | None = None,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
    with_time_of_day: bool = True,
) -> Visit:
    """One :class:`~rfm_retention.data.Visit` record with a realistic code and charge.

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(visit_records())
        ... def check(visit):
        ...     assert visit.amount >= 0
        >>> check()
    """
    pid = draw(patient_id if patient_id is not None else st.sampled_from(["P000001", "P000002"]))
    day = draw(st.dates(start, end))
    when: dt.date | dt.datetime = day
    if with_time_of_day:
        when = dt.datetime.combine(day, draw(st.times()).replace(microsecond=0))
    code, department = draw(diagnoses())
    return Visit(
        patient_id=pid,
        visit_time=when,
        amount=draw(amounts()),
        department=department,
        diagnosis=code,
        visit_id=draw(st.none() | st.uuids().map(str)),
    )


@st.composite
def visit_logs(
    draw: st.DrawFn,
    /,
    *,
    min_patients: int = 0,
    max_patients: int = 12,
    max_visits_per_patient: int = 8,
    ties: bool = True,
    single_visit_patients: bool = True,
    id_kind: IdKind = "text",
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
    with_time_of_day: bool = True,
    with_visit_ids: bool = True,
) -> VisitLog:
    """A validated :class:`~rfm_retention.data.VisitLog`.

    Args:
        min_patients: fewest patients (0 allows the empty log).
        max_patients: most patients.
        max_visits_per_patient: most visits of one patient.
        ties: let a patient have several visits at the same instant (same-day
            visits to two departments, duplicated feed rows). Without, each
            of a patient's visits falls on its own day.
        single_visit_patients: allow patients with one visit (no interval);
            without, every patient has at least two.
        id_kind: ``"text"`` (``P000042``) or ``"int"`` patient ids.
        start: earliest visit day.
        end: latest visit day.
        with_time_of_day: visits at a time of day; without, at midnight (dates).
        with_visit_ids: give every visit a unique ``visit_id``.

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(visit_logs(min_patients=1, single_visit_patients=False))
        ... def check(log):
        ...     assert bool((log.group_starts[1:] - log.group_starts[:-1] >= 2).all())
        >>> check()
    """
    min_visits = 1 if single_visit_patients else 2
    if max_visits_per_patient < min_visits:
        raise ValueError(f"max_visits_per_patient must be at least {min_visits}")
    ids = draw(patient_id_lists(min_size=min_patients, max_size=max_patients, kind=id_kind))
    patient: list[Any] = []
    seconds: list[int] = []
    for pid in ids:
        n = draw(st.integers(min_visits, max_visits_per_patient))
        times = _times(draw, n, start=start, end=end, ties=ties, with_time_of_day=with_time_of_day)
        patient.extend([pid] * len(times))
        seconds.extend(times)
    m = len(seconds)
    settings = draw(st.lists(diagnoses(), min_size=m, max_size=m))
    charges = draw(st.lists(amounts(), min_size=m, max_size=m))
    columns: dict[str, Any] = {
        "patient_id": _id_array(patient, ids),
        "visit_time": _as_datetime64(seconds),
        "amount": np.array(charges, dtype=np.float64),
        "department": np.array([s[1] for s in settings], dtype=str),
        "diagnosis": np.array([s[0] for s in settings], dtype=str),
    }
    if with_visit_ids:
        columns["visit_id"] = np.array([f"V{i:07d}" for i in range(1, m + 1)], dtype=str)
    return VisitLog.from_columns(columns)


@st.composite
def patient_feature_tables(
    draw: st.DrawFn,
    /,
    *,
    as_of: dt.date | None = None,
    window: int | None = None,
    **visit_log_options: Any,
) -> PatientFeatures:
    """:class:`~rfm_retention.features.PatientFeatures` computed from a drawn visit log.

    ``as_of`` is drawn between the log's period and half a year after it
    unless given; ``visit_log_options`` go to :func:`visit_logs`.

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(patient_feature_tables(min_patients=1))
        ... def check(features):
        ...     assert bool((features.days_since_last_visit >= 0).all())
        >>> check()
    """
    options = {"min_patients": 1, **visit_log_options}
    log = draw(visit_logs(**options))
    end = options.get("end", DEFAULT_END)
    start = options.get("start", DEFAULT_START)
    day = as_of if as_of is not None else draw(st.dates(start, end + dt.timedelta(days=183)))
    return patient_features(log, day, window=window)


@st.composite
def rfm_features(
    draw: st.DrawFn,
    /,
    *,
    min_patients: int = 1,
    max_patients: int = 30,
    as_of: dt.date = DEFAULT_END,
    id_kind: IdKind = "text",
) -> PatientFeatures:
    """Features built from R, F and M only (:meth:`PatientFeatures.from_rfm`), for segmenters.

    Days since the last visit run 0-1,500, visits 1-60, spend up to 200,000,
    with ties between patients drawn on purpose (quantile splits must cope).

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(rfm_features(min_patients=3))
        ... def check(features):
        ...     assert len(features) >= 3
        >>> check()
    """
    ids = draw(patient_id_lists(min_size=min_patients, max_size=max_patients, kind=id_kind))
    n = len(ids)
    pool_days = draw(st.lists(st.integers(0, 1500), min_size=1, max_size=max(1, n)))
    pool_visits = draw(st.lists(st.integers(1, 60), min_size=1, max_size=max(1, n)))
    days = draw(st.lists(st.sampled_from(pool_days), min_size=n, max_size=n))
    visits = draw(st.lists(st.sampled_from(pool_visits), min_size=n, max_size=n))
    spend = draw(st.lists(amounts(max_value=200_000.0), min_size=n, max_size=n))
    spend = [max(s, 0.01 * v) for s, v in zip(spend, visits, strict=True)]
    return PatientFeatures.from_rfm(
        as_of=as_of,
        patient_id=_id_array(ids, ids),
        days_since_last_visit=days,
        visits_in_window=visits,
        spend_in_window=spend,
    )


# ---------------------------------------------------------------- the other sources
RowDraw = Callable[[st.DrawFn, npt.NDArray[np.datetime64]], dict[str, Any]]


def _source_table(
    draw: st.DrawFn,
    table_cls: type[T],
    patients: Sequence[Any] | None,
    max_rows_per_patient: int,
    start: dt.date,
    end: dt.date,
    values: RowDraw,
) -> T:
    """Rows for some of ``patients`` (or freshly drawn ids); ``values`` gets their times."""
    if patients is None:
        patients = draw(patient_id_lists(max_size=8))
    chosen = draw(st.lists(st.sampled_from(list(patients)), unique=True)) if patients else []
    patient: list[Any] = []
    seconds: list[int] = []
    for pid in chosen:
        n = draw(st.integers(1, max_rows_per_patient))
        times = _times(draw, n, start=start, end=end, ties=True, with_time_of_day=True)
        patient.extend([pid] * len(times))
        seconds.extend(times)
    columns: dict[str, Any] = {
        table_cls.SCHEMA.fields[0].name: _id_array(patient, list(patients)),
        table_cls.SCHEMA.time_field: _as_datetime64(seconds),
    }
    columns.update(values(draw, columns[table_cls.SCHEMA.time_field]))
    return table_cls.from_columns(columns)


def _list(draw: st.DrawFn, element: st.SearchStrategy[Any], n: int) -> list[Any]:
    return draw(st.lists(element, min_size=n, max_size=n))


def _scores() -> st.SearchStrategy[float]:
    """0-100, whole or with one decimal, the edges 0, 80 and 100 included."""
    return st.one_of(
        st.sampled_from([0.0, 70.0, 79.0, 80.0, 100.0]),
        st.integers(0, 100).map(float),
        st.floats(0.0, 100.0).map(lambda x: round(x, 1)),
    )


def _optional_scores() -> st.SearchStrategy[float]:
    return st.one_of(_scores(), st.just(float("nan")))


def _ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:07d}" for i in range(1, n + 1)]


@st.composite
def rating_tables(
    draw: st.DrawFn,
    /,
    *,
    patients: Sequence[Any] | None = None,
    max_rows_per_patient: int = 5,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
) -> RatingTable:
    """Satisfaction ratings (0-100) for some of ``patients`` (drawn if None).

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(rating_tables(patients=["P000001"]))
        ... def check(table):
        ...     assert bool(((table.score >= 0) & (table.score <= 100)).all())
        >>> check()
    """

    def values(d: st.DrawFn, times: npt.NDArray[np.datetime64]) -> dict[str, Any]:
        n = len(times)
        return {"score": _list(d, _scores(), n), "channel": _list(d, st.sampled_from(_CHANNELS), n)}

    return _source_table(draw, RatingTable, patients, max_rows_per_patient, start, end, values)


@st.composite
def complaint_tables(
    draw: st.DrawFn,
    /,
    *,
    patients: Sequence[Any] | None = None,
    max_rows_per_patient: int = 4,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
) -> ComplaintTable:
    """Complaints, valid or not, with handling satisfaction (NaN where not surveyed).

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(complaint_tables(patients=["P000001"]))
        ... def check(table):
        ...     assert (table.valid.dtype.kind) == 'b'
        >>> check()
    """

    def values(d: st.DrawFn, times: npt.NDArray[np.datetime64]) -> dict[str, Any]:
        n = len(times)
        return {
            "valid": _list(d, st.booleans(), n),
            "handling_satisfaction": _list(d, _optional_scores(), n),
            "category": _list(d, st.sampled_from(_CATEGORIES), n),
            "complaint_id": _ids("C", n),
        }

    return _source_table(draw, ComplaintTable, patients, max_rows_per_patient, start, end, values)


@st.composite
def appointment_tables(
    draw: st.DrawFn,
    /,
    *,
    patients: Sequence[Any] | None = None,
    max_rows_per_patient: int = 6,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
) -> AppointmentTable:
    """Appointments: booked, attended, no-show (runs of them included) or cancelled.

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(appointment_tables(patients=["P000001"]))
        ... def check(table):
        ...     assert set(table.status.tolist()) <= {"booked", "attended", "no_show", "cancelled"}
        >>> check()
    """

    def values(d: st.DrawFn, times: npt.NDArray[np.datetime64]) -> dict[str, Any]:
        n = len(times)
        return {
            "status": _list(d, st.sampled_from(APPOINTMENT_STATUSES), n),
            "department": [s[1] for s in _list(d, diagnoses(), n)],
            "appointment_id": _ids("A", n),
        }

    return _source_table(draw, AppointmentTable, patients, max_rows_per_patient, start, end, values)


@st.composite
def _course_row(draw: st.DrawFn) -> tuple[int, int, str, int | None]:
    """(prescribed, completed, status, days to expected end or None), consistent."""
    prescribed = draw(st.integers(1, 30))
    completed = draw(st.integers(0, prescribed))
    status = (
        draw(st.sampled_from(["completed", "active"]))
        if completed == prescribed
        else draw(st.sampled_from(["active", "abandoned"]))
    )
    days = draw(st.none() | st.integers(0, 180))
    return prescribed, completed, status, days


@st.composite
def course_tables(
    draw: st.DrawFn,
    /,
    *,
    patients: Sequence[Any] | None = None,
    max_rows_per_patient: int = 3,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
) -> CourseTable:
    """Treatment courses: completed sessions never exceed the prescription; status agrees.

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(course_tables(patients=["P000001"]))
        ... def check(table):
        ...     assert bool((table.completed_sessions <= table.prescribed_sessions).all())
        >>> check()
    """

    def values(d: st.DrawFn, times: npt.NDArray[np.datetime64]) -> dict[str, Any]:
        n = len(times)
        rows = _list(d, _course_row(), n)
        ends = [
            times[i] + np.timedelta64(r[3], "D") if r[3] is not None else np.datetime64("NaT")
            for i, r in enumerate(rows)
        ]
        return {
            "prescribed_sessions": np.array([r[0] for r in rows], dtype=np.int64),
            "completed_sessions": np.array([r[1] for r in rows], dtype=np.int64),
            "expected_end": np.array(ends, dtype="datetime64[s]"),
            "status": [r[2] for r in rows],
            "course_id": _ids("T", n),
        }

    return _source_table(draw, CourseTable, patients, max_rows_per_patient, start, end, values)


@st.composite
def _assessment_row(draw: st.DrawFn) -> tuple[float, float, float]:
    """(outcome, expected progress, actual progress); at least one is a number."""
    outcome = draw(_optional_scores())
    if draw(st.booleans()):
        expected = draw(_scores())
        actual = draw(_scores())
    else:
        expected = actual = float("nan")
    if np.isnan(outcome) and np.isnan(expected):
        outcome = draw(_scores())
    return outcome, expected, actual


@st.composite
def assessment_tables(
    draw: st.DrawFn,
    /,
    *,
    patients: Sequence[Any] | None = None,
    max_rows_per_patient: int = 4,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
) -> AssessmentTable:
    """Outcome scores and rehab progress (expected vs actual); never an empty assessment.

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(assessment_tables(patients=["P000001"]))
        ... def check(table):
        ...     assert len(table) >= 0
        >>> check()
    """

    def values(d: st.DrawFn, times: npt.NDArray[np.datetime64]) -> dict[str, Any]:
        n = len(times)
        rows = _list(d, _assessment_row(), n)
        return {
            "outcome_score": [r[0] for r in rows],
            "expected_progress": [r[1] for r in rows],
            "actual_progress": [r[2] for r in rows],
        }

    return _source_table(draw, AssessmentTable, patients, max_rows_per_patient, start, end, values)


@st.composite
def review_tables(
    draw: st.DrawFn,
    /,
    *,
    patients: Sequence[Any] | None = None,
    max_rows_per_patient: int = 3,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
    stars: bool | None = None,
) -> ReviewTable:
    """External reviews, scored 0-100 or given as 1-5 stars (``stars``: None = either).

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(review_tables(patients=["P000001"], stars=True))
        ... def check(table):
        ...     assert set(table.score.tolist()) <= {0.0, 25.0, 50.0, 75.0, 100.0}
        >>> check()
    """
    use_stars = draw(st.booleans()) if stars is None else stars

    def values(d: st.DrawFn, times: npt.NDArray[np.datetime64]) -> dict[str, Any]:
        n = len(times)
        column = (
            {"stars": _list(d, st.integers(1, 5).map(float), n)}
            if use_stars
            else {"score": _list(d, _scores(), n)}
        )
        return {**column, "platform": _list(d, st.sampled_from(_PLATFORMS), n)}

    return _source_table(draw, ReviewTable, patients, max_rows_per_patient, start, end, values)


_SOURCE_STRATEGIES: dict[str, Callable[..., st.SearchStrategy[Any]]] = {
    "ratings": rating_tables,
    "complaints": complaint_tables,
    "appointments": appointment_tables,
    "courses": course_tables,
    "outcomes": assessment_tables,
    "reviews": review_tables,
}


@st.composite
def patient_data(
    draw: st.DrawFn,
    /,
    *,
    absent_sources: bool = True,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
    **visit_log_options: Any,
) -> PatientData:
    """A :class:`~rfm_retention.data.PatientData` bundle keyed by one set of patients.

    Every optional source covers some of the visit log's patients; with
    ``absent_sources`` any of them may also be missing (``None``: "the host
    has no such source"), which code must read as "no signal".

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(patient_data(min_patients=1, absent_sources=False))
        ... def check(data):
        ...     assert (len(data.available)) == 7
        >>> check()
    """
    log = draw(visit_logs(start=start, end=end, **visit_log_options))
    patients = log.patient_ids.tolist()
    tables: dict[str, Any] = {}
    for name, strategy in _SOURCE_STRATEGIES.items():
        if absent_sources and draw(st.booleans()):
            continue
        tables[name] = draw(strategy(patients=patients, start=start, end=end))
    return PatientData(visits=log, **tables)


def synthetic_cohorts(
    *,
    min_patients: int = 1,
    max_patients: int = 200,
    start: dt.date = DEFAULT_START,
    end: dt.date = DEFAULT_END,
) -> st.SearchStrategy[SyntheticCohort]:
    """Synthetic cohorts of a drawn size and seed (:func:`~rfm_retention.testing.synthetic_cohort`).

    Example:
        >>> from hypothesis import given, settings
        >>> @settings(max_examples=5)
        ... @given(synthetic_cohorts(max_patients=20))
        ... def check(cohort):
        ...     assert 1 <= cohort.n_patients <= 20
        >>> check()
    """
    return st.builds(
        synthetic_cohort,
        st.integers(min_patients, max_patients),
        st.integers(0, 2**32 - 1),
        st.just(start),
        st.just(end),
    )
