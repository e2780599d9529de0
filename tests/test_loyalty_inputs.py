"""The points commands' inputs as typed records: one reader per file, every bad row reported
by line in one ValidationError, and the awards take the records as they take the tables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import pytest

from rfm_retention.cli import main
from rfm_retention.data import PatientRegistry, ReviewTable, VisitLog
from rfm_retention.errors import ConfigError, ValidationError
from rfm_retention.loyalty import (
    MemoryStore,
    PointsLedger,
    PostedReview,
    Referral,
    award_referrals,
    award_reviews,
    read_referrals_csv,
    read_reviews_csv,
)

REGISTRY = ("patient_id,first_contact,referred_by\n"
            "000123,2024-01-01,\n"
            "000456,2024-02-01T10:00,000123\n"
            "000789,2024-02-03,000123\n")
REVIEWS = "patient_id,posted_at,stars,platform\np1,2024-05-01T10:00,5,maps\np2,2024-05-02,1,\n"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_referrals_are_frozen_records_of_the_referred_patients(tmp_path: Path) -> None:
    """Only referred patients become records; text ids keep their zeros; times are datetimes."""
    referrals = read_referrals_csv(_write(tmp_path, "patients.csv", REGISTRY))
    assert referrals == (
        Referral("000456", "000123", dt.datetime(2024, 2, 1, 10)),
        Referral("000789", "000123", dt.datetime(2024, 2, 3)),
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        referrals[0].referred_by = "x"  # type: ignore[misc]
    as_ints = read_referrals_csv(tmp_path / "patients.csv", id_type="int")
    assert [r.patient_id for r in as_ints] == [456, 789]


def test_referral_reader_maps_columns_and_reports_every_bad_row(tmp_path: Path) -> None:
    """A mapping reads other column names; two bad rows are both named by their lines."""
    mapped = _write(tmp_path, "m.csv", "PID,FIRST,REF\na,2024-01-01,\nb,2024-01-02,a\n")
    records = read_referrals_csv(mapped, mapping={"patient_id": "PID", "first_contact": "FIRST",
                                                  "referred_by": "REF"})
    assert [(r.patient_id, r.referred_by) for r in records] == [("b", "a")]
    bad = _write(tmp_path, "bad.csv", "patient_id,first_contact,referred_by\n"
                 "a,2024-01-01,\n,2024-01-02,a\nc,someday,a\n")
    with pytest.raises(ValidationError) as info:
        read_referrals_csv(bad)
    assert [issue.line for issue in info.value.issues] == [3, 4]
    assert {issue.field for issue in info.value.issues} == {"patient_id", "first_contact"}
    with pytest.raises(ConfigError, match="first_contact"):
        read_referrals_csv(_write(tmp_path, "nocol.csv", "patient_id,referred_by\na,b\n"))


def test_review_records_carry_no_rating(tmp_path: Path) -> None:
    """A posted review is who, when and where: the rating is not even in the record."""
    reviews = read_reviews_csv(_write(tmp_path, "reviews.csv", REVIEWS))
    assert reviews == (PostedReview("p1", dt.datetime(2024, 5, 1, 10), "maps"),
                       PostedReview("p2", dt.datetime(2024, 5, 2), ""))
    assert {f.name for f in attrs.fields(PostedReview)} == {"patient_id", "posted_at",
                                                            "platform"}


def test_review_reader_reports_every_bad_row(tmp_path: Path) -> None:
    """Bad stars and a bad time on two rows: one ValidationError naming both lines."""
    path = _write(tmp_path, "bad.csv", "patient_id,posted_at,stars\n"
                  "p1,2024-05-01,9\np2,yesterday,4\np3,2024-05-03,5\n")
    with pytest.raises(ValidationError) as info:
        read_reviews_csv(path)
    assert sorted({issue.line for issue in info.value.issues}) == [2, 3]


def test_records_award_what_the_tables_award(tmp_path: Path) -> None:
    """award_referrals / award_reviews give the same events from records as from the tables."""
    visits = VisitLog.from_arrays(patient_id=["000456", "000789"], amount=[50.0, 60.0],
                                  visit_time=["2024-02-05", "2024-02-06"])
    path = _write(tmp_path, "patients.csv", REGISTRY)
    reviews_path = _write(tmp_path, "reviews.csv", REVIEWS)
    by_table, by_records = PointsLedger(MemoryStore()), PointsLedger(MemoryStore())
    award_referrals(by_table, PatientRegistry.from_csv(path), visits)
    award_referrals(by_records, read_referrals_csv(path), visits)
    award_reviews(by_table, ReviewTable.from_csv(reviews_path))
    award_reviews(by_records, read_reviews_csv(reviews_path))

    def events(ledger: PointsLedger) -> list[tuple[object, ...]]:
        return [(e.key, e.patient_id, e.points, e.at) for e in ledger.store.events()]

    assert events(by_records) == events(by_table)
    assert by_records.balance("000123").available == 400


def test_cli_reads_every_input_before_writing(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A bad reviews file fails the award with its lines named, and no visit is awarded."""
    visits = _write(tmp_path, "visits.csv", "patient_id,visit_time,amount\n"
                    "a,2024-01-01,5\na,2024-02-01,5\n")
    reviews = _write(tmp_path, "reviews.csv", "patient_id,posted_at,stars\na,never,5\n")
    db = tmp_path / "l.db"
    code = main(["points", "award", "--db", str(db), "--visits", str(visits),
                 "--reviews", str(reviews)])
    assert code == 2
    assert "line 2" in capsys.readouterr().err
    assert not db.exists()


def test_cli_maps_registry_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--map registry.referred_by=REF reaches the referral reader; a missing column hints --map."""
    visits = _write(tmp_path, "visits.csv", "patient_id,visit_time,amount\nb,2024-01-03,5\n")
    registry = _write(tmp_path, "patients.csv", "patient_id,first_contact,REF\n"
                      "a,2024-01-01,\nb,2024-01-02,a\n")
    base = ["points", "award", "--db", str(tmp_path / "l.db"), "--visits", str(visits),
            "--referrals", str(registry)]
    assert main([*base, "--map", "registry.referred_by=REF"]) == 0
    assert "awarded 1 (200 points)" in capsys.readouterr().out
    assert main([*base, "--map", "registry.first_contact=FIRST"]) == 2
    assert "--map registry.first_contact=COLUMN" in capsys.readouterr().err
