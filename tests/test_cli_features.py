"""The features and btyd commands: CSV in, CSV out, one-line errors, never a traceback."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from rfm_retention.btyd import BTYD_COLUMNS
from rfm_retention.cli import main
from rfm_retention.features import FEATURE_COLUMNS

SYNTHEA = Path("/work/shared/data/synthea/encounters.csv")


@pytest.fixture
def visits(tmp_path: Path) -> Path:
    path = tmp_path / "visits.csv"
    path.write_text(
        "PID,WHEN,COST,department\n"
        "p2,2024-03-05,50,cardiology\n"
        "p1,2024-01-05,100,=HYPERLINK(\"x\")\n"
        "p2,2024-01-20,80.5,cardiology\n"
        "p3,2024-07-01,20,late\n",
        encoding="utf-8",
    )
    return path


MAP = ["--map", "patient_id=PID", "--map", "visit_time=WHEN", "--map", "amount=COST"]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_features_to_stdout_with_mapping(visits: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--map reads the file's columns; one row per patient seen by --as-of, documented header."""
    assert main(["features", "--visits", str(visits), "--as-of", "2024-03-31", *MAP]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split(",") == list(FEATURE_COLUMNS)
    rows = _rows(out)
    assert [r["patient_id"] for r in rows] == ["p1", "p2"]
    assert rows[1]["days_since_last_visit"] == "26"
    assert rows[1]["spend_in_window"] == "130.5"
    assert rows[0]["mean_interval_days"] == ""  # one visit: undefined, an empty cell
    assert rows[0]["last_department"].startswith("'=")  # spreadsheet-safe


def test_features_to_file_with_window(visits: Path, tmp_path: Path) -> None:
    """--out writes the CSV (creating folders); --window-days limits the window columns."""
    out = tmp_path / "sub" / "features.csv"
    code = main(["features", "--visits", str(visits), "--as-of", "2024-03-31", *MAP,
                 "--window-days", "30", "--out", str(out)])
    assert code == 0
    rows = _rows(out.read_text(encoding="utf-8"))
    assert [(r["patient_id"], r["visits_in_window"], r["total_visits"]) for r in rows] == [
        ("p1", "0", "1"), ("p2", "1", "2"),
    ]


def test_features_window_in_calendar_months(visits: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """--window-months 2 from 31 March reaches back to 31 January exclusive."""
    argv = ["features", "--visits", str(visits), "--as-of", "2024-03-31", *MAP,
            "--window-months", "2"]
    assert main(argv) == 0
    rows = _rows(capsys.readouterr().out)
    assert [(r["patient_id"], r["visits_in_window"]) for r in rows] == [("p1", "0"), ("p2", "1")]
    with pytest.raises(SystemExit) as caught:  # argparse: the two windows exclude each other
        main([*argv, "--window-days", "5"])
    assert caught.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_btyd_command(visits: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """btyd writes frequency, recency, T and monetary value per patient."""
    assert main(["btyd", "--visits", str(visits), "--as-of", "2024-03-31", "--period", "M",
                 *MAP]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split(",") == list(BTYD_COLUMNS)
    assert _rows(out)[1] == {"patient_id": "p2", "frequency": "1", "recency": "2", "T": "2",
                             "monetary_value": "50.0"}
    assert main(["btyd", "--visits", str(visits), "--as-of", "2024-03-31", "--period", "M",
                 "--include-first-visit", *MAP]) == 0
    assert _rows(capsys.readouterr().out)[1]["frequency"] == "2"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--map", "patient_id=PATIENT"], "no column 'PATIENT' for field 'patient_id'"),
        (["--map", "visit_time=WHEN", "--map", "amount=COST"], "--map visits.patient_id=COLUMN"),
        ([*MAP, "--map", "colour=PID"], "no source has a field named 'colour'"),
        ([*MAP, "--map", "patient_id"], "--map takes FIELD=COLUMN"),
        ([*MAP, "--as-of", "31/03/2024"], "not an ISO date"),
        ([*MAP, "--window-days", "0"], "window"),
        ([*MAP, "--date-format", "%d.%m.%Y"], "visits: 4 problem(s) in 4 row(s)"),
    ],
)
def test_bad_input_gives_one_line_error(visits: Path, args: list[str], expected: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Wrong columns, mappings, dates or options: exit 2 and an error line naming the cause."""
    argv = ["features", "--visits", str(visits), "--as-of", "2024-03-31", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("rfm-retention features: error: ")
    assert expected in err
    assert "Traceback" not in err


def test_missing_file_and_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not there, or a folder, is a one-line error with exit 2."""
    for path in (tmp_path / "absent.csv", tmp_path):
        assert main(["features", "--visits", str(path), "--as-of", "2024-01-01"]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1
        assert str(path) in err


def test_bad_rows_fail_or_are_quarantined(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Bad rows are listed (exit 2); with --quarantine they are set aside and reported."""
    path = tmp_path / "v.csv"
    path.write_text("patient_id,visit_time,amount\na,2024-01-01,5\nb,2024-02-30,1\n,2024-01-02,1\n")
    assert main(["features", "--visits", str(path), "--as-of", "2024-03-01"]) == 2
    err = capsys.readouterr().err
    assert "line 3 (patient b): visit_time '2024-02-30'" in err
    assert "line 4: patient_id: missing" in err
    assert main(["features", "--visits", str(path), "--as-of", "2024-03-01", "--quarantine"]) == 0
    captured = capsys.readouterr()
    assert "2 row(s) set aside" in captured.err
    assert [r["patient_id"] for r in _rows(captured.out)] == ["a"]


def test_dayfirst_dates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--dayfirst reads 03/01/2024 as 3 January."""
    path = tmp_path / "v.csv"
    path.write_text("patient_id,visit_time,amount\na,03/01/2024,5\n")
    assert main(["features", "--visits", str(path), "--as-of", "2024-01-31", "--dayfirst"]) == 0
    assert _rows(capsys.readouterr().out)[0]["first_visit"] == "2024-01-03"


def test_help_lists_the_columns(capsys: pytest.CaptureFixture[str]) -> None:
    """--help exits 0 and documents every output column and the --map option."""
    for command, columns in (("features", FEATURE_COLUMNS), ("btyd", BTYD_COLUMNS)):
        with pytest.raises(SystemExit) as caught:
            main([command, "--help"])
        assert caught.value.code == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "--map FIELD=COLUMN" in out
        assert all(name in out for name in columns)


@pytest.mark.skipif(not SYNTHEA.exists(), reason="Synthea sample export not available")
def test_synthea_encounters_through_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    """The Synthea export runs through --map alone, one row per patient."""
    argv = ["features", "--visits", str(SYNTHEA), "--as-of", "2030-01-01",
            "--map", "patient_id=PATIENT", "--map", "visit_time=START",
            "--map", "amount=TOTAL_CLAIM_COST", "--map", "visit_id=Id"]
    assert main(argv) == 0
    rows = _rows(capsys.readouterr().out)
    with open(SYNTHEA, newline="", encoding="utf-8") as handle:
        patients = {r["PATIENT"] for r in csv.DictReader(handle)}
    assert {r["patient_id"] for r in rows} == patients


def test_installed_entry_point_has_no_traceback(tmp_path: Path) -> None:
    """As a real process: a bad file exits 2 with one line on stderr, --help exits 0."""
    bad = tmp_path / "nul.csv"
    bad.write_bytes(b"patient_id,visit_time,amount\na,2024-01-01,\x00\n")
    run = subprocess.run(
        [sys.executable, "-m", "rfm_retention", "features", "--visits", str(bad),
         "--as-of", "2024-01-01"],
        capture_output=True, text=True, check=False,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("rfm-retention features: error:")
    ok = subprocess.run([sys.executable, "-m", "rfm_retention", "features", "--help"],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0
    assert "--as-of" in ok.stdout


@pytest.fixture
def duckdb_file(tmp_path: Path) -> Path:
    """A DuckDB database with a visits table under the host's own column names."""
    import duckdb

    path = tmp_path / "hospital.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table encounters (PID varchar, WHEN_ timestamp, COST double)")
    con.execute("insert into encounters values ('p2', '2024-03-05', 50), ('p1', '2024-01-05', 100),"
                " ('p2', '2024-01-20', 80.5), ('p3', '2024-07-01', 20)")
    con.close()
    return path


DUCK_MAP = ["--map", "patient_id=PID", "--map", "visit_time=WHEN_", "--map", "amount=COST"]


def test_features_on_a_duckdb_table_equal_the_csv_path(
    visits: Path, duckdb_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--duckdb FILE --table NAME writes the same CSV as the same visits read from a file."""
    assert main(["features", "--visits", str(visits), "--as-of", "2024-06-30", *MAP]) == 0
    from_csv = _rows(capsys.readouterr().out)
    assert main(["features", "--duckdb", str(duckdb_file), "--table", "encounters",
                 "--as-of", "2024-06-30", *DUCK_MAP]) == 0
    from_duckdb = _rows(capsys.readouterr().out)
    skip = {"last_department"}  # the CSV has departments, the table not
    assert [{k: v for k, v in r.items() if k not in skip} for r in from_duckdb] == [
        {k: v for k, v in r.items() if k not in skip} for r in from_csv]


def test_features_on_a_duckdb_query(duckdb_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--query SQL runs the query in the file and aggregates its result there."""
    code = main(["features", "--duckdb", str(duckdb_file), "--query",
                 "select PID, WHEN_, COST from encounters where COST > 60",
                 "--as-of", "2024-06-30", "--window-months", "12", *DUCK_MAP])
    assert code == 0
    rows = _rows(capsys.readouterr().out)
    assert [(r["patient_id"], r["total_visits"], r["spend_in_window"]) for r in rows] == [
        ("p1", "1", "100.0"), ("p2", "1", "80.5")]


def test_duckdb_option_errors_are_one_line(duckdb_file: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A missing --table/--query, or an unknown table, is a one-line error with exit 2."""
    assert main(["features", "--duckdb", str(duckdb_file), "--as-of", "2024-06-30"]) == 2
    assert "--table NAME or --query SQL" in capsys.readouterr().err
    assert main(["features", "--duckdb", str(duckdb_file), "--table", "nope",
                 "--as-of", "2024-06-30"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["features", "--as-of", "2024-06-30"]) == 2
    assert "--visits FILE" in capsys.readouterr().err
