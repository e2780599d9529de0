"""``rfm-retention points``: award, balance, history, redeem, cancel, expire, verify."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rfm_retention.cli import main
from rfm_retention.cli.points import demo_section
from rfm_retention.testing import sample_cohort

VISITS = """patient_id,visit_time,amount,visit_id
p1,2024-01-01,10,V1
p1,2024-02-01,10,V2
p1,2024-03-01,10,V3
p2,2024-01-05,10,V4
""" + "".join(f"p1,2024-04-{d:02d},10,W{d}\n" for d in range(1, 11))


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    visits = tmp_path / "visits.csv"
    visits.write_text(VISITS)
    return visits, tmp_path / "points.db"


def test_award_then_rerun(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """Awarding twice from the same file awards once."""
    visits, db = files
    assert main(["points", "award", "--visits", str(visits), "--db", str(db)]) == 0
    assert "awarded 12 (1200 points)" in capsys.readouterr().out
    assert main(["points", "award", "--visits", str(visits), "--db", str(db)]) == 0
    assert "awarded 0 (0 points), 12 already awarded" in capsys.readouterr().out


def test_balance_redeem_history_cancel_verify(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The full cycle from the command line, with a safe retry of the redemption."""
    visits, db = files
    main(["points", "award", "--visits", str(visits), "--db", str(db)])
    capsys.readouterr()
    assert main(["points", "balance", "p1", "--db", str(db)]) == 0
    assert "available 1200" in capsys.readouterr().out
    redeem = ["points", "redeem", "p1", "health_assessment", "--db", str(db), "--key", "R-1",
              "--at", "2024-05-01T10:00"]
    assert main(redeem) == 0
    first = capsys.readouterr().out
    assert "available now: 200" in first
    assert main(redeem) == 0
    assert capsys.readouterr().out == first
    assert main(["points", "history", "p1", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "redeem" in out
    assert "visit:main:V2" in out
    assert main(["points", "cancel", "R-1", "--db", str(db), "--at", "2024-05-02"]) == 0
    assert "1000 point(s) back" in capsys.readouterr().out
    assert main(["points", "expire", "--db", str(db), "--at", "2024-06-01"]) == 0
    assert "expired 0 lot(s)" in capsys.readouterr().out
    assert main(["points", "verify", "--db", str(db)]) == 0
    assert "OK" in capsys.readouterr().out


def test_errors_are_one_line_with_exit_2(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Overdrawing, key conflicts and missing files give a clear one-line error."""
    visits, db = files
    main(["points", "award", "--visits", str(visits), "--db", str(db)])
    base = ["points", "redeem", "p2", "health_assessment", "--db", str(db), "--key", "K"]
    assert main(base) == 2
    assert "has 0 available point(s); 1000 requested" in capsys.readouterr().err
    main(["points", "redeem", "p1", "health_assessment", "--db", str(db), "--key", "K2"])
    assert main(["points", "redeem", "p1", "half_price_exam", "--db", str(db), "--key",
                 "K2"]) == 2
    assert "already used for a different operation" in capsys.readouterr().err
    assert main(["points", "verify", "--db", str(db.parent / "missing.db")]) == 2
    assert "no ledger database" in capsys.readouterr().err


def test_verify_exit_code_reports_tampering(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """verify exits 1 and lists the problem when the store does not add up."""
    visits, db = files
    main(["points", "award", "--visits", str(visits), "--db", str(db)])
    conn = sqlite3.connect(db)
    conn.execute("UPDATE balances SET balance = 5")
    conn.commit()
    conn.close()
    capsys.readouterr()
    assert main(["points", "verify", "--db", str(db)]) == 1
    assert "running-balance" in capsys.readouterr().out


def test_demo_section_awards_the_sample_cohort() -> None:
    """The demo awards the sample's revisits, redeems once and verifies clean."""
    cohort = sample_cohort()
    text = demo_section(cohort, cohort.end)
    assert "a rerun awarded 0" in text
    assert "same voucher: True" in text
    assert "OK: every balance" in text
    assert "privileges of NEW-PATIENT: Returning-patient package: no" in text


def test_award_without_since_says_how_far_back(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --since the award names the first and last visit dates and offers --since."""
    visits, db = files
    assert main(["points", "award", "--visits", str(visits), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "no --since: awarding every visit in the file, 2024-01-01 to 2024-04-10" in out
    assert main(["points", "award", "--visits", str(visits), "--db", str(db),
                 "--since", "2024-04-01"]) == 0
    assert "no --since" not in capsys.readouterr().out


def test_points_actions_have_a_description(capsys: pytest.CaptureFixture[str]) -> None:
    """Every `points ACTION --help` opens with a sentence saying what the action does."""
    for action, words in [("award", "Award revisit"), ("balance", "A patient's balance"),
                          ("verify", "Recompute every balance"), ("expire", "Expire every lot")]:
        with pytest.raises(SystemExit):
            main(["points", action, "--help"])
        out = capsys.readouterr().out
        _usage, _, rest = out.partition("\n\n")
        assert rest.startswith(words), (action, rest[:80])
