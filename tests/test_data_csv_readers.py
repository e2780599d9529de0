"""The two CSV readers (numpy's and pyarrow's) give the same tables, features and errors.

Every bad file below goes through both readers and must fail with the same
error class, message and row/line issues, or load into the same table; clean
random files must give the same features; and the arrow reader must really
read the clean files (not hand them all to the numpy reader).
"""

from __future__ import annotations

import math
import re
import string
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rfm_retention._progress import ProgressEvent
from rfm_retention.data import ComplaintTable, CourseTable, DateParsing, ReviewTable, VisitLog
from rfm_retention.data import _arrow_csv as arrow_csv
from rfm_retention.data._arrow_csv import read_arrow_csv_columns, read_columns
from rfm_retention.data._csv_options import CsvOptions
from rfm_retention.data._table import PatientTable
from rfm_retention.errors import (
    ConfigError,
    MissingDependencyError,
    RFMRetentionError,
    ValidationError,
)

HEADER = b"patient_id,visit_time,amount,department\n"
GOOD = b"p1,2024-03-01,12,icu\n"

# name -> (file bytes, or None for no file, from_csv keyword arguments)
BAD_FILES: dict[str, tuple[bytes | None, dict[str, Any]]] = {
    "ragged long row": (HEADER + GOOD + b"\np3,2024-03-01,12,50,cardio\n", {}),
    "quoted ragged row": (HEADER + b'"p1",2024-03-01,12,"a, b"\np3,2024-03-01,12,50,x\n', {}),
    "short row": (HEADER + GOOD + b"p2,2024-03-02\n", {}),
    "row of one cell": (HEADER + GOOD + b"p2\n", {}),
    "duplicate header": (b"patient_id,visit_time,amount,amount\np1,2024-03-01,5,500\n", {}),
    "undecodable bytes": (HEADER + GOOD + b"p2,2024-03-01,5,m\xe9decine\n", {}),
    "undecodable in an unread column": (
        b"patient_id,visit_time,amount,note\np1,2024-03-01,5,\xff\n", {}),
    "latin-1 read as latin-1": (HEADER + b"p2,2024-03-01,5,m\xe9decine\n",
                                {"encoding": "latin-1"}),
    "unknown encoding": (HEADER + GOOD, {"encoding": "no-such-codec"}),
    "blank and multi-line cells": (
        HEADER + GOOD + b'\np2,2024-03-01,5,"two\nlines"\np3,2024-13-01,5,icu\n\n\n'
        b"p4,2024-03-01,-1,icu\n", {}),
    "blank lines only between rows": (HEADER + GOOD + b"\n\np2,2024-03-01,-5,icu\n", {}),
    "trailing blank line": (HEADER + GOOD + b"p2,2024-03-01,-5,icu\n\n", {}),
    "bad date": (HEADER + GOOD + b"p2,someday,5,icu\n", {}),
    "bad month": (HEADER + GOOD + b"p2,2024-13-01,5,icu\n", {}),
    "date with zone among naive": (HEADER + GOOD + b"p2,2024-03-01T10:00:00Z,5,icu\n", {}),
    "bad number": (HEADER + GOOD + b"p2,2024-03-02,abc,icu\n", {}),
    "negative amount": (HEADER + GOOD + b"p2,2024-03-02,-4,icu\n", {}),
    "nan amount": (HEADER + GOOD + b"p2,2024-03-02,nan,icu\n", {}),
    "inf amount": (HEADER + GOOD + b"p2,2024-03-02,inf,icu\n", {}),
    "empty required cells": (HEADER + GOOD + b",,,\n", {}),
    "spaces around cells": (HEADER + b" p1 , 2024-03-01 , 12 , icu \n", {}),
    "spaces in an amount only": (HEADER + b"p1,2024-03-01, 12 ,icu\n", {}),
    "empty file": (b"", {}),
    "header only without newline": (HEADER.rstrip(b"\n"), {}),
    "missing file": (None, {}),
    "missing column": (b"id,visit_time,amount\na,2024-01-01,1\n", {}),
    "mapped column missing": (HEADER + GOOD, {"mapping": {"patient_id": "PATIENT"}}),
    "unknown mapped field": (HEADER + GOOD, {"mapping": {"patient": "id"}}),
    "bad delimiter": (HEADER + GOOD, {"delimiter": ";;"}),
    "int ids with a word": (HEADER + b"12,2024-03-01,5,icu\nx1,2024-03-01,5,icu\n",
                            {"id_type": "int"}),
    "int ids in hex": (HEADER + b"0x10,2024-03-01,5,icu\n", {"id_type": "int"}),
    "lone carriage return": (HEADER + b"p1,2024-03-01,5,icu\rp2,2024-03-01,5,icu\n", {}),
    "windows line ends with a bad row": (
        HEADER.replace(b"\n", b"\r\n") + b"p1,2024-03-01,5,icu\r\np2,2024-03-01,-5,icu\r\n", {}),
    "date format with a bad date": (
        HEADER + b"p1,01.03.2024,5,icu\np2,31.02.2024,5,icu\n",
        {"parsing": DateParsing(format="%d.%m.%Y")}),
    "day-first dates": (HEADER + b"p1,03/01/2024,5,icu\np2,2024-01-05,5,icu\n",
                        {"parsing": DateParsing(dayfirst=True)}),
    "datetimes without seconds": (HEADER + b"p1,2024-03-01T10:30,5,icu\np2,2024-03-01T10,5,\n",
                                  {}),
    "fractional seconds": (HEADER + b"p1,2024-03-01T10:30:00.250,5,icu\n", {}),
    "one very long id": (HEADER + b"X" * 5000 + b",2024-03-01,5,icu\n" + GOOD * 200, {}),
    "unicode text": (HEADER + "p1,2024-03-01,5,médecine\n".encode(), {}),
    "formula-like text": (HEADER + b"=1+1,2024-03-01,5,@icu\n", {}),
    "semicolons, BOM and short rows": (
        b"\xef\xbb\xbfpatient_id;visit_time;amount;department\na;2024-01-01;5;icu\nb;2024-01-02;6\n",
        {"delimiter": ";"}),
    "header with spaces": (b" patient_id , visit_time,amount \np1,2024-03-01,5\n", {}),
    "empty header": (b"\np1,2024-03-01,5\n", {}),
    "header of one name": (b"patient_id\np1\n", {}),
}


def _path(tmp_path: Path, content: bytes | None) -> Path:
    path = tmp_path / "v.csv"
    if content is not None:
        path.write_bytes(content)
    return path


def _outcome(table_cls: type[PatientTable], path: Path, reader: str, **options: Any) -> Any:
    """What loading gives: the table's content, or the error's class, text and issues."""
    try:
        table = table_cls.from_csv(path, reader=reader, **options)  # type: ignore[arg-type]
    except RFMRetentionError as exc:
        issues = [(i.row, i.line, i.field, i.message, i.value, i.patient_id)
                  for i in getattr(exc, "issues", ())]
        return type(exc), str(exc), issues
    return _content(table)


def _content(table: PatientTable) -> Any:
    columns = {name: [_plain(v) for v in col.tolist()] for name, col in table.columns.items()}
    issues = [(i.row, i.line, i.field, i.message) for i in table.rejected.issues]
    return table.patient_ids.tolist(), table.source_row.tolist(), columns, issues


def _plain(value: Any) -> Any:
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_fail_or_load_the_same_through_both_readers(case: str, tmp_path: Path) -> None:
    """Each bad file gives the same error (class, message, row and line of every issue), or
    the same table, whether numpy's or arrow's reader was asked to read it."""
    content, options = BAD_FILES[case]
    path = _path(tmp_path, content)
    by_numpy = _outcome(VisitLog, path, "numpy", **options)
    by_arrow = _outcome(VisitLog, path, "arrow", **options)
    assert by_arrow == by_numpy
    quarantined = {**options, "on_error": "quarantine"}
    assert _outcome(VisitLog, path, "arrow", **quarantined) == _outcome(
        VisitLog, path, "numpy", **quarantined)


def test_a_folder_fails_the_same_through_both_readers(tmp_path: Path) -> None:
    """A folder given as the file is the same InputFileError from both readers."""
    assert _outcome(VisitLog, tmp_path, "arrow") == _outcome(VisitLog, tmp_path, "numpy")


@pytest.mark.parametrize(
    ("table_cls", "text"),
    [
        (ComplaintTable, b"patient_id,filed_at,valid,handling_satisfaction\n"
                         b"p1,2024-01-01,yes,80\np2,2024-01-02,maybe,120\np3,2024-01-03,,\n"),
        (CourseTable, b"patient_id,prescribed_at,prescribed_sessions,completed_sessions,"
                      b"expected_end,status\np1,2024-01-01,10,12,2023-01-01,active\n"
                      b"p2,2024-01-01,3.5,1,,done\n"),
        (ReviewTable, b"patient_id,posted_at,score,stars\np1,2024-01-01,,4\np2,2024-01-02,,\n"),
    ],
    ids=["complaints", "courses", "reviews"],
)
def test_other_sources_fail_the_same_through_both_readers(
    table_cls: type[PatientTable], text: bytes, tmp_path: Path
) -> None:
    """Flags, choices, counts and optional times give the same issues through both readers."""
    path = _path(tmp_path, text)
    by_numpy = _outcome(table_cls, path, "numpy")
    assert by_numpy[0] is ValidationError
    assert _outcome(table_cls, path, "arrow") == by_numpy


def test_reader_must_be_a_known_name(tmp_path: Path) -> None:
    """An unknown reader name is a ConfigError listing the choices."""
    path = _path(tmp_path, HEADER + GOOD)
    with pytest.raises(ConfigError, match=r"reader must be one of \['auto', 'numpy', 'arrow'\]"):
        VisitLog.from_csv(path, reader="pandas")  # type: ignore[arg-type]


def test_arrow_reader_without_pyarrow_names_the_fast_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """reader='arrow' without pyarrow is a MissingDependencyError naming the extra; 'auto' then
    reads with numpy's reader."""
    monkeypatch.setattr(arrow_csv, "arrow_available", lambda: False)
    path = _path(tmp_path, HEADER + GOOD)
    with pytest.raises(MissingDependencyError, match=r"rfm-retention\[fast\]"):
        VisitLog.from_csv(path, reader="arrow")
    assert VisitLog.from_csv(path, reader="auto").amount.tolist() == [12.0]


def test_arrow_reads_plain_files_itself_and_hands_others_over(tmp_path: Path) -> None:
    """A plain file is read by arrow (same columns as numpy's reader); a quoted one is not."""
    path = _path(tmp_path, HEADER + GOOD + b"p2,2024-03-02T08:00:00,,\n")
    read = read_arrow_csv_columns(path, VisitLog.SCHEMA)
    assert read is not None
    numpy_read = read_columns(path, VisitLog.SCHEMA, CsvOptions(reader="numpy"))
    assert read.lines.tolist() == numpy_read.lines.tolist() == [2, 3]
    for name, column in numpy_read.columns.items():
        np.testing.assert_array_equal(read.columns[name], column, err_msg=name)
    quoted = _path(tmp_path, HEADER + b'"p1",2024-03-01,12,icu\n')
    assert read_arrow_csv_columns(quoted, VisitLog.SCHEMA) is None


# ---------------------------------------------------------------- clean random files
_ID = st.text(string.ascii_letters + string.digits, min_size=1, max_size=8)
_DAY = st.dates(min_value=np.datetime64("1990-01-01").item(),
                max_value=np.datetime64("2030-12-31").item())
_TIME = st.one_of(
    _DAY.map(str),
    st.tuples(_DAY, st.integers(0, 86_399)).map(
        lambda d: f"{d[0]}T{d[1] // 3600:02d}:{d[1] // 60 % 60:02d}:{d[1] % 60:02d}"),
)
_AMOUNT = st.one_of(
    st.integers(0, 10**6).map(str),
    st.floats(0, 1e6, allow_nan=False).map(repr),
    st.decimals(0, 10_000, places=2).map(str),
)
_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"),
                              blacklist_characters='",;\r\n'), max_size=6)
_ROW = st.tuples(_ID, _TIME, _AMOUNT, _TEXT)


@given(rows=st.lists(_ROW, min_size=1, max_size=40), crlf=st.booleans(),
       delimiter=st.sampled_from([",", ";"]), bom=st.booleans())
def test_clean_random_files_give_the_same_features_through_both_readers(
    rows: list[tuple[str, str, str, str]], crlf: bool, delimiter: str, bom: bool,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """On clean random files arrow reads the file itself and the features are identical."""
    end = "\r\n" if crlf else "\n"
    lines = [delimiter.join(("patient_id", "visit_time", "amount", "department"))]
    lines += [delimiter.join(row) for row in rows]
    path = tmp_path_factory.mktemp("clean") / "v.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (end.join(lines) + end).encode())
    options = CsvOptions(delimiter=delimiter)
    assert read_arrow_csv_columns(path, VisitLog.SCHEMA, options) is not None
    by_arrow = VisitLog.from_csv(path, delimiter=delimiter, reader="arrow")
    by_numpy = VisitLog.from_csv(path, delimiter=delimiter, reader="numpy")
    assert _content(by_arrow) == _content(by_numpy)
    as_of = "2031-01-01"
    a, b = by_arrow.features(as_of).to_columns(), by_numpy.features(as_of).to_columns()
    assert list(a) == list(b)
    for name in a:
        np.testing.assert_array_equal(np.asarray(a[name]), np.asarray(b[name]), err_msg=name)


_CELL = st.text(alphabet="0123456789.-+eE:T nainfINFxX_/", max_size=12)


@given(amounts=st.lists(_CELL, min_size=1, max_size=6),
       times=st.lists(st.one_of(_TIME, _CELL), min_size=6, max_size=6))
def test_odd_cells_load_or_fail_the_same_through_both_readers(
    amounts: list[str], times: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Number- and date-like text that may or may not convert gives the same table or the
    same error through both readers (arrow never accepts what numpy's reader rejects)."""
    body = "".join(f"p{k},{times[k]},{amount},x\n" for k, amount in enumerate(amounts))
    path = tmp_path_factory.mktemp("odd") / "v.csv"
    path.write_bytes(HEADER + body.encode())
    for on_error in ("raise", "quarantine"):
        assert _outcome(VisitLog, path, "arrow", on_error=on_error) == _outcome(
            VisitLog, path, "numpy", on_error=on_error)


def test_arrow_reading_reports_progress_from_zero_to_the_file_size(tmp_path: Path) -> None:
    """from_csv through arrow reports the bytes read: 0 first, the file's size at the end."""
    path = _path(tmp_path, HEADER + GOOD * 50)
    events: list[ProgressEvent] = []
    VisitLog.from_csv(path, reader="arrow", progress=events.append)
    read = [(e.done, e.total, e.unit) for e in events if e.stage == "read csv"]
    size = path.stat().st_size
    assert read == [(0, size, "bytes"), (size, size, "bytes")]


def test_arrow_rows_can_keep_ascii_ids_as_bytes(tmp_path: Path) -> None:
    """``rows(bytes_ids=True)`` gives ASCII ids as the same trimmed bytes (non-ASCII ids as
    text) and leaves every other column as the default read gives it."""
    path = _path(tmp_path, HEADER + b"p1,2024-03-01,12,icu\n 007 ,2024-03-02,3,x\n")
    read = arrow_csv.read_arrow(path, VisitLog.SCHEMA)
    assert read is not None
    plain, raw = read.rows(0, 2), read.rows(0, 2, bytes_ids=True)
    assert raw.columns["patient_id"].tolist() == [b"p1", b"007"]
    assert plain.columns["patient_id"].tolist() == ["p1", "007"]
    for name in ("visit_time", "amount", "department"):
        np.testing.assert_array_equal(raw.columns[name], plain.columns[name])
    wide = _path(tmp_path, HEADER + "pé,2024-03-01,12,icu\n".encode())
    wide_read = arrow_csv.read_arrow(wide, VisitLog.SCHEMA)
    assert wide_read is not None
    assert wide_read.rows(0, 1, bytes_ids=True).columns["patient_id"].tolist() == ["pé"]


def test_text_read_in_ascii_and_non_ascii_chunks_joins_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text column whose first chunks are ASCII and a later one is not reads as the same
    text in every row (no chunk's cells left as bytes)."""
    from rfm_retention.data import _csv as csv_module

    monkeypatch.setattr(csv_module, "CHUNK_BYTES", 64)  # several chunks from a small file
    body = b"p1,2024-03-01,12,cardio\n" * 6 + "p2,2024-03-02,3,cardé\n".encode()
    path = _path(tmp_path, HEADER + body)
    log = VisitLog.from_csv(path, reader="numpy")
    assert log.department.tolist() == ["cardio"] * 6 + ["cardé"]


@given(cells=st.lists(st.binary(max_size=9).map(lambda b: b.replace(b"\0", b"x")
                                               .replace(b"\n", b"y")), max_size=40),
       spaces=st.lists(st.sampled_from([b"", b" ", b"\t", b"  \r"]), min_size=2, max_size=2))
def test_cells_are_gathered_as_their_trimmed_bytes(cells: list[bytes], spaces: list[bytes]
                                                   ) -> None:
    """The splitter's gather gives each cell's bytes without the spaces around them, for
    cells of any widths, with or without space bytes in the buffer."""
    from rfm_retention.data._csv import _gather

    framed = [spaces[0] + c + spaces[1] for c in cells]
    sizes = np.array([len(c) for c in framed], np.int64)
    hi = np.cumsum(sizes + 1) - 1
    lo = hi - sizes
    buf = np.frombuffer(b"".join(c + b"," for c in framed) + b"\n", np.uint8)
    padded = np.concatenate((buf, np.zeros(64, np.uint8)))
    got = _gather(buf, padded, lo, hi)
    assert got.tolist() == [c.strip(b" \t\x0b\x0c\r") for c in framed]


_ISO_CELL = re.compile(rb"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}:\d{2})?")


@given(st.lists(st.sampled_from([b"2024-03-01", b"2024-02-30", b"1999-12-31T23:59:59",
                                 b"2024-03-01 08:30:00", b"", b"2024-3-01", b"2024-03-01T8:30:00",
                                 b"2024/03/01", b"2024-03-01X08:30:00", b"20a4-03-01",
                                 b"2024-03-01T08:30:0x", b"2024-03-01T08-30-00"]),
                max_size=12))
def test_iso_cells_convert_in_bulk_only_when_every_cell_is_iso(cells: list[bytes]) -> None:
    """A chunk's time cells become datetimes when every cell is an ISO date or date-time
    (or empty) that numpy reads, to numpy's values; otherwise the chunk keeps its text."""
    from rfm_retention.data._csv import _iso_times

    column = np.array(cells, dtype=f"S{max([len(c) for c in cells] + [1])}")
    got = _iso_times(column)
    expected = None
    if cells and all(c == b"" or _ISO_CELL.fullmatch(c) for c in cells):
        try:
            expected = np.array([c if c else b"NaT" for c in cells]).astype("datetime64[s]")
        except ValueError:  # not a real date (30 February)
            expected = None
    if expected is not None and column.dtype.itemsize in (1, 10, 19):
        assert got is not None
        assert np.array_equal(got, expected, equal_nan=True)
    else:
        assert got is None
