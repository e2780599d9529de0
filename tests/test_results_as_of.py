"""Every result reports as_of the same way, and one public call converts its time input once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from conftest import ConversionCounter
from rfm_retention.btyd import btyd_summary, lifetime_scores
from rfm_retention.features import patient_features
from rfm_retention.interventions import CaseBook, InMemoryCaseStore
from rfm_retention.loyalty import membership, privileges
from rfm_retention.metrics import (
    Exclusions,
    acquisition_report,
    backtest,
    causes_by_group,
    kpi_report,
    kpi_report_by,
    lapse_events,
    programme_review,
    referral_tree,
)
from rfm_retention.metrics._backtest import DaysSinceLastVisit
from rfm_retention.model import train_risk_model
from rfm_retention.risk import evaluate, scan
from rfm_retention.segmentation import eight_segments
from rfm_retention.testing import synthetic_cohort
from rfm_retention.time import to_instant

AS_OF = "2024-06-30"
COHORT = synthetic_cohort(300, seed=3)
DATA = COHORT.data


def _segmentation() -> Any:
    return eight_segments().fit_assign(patient_features(DATA.visits, AS_OF))


RESULTS: dict[str, Callable[[], Any]] = {
    "PatientFeatures": lambda: patient_features(DATA.visits, AS_OF),
    "BTYDSummary": lambda: btyd_summary(DATA.visits, AS_OF),
    "LifetimeScores": lambda: lifetime_scores(DATA.visits, AS_OF, horizon_days=90),
    "Segmentation": _segmentation,
    "SegmentSummary": lambda: _segmentation().summary(),
    "IndicatorPanel": lambda: evaluate(DATA, AS_OF),
    "WarningList": lambda: scan(DATA, AS_OF),
    "KPIReport": lambda: kpi_report(DATA.visits, "2024-01-01", "2024-03-31", as_of=AS_OF),
    "CauseReport": lambda: causes_by_group(
        DATA.visits, "2024-01-01", "2024-03-31", by="department", as_of=AS_OF,
        complaints=DATA.complaints,
    ),
    "Membership": lambda: membership(DATA.visits.patient_ids[0], DATA.visits, as_of=AS_OF),
    "PatientPrivileges": lambda: privileges(DATA.visits.patient_ids[0], DATA.visits, as_of=AS_OF),
    "GroupedKPIReport": lambda: kpi_report_by(
        DATA.visits, "2024-01-01", "2024-03-31", by="department", as_of=AS_OF
    ),
    "ProgrammeReview": lambda: programme_review(
        DATA.visits, "2024-01-01", "2024-03-31", as_of=AS_OF
    ),
    "ReferralTree": lambda: referral_tree(DATA.registry, DATA.visits, as_of=AS_OF),
    "LapseEvents": lambda: lapse_events(DATA.visits, as_of=AS_OF),
    "AcquisitionReport": lambda: acquisition_report(
        DATA.registry, DATA.visits, "2024-01-01", "2024-03-31", as_of=AS_OF
    ),
    "RiskPrediction": lambda: train_risk_model(DATA, ["2023-03-31"], horizon_days=90).predict(
        DATA, AS_OF
    ),
    "Backtest": lambda: backtest(
        DATA, ["2023-09-30"], scorer=DaysSinceLastVisit(), baseline=_Named(),
        observed_until=AS_OF,
    ),
}


class _Named(DaysSinceLastVisit):
    """The baseline under a second name, so a backtest can compare it with itself."""

    name = "again: days since last visit"


@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_as_of_is_the_same_instant_on_every_result(kind: str) -> None:
    """For the date 2024-06-30 every result's as_of is the instant 2024-06-30T23:59:59."""
    result = RESULTS[kind]()
    assert type(result).__name__ == kind
    assert isinstance(result.as_of, np.datetime64)
    assert result.as_of.dtype == np.dtype("datetime64[s]")
    assert result.as_of == to_instant(AS_OF) == np.datetime64("2024-06-30T23:59:59")


def test_as_of_keeps_the_time_of_day_given() -> None:
    """An instant inside the day is reported as given, on features and warnings alike."""
    at = "2024-06-30T12:00:00"
    assert patient_features(DATA.visits, at).as_of == np.datetime64(at)
    assert scan(DATA, at).as_of == np.datetime64(at)






def test_one_scan_and_one_intake_convert_each_input_once(conversions: ConversionCounter) -> None:
    """scan(data, date) converts the date once; CaseBook.intake converts warned_at once."""
    warnings = scan(DATA, AS_OF)
    assert conversions.calls == 1
    first = warnings.to_records()[0]
    book = CaseBook(InMemoryCaseStore())
    conversions.calls = 0
    book.intake(first, AS_OF)
    assert conversions.calls == 1


@pytest.fixture(scope="module")
def risk_model() -> Any:
    return train_risk_model(DATA, ["2023-03-31"], horizon_days=90)


def test_a_scan_with_a_trained_model_converts_its_date_once(
    risk_model: Any, conversions: ConversionCounter
) -> None:
    """scan(data, date, model=RiskModel) converts the date once; the model takes the instant."""
    warnings = scan(DATA, AS_OF, model=risk_model)
    assert conversions.calls == 1
    assert warnings.as_of == np.datetime64("2024-06-30T23:59:59")
    assert len(warnings) > 0


def test_a_prediction_converts_its_date_once(
    risk_model: Any, conversions: ConversionCounter
) -> None:
    """RiskModel.predict(data, text) converts the text once and reports the day's instant."""
    prediction = risk_model.predict(DATA, AS_OF)
    assert conversions.calls == 1
    assert prediction.as_of == np.datetime64("2024-06-30T23:59:59")


@pytest.mark.parametrize("report", ["kpi", "acquisition"])
def test_a_kpi_report_converts_start_end_and_as_of_once_each(
    report: str, conversions: ConversionCounter
) -> None:
    """kpi_report / acquisition_report(start=, end=, as_of=) convert each of the three once."""
    if report == "kpi":
        result = kpi_report(DATA.visits, start="2024-01-01", end="2024-03-31", as_of=AS_OF)
    else:
        result = acquisition_report(
            DATA.registry, DATA.visits, start="2024-01-01", end="2024-03-31", as_of=AS_OF,
            exclusions=Exclusions.none(),
        )
    assert conversions.calls == 3
    assert (str(result.start), str(result.end)) == ("2024-01-01", "2024-03-31")


def test_inner_layers_take_the_instant_as_it_is(conversions: ConversionCounter) -> None:
    """Features, BTYD summary and the indicator panel given an instant do not convert it again."""
    instant = to_instant(AS_OF)
    conversions.calls = 0
    patient_features(DATA.visits, instant)
    btyd_summary(DATA.visits, instant)
    evaluate(DATA, instant)
    assert conversions.calls == 0
