"""The synthetic cohort: determinism, shape, argument checks, ground-truth bookkeeping."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable

import attrs
import numpy as np
import pytest

from rfm_retention.data import PatientData, PatientTable
from rfm_retention.errors import ConfigError
from rfm_retention.features import patient_features
from rfm_retention.testing import (
    DEFAULT_SETTINGS,
    SAMPLE_END,
    SAMPLE_PATIENTS,
    SAMPLE_START,
    ChurnHazards,
    ChurnTruth,
    CohortCondition,
    CohortSettings,
    SignalRates,
    SyntheticCohort,
    sample_cohort,
    synthetic_cohort,
)
from rfm_retention.vocabulary import ReasonCode

START = dt.date(2022, 1, 1)
END = dt.date(2024, 12, 31)


def _same_table(a: PatientTable, b: PatientTable) -> bool:
    if len(a) != len(b) or not np.array_equal(a.patient_ids, b.patient_ids):
        return False
    for name, col in a.columns.items():
        other = b.columns[name]
        equal_nan = col.dtype.kind in "fM"
        if col.dtype != other.dtype or not np.array_equal(col, other, equal_nan=equal_nan):
            return False
    return True


@pytest.fixture(scope="module")
def cohort() -> SyntheticCohort:
    return synthetic_cohort(800, seed=11, start=START, end=END)


def test_same_seed_gives_the_same_cohort(cohort: SyntheticCohort) -> None:
    """Two cohorts drawn with the same arguments are identical, table by table."""
    again = synthetic_cohort(800, seed=11, start=START, end=END)
    for name, table in cohort.data.sources():
        assert _same_table(table, getattr(again.data, name)), name
    for name, col in cohort.truth.to_columns().items():
        assert np.array_equal(col, again.truth.to_columns()[name], equal_nan=col.dtype.kind == "M")


def test_other_seed_gives_another_cohort(cohort: SyntheticCohort) -> None:
    """A different seed draws different visits."""
    other = synthetic_cohort(800, seed=12, start=START, end=END)
    assert not _same_table(cohort.data.visits, other.data.visits)


def test_every_source_is_present_and_keyed_by_the_same_patients(cohort: SyntheticCohort) -> None:
    """All eight sources exist; every patient has a visit; truth rows are data.patients."""
    assert cohort.data.available == {
        "visits", "ratings", "complaints", "appointments", "courses", "outcomes", "reviews",
        "registry",
    }
    assert cohort.n_patients == 800
    assert np.array_equal(cohort.data.visits.patient_ids, cohort.data.patients)
    assert np.array_equal(cohort.truth.patient_id, cohort.data.patients)
    for name, table in cohort.data.sources():
        assert len(table) > 0, name
        assert not table.rejected, name


def test_no_event_after_the_end_except_future_bookings(cohort: SyntheticCohort) -> None:
    """Visits, ratings, complaints... all fall in [start, end]; only booked appointments later."""
    first = np.datetime64(START, "s")
    after_end = np.datetime64(END + dt.timedelta(days=1), "s")
    for name, table in cohort.data.sources():
        t = table.time
        assert (t >= first).all(), name
        late = t >= after_end
        if name == "appointments":
            assert set(table.columns["status"][late].tolist()) <= {"booked"}
            assert (table.columns["status"][~late] != "booked").all()
        else:
            assert not late.any(), name


def test_ids_are_unique_where_given(cohort: SyntheticCohort) -> None:
    """Visit, complaint, appointment and course ids are all distinct."""
    for name, column in [
        ("visits", "visit_id"),
        ("complaints", "complaint_id"),
        ("appointments", "appointment_id"),
        ("courses", "course_id"),
    ]:
        ids = getattr(cohort.data, name).columns[column]
        assert len(np.unique(ids)) == len(ids), name


def test_sample_cohort_is_the_documented_fixed_cohort() -> None:
    """The embedded sample has its documented size and period and never changes."""
    a, b = sample_cohort(), sample_cohort()
    assert (a.n_patients, a.start, a.end) == (SAMPLE_PATIENTS, SAMPLE_START, SAMPLE_END)
    assert _same_table(a.data.visits, b.data.visits)
    assert 300 <= a.n_patients <= 600


def test_zero_patients_gives_empty_tables() -> None:
    """n_patients=0 is a valid empty cohort, not a crash."""
    empty = synthetic_cohort(0, seed=1)
    assert len(empty.truth) == 0
    for name, table in empty.data.sources():
        assert len(table) == 0, name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_patients": -1}, ">= 0"),
        ({"n_patients": 2.5}, "whole number"),
        ({"end": dt.date(2022, 1, 20)}, "too short"),
        ({"start": dt.datetime(2022, 1, 1)}, "dates"),
    ],
)
def test_bad_arguments_are_config_errors(kwargs: dict[str, object], message: str) -> None:
    """Negative sizes, short periods and datetimes are refused with a clear message."""
    args: dict[str, object] = {"n_patients": 10, "seed": 1, "start": START, "end": END}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=message):
        synthetic_cohort(**args)  # type: ignore[arg-type]


def test_truth_columns_are_consistent(cohort: SyntheticCohort) -> None:
    """Churners have a date, a lead start before it and a reason; the others have none."""
    truth = cohort.truth
    churned = truth.churned
    assert churned.any()
    assert (~churned).any()
    assert not np.isnat(truth.churned_from[churned]).any()
    assert np.isnat(truth.churned_from[~churned]).all()
    assert (truth.degrading_from[churned] < truth.churned_from[churned]).all()
    assert (truth.churned_from[churned] <= np.datetime64(END)).all()
    assert set(truth.reason[churned].tolist()) <= {r.value for r in ReasonCode}
    assert (truth.reason[~churned] == "").all()


def test_truth_lookups(cohort: SyntheticCohort) -> None:
    """reason_of, index_of and churned_by answer per patient and per date."""
    truth: ChurnTruth = cohort.truth
    churner = str(truth.patient_id[truth.churned][0])
    stayer = str(truth.patient_id[~truth.churned][0])
    assert isinstance(truth.reason_of(churner), ReasonCode)
    assert truth.reason_of(stayer) is None
    with pytest.raises(KeyError, match="no patient"):
        truth.index_of("nobody")
    assert np.array_equal(truth.churned_by(END), truth.churned)
    assert not truth.churned_by(START - dt.timedelta(days=1)).any()
    mid = truth.churned_by("2023-06-30")
    assert mid.sum() < truth.churned.sum()


def test_the_cohort_loads_into_a_bundle_of_validated_tables(cohort: SyntheticCohort) -> None:
    """The data is an ordinary PatientData: features work on it as on a host's data."""
    assert isinstance(cohort.data, PatientData)
    features = patient_features(cohort.data.visits, END)
    assert len(features) == cohort.n_patients


def test_importing_testing_does_not_import_hypothesis() -> None:
    """rfm_retention and rfm_retention.testing work without the test extra."""
    code = (
        "import sys, rfm_retention, rfm_retention.testing;"
        "rfm_retention.testing.sample_cohort();"
        "print('hypothesis' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_settings_change_the_hospital() -> None:
    """A harsher churn preset makes more patients churn; acute-only hospitals have no courses."""
    harsh = attrs.evolve(
        DEFAULT_SETTINGS, churn=attrs.evolve(DEFAULT_SETTINGS.churn, service=0.05, efficacy=0.05)
    )
    mild = synthetic_cohort(1500, seed=3, settings=DEFAULT_SETTINGS)
    worse = synthetic_cohort(1500, seed=3, settings=harsh)
    assert worse.truth.churned.mean() > mild.truth.churned.mean() + 0.1
    acute_conditions = tuple(c for c in DEFAULT_SETTINGS.conditions if c.kind == "acute")
    walk_in = attrs.evolve(DEFAULT_SETTINGS, conditions=acute_conditions, acute_only_share=1.0)
    clinic = synthetic_cohort(200, seed=3, settings=walk_in)
    assert clinic.data.courses is not None
    assert len(clinic.data.courses) == 0
    assert (clinic.truth.primary_diagnosis == "").all()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CohortCondition("X1", "x", "d", "chronic", 0.1, (60, 30)), "cadence_days"),
        (lambda: CohortCondition("X1", "x", "d", "acute", 0.0), "share"),
        (lambda: ChurnHazards(service=-0.1), "service"),
        (lambda: ChurnHazards(stretch=(0.5, 1.0)), "stretch"),
        (lambda: SignalRates(no_show=(0.1, 1.5)), "no_show"),
        (lambda: CohortSettings(acute_only_share=2.0), "acute_only_share"),
        (lambda: CohortSettings(conditions=DEFAULT_SETTINGS.conditions[:2]), "acute"),
    ],
)
def test_impossible_presets_are_refused(build: Callable[[], object], message: str) -> None:
    """Presets check their numbers when built, naming the field at fault."""
    with pytest.raises(ConfigError, match=message):
        build()
