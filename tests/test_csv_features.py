"""Features from a CSV read batch by batch equal the features of the file read whole, with the
same bad-row reporting (every bad row, with its file line)."""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rfm_retention as rr
from rfm_retention._csv_features import csv_features
from rfm_retention.data import VisitLog
from rfm_retention.errors import InputFileError, RFMRetentionError, ValidationError
from rfm_retention.features import FEATURE_COLUMNS, PatientFeatures

HEADER = "patient_id,visit_time,amount,department\n"

_day = st.one_of(st.sampled_from([dt.date(2024, 2, 29), dt.date(2024, 3, 31),
                                  dt.date(2024, 6, 30), dt.date(2024, 12, 31)]),
                 st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2025, 1, 31)))
_time = st.one_of(
    _day.map(str),
    st.builds(lambda d, s: (dt.datetime.combine(d, dt.time()) + dt.timedelta(seconds=s))
              .isoformat(), _day, st.sampled_from([0, 1, 43_200, 86_399])),
)
_row = st.tuples(st.sampled_from(["007", "7", "p1", "000123", "b"]), _time,
                 st.integers(min_value=0, max_value=4_000).map(lambda q: str(q / 4)),
                 st.sampled_from(["", "icu", "cardiology"]))
_window = st.one_of(st.none(), st.integers(min_value=1, max_value=400),
                    st.builds(relativedelta, months=st.integers(min_value=1, max_value=15)))


def _write(path: Path, rows: list[tuple[str, ...]]) -> Path:
    path.write_text(HEADER + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _assert_identical(expected: PatientFeatures, got: PatientFeatures) -> None:
    assert (got.as_of, got.window_days, len(got)) == (expected.as_of, expected.window_days,
                                                       len(expected))
    for name in FEATURE_COLUMNS:
        a, b = np.asarray(getattr(expected, name)), np.asarray(getattr(got, name))
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (name, a, b)


def _small_chunks(chunk_bytes: int) -> Any:
    """Read the file a few bytes at a time, so even a small file has many batches."""
    return mock.patch("rfm_retention.data._csv.CHUNK_BYTES", chunk_bytes)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(rows=st.lists(_row, min_size=1, max_size=60), chunk=st.integers(1, 200),
       batch_rows=st.integers(1, 30), window=_window, id_type=st.sampled_from(["text", "int"]),
       as_of=st.sampled_from(["2024-06-30", "2024-12-31", "2025-03-01T12:00:00"]),
       reader=st.sampled_from(["numpy", "arrow"]))
def test_batches_of_any_size_give_the_whole_file_features(
    tmp_path: Path, rows: list[tuple[str, ...]], chunk: int, batch_rows: int, window: Any,
    id_type: str, as_of: str, reader: str,
) -> None:
    """Any chunk and batch size (one patient's rows split across batches, visits after as_of
    among them), with either CSV reader, gives exactly the features of the file read whole."""
    if id_type == "int":
        rows = [(r[0] if r[0].isdigit() else "42", *r[1:]) for r in rows]
    path = _write(tmp_path / "v.csv", rows)
    whole = VisitLog.from_csv(path, id_type=id_type, reader=reader)  # type: ignore[arg-type]
    with _small_chunks(chunk):
        got, rejected = csv_features(path, as_of, window=window, batch_rows=batch_rows,
                                     id_type=id_type, reader=reader)  # type: ignore[arg-type]
    _assert_identical(rr.patient_features(whole, as_of, window=window), got)
    assert not rejected
    if id_type == "text":  # ids as written: "007" and "7" stay two patients
        assert set(got.patient_id.tolist()) <= {r[0] for r in rows}


_text_cell = st.sampled_from(["", "icu", " icu", "cardiology ", "Ärzte", "b"])
_digit_row = st.tuples(
    st.one_of(st.integers(0, 120).map(str), st.integers(0, 120).map(lambda n: f"{n:04d}")),
    _time, st.integers(min_value=0, max_value=40).map(lambda q: str(q / 4)), _text_cell,
    _text_cell)
_text_columns = st.sampled_from([(), ("department",), ("diagnosis",),
                                 ("department", "diagnosis")])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(rows=st.lists(_digit_row, min_size=1, max_size=60), window=_window,
       id_type=st.sampled_from(["text", "int"]), padded=st.booleans(), texts=_text_columns,
       as_of=st.sampled_from(["2024-06-30", "2024-12-31", "2025-03-01T12:00:00"]))
def test_digit_id_files_skip_the_batches_with_the_numpy_readers_features(
    tmp_path: Path, rows: list[tuple[str, ...]], window: Any, id_type: str, padded: bool,
    texts: tuple[str, ...], as_of: str,
) -> None:
    """Plain digit ids (zero-padded to one width, or without leading zeros), with or without
    department and diagnosis columns (same-time visits among them), are aggregated unsorted,
    never batched, and give exactly the numpy reader's features and ids."""
    rows = [(f"{int(r[0]):04d}" if padded else str(int(r[0])), r[1], r[2],
             *(r[3 + k] for k, _ in enumerate(texts))) for r in rows]
    path = tmp_path / "v.csv"
    header = ",".join(("patient_id", "visit_time", "amount", *texts))
    path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows),
                    encoding="utf-8")
    whole = VisitLog.from_csv(path, id_type=id_type, reader="numpy")  # type: ignore[arg-type]
    with mock.patch("rfm_retention._csv_features._streamed_state",
                    side_effect=AssertionError("batched")):
        got, rejected = csv_features(path, as_of, window=window, id_type=id_type,  # type: ignore[arg-type]
                                     reader="arrow")
    _assert_identical(rr.patient_features(whole, as_of, window=window), got)
    assert not rejected


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(rows=st.lists(_digit_row, min_size=1, max_size=60), window=_window,
       id_type=st.sampled_from(["text", "int"]), chunk=st.integers(8, 200),
       batch_rows=st.integers(1, 30), cap=st.sampled_from([10, 1 << 30]),
       as_of=st.sampled_from(["2024-06-30", "2024-12-31", "2025-03-01T12:00:00"]))
def test_numpy_reader_codes_digit_ids_held_across_batches(
    tmp_path: Path, rows: list[tuple[str, ...]], window: Any, id_type: str, chunk: int,
    batch_rows: int, cap: int, as_of: str,
) -> None:
    """Without arrow, a digit-id file read in many chunks and batches is aggregated from
    codes (or, with ``007`` beside ``7`` as text or more rows than the cap, batch by batch)
    and gives exactly the features of the file read whole."""
    rows = [r[:3] for r in rows]  # ids, times and amounts only
    path = tmp_path / "v.csv"
    path.write_text("patient_id,visit_time,amount\n" + "".join(",".join(r) + "\n" for r in rows),
                    encoding="utf-8")
    whole = VisitLog.from_csv(path, id_type=id_type, reader="numpy")  # type: ignore[arg-type]
    ids = {r[0] for r in rows}
    mixed = any(i.startswith("0") and len(i) > 1 for i in ids) and len({len(i) for i in ids}) > 1
    coded = not (id_type == "text" and mixed) and len(rows) <= cap
    batched = mock.patch("rfm_retention._csv_features._streamed_state",
                         side_effect=AssertionError("batched")) if coded else nullcontext()
    with _small_chunks(chunk), batched, \
            mock.patch("rfm_retention.data._csv_coded.CODED_MAX_ROWS", cap):
        got, rejected = csv_features(path, as_of, window=window, id_type=id_type,  # type: ignore[arg-type]
                                     reader="numpy", batch_rows=batch_rows)
    _assert_identical(rr.patient_features(whole, as_of, window=window), got)
    assert not rejected


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["p1", "P01", "b", "a-7", "007x", "zz"]), _time,
                               st.integers(min_value=0, max_value=40).map(lambda q: str(q / 4)),
                               _text_cell), min_size=1, max_size=60),
       window=_window, as_of=st.sampled_from(["2024-06-30", "2025-03-01T12:00:00"]))
def test_text_id_files_skip_the_batches_with_the_numpy_readers_features(
    tmp_path: Path, rows: list[tuple[str, ...]], window: Any, as_of: str,
) -> None:
    """Text ids coded by arrow's hash are aggregated unsorted, never batched, and give
    exactly the numpy reader's features and ids."""
    path = tmp_path / "v.csv"
    path.write_text(HEADER + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    whole = VisitLog.from_csv(path, reader="numpy")
    with mock.patch("rfm_retention._csv_features._streamed_state",
                    side_effect=AssertionError("batched")):
        got, rejected = csv_features(path, as_of, window=window, reader="arrow")
    _assert_identical(rr.patient_features(whole, as_of, window=window), got)
    assert not rejected


_BAD_FILES = {
    "bad cells across batches": HEADER + "p1,2024-03-01,5,icu\np2,2024-13-01,5,icu\n"
    + "".join(f"p{k},2024-03-0{k % 9 + 1},{k},icu\n" for k in range(30))
    + "p3,2024-03-01,-1,icu\n\n\np4,,5,icu\np5,2024-03-01,x,icu\n",
    "blank lines and multi-line cells": HEADER + "p1,2024-03-01,5,icu\n\n"
    + 'p2,2024-03-01,5,"two\nlines"\np3,2024-13-01,5,icu\n\n\np4,2024-03-01,-1,icu\n',
    "missing ids and amounts": HEADER + ",2024-03-01,5,icu\np1,2024-03-01,,icu\n" * 5,
    "zone-aware minority in a later batch": HEADER
    + "".join(f"p{k},2024-03-01T10:00:00,1,icu\n" for k in range(20))
    + "p9,2024-03-01T10:00:00+02:00,1,icu\n",
    "text ids read as integers": HEADER + "12,2024-03-01,5,icu\nx1,2024-03-01,5,icu\n" * 3,
    "free-form day-first dates": HEADER + "p1,03/01/2024,5,icu\np2,31/02/2024,5,icu\n" * 3,
    "digit ids with negative and missing cells": "patient_id,visit_time,amount\n"
    + "12,2024-03-01,5\n13,2024-03-01,-1\n14,2024-03-01,\n15,,5\n" * 3,
}


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return "ok", call()
    except ValidationError as exc:
        return "invalid", [(i.row, i.line, i.field, i.message, i.value, i.patient_id)
                           for i in exc.issues]
    except RFMRetentionError as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("name", sorted(_BAD_FILES))
@pytest.mark.parametrize("chunk", [16, 64, 1 << 20])
@pytest.mark.parametrize("reader", ["numpy", "arrow"])
def test_bad_rows_are_reported_as_the_whole_file_reader_reports_them(
    tmp_path: Path, name: str, chunk: int, reader: str
) -> None:
    """Raise and quarantine name the same rows, lines, fields and values on both paths."""
    path = tmp_path / "v.csv"
    path.write_text(_BAD_FILES[name], encoding="utf-8")
    options: dict[str, Any] = {"reader": reader}
    if name == "text ids read as integers":
        options["id_type"] = "int"
    if name == "free-form day-first dates":
        options["parsing"] = rr.DateParsing(dayfirst=True)
    as_of = "2024-12-31"
    with _small_chunks(chunk):  # the same chunks: a cell's shown value follows its chunk
        whole = _outcome(lambda: VisitLog.from_csv(path, **options))
        streamed = _outcome(lambda: csv_features(path, as_of, batch_rows=2, **options))
        log = VisitLog.from_csv(path, on_error="quarantine", **options)
        got, rejected = csv_features(path, as_of, batch_rows=2, on_error="quarantine",
                                     **options)
    assert streamed[0] == whole[0] == "invalid"
    assert streamed[1] == whole[1]
    assert [(i.row, i.line, i.message) for i in rejected.issues] == [
        (i.row, i.line, i.message) for i in log.rejected.issues]
    _assert_identical(rr.patient_features(log, as_of), got)


@pytest.mark.parametrize("reader", ["numpy", "arrow"])
@pytest.mark.parametrize("text", [
    HEADER + "p1,2024-03-01,12,icu\n\np3,2024-03-01,12,50,cardio\n",
    HEADER + '"p1",2024-03-01,12,"a, b"\np3,2024-03-01,12,50,cardio\n',
    "patient_id,visit_time,amount,amount\np1,2024-03-01,5,500\n",
    "visit_time,amount\n2024-03-01,5\n",
    "",
    HEADER + 'p1,2024-03-01,5,"never closed\n',
], ids=["long row", "long quoted row", "repeated column", "no id column", "empty",
        "open quote"])
def test_file_level_problems_are_the_same_errors(tmp_path: Path, text: str, reader: Any) -> None:
    """A malformed file fails with the same error, naming the same line, on both paths."""
    path = tmp_path / "v.csv"
    path.write_text(text, encoding="utf-8")
    whole = _outcome(lambda: VisitLog.from_csv(path, reader=reader))
    with _small_chunks(16):
        streamed = _outcome(lambda: csv_features(path, "2024-12-31", batch_rows=1,
                                                 reader=reader))
    assert whole[0] != "ok"
    assert streamed == whole


def test_missing_file_and_undecodable_bytes_are_the_same_errors(tmp_path: Path) -> None:
    """No file, a folder and bytes in the wrong encoding raise the same InputFileError."""
    bad = tmp_path / "latin.csv"
    bad.write_bytes((HEADER + "p1,2024-03-01,5,icu\np2,2024-03-01,5,m\xe9decine\n")
                    .encode("latin-1"))
    for path in (tmp_path / "nope.csv", tmp_path, bad):
        with pytest.raises(InputFileError) as whole:
            VisitLog.from_csv(path)
        with pytest.raises(InputFileError) as streamed:
            csv_features(path, "2024-12-31")
        assert str(streamed.value) == str(whole.value)


def test_duplicate_visit_ids_across_batches_are_still_found(tmp_path: Path) -> None:
    """A visit_id column is checked across the whole file (that file is read whole)."""
    path = tmp_path / "v.csv"
    path.write_text("patient_id,visit_time,amount,visit_id\n"
                    + "".join(f"p{k},2024-03-01,1,v{k}\n" for k in range(20))
                    + "p1,2024-03-02,1,v3\n", encoding="utf-8")
    with _small_chunks(16), pytest.raises(ValidationError) as caught:
        csv_features(path, "2024-12-31", batch_rows=1)
    assert [(i.line, i.message) for i in caught.value.issues] == [
        (22, "duplicate (first seen in row 3)")]


def test_a_ten_thousand_row_file_in_many_batches_matches(tmp_path: Path) -> None:
    """Thousands of patients over hundreds of batches: the merged state gives the features."""
    rng = np.random.default_rng(3)
    n = 10_000
    ids = rng.integers(0, 800, n)
    days = np.datetime64("2023-01-01") + rng.integers(0, 700, n).astype("timedelta64[D]")
    amounts = rng.integers(0, 40_000, n) / 4
    rows = [(f"{i:05d}", str(d), str(a), "icu") for i, d, a in
            zip(ids.tolist(), days.tolist(), amounts.tolist(), strict=True)]
    path = _write(tmp_path / "v.csv", rows)
    with _small_chunks(4096):
        got, _ = csv_features(path, "2024-09-30", batch_rows=50, reader="numpy")
    want = rr.patient_features(VisitLog.from_csv(path, reader="numpy"), "2024-09-30")
    _assert_identical(want, got)
    assert got.patient_id[0] == f"{int(ids.min()):05d}"  # leading zeros kept


def test_arrow_reads_go_in_few_even_batches_with_the_whole_file_features(
    tmp_path: Path,
) -> None:
    """With arrow's reader and no batch size, a file is cut into as few even batches as keep
    each under the limit (a small file is one batch) and still gives the whole file's
    features."""
    from rfm_retention import _csv_features

    assert _csv_features._even_batches(0) == 1
    assert _csv_features._even_batches(2_000_000) == 2_000_000
    assert _csv_features._even_batches(10_000_000) == 2_500_000
    rng = np.random.default_rng(4)
    n = 1000
    # ids with and without a space before them (one patient once trimmed): the batch path
    rows = [(f"{' ' * (i % 2)}p{i // 2}", str(d), str(a), "icu") for i, d, a in zip(
        rng.integers(0, 90, n).tolist(),
        (np.datetime64("2024-01-01") + rng.integers(0, 300, n).astype("m8[D]")).tolist(),
        (rng.integers(0, 400, n) / 4).tolist(), strict=True)]
    path = _write(tmp_path / "v.csv", rows)
    sizes: list[int] = []
    real = _csv_features._slices

    def counted(read: Any, rows: int) -> Any:
        sizes.append(rows)
        return real(read, rows)

    with mock.patch.object(_csv_features, "ARROW_BATCH_ROWS", 300), \
            mock.patch.object(_csv_features, "_slices", counted):
        got, _ = csv_features(path, "2024-12-31", reader="arrow")
    assert sizes == [250]
    _assert_identical(rr.patient_features(VisitLog.from_csv(path), "2024-12-31"), got)


def test_arrow_read_is_let_go_once_its_last_batch_is_made(tmp_path: Path) -> None:
    """The batches of an arrow read keep arrow's table only until the last batch is made, so
    the table and the batch's build are not in memory together."""
    import gc
    import weakref

    from rfm_retention import _csv_features
    from rfm_retention.data._arrow_csv import read_arrow

    path = _write(tmp_path / "v.csv", [(f"p{k}", "2024-03-01", "1", "icu") for k in range(5)])
    read = read_arrow(path, VisitLog.SCHEMA)
    assert read is not None
    table = weakref.ref(read)
    batches = _csv_features._slices(read, 3)
    del read
    first = next(batches)
    gc.collect()
    assert table() is not None  # one batch still to come
    last = next(batches)
    gc.collect()
    assert table() is None
    assert first.lines.tolist() == [2, 3, 4]
    assert last.columns["patient_id"].tolist() == [b"p3", b"p4"]
