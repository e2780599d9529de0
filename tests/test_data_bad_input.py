"""Bad input never merges, loses or silently reshapes data: every class of bad file or id is a
library error naming the rows or file lines, through the API and the CLI alike."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rfm_retention.cli import main
from rfm_retention.data import VisitLog
from rfm_retention.data._csv import MAX_LINE_BYTES
from rfm_retention.errors import InputFileError, RFMRetentionError, ValidationError

HEADER = "patient_id,visit_time,amount,department\n"

# The child's own peak memory. ``ru_maxrss`` would not do: it survives ``exec``,
# so a child forked from a large test process reports the parent's size.
_PEAK = (
    "def _peak_mb():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1]) // 1024\n"
    "    import resource\n"
    "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
)


# ---------------------------------------------------------------- ids that cannot be exact
@pytest.mark.parametrize(
    "ids",
    [
        np.array([1e20, 3e20]),
        np.array([2.0**53 + 2, 7.0]),
        [2**63, 5],
        np.array([2**63, 1], dtype=np.uint64),
    ],
    ids=["float-1e20", "float-beyond-2**53", "python-int-2**63", "uint64-2**63"],
)
def test_ids_without_an_exact_int64_value_are_rejected_by_row(ids: object) -> None:
    """Float ids beyond 2**53 and ints beyond int64 are a ValidationError naming their rows,
    never wrapped into one merged patient."""
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_arrays(patient_id=ids, visit_time=["2024-01-01"] * 2, amount=[1.0, 2.0])
    assert 0 in caught.value.rows
    assert all(i.field == "patient_id" for i in caught.value.issues)


def test_exact_float_ids_still_read_as_integers() -> None:
    """Whole float ids within 2**53 (pandas' int column with gaps) stay integer ids."""
    log = VisitLog.from_arrays(patient_id=np.array([3.0, 2.0**53]), visit_time=["2024-01-01"] * 2,
                               amount=[1.0, 2.0])
    assert log.patient_ids.tolist() == [3, 2**53]


# ---------------------------------------------------------------- CSV shape
@pytest.fixture(params=["numpy", "arrow"])
def reader(request: pytest.FixtureRequest) -> str:
    """Every CSV test below runs through both CSV readers: same results, same errors."""
    return str(request.param)


def _csv(tmp_path: Path, text: str, name: str = "v.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_row_longer_than_the_header_is_an_error_naming_its_line(
    tmp_path: Path, reader: str
) -> None:
    """A row with more cells than the header fails, naming the file line (no shifted cells)."""
    path = _csv(tmp_path, HEADER + "p1,2024-03-01,12,icu\n\np3,2024-03-01,12,50,cardio\n")
    with pytest.raises(InputFileError, match=r"v\.csv, line 4: 5 cells but the header has 4"):
        VisitLog.from_csv(path, reader=reader)


def test_quoted_row_longer_than_the_header_is_an_error_too(tmp_path: Path, reader: str) -> None:
    """The quoted-cell reader applies the same rule and names the same line."""
    path = _csv(tmp_path, HEADER + '"p1",2024-03-01,12,"a, b"\np3,2024-03-01,12,50,cardio\n')
    with pytest.raises(InputFileError, match=r"line 3: 5 cells"):
        VisitLog.from_csv(path, reader=reader)


def test_duplicate_header_names_are_an_error_naming_line_1(tmp_path: Path, reader: str) -> None:
    """A header naming a column twice fails instead of reading the first one silently."""
    path = _csv(tmp_path, "patient_id,visit_time,amount,amount\np1,2024-03-01,5,500\n")
    with pytest.raises(InputFileError, match=r"line 1: the header names column\(s\) \['amount'\]"):
        VisitLog.from_csv(path, reader=reader)


# ---------------------------------------------------------------- file-level problems
def test_missing_file_and_folder_are_library_errors(tmp_path: Path, reader: str) -> None:
    """A missing path and a folder are InputFileErrors naming the path."""
    with pytest.raises(InputFileError, match="no such file"):
        VisitLog.from_csv(tmp_path / "nope.csv", reader=reader)
    with pytest.raises(InputFileError, match="is a folder"):
        VisitLog.from_csv(tmp_path, reader=reader)


def test_undecodable_bytes_name_the_line_and_encoding_reads_them(
    tmp_path: Path, reader: str
) -> None:
    """latin-1 bytes in a UTF-8 read name the line and hint at the encoding; encoding= reads it."""
    path = tmp_path / "v.csv"
    path.write_bytes((HEADER + "p1,2024-03-01,5,icu\np2,2024-03-01,5,m\xe9decine\n")
                     .encode("latin-1"))
    with pytest.raises(InputFileError, match=r"line 3: not utf-8 text .*--encoding latin-1"):
        VisitLog.from_csv(path, reader=reader)
    log = VisitLog.from_csv(path, encoding="latin-1", reader=reader)
    assert log.department.tolist() == ["icu", "médecine"]


def test_a_file_without_line_breaks_fails_early_with_bounded_memory(
    tmp_path: Path, reader: str
) -> None:
    """A huge file with no newline fails once one line passes the limit, not after reading it."""
    path = tmp_path / "v.csv"
    with open(path, "wb") as handle:
        handle.write(HEADER.encode())
        block = b"x" * (1 << 20)
        for _ in range(4 * (MAX_LINE_BYTES >> 20)):
            handle.write(block)
    code = (
        _PEAK + "import sys\n"
        "from rfm_retention.data import VisitLog\n"
        "from rfm_retention.errors import InputFileError\n"
        "try:\n"
        f"    VisitLog.from_csv({str(path)!r}, reader={reader!r})\n"
        "except InputFileError as exc:\n"
        "    print(exc)\n"
        "print(_peak_mb())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    message, peak_mb = out.stdout.strip().splitlines()
    assert "line 2: no line break within" in message
    assert int(peak_mb) < 250  # the file is 64 MB: it was never held whole, nor copied


# ---------------------------------------------------------------- row numbers are file lines
def test_errors_name_file_lines_across_blank_lines_and_multiline_cells(
    tmp_path: Path, reader: str
) -> None:
    """Line numbers count blank lines and quoted cells that span lines, as an editor shows them."""
    text = (HEADER
            + "p1,2024-03-01,5,icu\n"  # line 2
            + "\n"  # line 3: blank
            + 'p2,2024-03-01,5,"two\nlines"\n'  # lines 4-5
            + "p3,2024-13-01,5,icu\n"  # line 6: bad month
            + "\n\n"
            + "p4,2024-03-01,-1,icu\n")  # line 9: negative amount
    path = _csv(tmp_path, text)
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_csv(path, reader=reader)
    assert [(i.row, i.line, i.field) for i in caught.value.issues] == [
        (2, 6, "visit_time"), (3, 9, "amount")]
    assert "line 6 (patient p3): visit_time" in str(caught.value)
    log = VisitLog.from_csv(path, on_error="quarantine", reader=reader)
    assert [i.line for i in log.rejected.issues] == [6, 9]
    assert log.department.tolist() == ["icu", "two\nlines"]


# ---------------------------------------------------------------- one long value
def test_one_long_id_does_not_widen_every_row() -> None:
    """A 10 KB id among 20k short ones costs memory in proportion to the text, not 40 KB a row."""
    code = (
        _PEAK + "from rfm_retention.data import VisitLog\n"
        "n = 20000; ids = [f'p{i}' for i in range(n)]; ids[5] = 'X' * 10000\n"
        "dep = ['icu'] * (n - 1) + ['Y' * 10000]\n"
        "log = VisitLog.from_arrays(patient_id=ids, visit_time=['2024-01-01'] * n,\n"
        "                           amount=[1.0] * n, department=dep)\n"
        "f = log.features('2024-02-01')\n"
        "assert len(f) == n and 'X' * 10000 in f.patient_id.tolist()\n"
        "print(_peak_mb())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) < 250  # fixed-width text would need 1.6 GB


def test_one_long_cell_in_a_csv_does_not_widen_every_row(tmp_path: Path, reader: str) -> None:
    """The CSV reader keeps a 10 KB cell as its own value, not as the width of the column."""
    rows = [f"p{i},2024-01-01,1,icu" for i in range(20000)]
    rows[5] = "X" * 10000 + ",2024-01-01,1,icu"
    path = _csv(tmp_path, HEADER + "\n".join(rows) + "\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    log = VisitLog.from_csv(path, reader=reader)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert log.n_patients == 20000
    assert grown_mb < 200


# ---------------------------------------------------------------- the CLI: one line, exit 2
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEADER + "p3,2024-03-01,12,50,cardio\n", "line 2: 5 cells"),
        ("patient_id,visit_time,amount,amount\np1,2024-03-01,5,500\n", "line 1: the header"),
        (HEADER + "p1,2024-03-01,5,icu\n\np2,someday,5,icu\n", "line 4 (patient p2): visit_time"),
    ],
    ids=["ragged", "duplicate-header", "bad-date"],
)
def test_cli_reports_bad_files_in_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str, reader: str
) -> None:
    """The CLI prints the library error (file line named) and exits 2, with no traceback."""
    path = _csv(tmp_path, text)
    assert main(["features", "--visits", str(path), "--as-of", "2024-06-30",
                 "--csv-reader", reader]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_cli_encoding_option_reads_latin1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reader: str
) -> None:
    """--encoding latin-1 reads a latin-1 export that fails (exit 2) without it."""
    path = tmp_path / "v.csv"
    path.write_bytes((HEADER + "p1,2024-03-01,5,m\xe9decine\n").encode("latin-1"))
    args = ["features", "--visits", str(path), "--as-of", "2024-06-30", "--csv-reader", reader]
    assert main(args) == 2
    assert "--encoding latin-1" in capsys.readouterr().err
    assert main([*args, "--encoding", "latin-1"]) == 0
    assert "médecine" in capsys.readouterr().out


def test_library_errors_share_the_root_class(tmp_path: Path, reader: str) -> None:
    """Every file-level failure is catchable as RFMRetentionError."""
    with pytest.raises(RFMRetentionError):
        VisitLog.from_csv(tmp_path / "absent.csv", reader=reader)


# ---------------------------------------------------------------- ids as given
def test_csv_ids_stay_text_unless_read_as_integers(tmp_path: Path, reader: str) -> None:
    """Text ids keep leading zeros; id_type='int' gives the ids and order of integer arrays,
    and a cell that is not a whole number is a bad row naming its line."""
    path = _csv(tmp_path, HEADER + "000123,2024-03-01,5,icu\n10,2024-03-01,5,icu\n"
                "9,2024-03-02,5,icu\n")
    assert VisitLog.from_csv(path, reader=reader).patient_ids.tolist() == ["000123", "10", "9"]
    as_ints = VisitLog.from_csv(path, id_type="int", reader=reader)
    arrays = VisitLog.from_arrays(patient_id=[123, 10, 9], visit_time=["2024-03-01"] * 2
                                  + ["2024-03-02"], amount=[5.0] * 3)
    assert as_ints.patient_ids.tolist() == arrays.patient_ids.tolist() == [9, 10, 123]
    bad = _csv(tmp_path, HEADER + "12,2024-03-01,5,icu\nx1,2024-03-01,5,icu\n", "bad.csv")
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_csv(bad, id_type="int", reader=reader)
    assert [(i.line, i.value) for i in caught.value.issues] == [(3, "x1")]
    assert "not a whole number" in str(caught.value)


def test_cli_id_type_int_orders_ids_numerically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reader: str
) -> None:
    """--id-type int writes features in numeric id order (9 before 10), text order without."""
    path = _csv(tmp_path, HEADER + "10,2024-03-01,5,icu\n9,2024-03-01,5,icu\n")
    args = ["features", "--visits", str(path), "--as-of", "2024-06-30", "--csv-reader", reader]
    assert main(args) == 0
    assert [r.split(",")[0] for r in capsys.readouterr().out.splitlines()[1:]] == ["10", "9"]
    assert main([*args, "--id-type", "int"]) == 0
    assert [r.split(",")[0] for r in capsys.readouterr().out.splitlines()[1:]] == ["9", "10"]
