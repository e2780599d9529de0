"""The ledger's history, one patient's balance and every account's balances as pandas, Polars
and Arrow tables, with their dtypes kept (times as datetimes, ids as text, points as ints)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from rfm_retention.loyalty import (
    Balances,
    LedgerHistory,
    MemoryStore,
    PointsLedger,
    ReversalPolicy,
    SQLiteStore,
)

AT = dt.datetime(2024, 3, 1, 9, 30)


def _ledger(store: MemoryStore | SQLiteStore) -> PointsLedger:
    """Two patients: one with an expiring lot and a redemption, one indebted by a reversal."""
    ledger = PointsLedger(store, reversal_policy=ReversalPolicy.DEBT)
    ledger.earn("000123", 1500, key="e1", at=AT, expires_at=AT + dt.timedelta(days=365))
    ledger.redeem("000123", "health_assessment", key="r1", at=AT + dt.timedelta(hours=1))
    ledger.earn("p2", 1000, key="e2", at=AT)
    ledger.redeem("p2", "health_assessment", key="r2", at=AT + dt.timedelta(hours=2))
    ledger.reverse("e2", at=AT + dt.timedelta(hours=3))
    return ledger


@pytest.fixture(params=["memory", "sqlite"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> PointsLedger:
    """The same ledger in memory and in a SQLite file."""
    return _ledger(MemoryStore() if request.param == "memory"
                   else SQLiteStore(tmp_path / "points.db"))


def test_history_to_pandas_keeps_times_ids_and_points(ledger: PointsLedger) -> None:
    """History as pandas: datetime64 times (NaT without expiry), text ids, int64 points."""
    df = ledger.history("000123").to_pandas()
    assert df["points"].tolist() == [1500, -1000]
    assert str(df["points"].dtype) == "int64"
    assert str(df["seq"].dtype) == "int64"
    assert df["at"].dtype.kind == "M"
    assert df["at"].tolist() == [pd.Timestamp(AT), pd.Timestamp(AT + dt.timedelta(hours=1))]
    assert df["expires_at"].iloc[0] == pd.Timestamp(AT + dt.timedelta(days=365))
    assert pd.isna(df["expires_at"].iloc[1])
    assert df["patient_id"].tolist() == ["000123", "000123"]
    assert str(df["kind"].dtype) == "category"
    assert df["kind"].tolist() == ["earn", "redeem"]
    assert df["reward"].tolist() == ["", "health_assessment"]


def test_history_to_polars_keeps_dtypes(ledger: PointsLedger) -> None:
    """History as Polars: Datetime times, String ids, Int64 points, Categorical kind."""
    df = ledger.history("p2").to_polars()
    assert df["points"].to_list() == [1000, -1000, -1000]
    assert df.schema["points"] == pl.Int64
    assert isinstance(df.schema["at"], pl.Datetime)
    assert df.schema["patient_id"] == pl.String
    assert df.schema["kind"] == pl.Categorical
    assert df["kind"].cast(pl.String).to_list() == ["earn", "redeem", "reverse"]
    assert df["reverses"].to_list() == ["", "", "e2"]
    assert df["at"].to_list()[2] == AT + dt.timedelta(hours=3)


def test_history_to_arrow_keeps_dtypes(ledger: PointsLedger) -> None:
    """History as Arrow: timestamp[us] times, string ids, int64 points, dictionary kind."""
    table = ledger.history("000123").to_arrow()
    assert table.schema.field("at").type == pa.timestamp("us")
    assert table.schema.field("expires_at").type == pa.timestamp("us")
    assert table.schema.field("points").type == pa.int64()
    assert table.schema.field("patient_id").type == pa.string()
    assert pa.types.is_dictionary(table.schema.field("kind").type)
    assert table.column("key").to_pylist() == ["e1", "r1"]
    assert table.column("expires_at").to_pylist()[1] is None


def test_empty_history_is_still_a_typed_table() -> None:
    """A patient without events gives an empty table whose columns keep their types."""
    history = PointsLedger(MemoryStore()).history("nobody")
    assert history == LedgerHistory()
    assert history.to_arrow().schema.field("patient_id").type == pa.string()
    assert history.to_polars().schema["at"] == pl.Datetime("us")
    assert len(history.to_pandas()) == 0


def test_balance_lots_in_the_three_frames(ledger: PointsLedger) -> None:
    """One patient's lots: remaining points as ints, expiry as a datetime, reversed as bool."""
    balance = ledger.balance("000123")
    df = balance.to_pandas()
    assert df["key"].tolist() == ["e1"]
    assert df["remaining"].tolist() == [500]
    assert str(df["remaining"].dtype) == "int64"
    assert df["expires_at"].tolist() == [pd.Timestamp(AT + dt.timedelta(days=365))]
    assert df["reversed"].tolist() == [False]
    polars = balance.to_polars()
    assert polars.schema["earned_at"] == pl.Datetime("us")
    assert polars["points"].to_list() == [1500]
    arrow = balance.to_arrow()
    assert arrow.schema.field("reversed").type == pa.bool_()
    assert arrow.column("expired").to_pylist() == [0]


def test_balances_of_every_account_in_the_three_frames(ledger: PointsLedger) -> None:
    """Every account of the branch: text ids as given, the four figures as int64."""
    balances = ledger.balances()
    assert isinstance(balances, Balances)
    assert len(balances) == 2
    df = balances.to_pandas()
    assert df["patient_id"].tolist() == ["000123", "p2"]
    assert df["balance"].tolist() == [500, -1000]
    assert df["available"].tolist() == [500, 0]
    assert df["debt"].tolist() == [0, 1000]
    assert df["n_events"].tolist() == [2, 3]
    assert {str(t) for t in df.dtypes[1:]} == {"int64"}
    polars = balances.to_polars()
    assert polars.schema["patient_id"] == pl.String
    assert polars.schema["debt"] == pl.Int64
    arrow = balances.to_arrow()
    assert arrow.schema.field("balance").type == pa.int64()
    assert arrow.column("patient_id").to_pylist() == ["000123", "p2"]


def test_balances_of_a_store_without_kept_state_are_replayed(ledger: PointsLedger) -> None:
    """A host store that keeps no account state gets the same figures by replaying events."""
    class EventsOnly:
        """Forwards only the protocol's methods (no kept account state)."""

        def __init__(self, inner: MemoryStore | SQLiteStore) -> None:
            self.transaction = inner.transaction
            self.events = inner.events
            self.projected_balances = inner.projected_balances

    replayed = PointsLedger(EventsOnly(ledger.store)).balances()  # type: ignore[arg-type]
    kept = ledger.balances()
    for name in ("balance", "available", "debt", "n_events"):
        assert np.array_equal(getattr(replayed, name), getattr(kept, name)), name
    assert replayed.patient_id.tolist() == kept.patient_id.tolist()
    other = PointsLedger(ledger.store, branch="east").balances()
    assert len(other) == 0
    assert other.to_arrow().num_rows == 0
