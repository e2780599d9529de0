"""DataFrames in and out: from_frame on pandas, Polars, Arrow and DuckDB builds the same table
as from_arrays; every result converts to pandas, Polars and Arrow with its dtypes kept."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import rfm_retention as rr
from rfm_retention.data import PatientData, RatingTable, VisitLog
from rfm_retention.errors import ConfigError, ValidationError
from rfm_retention.metrics import backtest, kpi_report_by
from rfm_retention.metrics._backtest import DaysSinceLastVisit
from rfm_retention.segmentation import migration
from rfm_retention.testing import synthetic_cohort

RNG = np.random.default_rng(5)
N = 5000
COLUMNS = {
    "patient_id": RNG.integers(0, 700, N),
    "visit_time": np.datetime64("2022-01-01") + RNG.integers(0, 1000, N).astype("timedelta64[D]"),
    "amount": np.round(RNG.lognormal(4, 1, N), 2),
}


def _frames() -> dict[str, Any]:
    frame = pd.DataFrame(COLUMNS)
    return {
        "pandas": frame,
        "polars": pl.DataFrame(COLUMNS),
        "polars-lazy": pl.DataFrame(COLUMNS).lazy(),
        "arrow": pa.table(COLUMNS),
        "duckdb": duckdb.from_df(frame),
    }


@pytest.mark.parametrize("kind", list(_frames()))
def test_from_frame_gives_the_table_from_arrays(kind: str) -> None:
    """Each kind of frame builds the same rows, ids and features as the numpy arrays."""
    reference = VisitLog.from_arrays(**COLUMNS)
    log = VisitLog.from_frame(_frames()[kind])
    assert log.patient_ids.tolist() == reference.patient_ids.tolist()
    assert log.source_row.tolist() == reference.source_row.tolist()
    assert np.array_equal(log.time, reference.time)
    f, g = log.features("2024-12-31"), reference.features("2024-12-31")
    assert np.array_equal(f.days_since_last_visit, g.days_since_last_visit)


def test_from_frame_reads_numeric_columns_without_a_copy() -> None:
    """A pandas float column reaches the validator as the frame's own memory (no copy)."""
    from rfm_retention._frames import frame_columns

    frame = pd.DataFrame(COLUMNS)
    cols = frame_columns(frame, {"amount": "amount", "patient_id": "patient_id"})
    assert np.shares_memory(cols["amount"], frame["amount"].to_numpy())
    arrow_cols = frame_columns(pa.table(COLUMNS), {"amount": "amount"})
    assert arrow_cols["amount"].dtype == np.float64


def test_from_frame_mapping_text_ids_timezones_and_gaps() -> None:
    """A mapping renames columns; text ids keep leading zeros; aware times become naive UTC;
    a gap in a required column is a row error, as for any other input."""
    frame = pd.DataFrame({
        "PID": ["000123", "b"],
        "START": pd.to_datetime(["2024-01-01T08:00+08:00", "2024-01-02T00:00Z"], utc=True),
        "amount": [1.0, 2.0],
    })
    mapping = {"patient_id": "PID", "visit_time": "START"}
    for native in (frame, pl.from_pandas(frame), pa.Table.from_pandas(frame)):
        log = VisitLog.from_frame(native, mapping=mapping)
        assert log.patient_ids.tolist() == ["000123", "b"]
        assert log.time.tolist() == [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)]
    frame.loc[1, "amount"] = None
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_frame(frame, mapping=mapping)
    assert caught.value.rows == (1,)
    with pytest.raises(ConfigError, match="no column 'visit_time'"):
        VisitLog.from_frame(frame, mapping={"patient_id": "PID"})


def test_signal_tables_and_patient_data_read_frames() -> None:
    """Every table has from_frame, and PatientData.from_frames builds a bundle from frames."""
    ratings = pd.DataFrame({"patient_id": [1, 2], "rated_at": ["2024-01-01", "2024-01-03"],
                            "score": [80, 40]})
    table = RatingTable.from_frame(pl.from_pandas(ratings))
    assert table.score.tolist() == [80.0, 40.0]
    data = PatientData.from_frames(visits=pd.DataFrame(COLUMNS), ratings=ratings)
    assert len(data.visits) == N
    assert data.ratings is not None
    assert len(data.ratings) == 2


def test_from_columns_and_from_records_name_from_frame_for_a_frame() -> None:
    """Passing a DataFrame to from_columns/from_records says to call from_frame instead."""
    with pytest.raises(ConfigError, match="use from_frame"):
        VisitLog.from_columns(pl.DataFrame(COLUMNS))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="use from_frame"):
        VisitLog.from_records(pd.DataFrame(COLUMNS))


# ---------------------------------------------------------------- out
class _Named(DaysSinceLastVisit):
    name = "recency"


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    cohort = synthetic_cohort(150, seed=3)
    data = cohort.data
    features = data.visits.features("2024-06-30")
    segmenter = rr.eight_segments().fit(features)
    segments = segmenter.assign(features)
    earlier = segmenter.assign(data.visits.features("2024-03-31"))
    return {
        "features": features,
        "btyd": data.visits.btyd_summary("2024-06-30"),
        "segmentation": segments,
        "summary": segments.summary(),
        "migration": migration(earlier, segments),
        "warnings": rr.scan(data, "2024-06-30"),
        "kpis": rr.kpi_report(data.visits, "2024-01-01", "2024-03-31", as_of="2024-06-30"),
        "grouped_kpis": kpi_report_by(data.visits, "2024-01-01", "2024-03-31",
                                      as_of="2024-06-30", by="department"),
        "backtest": backtest(data, ["2023-06-30"], scorer=_Named()),
    }


@pytest.mark.parametrize("name", ["features", "btyd", "segmentation", "summary", "migration",
                                  "warnings", "kpis", "grouped_kpis", "backtest"])
def test_every_result_converts_to_pandas_polars_and_arrow(results: dict[str, Any],
                                                          name: str) -> None:
    """to_pandas/to_polars/to_arrow exist on each result and agree on rows and columns."""
    result = results[name]
    as_pl, as_pa = result.to_polars(), result.to_arrow()
    assert isinstance(as_pl, pl.DataFrame)
    assert isinstance(as_pa, pa.Table)
    assert as_pl.columns == as_pa.column_names
    assert as_pl.height == as_pa.num_rows
    assert isinstance(result.to_pandas(), pd.DataFrame)


def test_output_dtypes_keep_dates_ids_and_categories(results: dict[str, Any]) -> None:
    """Dates stay dates, ids keep their type, segments and levels become categoricals."""
    features = results["features"]
    as_pl = features.to_polars()
    assert as_pl.schema["last_visit"] == pl.Date
    assert as_pl.schema["patient_id"] == pl.Utf8
    assert features.to_arrow().schema.field("first_visit").type == pa.date32()
    assert str(features.to_pandas()["last_visit"].dtype).startswith("datetime64")
    seg = results["segmentation"].to_polars()
    assert seg.schema["segment"] == pl.Categorical
    warnings = results["warnings"].to_arrow()
    assert pa.types.is_dictionary(warnings.schema.field("level").type)
    ints = VisitLog.from_arrays(**COLUMNS).features("2024-12-31")
    assert ints.to_polars().schema["patient_id"] == pl.Int64
    assert ints.to_pandas()["patient_id"].dtype == np.int64
