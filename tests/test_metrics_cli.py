"""The report and backtest commands, end to end on small files."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from rfm_retention.cli import main
from rfm_retention.cli.report import read_control
from rfm_retention.errors import ConfigError
from rfm_retention.interventions import CaseBook, Channel, ContactResult, SQLiteCaseStore
from rfm_retention.metrics import CaseColumns
from rfm_retention.risk import WarningRecord
from rfm_retention.vocabulary import ReasonCode, RiskLevel


def write(path: Path, header: list[str], rows: list[list[str]]) -> str:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def visits(tmp_path: Path) -> str:
    rows = [
        ["1", "2024-01-10", "10"], ["1", "2024-02-15", "10"], ["1", "2024-03-20", "10"],
        ["2", "2024-01-31", "10"], ["2", "2024-05-15", "10"],
        ["3", "2024-01-05", "10"], ["4", "2024-03-31", "10"], ["4", "2024-06-30", "10"],
    ]
    return write(tmp_path / "visits.csv", ["patient_id", "visit_time", "amount"], rows)


@pytest.fixture
def case_db(tmp_path: Path) -> str:
    path = str(tmp_path / "cases.db")
    with SQLiteCaseStore(path) as store:
        book = CaseBook(store)
        warned = dt.datetime(2024, 3, 1, 9)
        case = book.intake(WarningRecord("2", RiskLevel.HIGH, ReasonCode.PRICE), warned).case
        assert case is not None
        book.record_contact(case.case_id, at=warned + dt.timedelta(hours=30), actor="kim",
                            channel=Channel.PHONE, result=ContactResult.REACHED)
        book.intake(WarningRecord("3", RiskLevel.MEDIUM, ReasonCode.SERVICE), warned)
    return path


def test_report_table(visits: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --out the report prints one table row per month."""
    assert main(["report", "--visits", visits, "--from", "2024-01-01", "--to", "2024-03-31"]) == 0
    out = capsys.readouterr().out
    assert "as of 2024-06-30" in out
    assert [line.split()[0] for line in out.splitlines()[3:]] == ["2024-01", "2024-02", "2024-03"]


def test_report_csv_with_cases_and_exclusions(
    visits: str, case_db: str, tmp_path: Path
) -> None:
    """--cases adds coverage, compliance and win-back; --exclusions removes patients."""
    excl = write(tmp_path / "gone.csv", ["patient_id", "since", "reason"],
                 [["3", "2024-01-20", "transferred"]])
    out = tmp_path / "kpis.csv"
    code = main(["report", "--visits", visits, "--cases", case_db, "--exclusions", excl,
                 "--from", "2024-01-01", "--to", "2024-04-30", "--out", str(out)])
    assert code == 0
    rows = read(out)
    assert [r["month"] for r in rows] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    march = rows[2]
    assert march["cases_opened"] == "2"
    assert float(march["coverage"]) == 0.5
    # the first contact came 30 h after the warning: the 24 h deadline was missed
    assert float(rows[2]["contact_compliance"]) == 0.0
    assert march["win_back_contacted"] == "1"
    # patient 3 has a January index visit but is excluded from the rate: 1 of 2
    assert rows[0]["revisit_3m_index"] == "3"
    assert rows[0]["revisit_3m_revisited"] == "1"
    assert float(rows[0]["revisit_3m_rate"]) == 0.5


def test_cases_from_store_keep_integer_ids(case_db: str) -> None:
    """Case stores keep ids as text; they are turned back into the log's integers."""
    import numpy as np

    with SQLiteCaseStore(case_db) as store:
        cols = CaseColumns.from_cases(CaseBook(store).cases(), id_like=np.array([1, 2, 3]))
    assert cols.patient_id.tolist() == [2, 3]
    assert cols.level.tolist() == [3, 2]
    assert str(cols.first_contact_due[0]) == "2024-03-02T09:00:00"


def test_report_bad_dates(visits: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A reversed period is a one-line error, exit 2."""
    code = main(["report", "--visits", visits, "--from", "2024-05-01", "--to", "2024-01-01"])
    assert code == 2
    assert "before it starts" in capsys.readouterr().err


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    assert main(["sample", "--out", str(folder), "--patients", "300", "--seed", "4"]) == 0
    return folder


def test_backtest_table(sample_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The backtest prints the scan and the baseline per date (ranking and probability
    tables), and the lead times."""
    code = main(["backtest", "--visits", str(sample_dir / "visits.csv"),
                 "--ratings", str(sample_dir / "ratings.csv"),
                 "--at", "2023-06-30", "--at", "2023-12-31", "--k", "20"])
    assert code == 0
    out = capsys.readouterr().out
    assert out.count("baseline: days since last visit") == 5  # 2 dates x 2 tables + lead time
    assert out.count("scan: worst(rules, score)") == 5
    assert "decile cal. error" in out
    assert "median lead days" in out
    assert "first warning and a silence passing 90 days" in out


def test_backtest_csv_with_truth_and_policy(sample_dir: Path, tmp_path: Path) -> None:
    """--truth uses known churn dates; --policy picks the policy; the lifetime model is listed;
    --out writes every column."""
    out = tmp_path / "bt.csv"
    code = main(["backtest", "--visits", str(sample_dir / "visits.csv"), "--at", "2023-09-30",
                 "--truth", str(sample_dir / "truth.csv"), "--policy", "score",
                 "--horizon", "120", "--out", str(out)])
    assert code == 0
    rows = read(out)
    assert [r["method"] for r in rows] == [
        "scan: score", "lifetime model (mbgnbd)", "baseline: days since last visit"
    ]
    assert rows[0]["positives"] == rows[2]["positives"]
    assert 0.0 <= float(rows[2]["auc"]) <= 1.0
    wanted = {"precision_at_100", "lift_top_decile", "high_recall", "median_lead_days",
              "average_precision", "brier", "base_rate_brier", "calibration_error"}
    assert wanted <= set(rows[0])


def test_backtest_horizon_past_data(sample_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scan date whose horizon runs past the data is a one-line error."""
    code = main(["backtest", "--visits", str(sample_dir / "visits.csv"), "--at", "2024-12-01"])
    assert code == 2
    assert "ends after the data" in capsys.readouterr().err


def test_backtest_train_at(sample_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--train-at adds the learned score, fitted on the earlier date, beside the policy."""
    code = main(["backtest", "--visits", str(sample_dir / "visits.csv"),
                 "--ratings", str(sample_dir / "ratings.csv"),
                 "--train-at", "2023-03-31", "--at", "2023-09-30"])
    assert code == 0
    captured = capsys.readouterr()
    assert "learned score (trained 2023-03-31)" in captured.out
    assert "odds ratio" in captured.err
    late = main(["backtest", "--visits", str(sample_dir / "visits.csv"),
                 "--train-at", "2023-08-31", "--at", "2023-09-30"])
    assert late == 2


@pytest.fixture
def control_csv(tmp_path: Path) -> str:
    # 4 (high, warned 03-05) is back 03-31: won; 1 (medium, warned 04-01) never returns
    return write(tmp_path / "control.csv", ["patient_id", "level", "warned_at"],
                 [["4", "high", "2024-03-05T08:00:00"], ["1", "medium", "2024-04-01"]])


def test_report_control_uplift_csv(
    visits: str, case_db: str, control_csv: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--control adds the control side and the uplift per month, and the pooled uplift."""
    out = tmp_path / "kpis.csv"
    args = ["--cases", case_db, "--control", control_csv, "--from", "2024-03-01"]
    assert main(["report", "--visits", visits, *args, "--to", "2024-04-30", "--out", str(out)]) == 0
    rows = read(out)
    # March: patient 2 contacted 03-02, next visit 05-15 -> 0 of 1; control 4 -> 1 of 1
    assert (rows[0]["win_back_won"], rows[0]["control_won"]) == ("0", "1")
    assert float(rows[0]["uplift"]) == -1.0
    # April: no contacted case; control 1 not back -> 0 of 1
    assert (rows[1]["control_warned"], rows[1]["control_won"]) == ("1", "0")
    assert math.isnan(float(rows[1]["uplift"]))
    # pooled: 0/1 vs 1/2 -> -50 pts, half-width 1.96 * sqrt(0.25 / 2) = 69.3 pts, the
    # lower end clipped to -100
    err = capsys.readouterr().err
    assert "uplift over the period: -50.0 pts (95 % CI -100.0 to +19.3)" in err


def test_report_control_table(
    visits: str, case_db: str, control_csv: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The terminal table shows control and uplift columns and the pooled line."""
    code = main(["report", "--visits", visits, "--cases", case_db, "--control", control_csv,
                 "--from", "2024-03-01", "--to", "2024-04-30"])
    assert code == 0
    out = capsys.readouterr().out
    assert "uplift pts" in out
    assert "contacted 0/1 won back, control 1/2" in out


def test_report_control_errors(
    visits: str, case_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--control without --cases, bad levels and non-integer ids are one-line errors."""
    good = write(tmp_path / "c1.csv", ["patient_id", "level", "warned_at"],
                 [["4", "high", "2024-03-05"]])
    period = ["--from", "2024-03-01", "--to", "2024-04-30"]
    assert main(["report", "--visits", visits, "--control", good, *period]) == 2
    assert "--control needs --cases" in capsys.readouterr().err
    bad = write(tmp_path / "c2.csv", ["patient_id", "level", "warned_at"],
                [["4", "high", "2024-03-05"], ["1", "urgent", "2024-03-05"]])
    assert main(["report", "--visits", visits, "--cases", case_db, "--control", bad,
                 *period]) == 2
    assert "row 1: not a risk level: 'urgent'" in capsys.readouterr().err
    text = write(tmp_path / "c3.csv", ["patient_id", "level", "warned_at"],
                 [["4", "high", "2024-03-05"], ["p4", "high", "2024-03-05"]])
    with pytest.raises(ConfigError, match="row 2: patient id 'p4' is not an integer"):
        read_control(text, np.array([1, 4]))
    assert read_control(good, np.array([1, 4])).patient_id.tolist() == [4]
    short = write(tmp_path / "c4.csv", ["patient_id", "warned_at"], [["4", "2024-03-05"]])
    assert main(["report", "--visits", visits, "--cases", case_db, "--control", short,
                 *period]) == 2
    assert "missing column(s) level" in capsys.readouterr().err


def test_backtest_caps_k_and_leaves_undefined_cells_blank(
    sample_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--k above the patients scored is capped and said; undefined cells are blank, not nan."""
    code = main(["backtest", "--visits", str(sample_dir / "visits.csv"),
                 "--at", "2023-06-30", "--k", "100000"])
    assert code == 0
    out = capsys.readouterr().out
    assert "prec@100000" not in out
    assert "--k 100000 capped at the" in out
    assert "nan" not in out.lower()
