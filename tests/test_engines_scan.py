"""The scan, the backtest and the trained model on visits held by a dataframe engine."""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import polars as pl
import pytest

import rfm_retention as rr
from engine_frames import dask_frame
from rfm_retention.data import PatientData, VisitLog, as_patient_data
from rfm_retention.errors import ConfigError
from rfm_retention.features import patient_features
from rfm_retention.metrics import ScanScorer, backtest
from rfm_retention.model import train_risk_model
from rfm_retention.risk import Snapshot
from rfm_retention.testing import synthetic_cohort

AS_OF = "2023-12-31"
BACKTEST_AT = ["2023-06-30", "2023-09-30"]


def _frame(log: VisitLog) -> pl.DataFrame:
    """A cohort's visits as a Polars frame with the library's column names (and an extra)."""
    return pl.DataFrame({
        "patient_id": log.patient_ids[log.patient_index].tolist(),
        "visit_time": log.time.astype("datetime64[us]"),
        "amount": log.amount,
        "department": log.department.tolist(),
        "diagnosis": log.diagnosis.tolist(),
        "ward_note": ["not pulled"] * len(log),
    })


@pytest.fixture(scope="module")
def cohort() -> Any:
    """A small synthetic cohort with every source."""
    return synthetic_cohort(400, seed=11)


@pytest.fixture(scope="module")
def engines(cohort: Any) -> dict[str, Any]:
    """The cohort's visits as a DuckDB relation and a Polars LazyFrame."""
    frame = _frame(cohort.data.visits)
    return {"duckdb": duckdb.connect().from_arrow(frame.to_arrow()), "polars": frame.lazy()}


def _with_visits(data: PatientData, visits: Any) -> PatientData:
    """``data``'s other sources with ``visits`` in place of its visit log."""
    return PatientData(**{name: table for name, table in data.sources() if name != "visits"},
                       visits=visits)


@pytest.mark.parametrize("engine", ["duckdb", "polars"])
def test_scan_on_engine_visits_equals_the_local_scan(
    cohort: Any, engines: dict[str, Any], engine: str
) -> None:
    """scan(table) and scan(PatientData(visits=table, ...)) list exactly the local warnings."""
    local_alone = rr.scan(PatientData(visits=cohort.data.visits), AS_OF)
    assert len(local_alone) > 0
    assert rr.scan(engines[engine], AS_OF).to_rows() == local_alone.to_rows()
    local_all = rr.scan(cohort.data, AS_OF)
    mixed = rr.scan(_with_visits(cohort.data, engines[engine]), AS_OF)
    assert mixed.to_rows() == local_all.to_rows()
    assert mixed.skipped == local_all.skipped


@pytest.mark.parametrize("engine", ["duckdb", "polars"])
def test_backtest_on_engine_visits_equals_the_local_backtest(
    cohort: Any, engines: dict[str, Any], engine: str
) -> None:
    """The backtest of the scan gives the same figures on engine visits as on local ones."""
    data = _with_visits(cohort.data, cohort.data.visits)
    local = backtest(data, BACKTEST_AT, scorer=ScanScorer())
    remote = backtest(_with_visits(cohort.data, engines[engine]), BACKTEST_AT, scorer=ScanScorer())
    assert remote.to_rows() == local.to_rows()
    alone = backtest(PatientData(visits=cohort.data.visits), BACKTEST_AT, scorer=ScanScorer())
    assert backtest(engines[engine], BACKTEST_AT, scorer=ScanScorer()).to_rows() == (
        alone.to_rows()
    )


def test_trained_model_trains_and_scores_on_engine_visits(
    cohort: Any, engines: dict[str, Any]
) -> None:
    """train_risk_model and RiskModel.predict on a DuckDB relation equal the local model."""
    local_data = PatientData(visits=cohort.data.visits)
    local = train_risk_model(local_data, ["2023-03-31"], horizon_days=90)
    remote = train_risk_model(engines["duckdb"], ["2023-03-31"], horizon_days=90)
    assert remote.to_mapping() == local.to_mapping()
    got = remote.predict(engines["polars"], AS_OF)
    want = local.predict(local_data, AS_OF)
    assert np.array_equal(got.patient_id, want.patient_id)
    assert np.array_equal(got.probability, want.probability)


def test_only_the_visit_columns_are_pulled_and_mapping_renames(cohort: Any) -> None:
    """as_patient_data reads renamed columns through mapping and leaves other columns behind."""
    frame = _frame(cohort.data.visits).rename({"patient_id": "PID", "visit_time": "START"})
    data = as_patient_data(frame.lazy(), mapping={"patient_id": "PID", "visit_time": "START"})
    log = data.visits
    assert sorted(log.columns) == sorted(cohort.data.visits.columns)
    assert "ward_note" not in log.columns
    numbered = frame.with_row_index("visit_no").with_columns(pl.col("visit_no").cast(pl.String))
    with_ids = as_patient_data(numbered.lazy(), mapping={
        "patient_id": "PID", "visit_time": "START", "visit_id": "visit_no"}).visits
    assert sorted(with_ids.visit_id.tolist(), key=int) == [str(i) for i in range(len(frame))]
    assert np.array_equal(log.patient_ids, cohort.data.visits.patient_ids)
    assert np.array_equal(log.time, cohort.data.visits.time)
    assert np.array_equal(log.department, cohort.data.visits.department)


def test_a_snapshot_takes_engine_features_instead_of_recomputing(
    cohort: Any, engines: dict[str, Any]
) -> None:
    """Snapshot.of(features=engine features) scans to the same list, reading the given features."""
    data = PatientData(visits=cohort.data.visits)
    features = patient_features(engines["duckdb"], AS_OF)
    snap = Snapshot.of(data, AS_OF, features=features)
    assert snap.visit_features()[0] is features
    assert rr.scan(snap, AS_OF).to_rows() == rr.scan(data, AS_OF).to_rows()
    with pytest.raises(ConfigError, match="all-history features as of 2023-12-31"):
        Snapshot.of(data, AS_OF, features=patient_features(data.visits, "2023-11-30"))


def test_what_is_not_a_visit_source_is_a_clear_error() -> None:
    """A list, or text, is refused by the scan's door with a hint naming what it takes."""
    with pytest.raises(ConfigError, match="scan needs a PatientData bundle"):
        rr.scan([1, 2], AS_OF)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="backtest needs a PatientData bundle"):
        backtest("visits.csv", BACKTEST_AT, scorer=ScanScorer())


def test_scan_on_spark_visits_equals_the_local_scan(spark: Any) -> None:
    """A PySpark DataFrame of visits scans to exactly the local warning list."""
    cohort = synthetic_cohort(150, seed=4)
    source = spark.createDataFrame(_frame(cohort.data.visits).to_arrow())
    want = rr.scan(PatientData(visits=cohort.data.visits), AS_OF)
    assert len(want) > 0
    assert rr.scan(source, AS_OF).to_rows() == want.to_rows()


def test_scan_on_dask_visits_equals_the_local_scan() -> None:
    """A two-partition Dask DataFrame of visits scans to exactly the local warning list."""
    cohort = synthetic_cohort(150, seed=4)
    source = dask_frame(_frame(cohort.data.visits))
    want = rr.scan(PatientData(visits=cohort.data.visits), AS_OF)
    assert len(want) > 0
    assert rr.scan(source, AS_OF).to_rows() == want.to_rows()
