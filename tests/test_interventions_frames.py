"""Cases as pandas, Polars and Arrow tables: times as datetimes, levels and outcomes as
categoricals, counts as integers, the same rows whichever store holds the cases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from rfm_retention.interventions import (
    CaseBook,
    CaseList,
    Channel,
    ContactResult,
    InMemoryCaseStore,
    Outcome,
    SQLiteCaseStore,
)
from rfm_retention.risk import WarningRecord
from rfm_retention.vocabulary import ReasonCode, RiskLevel

T0 = dt.datetime(2024, 5, 6, 9, 0)
H = dt.timedelta(hours=1)


@pytest.fixture(params=["memory", "sqlite"])
def book(request: pytest.FixtureRequest, tmp_path: Path) -> CaseBook:
    """Two cases: 000123 contacted, planned and won back; p2 open and untouched."""
    store = InMemoryCaseStore() if request.param == "memory" else SQLiteCaseStore(
        tmp_path / "cases.db")
    book = CaseBook(store)
    book.intake([WarningRecord("000123", RiskLevel.HIGH, ReasonCode.PRICE, 88.5, "no visit"),
                 WarningRecord("p2", RiskLevel.MEDIUM, ReasonCode.SERVICE)], T0)
    book.record_contact("000123#1", at=T0 + 2 * H, actor="amy", channel=Channel.PHONE,
                        result=ContactResult.REACHED)
    book.record_plan("000123#1", at=T0 + 3 * H, actor="amy")
    book.close("000123#1", at=T0 + 4 * H, actor="amy", outcome=Outcome.WON_BACK)
    return book


def test_cases_is_a_sequence_and_a_table(book: CaseBook) -> None:
    """cases() indexes, slices and compares like a list, and lists one row per case."""
    cases = book.cases()
    assert isinstance(cases, CaseList)
    assert [c.case_id for c in cases] == ["000123#1", "p2#1"]
    assert cases[1:] == [book.get("p2#1")]
    assert book.cases(open_only=True) == [book.get("p2#1")]
    columns = cases.to_columns()
    assert columns["case_id"].tolist() == ["000123#1", "p2#1"]
    assert columns["contacts"].tolist() == [1, 0]
    assert columns["outcome"].tolist() == ["won_back", None]
    assert columns["plan"].tolist() == [book.get("000123#1").plan.code, None]
    assert columns["first_contact_due"].tolist() == [T0 + 24 * H, None]  # medium: no such deadline
    assert columns["first_contact_met_at"].tolist() == [T0 + 2 * H, None]
    assert str(columns["closed_at"].dtype) == "datetime64[s]"
    assert "CaseList: 2 rows" in repr(cases)
    assert "CaseBook: 2 rows" in repr(book)


def test_cases_to_pandas_keeps_dtypes(book: CaseBook) -> None:
    """pandas: datetime64 times with NaT, categorical level/outcome, int64 counts, text ids."""
    df = book.cases().to_pandas()
    assert df["patient_id"].tolist() == ["000123", "p2"]
    assert df["warned_at"].dtype.kind == "M"
    assert df["warned_at"].tolist() == [pd.Timestamp(T0)] * 2
    assert df["closed_at"].iloc[0] == pd.Timestamp(T0 + 4 * H)
    assert pd.isna(df["closed_at"].iloc[1])
    assert df["first_contact_at"].iloc[0] == pd.Timestamp(T0 + 2 * H)
    for name in ("level", "reason", "status", "outcome"):
        assert str(df[name].dtype) == "category", name
    assert df["level"].tolist() == ["high", "medium"]
    assert df["outcome"].iloc[0] == "won_back"
    assert pd.isna(df["outcome"].iloc[1])
    assert str(df["contacts"].dtype) == "int64"
    assert df["score"].iloc[0] == 88.5
    assert np.isnan(df["score"].iloc[1])
    assert book.to_pandas().equals(df)


def test_cases_to_polars_keeps_dtypes(book: CaseBook) -> None:
    """Polars: Datetime times with nulls, Categorical levels, Int64 counts, String ids."""
    df = book.cases().to_polars()
    assert isinstance(df.schema["warned_at"], pl.Datetime)
    assert isinstance(df.schema["retention_plan_met_at"], pl.Datetime)
    assert df["closed_at"].to_list() == [T0 + 4 * H, None]
    assert df.schema["level"] == pl.Categorical
    assert df.schema["outcome"] == pl.Categorical
    assert df["outcome"].to_list() == ["won_back", None]
    assert df.schema["contacts"] == pl.Int64
    assert df.schema["patient_id"] == pl.String
    assert df["patient_id"].to_list() == ["000123", "p2"]


def test_cases_to_arrow_keeps_dtypes(book: CaseBook) -> None:
    """Arrow: timestamp times with nulls, dictionary-encoded levels, int64 counts."""
    table = book.cases().to_arrow()
    assert pa.types.is_timestamp(table.schema.field("warned_at").type)
    assert table.column("closed_at").to_pylist() == [T0 + 4 * H, None]
    assert pa.types.is_dictionary(table.schema.field("level").type)
    assert table.column("level").to_pylist() == ["high", "medium"]
    assert table.column("outcome").to_pylist() == ["won_back", None]
    assert table.schema.field("contacts").type == pa.int64()
    assert table.num_rows == 2


def test_no_cases_is_an_empty_table_with_the_same_dtypes() -> None:
    """An empty book gives zero rows with datetime and categorical columns still typed."""
    empty = CaseBook(InMemoryCaseStore()).cases()
    assert empty == []
    df = empty.to_pandas()
    assert len(df) == 0
    assert df["warned_at"].dtype.kind == "M"
    assert str(df["level"].dtype) == "category"
    assert empty.to_polars().height == 0
    assert empty.to_arrow().num_rows == 0
