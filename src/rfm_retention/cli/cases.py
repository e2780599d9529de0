"""``rfm-retention cases``: a case's whole life from the command line.

``cases open`` reads the warning CSV the risk scan writes (columns
``patient_id, level, reason`` and optionally ``score, evidence, change``) and
opens or escalates one case per warning in a case database (an SQLite file or
a PostgreSQL server). ``cases contact``, ``cases plan``, ``cases close`` and
``cases reopen`` record staff work on one case, each checked by the case state machine first
(a refused change is an error naming the case and writes nothing).
``cases overdue`` lists every breached deadline at ``--as-of`` with the roles
the escalation rules name, and with ``--notify`` appends one JSON line per new
breach (each breach and tier once, however often it runs). ``cases show``
prints one case's state and its whole history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import os
from typing import Any

from rfm_retention._storage._postgres import is_dsn
from rfm_retention.cli._common import write_csv
from rfm_retention.cli._format import format_table
from rfm_retention.errors import ConfigError
from rfm_retention.features import patient_features
from rfm_retention.interventions import (
    SPEC_PLAYBOOK,
    Case,
    CaseBook,
    CaseClosed,
    CaseEscalated,
    CaseEvent,
    CaseOpened,
    CaseReopened,
    Channel,
    ContactRecorded,
    ContactResult,
    DeadlineUnit,
    JsonLinesNotifier,
    Outcome,
    PlanRecorded,
    PostgresCaseStore,
    Purpose,
    SQLiteCaseStore,
    WorkingCalendar,
    intake_warnings,
    read_holidays,
)
from rfm_retention.interventions._events import kind_of
from rfm_retention.risk import read_warnings_csv
from rfm_retention.time import to_datetime

__all__ = ["register"]

_OVERDUE_HEADER = ["case_id", "patient_id", "level", "reason", "deadline", "due_at",
                   "overdue_hours", "notify"]


def register(sub: Any) -> None:
    """Add ``cases open``, ``contact``, ``plan``, ``close``, ``reopen``, ``overdue``, ``show``."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "cases",
        help="intervention cases: open them from warnings, record contacts, plans and "
        "outcomes, list overdue deadlines",
        description="Intervention cases kept in an SQLite file or a PostgreSQL database "
        "(see docs/guide/operations.md). A case's life: open -> contact -> plan -> close.",
    )
    actions = parser.add_subparsers(dest="cases_command", metavar="ACTION", required=True)

    opening = actions.add_parser(
        "open",
        help="open or escalate one case per warning of a warning CSV",
        description="Reads columns patient_id, level, reason (and score, evidence, change when "
        "present). A warning whose change is 'new' starts a new episode; others continue the "
        "patient's current case. Deadlines count from --at.",
    )
    opening.add_argument("--warnings", required=True, metavar="FILE", help="warning list CSV")
    _add_db(opening, created=True)
    opening.add_argument("--at", required=True, metavar="TIME",
                         help="when the warnings were raised, ISO date-time (2024-05-06T07:00)")
    opening.add_argument("--working-hours", action="store_true",
                         help="count hour deadlines (24 h, 48 h) in working hours, Mon-Fri "
                         "08:00-17:30, instead of clock hours")
    opening.add_argument("--holidays", metavar="FILE",
                         help="non-working dates for --working-hours, one ISO date per line "
                         "(# starts a comment)")
    opening.add_argument("--timezone", metavar="TZ",
                         help="IANA zone of the working hours, e.g. Asia/Shanghai")
    opening.add_argument("--notify", metavar="FILE",
                         help="append a JSON line per new or escalated high-risk case")
    opening.set_defaults(func=run_open)

    contact = _case_action(
        actions, "contact", run_contact, help="record a contact with the patient of one case",
        description="Record one contact: how (--channel), what came of it (--result), when "
        "(--at) and who (--actor). reached, callback_requested and refused mean the patient "
        "was reached; a contact meets the first-contact deadline. A closed case takes no "
        "contact until it is reopened.",
    )
    _add_choice(contact, "--channel", Channel, required=True, help="how the patient was contacted")
    _add_choice(contact, "--result", ContactResult, required=True, help="what came of it")
    _add_choice(contact, "--purpose", Purpose, default=Purpose.CARE,
                help="why (default care)")
    contact.add_argument("--note", default="", help="what was said, in staff's words")
    contact.add_argument("--inbound", action="store_true",
                         help="the patient started the contact (no consent rule applies)")

    plan = _case_action(
        actions, "plan", run_plan, help="record the retention plan of one case",
        description="Record the retention plan: by default the playbook's plan for the case's "
        "churn reason, or --code (a playbook plan or one of the host's own). A plan meets the "
        "retention-plan deadline.",
    )
    plan.add_argument("--code", help="plan code (default: the playbook's plan for the reason)")
    plan.add_argument("--description",
                      help="what will be done (default: the playbook plan's steps)")
    _add_choice(plan, "--purpose", Purpose, help="why (default: the plan's own)")

    close = _case_action(
        actions, "close", run_close, help="close one case with an outcome",
        description="Close the case. won_back and declined need a contact in which the patient "
        "was reached, lost and unreachable at least one contact; not_needed without any "
        "contact needs a --note saying why. A case cannot be closed before its latest activity.",
    )
    _add_choice(close, "--outcome", Outcome, required=True, help="how the case ended")
    close.add_argument("--note", default="", help="why, in staff's words")

    reopen = _case_action(
        actions, "reopen", run_reopen, help="reopen a closed case",
        description="Reopen a closed case (the patient called back, or the outcome was "
        "recorded in error); --reason says why and is kept in the history. The outcome is "
        "cleared and the case takes contacts, plans and a new outcome again.",
    )
    reopen.add_argument("--reason", required=True, help="why the case is reopened")

    overdue = actions.add_parser(
        "overdue",
        help="list breached deadlines of open cases",
        description="Every unmet, past-due deadline of a non-closed case at --as-of (a date "
        "means the end of that day), oldest first, with the roles to tell.",
    )
    _add_db(overdue)
    overdue.add_argument("--as-of", required=True, metavar="DATE", help="ISO date or date-time")
    overdue.add_argument("--out", metavar="FILE", help="write CSV here instead of a table")
    overdue.add_argument("--notify", metavar="FILE",
                         help="append a JSON line per breach not yet notified, and record it")
    overdue.add_argument("--exit-code", action="store_true",
                         help="exit 1 when anything is overdue (for schedulers)")
    overdue.set_defaults(func=run_overdue)

    show = actions.add_parser(
        "show",
        help="one case: its state and its full history",
        description="Print the case's current state and every event of its history, oldest "
        "first (the audit trail).",
    )
    _add_db(show)
    _add_case(show)
    show.set_defaults(func=run_show)


def _add_db(parser: argparse.ArgumentParser, *, created: bool = False) -> None:
    parser.add_argument("--db", required=True, metavar="FILE|DSN",
                        help="case database file or postgresql://user@host/database"
                        + (" (created)" if created else ""))


def _add_case(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--case", required=True, metavar="ID", help="case id, e.g. P000113#1")


def _case_action(actions: Any, name: str, run: Any, *, help: str, description: str
                 ) -> argparse.ArgumentParser:
    """A command that changes one stored case: --db, --case, --at and --actor."""
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help,
                                                         description=description)
    parser.set_defaults(func=run)
    _add_db(parser)
    _add_case(parser)
    parser.add_argument("--at", required=True, metavar="TIME",
                        help="when it happened, ISO date-time (2024-05-06T10:30)")
    parser.add_argument("--actor", required=True, metavar="NAME", help="who did it")
    return parser


def _add_choice(parser: argparse.ArgumentParser, flag: str, kind: type[enum.StrEnum], *,
                help: str, **options: Any) -> None:
    """An option whose value is one of ``kind``'s words, read into the enum itself."""
    words = ", ".join(str(m.value) for m in kind)

    def read(text: str) -> enum.StrEnum:
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {words}") from None

    parser.add_argument(flag, type=read, metavar=flag.strip("-").upper(),
                        help=f"{help}: {words}", **options)


def run_open(args: argparse.Namespace) -> int:
    """Open or escalate cases from a warning CSV."""
    warnings = read_warnings_csv(args.warnings)
    playbook = SPEC_PLAYBOOK
    if args.working_hours:
        playbook = playbook.with_deadline_unit(DeadlineUnit.WORKING_HOURS)
    holidays = read_holidays(args.holidays) if args.holidays else frozenset()
    calendar = WorkingCalendar(timezone=args.timezone, holidays=holidays)
    notifier = JsonLinesNotifier(args.notify) if args.notify else None
    with _case_store(args.db, create=True) as store:
        book = CaseBook(store, playbook=playbook, calendar=calendar, notifier=notifier)
        report = intake_warnings(book, warnings, warned_at=args.at)
    counts = ", ".join(f"{n} {action.value}" for action, n in report.counts.items())
    print(f"{len(warnings)} warning(s): {counts}")
    return 0


def _case_store(db: str, *, create: bool) -> SQLiteCaseStore | PostgresCaseStore:
    """The case store ``--db`` names: a PostgreSQL server address or an SQLite file."""
    if is_dsn(db):
        return PostgresCaseStore(db, create=create)
    return SQLiteCaseStore(db if create else _existing_db(db), create=create)


def _existing_db(path: str) -> str:
    if not os.path.exists(path):
        raise ConfigError(f"no case database at {path}\nHint: create it with "
                          "'rfm-retention cases open'.")
    return path


def _changed(args: argparse.Namespace, change: Any) -> int:
    """Apply ``change(book, case_id, at)`` to the stored case and print where it stands."""
    at = to_datetime(args.at, field="--at")
    with _case_store(args.db, create=False) as store:
        case: Case = change(CaseBook(store), args.case, at)
    due = "; ".join(f"{d.name} " + (f"met {d.met_at:%Y-%m-%d %H:%M}" if d.met_at else
                                    f"due {d.due_at:%Y-%m-%d %H:%M}") for d in case.deadlines)
    done = {"contact": "contact recorded", "plan": "plan recorded", "close": "closed",
            "reopen": "reopened"}
    print(f"case {case.case_id}: {done[args.cases_command]}; status {case.status.value}"
          + (f", outcome {case.outcome.value}" if case.outcome else "")
          + (f"; deadlines: {due}" if due and not case.is_closed else ""))
    return 0


def run_contact(args: argparse.Namespace) -> int:
    """Record a contact on one case."""
    return _changed(args, lambda book, case_id, at: book.record_contact(
        case_id, at=at, actor=args.actor, channel=args.channel, result=args.result,
        purpose=args.purpose, note=args.note, inbound=args.inbound))


def run_plan(args: argparse.Namespace) -> int:
    """Record the retention plan of one case."""
    return _changed(args, lambda book, case_id, at: book.record_plan(
        case_id, at=at, actor=args.actor, code=args.code, description=args.description,
        purpose=args.purpose))


def run_close(args: argparse.Namespace) -> int:
    """Close one case with an outcome."""
    return _changed(args, lambda book, case_id, at: book.close(
        case_id, at=at, actor=args.actor, outcome=args.outcome, note=args.note))


def run_reopen(args: argparse.Namespace) -> int:
    """Reopen one closed case."""
    return _changed(args, lambda book, case_id, at: book.reopen(
        case_id, at=at, actor=args.actor, reason=args.reason))


def run_overdue(args: argparse.Namespace) -> int:
    """List overdue deadlines (and notify about new ones)."""
    with _case_store(args.db, create=False) as store:
        book = CaseBook(store, notifier=JsonLinesNotifier(args.notify) if args.notify else None)
        breaches = book.overdue(args.as_of)
        if args.notify:
            book.escalate_overdue(args.as_of)
    rows = [
        [b.case.case_id, b.case.patient_id, b.case.level.label, b.case.reason.value,
         b.deadline.name, b.deadline.due_at.isoformat(sep=" "), round(b.overdue_hours, 1),
         " ".join(b.notify)]
        for b in breaches
    ]
    if args.out:
        write_csv(args.out, _OVERDUE_HEADER, rows)
    elif rows:
        print(format_table(_OVERDUE_HEADER, rows, title=f"Overdue as of {args.as_of}"))
    else:
        print(f"Nothing overdue as of {args.as_of}.")
    return 1 if (args.exit_code and breaches) else 0


def _describe(event: CaseEvent) -> str:
    if isinstance(event, CaseOpened | CaseEscalated):
        dues = ", ".join(f"{d.name} by {d.due_at:%Y-%m-%d %H:%M}" for d in event.deadlines)
        return (f"{event.level.label} risk, reason {event.reason.value}"
                + (f"; {event.summary}" if event.summary else "")
                + (f"; due: {dues}" if dues else ""))
    if isinstance(event, ContactRecorded):
        return (f"{event.channel.value} {event.result.value} ({event.purpose.value}"
                + (", inbound" if event.inbound else "") + ")"
                + (f": {event.note}" if event.note else ""))
    if isinstance(event, PlanRecorded):
        return f"plan {event.code}" + (f": {event.description}" if event.description else "")
    if isinstance(event, CaseClosed):
        return f"outcome {event.outcome.value}" + (f": {event.note}" if event.note else "")
    if isinstance(event, CaseReopened):
        return f"reopened: {event.reason}"
    about = f"breached {event.deadline}" if event.deadline else event.key
    return f"told {', '.join(event.roles)}: {about}"


def run_show(args: argparse.Namespace) -> int:
    """Print one case and its history."""
    with _case_store(args.db, create=False) as store:
        book = CaseBook(store)
        case = book.get(args.case)
        history = book.history(args.case)
    print(f"case {case.case_id}: patient {case.patient_id}, {case.level.label} risk, "
          f"reason {case.reason.value}, {case.status.value}"
          + (f", outcome {case.outcome.value}" if case.outcome else ""))
    rows = [[e.seq, e.at.isoformat(sep=" "), e.actor, kind_of(e), _describe(e)] for e in history]
    print(format_table(["#", "at", "actor", "event", "details"], rows, title="History"))
    return 0


def demo_section(cohort: Any, as_of: Any) -> str:
    """Cases opened from two consecutive daily scans of the sample cohort, staff work, overdue."""
    from rfm_retention.interventions import (
        CallbackNotifier,
        InMemoryCaseStore,
        StaffNotice,
        compose_care_batch,
    )
    from rfm_retention.risk import scan

    day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of)[:10])
    yesterday = day - dt.timedelta(days=1)
    morning = dt.time(7, 0)  # the scan of day D is read by staff at 07:00 on D + 1
    notices: list[StaffNotice] = []
    book = CaseBook(InMemoryCaseStore(), notifier=CallbackNotifier(notices.append))

    first = scan(cohort.data, yesterday)
    first_at = dt.datetime.combine(day, morning)
    day1 = intake_warnings(book, first.compared_with({}), warned_at=first_at)
    high = [r.case for r in day1.opened if r.case is not None and r.case.level.label == "high"]
    # A morning of staff work on the first three high-risk cases.
    if len(high) >= 3:
        a, b, c = (case.case_id for case in high[:3])
        book.record_contact(a, at=first_at + dt.timedelta(hours=2), actor="dr.chen",
                            channel=Channel.PHONE, result=ContactResult.REACHED,
                            note="knee still painful")
        book.record_plan(a, at=first_at + dt.timedelta(hours=3), actor="dr.chen")
        book.record_contact(b, at=first_at + dt.timedelta(hours=2), actor="ms.lin",
                            channel=Channel.PHONE, result=ContactResult.NO_ANSWER)
        book.record_contact(c, at=first_at + dt.timedelta(hours=4), actor="ms.lin",
                            channel=Channel.PHONE, result=ContactResult.REACHED)
        book.close(c, at=first_at + dt.timedelta(hours=5), actor="ms.lin",
                   outcome=Outcome.WON_BACK, note="booked a revisit for next week")

    second = scan(cohort.data, day, previous=first)
    second_at = first_at + dt.timedelta(days=1)
    day2 = intake_warnings(book, second, warned_at=second_at)
    check_at = second_at + dt.timedelta(hours=2)
    breaches = book.overdue(check_at)
    open_cases = book.cases(open_only=True)
    features = patient_features(cohort.data.visits, day)
    wanted = {c.patient_id for c in open_cases}
    details = {
        str(pid): {"department": str(dept)}
        for pid, dept in zip(features.patient_id.tolist(), features.last_department.tolist(),
                             strict=True)
        if str(pid) in wanted and str(dept)
    }
    batch = compose_care_batch(open_cases, channel=Channel.SMS, details=details,
                               hospital="Sample Hospital", contact_line="call 400-000-0000")

    def counts(report: Any) -> str:
        return ", ".join(f"{n} {a.value}" for a, n in report.counts.items() if n)

    rows = [
        [case.case_id, case.level.label, case.reason.value, case.status.value,
         " / ".join(f"{d.name} {d.due_at:%m-%d %H:%M}" + (" met" if d.met_at else "")
                    for d in case.deadlines)]
        for case in (book.get(h.case_id) for h in high[:5])
    ]
    lines = [
        "Cases from the daily scans (warnings read at 07:00; SPEC playbook, clock hours).",
        f"Scan of {yesterday}: {len(first)} warning(s) -> {counts(day1)}; "
        f"{sum(n.kind.value == 'new_case' for n in notices)} high-risk notice(s) to staff.",
        f"Scan of {day}: {len(second)} warning(s) -> {counts(day2)}.",
        "",
        format_table(["case", "level", "reason", "status", "deadlines"], rows,
                     title="First high-risk cases"),
        "",
        f"Overdue at {check_at:%Y-%m-%d %H:%M}: {len(breaches)} breached deadline(s) in "
        f"{len({b.case.case_id for b in breaches})} case(s); first tells "
        + (", ".join(breaches[0].notify) if breaches else "nobody") + ".",
        f"Care batch (medium risk, SMS): {len(batch.messages)} message(s), "
        f"{len(batch.skipped)} skipped.",
    ]
    if batch.messages:
        lines.append(f'  e.g. "{batch.messages[0].text}"')
    return "\n".join(lines)
