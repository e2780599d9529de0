"""pyarrow's CSV writer writes exactly the bytes of the numpy writer, for every kind of column."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rfm_retention.cli import main
from rfm_retention.cli._arrow_columns_csv import write_columns_arrow
from rfm_retention.cli._columns_csv import write_columns
from rfm_retention.data import VisitLog


def _both(columns: dict[str, Any], decimals: int | None) -> tuple[bytes, bytes]:
    """(numpy writer's bytes, arrow writer's bytes) for the same columns."""
    text = io.StringIO()
    write_columns("-", columns, decimals=decimals, stdout=text)
    header = text.getvalue().split("\n", 1)[0]
    binary = io.BytesIO()
    write_columns_arrow(binary, header, columns, decimals=decimals)
    return text.getvalue().encode("utf-8"), binary.getvalue()


_FLOATS = hnp.arrays(
    np.float64, st.integers(0, 30),
    elements=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(-1e6, 1e6), st.integers(-10**6, 10**6).map(float),
        st.sampled_from([0.0, -0.0, 1e-4, 9.99e-5, 1e15, 1e16, 9999999999999998.0, 0.1 + 0.2]),
    ),
)


@given(floats=_FLOATS, decimals=st.sampled_from([None, 0, 2, 9]))
def test_floats_are_written_as_the_numpy_writer_writes_them(
    floats: np.ndarray, decimals: int | None
) -> None:
    """Rounded floats in Python's shortest form, whole ones with .0, NaN empty, inf as inf,
    tiny and huge ones in exponent form: byte for byte the numpy writer's text."""
    ints = np.arange(floats.shape[0], dtype=np.int64) * -7
    numpy_bytes, arrow_bytes = _both({"x": floats, "i": ints}, decimals)
    assert arrow_bytes == numpy_bytes


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
_ODD_TEXT = ["=1+1", "a,b", 'say "hi"', "-3", "'x", "two\nlines", "", "+"]


@given(whole=hnp.arrays(np.float64, st.integers(1, 30), elements=st.one_of(
    st.integers(-10**15, 10**15).map(float), st.just(float("nan")), st.just(0.0))))
def test_columns_of_whole_floats_are_written_as_the_numpy_writer_writes_them(
    whole: np.ndarray
) -> None:
    """A column of whole numbers and NaN (intervals, counts), written by the integer kernel,
    gives the numpy writer's bytes: ``.0`` after each number, NaN empty."""
    numpy_bytes, arrow_bytes = _both({"x": whole}, 9)
    assert arrow_bytes == numpy_bytes


@given(
    texts=st.lists(st.one_of(_TEXT, st.sampled_from(_ODD_TEXT)), min_size=1, max_size=20),
    flags=st.lists(st.booleans(), min_size=1, max_size=20),
    days=st.lists(st.one_of(st.none(), st.integers(-500_000, 2_900_000)), min_size=1,
                  max_size=20),
)
def test_text_flags_dates_and_times_are_written_as_the_numpy_writer_writes_them(
    texts: list[str], flags: list[bool], days: list[int | None]
) -> None:
    """Formula-like and quoted text, True/False, dates and instants with NaT: identical bytes."""
    n = min(len(texts), len(flags), len(days))
    day = np.array([np.datetime64("NaT") if d is None else np.datetime64(d, "D")
                    for d in days[:n]], "datetime64[D]")
    columns = {
        "text": np.array(texts[:n], dtype=str),
        "objects": texts[:n],
        "flag": np.array(flags[:n], bool),
        "day": day,
        "instant": day.astype("datetime64[s]") + np.arange(n).astype("timedelta64[s]") * 3607,
    }
    numpy_bytes, arrow_bytes = _both(columns, 9)
    assert arrow_bytes == numpy_bytes


def test_features_csv_is_byte_identical_through_both_writers(tmp_path: Path) -> None:
    """The CLI's features file written by arrow equals the numpy writer's, byte for byte."""
    rng = np.random.default_rng(3)
    n = 5000
    log = VisitLog.from_arrays(
        patient_id=np.char.add("p", rng.integers(0, 600, n).astype(str)),
        visit_time=np.datetime64("2022-01-01") + rng.integers(0, 1000, n).astype("m8[D]"),
        amount=np.round(rng.lognormal(4, 2, n), 2),
        department=rng.choice(["icu", "a,b", "=x", ""], n),
    )
    columns = log.features("2024-12-31").to_columns()
    numpy_bytes, arrow_bytes = _both(columns, 9)
    assert arrow_bytes == numpy_bytes
    visits = tmp_path / "v.csv"
    visits.write_text("patient_id,visit_time,amount\np1,2024-01-05,1.5\np1,2024-03-01,2\n")
    out = tmp_path / "f.csv"
    assert main(["features", "--visits", str(visits), "--as-of", "2024-06-30",
                 "--out", str(out)]) == 0
    text = io.StringIO()
    write_columns("-", VisitLog.from_csv(visits).features("2024-06-30").to_columns(),
                  decimals=9, stdout=text)
    assert out.read_bytes() == text.getvalue().encode("utf-8")


def test_unsigned_ints_far_dates_and_empty_text_match_the_numpy_writer() -> None:
    """Unsigned integers past int64, dates beyond arrow's 32-bit day range and all-empty text
    columns come out byte for byte as the numpy writer writes them."""
    columns = {
        "u": np.array([0, 2**64 - 1, 7], np.uint64),
        "small": np.array([-3, 0, 120], np.int8),
        "day": np.array(["2024-01-01", "NaT", "2024-02-29"], "datetime64[D]")
        + np.array([0, 0, 2**31 + 5]).astype("m8[D]"),
        "empty": np.array(["", "", ""]),
        "flag": np.array([True, False, True]),
    }
    numpy_bytes, arrow_bytes = _both(columns, 9)
    assert arrow_bytes == numpy_bytes
    assert numpy_bytes.splitlines()[2].startswith(b"18446744073709551615,0,,")


def test_blocks_formatted_ahead_are_written_in_row_order(monkeypatch: Any) -> None:
    """With many small blocks (the next formatted while one is written) the lines come out
    in row order, byte for byte as the numpy writer writes them."""
    from rfm_retention.cli import _arrow_columns_csv

    monkeypatch.setattr(_arrow_columns_csv, "_ROWS_PER_BLOCK", 7)
    n = 100
    columns = {"id": np.arange(n), "x": np.arange(n) / 8, "t": np.array(["a", "b"] * 50)}
    numpy_bytes, arrow_bytes = _both(columns, 9)
    assert arrow_bytes == numpy_bytes
    assert arrow_bytes.splitlines()[-1] == b"99,12.375,b"


@given(distinct=hnp.arrays(np.float64, st.integers(1, 40), elements=st.one_of(
           st.floats(allow_nan=True, allow_infinity=True),
           st.sampled_from([0.0, -0.0, 1e-5, 2.5, 1e16, 365.25 / 7]))),
       seed=st.integers(0, 2**32 - 1), decimals=st.sampled_from([None, 9]))
def test_floats_repeating_a_few_values_are_written_as_the_numpy_writer_writes_them(
    distinct: np.ndarray, seed: int, decimals: int | None
) -> None:
    """Blocks of floats drawn from a few values (written once each, then gathered) give the
    numpy writer's bytes, NaN, signed zeros and exponent forms included."""
    rows = np.random.default_rng(seed).integers(0, distinct.shape[0], 20_000)
    numpy_bytes, arrow_bytes = _both({"x": distinct[rows]}, decimals)
    assert arrow_bytes == numpy_bytes
