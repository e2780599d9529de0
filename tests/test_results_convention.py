"""One result convention: typed to_columns, text to_rows, row_of raises, get gives None."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from rfm_retention.btyd import btyd_summary, lifetime_scores
from rfm_retention.features import patient_features
from rfm_retention.interventions import Case, CaseBook, InMemoryCaseStore
from rfm_retention.loyalty import Event, MemoryStore, PointsLedger
from rfm_retention.metrics import (
    acquisition_report,
    backtest,
    before_after,
    causes_by_group,
    kpi_report,
    kpi_report_by,
    referral_tree,
)
from rfm_retention.metrics._backtest import DaysSinceLastVisit
from rfm_retention.model import train_risk_model
from rfm_retention.risk import default_policy, evaluate, scan
from rfm_retention.segmentation import actions, eight_segments, migration
from rfm_retention.testing import synthetic_cohort

AS_OF = "2024-06-30"
DATA = synthetic_cohort(300, seed=3).data
VISITS = DATA.visits
FIRST = VISITS.patient_ids[0].item()
UNKNOWN = "nobody-at-all"


def _segments(as_of: str = AS_OF) -> Any:
    return eight_segments().fit_assign(patient_features(VISITS, as_of))


def _report() -> Any:
    return kpi_report(VISITS, "2023-07-01", "2024-03-31", as_of=AS_OF, ratings=DATA.ratings)


def _cases() -> Any:
    book = CaseBook(InMemoryCaseStore())
    book.intake(scan(DATA, AS_OF), dt.datetime(2024, 6, 30, 9))
    return book.cases()


def _ledger() -> PointsLedger:
    ledger = PointsLedger(MemoryStore())
    ledger.earn("p1", 300, key="v1", at="2024-03-01")
    ledger.earn("p2", 120, key="v2", at="2024-03-02")
    ledger.earn("p1", 50, key="v3", at="2024-03-05")
    return ledger


# each result, a key it has, and the record type get() returns for it
CASES: dict[str, tuple[Callable[[], Any], Any, type]] = {
    "Balances": (lambda: _ledger().balances(), "p2", dict),
    "CaseList": (_cases, None, Case),
    "PatientFeatures": (lambda: patient_features(VISITS, AS_OF), FIRST, dict),
    "BTYDSummary": (lambda: btyd_summary(VISITS, AS_OF), FIRST, dict),
    "LedgerHistory": (lambda: _ledger().history("p1"), "v3", Event),
    "LifetimeScores": (lambda: lifetime_scores(VISITS, AS_OF, horizon_days=90), FIRST, dict),
    "Segmentation": (_segments, FIRST, object),
    "SegmentSummary": (lambda: _segments().summary(), "core", object),
    "MigrationMatrix": (lambda: migration(_segments("2023-12-31"), _segments()), "core", dict),
    "RecommendedActions": (lambda: actions(_segments()), FIRST, object),
    "IndicatorPanel": (lambda: evaluate(DATA, AS_OF), FIRST, dict),
    "IndicatorResult": (lambda: evaluate(DATA, AS_OF).results[0], FIRST, dict),
    "RiskAssessment": (lambda: default_policy().assess(evaluate(DATA, AS_OF)), FIRST, dict),
    "WarningList": (lambda: scan(DATA, AS_OF), None, object),
    "KPIReport": (_report, "2024-01", object),
    "GroupedKPIReport": (
        lambda: kpi_report_by(VISITS, "2024-01-01", "2024-03-31", by="department",
                              as_of=AS_OF),
        None, dict,
    ),
    "CauseReport": (
        lambda: causes_by_group(VISITS, "2024-01-01", "2024-03-31", by="department",
                                as_of=AS_OF, complaints=DATA.complaints),
        None, dict,
    ),
    "BeforeAfter": (lambda: before_after(_report(), "2024-01-01"), ("programme", "churn"), dict),
    "AcquisitionReport": (
        lambda: acquisition_report(DATA.registry, VISITS, "2024-01-01", "2024-03-31",
                                   as_of=AS_OF),
        None, dict,
    ),
    "ReferralTree": (lambda: referral_tree(DATA.registry, VISITS, as_of=AS_OF), None, dict),
    "RiskPrediction": (
        lambda: train_risk_model(DATA, ["2023-03-31"], horizon_days=90).predict(DATA, AS_OF),
        FIRST, dict,
    ),
    "Backtest": (
        lambda: backtest(DATA, ["2023-09-30"], scorer=DaysSinceLastVisit(), baseline=_Again()),
        ("2023-09-30", DaysSinceLastVisit.name), object,
    ),
}


class _Again(DaysSinceLastVisit):
    """The baseline under a second name, so a backtest can compare it with itself."""

    name = "again: days since last visit"


def _first_key(result: Any) -> Any:
    """The key of the result's first row, as row_of takes it."""
    key = result.ROW_KEY
    header, rows = result.to_rows()
    if isinstance(key, tuple):
        return tuple(rows[0][header.index(name)] for name in key)
    first = result.to_columns()[key][0]
    return first.item() if isinstance(first, np.generic) else first


@pytest.mark.parametrize("kind", sorted(CASES))
def test_every_result_follows_the_one_convention(kind: str) -> None:
    """to_columns is typed arrays, to_rows display strings, row_of/get find and refuse keys."""
    build, key, record_type = CASES[kind]
    result = build()
    assert type(result).__name__ == kind
    columns = result.to_columns()
    assert columns
    assert all(isinstance(c, np.ndarray) for c in columns.values())
    assert len({c.shape for c in columns.values()}) == 1
    assert all(c.dtype.kind != "O" for c in columns.values()), {
        n: c.dtype for n, c in columns.items()
    }
    header, rows = result.to_rows()
    assert rows, f"{kind} has no row to check"
    assert all(isinstance(h, str) for h in header)
    assert all(len(r) == len(header) and all(isinstance(c, str) for c in r) for r in rows)
    key = _first_key(result) if key is None else key
    row = result.row_of(key)
    assert isinstance(row, int)
    assert 0 <= row < len(rows)
    found = result.get(key)
    assert found is not None
    assert isinstance(found, record_type)
    with pytest.raises(KeyError):
        result.row_of(UNKNOWN)
    assert result.get(UNKNOWN) is None


def test_numbers_are_typed_in_columns_and_text_in_rows() -> None:
    """KPI counts are integers in to_columns and the same numbers as text in to_rows."""
    report = _report()
    columns = report.to_columns()
    header, rows = report.to_rows()
    assert columns["lapsed"].dtype == np.int64
    assert columns["month"].dtype == np.dtype("datetime64[M]")
    at = header.index("lapsed")
    assert [r[at] for r in rows] == [str(v) for v in columns["lapsed"].tolist()]
    assert rows[0][header.index("month")] == "2023-07"


def test_a_patient_id_of_the_other_kind_is_nobody() -> None:
    """Text ids looked up with an integer (or the reverse) raise KeyError, never TypeError."""
    features = patient_features(VISITS, AS_OF)
    with pytest.raises(KeyError):
        features.row_of(12345)
    assert features.get(12345) is None
