"""Every class of bad input gives a library error through the API and exit 2 through the CLI.

Each case is a file (or ``--db``) built in a temporary folder, an API call that must raise a
subclass of :class:`rfm_retention.RFMRetentionError` whose message names the row/line, and the
CLI arguments that must exit 2 with the error on stderr and no traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rfm_retention import VisitLog, patient_features
from rfm_retention.cli import main
from rfm_retention.errors import (
    ConfigError,
    InputFileError,
    LedgerError,
    RFMRetentionError,
    ValidationError,
)
from rfm_retention.loyalty import SQLiteStore

HEADER = b"patient_id,visit_time,amount\n"
GOOD = b"P1,2024-01-01,10\n"

# name -> (file bytes or None for "no file", expected error class, text the message must hold)
FILES: dict[str, tuple[bytes | None, type[RFMRetentionError], str]] = {
    "ragged row": (HEADER + GOOD + b"P2,2024-01-02\n", ValidationError, "line 3"),
    "duplicate header": (b"patient_id,patient_id,visit_time,amount\nP1,P1,2024-01-01,1\n",
                         InputFileError, "line 1"),
    "bad date": (HEADER + GOOD + b"P2,notadate,5\n", ValidationError, "line 3"),
    "bad number": (HEADER + GOOD + b"P2,2024-01-02,abc\n", ValidationError, "line 3"),
    "negative amount": (HEADER + GOOD + b"P2,2024-01-02,-4\n", ValidationError, "line 3"),
    "undecodable bytes": (HEADER + GOOD + b"P\xff\xfe2,2024-01-02,5\n", InputFileError,
                          "line 3"),
    "empty file": (b"", InputFileError, "empty"),
    "missing file": (None, InputFileError, "no such file"),
}


def _visits(tmp_path: Path, content: bytes | None) -> Path:
    """The visits file of a case (a path that does not exist when ``content`` is None)."""
    path = tmp_path / "visits.csv"
    if content is not None:
        path.write_bytes(content)
    return path


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the CLI in-process; its exit code and stderr."""
    code = main(argv)
    return code, capsys.readouterr().err


def _check_cli(code: int, err: str, command: str, named: str) -> None:
    """Exit 2, the error on stderr's first line, the row/line named, no traceback."""
    assert code == 2
    assert err.splitlines()[0].startswith(f"rfm-retention {command}: error: ")
    assert named in err
    assert "Traceback" not in err


@pytest.mark.parametrize("reader", ["numpy", "arrow"])
@pytest.mark.parametrize("case", sorted(FILES))
def test_bad_visits_file_through_api(case: str, reader: str, tmp_path: Path) -> None:
    """VisitLog.from_csv raises the case's library error naming the row or line, whichever
    CSV reader reads the file."""
    content, error, named = FILES[case]
    with pytest.raises(error) as caught:
        VisitLog.from_csv(_visits(tmp_path, content), reader=reader)  # type: ignore[arg-type]
    assert isinstance(caught.value, RFMRetentionError)
    assert named in str(caught.value)


@pytest.mark.parametrize("case", sorted(FILES))
def test_bad_visits_file_through_cli(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rfm-retention features exits 2 with the named row/line on stderr, no traceback."""
    content, _, named = FILES[case]
    path = _visits(tmp_path, content)
    code, err = _cli(["features", "--visits", str(path), "--as-of", "2024-03-01"], capsys)
    _check_cli(code, err, "features", named)


def test_folder_as_visits_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder given as the visits file is an InputFileError (API) and exit 2 (CLI)."""
    with pytest.raises(InputFileError, match="folder"):
        VisitLog.from_csv(tmp_path)
    code, err = _cli(["features", "--visits", str(tmp_path), "--as-of", "2024-03-01"], capsys)
    _check_cli(code, err, "features", "folder")
    assert len(err.splitlines()) == 1


def test_header_without_newline_is_an_empty_table(tmp_path: Path) -> None:
    """A file that is only a header with no newline reads as zero visits, not an error."""
    log = VisitLog.from_csv(_visits(tmp_path, HEADER.rstrip(b"\n")))
    assert len(log.patient_ids) == 0


def test_inexact_float_ids_name_the_rows() -> None:
    """Float ids beyond 2**53 are a ValidationError naming each row, never merged patients."""
    with pytest.raises(ValidationError) as caught:
        VisitLog.from_arrays(patient_id=[1e20, 3e20], visit_time=["2024-01-01", "2024-01-02"],
                             amount=[1.0, 2.0])
    assert caught.value.rows == (0, 1)


def _corrupt(path: Path) -> None:
    path.write_bytes(b"not a database " * 100)


def _zero(path: Path) -> None:
    path.write_bytes(b"")


def _folder(path: Path) -> None:
    path.mkdir()


DBS: dict[str, tuple[Callable[[Path], None], str]] = {
    "corrupt": (_corrupt, "not a readable ledger database"),
    "zero bytes": (_zero, "empty"),
    "a directory": (_folder, "directory"),
}


@pytest.mark.parametrize("case", sorted(DBS))
def test_bad_db_through_api_and_cli(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A corrupt, 0-byte or folder --db is a LedgerError (API) and exit 2 (CLI), file named."""
    make, named = DBS[case]
    db = tmp_path / "ledger.db"
    make(db)
    with pytest.raises(LedgerError, match=named):
        SQLiteStore(db, create=False)
    code, err = _cli(["points", "balance", "--db", str(db), "P1"], capsys)
    _check_cli(code, err, "points", named)
    assert "ledger.db" in err


EXTREME: dict[str, tuple[list[str], int, str]] = {
    "negative window": (["--window-days", "-5"], -5, "window"),
    "zero window": (["--window-days", "0"], 0, "window"),
}


@pytest.mark.parametrize("case", sorted(EXTREME))
def test_extreme_arguments_through_api_and_cli(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Out-of-range arguments are a ConfigError naming the parameter (API) and exit 2 (CLI)."""
    flags, window, named = EXTREME[case]
    path = _visits(tmp_path, HEADER + GOOD)
    with pytest.raises(ConfigError, match=named):
        patient_features(VisitLog.from_csv(path), "2024-03-01", window=window)
    code, err = _cli(["features", "--visits", str(path), "--as-of", "2024-03-01", *flags], capsys)
    _check_cli(code, err, "features", named)


def test_unknown_enum_word_through_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown choice word exits 2 naming the word and the valid ones, no traceback."""
    path = _visits(tmp_path, HEADER + GOOD)
    with pytest.raises(SystemExit) as stopped:
        main(["btyd", "--visits", str(path), "--as-of", "2024-03-01", "--period", "fortnight"])
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert "fortnight" in err
    assert "Traceback" not in err
