"""``rfm-retention cases open`` and ``cases overdue`` end to end, and the warning-list adapter."""

from __future__ import annotations

import datetime as dt
import json

import attrs
import pytest

from rfm_retention.cli import main
from rfm_retention.errors import ConfigError
from rfm_retention.interventions import (
    CaseBook,
    Channel,
    ContactResult,
    InMemoryCaseStore,
    IntakeAction,
    Outcome,
    SQLiteCaseStore,
    intake_warnings,
)
from rfm_retention.risk import WarningRecord
from rfm_retention.vocabulary import ReasonCode, RiskLevel

WARNINGS = (
    "patient_id,level,score,reason,indicators,evidence,change\n"
    "17,high,86.2,efficacy,course_not_completed,course abandoned at 3/10 sessions,new\n"
    "23,medium,64,service,low_satisfaction,rating 72,new\n"
    "41,low,45,behaviour_only,interval_extension,+40%,\n"
)


@pytest.fixture
def warnings_csv(tmp_path):
    path = tmp_path / "warnings.csv"
    path.write_text(WARNINGS, encoding="utf-8")
    return path


def test_open_is_idempotent_and_overdue_lists_breaches(tmp_path, warnings_csv, capsys):
    """Two runs on the same list open three cases once; overdue shows the high case's breach."""
    db = tmp_path / "cases.db"
    args = ["cases", "open", "--warnings", str(warnings_csv), "--db", str(db)]
    assert main([*args, "--at", "2024-05-06T07:00"]) == 0
    assert main([*args, "--at", "2024-05-07T07:00"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("3 warning(s): 3 opened")
    assert "3 unchanged" in out[1]
    out_csv = tmp_path / "overdue.csv"
    code = main(["cases", "overdue", "--db", str(db), "--as-of", "2024-05-07T08:00",
                 "--out", str(out_csv), "--exit-code"])
    assert code == 1
    lines = out_csv.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("case_id,patient_id,level,reason,deadline,due_at")
    assert lines[1].startswith("17#1,17,high,efficacy,first_contact,2024-05-07 07:00:00,1.0,")
    assert len(lines) == 2


def test_overdue_notify_tells_each_breach_once(tmp_path, warnings_csv):
    """--notify appends one JSON line per breach and tier, not again on the next run."""
    db, notices = tmp_path / "cases.db", tmp_path / "notices.jsonl"
    main(["cases", "open", "--warnings", str(warnings_csv), "--db", str(db),
          "--at", "2024-05-06T07:00"])
    for _ in range(2):
        main(["cases", "overdue", "--db", str(db), "--as-of", "2024-05-07T09:00",
              "--notify", str(notices)])
    lines = [json.loads(line) for line in notices.read_text(encoding="utf-8").splitlines()]
    assert [(n["kind"], n["deadline"]) for n in lines] == [("deadline_breached", "first_contact")]


def test_working_hours_option_moves_deadlines(tmp_path, warnings_csv):
    """--working-hours counts 24 h in Mon-Fri 08:00-17:30 working time."""
    db = tmp_path / "cases.db"
    main(["cases", "open", "--warnings", str(warnings_csv), "--db", str(db),
          "--at", "2024-05-10T19:00", "--working-hours"])  # a Friday evening
    with SQLiteCaseStore(db) as store:
        case = CaseBook(store).get("17#1")
    first = {d.name: d.due_at for d in case.deadlines}["first_contact"]
    assert first == dt.datetime(2024, 5, 15, 13, 0)  # Mon 9.5 + Tue 9.5 + Wed 5 h


def test_bad_warning_rows_are_named_and_nothing_stored(tmp_path, capsys):
    """Every bad row and field is reported; the database is left empty."""
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,level,reason\n,severe,weather\n9,high,price\n", encoding="utf-8")
    db = tmp_path / "cases.db"
    code = main(["cases", "open", "--warnings", str(bad), "--db", str(db), "--at", "2024-05-06"])
    err = capsys.readouterr().err
    assert code == 2
    assert "3 problem(s)" in err
    assert "row 0: level 'severe'" in err
    if db.exists():
        with SQLiteCaseStore(db) as store:
            assert store.case_ids() == ()


def test_overdue_without_database_is_a_clear_error(tmp_path, capsys):
    """A missing database is reported, not silently created."""
    code = main(["cases", "overdue", "--db", str(tmp_path / "nope.db"), "--as-of", "2024-05-06"])
    assert code == 2
    assert "no case database" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()


def test_intake_warnings_reads_change_as_episode():
    """'new' starts an episode after a closed case; 'unchanged' does not."""
    book = CaseBook(InMemoryCaseStore())
    day1 = [WarningRecord(5, RiskLevel.MEDIUM, ReasonCode.PRICE, 61.0, "spend down 45%", "new")]
    assert intake_warnings(book, day1, warned_at="2024-05-06T07:00").counts[
        IntakeAction.OPENED] == 1
    book.close("5#1", at="2024-05-06T09:00", actor="amy", outcome=Outcome.NOT_NEEDED,
               note="visited this morning")
    day2 = [attrs.evolve(day1[0], change="unchanged")]
    report = intake_warnings(book, day2, warned_at="2024-05-07T07:00")
    assert report.counts[IntakeAction.SUPPRESSED] == 1
    day9 = [attrs.evolve(day1[0], change="new")]
    report = intake_warnings(book, day9, warned_at="2024-06-07T07:00")
    assert [r.case.case_id for r in report.opened] == ["5#2"]


def test_intake_warnings_needs_a_time():
    """Without warned_at and without an as_of on the list, nothing is guessed."""
    with pytest.raises(ConfigError, match="warned_at"):
        intake_warnings(CaseBook(InMemoryCaseStore()), [])


def test_demo_section_opens_cases_from_two_daily_scans():
    """The demo opens cases from one day's scan; the next day's scan leaves them be."""
    from rfm_retention.cli.cases import demo_section
    from rfm_retention.testing import sample_cohort

    cohort = sample_cohort()
    text = demo_section(cohort, cohort.end)
    assert "opened" in text
    assert "unchanged" in text
    assert "1 suppressed" in text  # the case closed as won back is not reopened
    assert "Overdue at" in text
    assert 'e.g. "Dear patient, this is Sample Hospital.' in text  # an example message


def test_intake_from_a_real_scan_uses_the_list_time():
    """A WarningList from the risk scan goes in as is; its as_of is the warning time."""
    from rfm_retention.data import PatientData, VisitLog
    from rfm_retention.risk import scan

    log = VisitLog.from_arrays(
        patient_id=["a", "a", "a", "b", "b"],
        visit_time=["2024-01-01", "2024-02-01", "2024-03-01", "2024-05-01", "2024-06-01"],
        amount=[50, 50, 50, 80, 80],
    )
    warnings = scan(PatientData(visits=log), "2024-06-15")
    book = CaseBook(InMemoryCaseStore())
    report = intake_warnings(book, warnings)
    case = book.get("a#1")
    assert report.counts[IntakeAction.OPENED] == len(warnings)
    assert case.warned_at == dt.datetime(2024, 6, 15, 23, 59, 59)
    assert "usual interval" in case.summary


@pytest.mark.slow
def test_realistic_volume_on_sqlite(tmp_path):
    """20,000 warnings: opened once, unchanged the next day, every high case overdue later."""
    levels = (RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH)
    rows = [
        WarningRecord(f"P{i:06d}", levels[i % 3], ReasonCode.PRICE, 70.0, "spend down", "new")
        for i in range(20_000)
    ]
    with SQLiteCaseStore(tmp_path / "cases.db") as store:
        book = CaseBook(store)
        first = intake_warnings(book, rows, warned_at="2024-05-06T07:00")
        second = intake_warnings(book, rows, warned_at="2024-05-07T07:00")
        breaches = book.overdue("2024-05-09")
    assert first.counts[IntakeAction.OPENED] == 20_000
    assert second.counts[IntakeAction.UNCHANGED] == 20_000
    high = sum(1 for r in rows if r.level is RiskLevel.HIGH)
    assert sum(b.deadline.name == "first_contact" for b in breaches) == high


def test_holidays_file_is_skipped_by_working_hour_deadlines(tmp_path, warnings_csv):
    """A Monday holiday listed in --holidays pushes the first contact a working day later."""
    db, holidays = tmp_path / "cases.db", tmp_path / "holidays.txt"
    holidays.write_text("# spring\n2024-05-13\n", encoding="utf-8")
    main(["cases", "open", "--warnings", str(warnings_csv), "--db", str(db),
          "--at", "2024-05-10T19:00", "--working-hours", "--holidays", str(holidays)])
    with SQLiteCaseStore(db) as store:
        case = CaseBook(store).get("17#1")
    assert {d.name: d.due_at for d in case.deadlines}["first_contact"] == dt.datetime(
        2024, 5, 16, 13, 0
    )


def test_bad_holidays_file_is_named(tmp_path, warnings_csv, capsys):
    """A line that is not a date is reported with its number."""
    holidays = tmp_path / "holidays.txt"
    holidays.write_text("2024-05-13\n13/05/2024\n", encoding="utf-8")
    code = main(["cases", "open", "--warnings", str(warnings_csv), "--db",
                 str(tmp_path / "c.db"), "--at", "2024-05-10", "--holidays", str(holidays)])
    assert code == 2
    assert "line 2" in capsys.readouterr().err


def test_show_prints_state_and_history(tmp_path, warnings_csv, capsys):
    """cases show lists every event of a case, oldest first, with its details."""
    db = tmp_path / "cases.db"
    main(["cases", "open", "--warnings", str(warnings_csv), "--db", str(db),
          "--at", "2024-05-06T07:00"])
    with SQLiteCaseStore(db) as store:
        book = CaseBook(store)
        book.record_contact("17#1", at="2024-05-06T09:00", actor="dr.li", channel=Channel.PHONE,
                            result=ContactResult.REACHED, note="course too painful")
        book.record_plan("17#1", at="2024-05-06T10:00", actor="dr.li")
        book.close("17#1", at="2024-05-20T10:00", actor="dr.li", outcome=Outcome.WON_BACK)
    capsys.readouterr()
    assert main(["cases", "show", "--db", str(db), "--case", "17#1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("case 17#1: patient 17, high risk, reason efficacy, closed, "
                          "outcome won_back")
    events = [line.split()[4] for line in out.splitlines()[4:]]
    assert events == ["opened", "contact", "plan", "closed"]
    assert "phone reached (care): course too painful" in out
    assert main(["cases", "show", "--db", str(db), "--case", "99#1"]) == 2


def test_a_case_lives_its_whole_life_from_the_command_line(tmp_path, capsys):
    """open, contact, plan, close from the CLI; refused changes name the case, write nothing."""
    from case_life import live_a_case

    db = tmp_path / "cases.db"
    live_a_case(str(db), tmp_path, capsys, lambda: SQLiteCaseStore(db))


def test_case_commands_explain_themselves_in_help(capsys):
    """contact, plan, close and reopen each have a description and list their words in --help."""
    for command, words in (("contact", ["home_visit", "callback_requested", "marketing"]),
                           ("plan", ["--code", "retention-plan deadline"]),
                           ("close", ["won_back", "not_needed"]),
                           ("reopen", ["--reason", "recorded in error"])):
        with pytest.raises(SystemExit) as caught:
            main(["cases", command, "--help"])
        assert caught.value.code == 0
        out = " ".join(capsys.readouterr().out.split())
        assert all(word in out for word in words), command
    with pytest.raises(SystemExit):
        main(["cases", "--help"])
    assert "open -> contact -> plan -> close" in " ".join(capsys.readouterr().out.split())
