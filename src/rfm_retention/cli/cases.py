"""``rfm-retention cases``: open cases from a warning list, list overdue deadlines.

``cases open`` reads the warning CSV the risk scan writes (columns
``patient_id, level, reason`` and optionally ``score, evidence, change``) and
opens or escalates one case per warning in an SQLite case database.
``cases overdue`` lists every breached deadline at ``--as-of`` with the roles
the escalation rules name, and with ``--notify`` appends one JSON line per new
breach (each breach and tier once, however often it runs).
"""

from __future__ import annotations

import argparse
import csv
import os
from types import SimpleNamespace
from typing import Any

from rfm_retention.cli._common import write_csv
from rfm_retention.cli._format import format_table
from rfm_retention.errors import ConfigError, RowIssue
from rfm_retention.interventions import (
    SPEC_PLAYBOOK,
    CaseBook,
    DeadlineUnit,
    JsonLinesNotifier,
    SQLiteCaseStore,
    WorkingCalendar,
    intake_warnings,
)
from rfm_retention.risk.levels import ReasonCode, RiskLevel

__all__ = ["register"]

_REQUIRED = ("patient_id", "level", "reason")
_OVERDUE_HEADER = ["case_id", "patient_id", "level", "reason", "deadline", "due_at",
                   "overdue_hours", "notify"]


def register(sub: Any) -> None:
    """Add ``cases open`` and ``cases overdue``."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "cases",
        help="intervention cases: open them from warnings, list overdue deadlines",
        description="Intervention cases kept in an SQLite database (see docs/guide/operations.md).",
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
    opening.add_argument("--db", required=True, metavar="FILE", help="case database (created)")
    opening.add_argument("--at", required=True, metavar="TIME",
                         help="when the warnings were raised, ISO date-time (2024-05-06T07:00)")
    opening.add_argument("--working-hours", action="store_true",
                         help="count hour deadlines (24 h, 48 h) in working hours, Mon-Fri "
                         "08:00-17:30, instead of clock hours")
    opening.add_argument("--timezone", metavar="TZ",
                         help="IANA zone of the working hours, e.g. Asia/Shanghai")
    opening.add_argument("--notify", metavar="FILE",
                         help="append a JSON line per new or escalated high-risk case")
    opening.set_defaults(func=run_open)

    overdue = actions.add_parser(
        "overdue",
        help="list breached deadlines of open cases",
        description="Every unmet, past-due deadline of a non-closed case at --as-of (a date "
        "means the end of that day), oldest first, with the roles to tell.",
    )
    overdue.add_argument("--db", required=True, metavar="FILE", help="case database")
    overdue.add_argument("--as-of", required=True, metavar="DATE", help="ISO date or date-time")
    overdue.add_argument("--out", metavar="FILE", help="write CSV here instead of a table")
    overdue.add_argument("--notify", metavar="FILE",
                         help="append a JSON line per breach not yet notified, and record it")
    overdue.add_argument("--exit-code", action="store_true",
                         help="exit 1 when anything is overdue (for schedulers)")
    overdue.set_defaults(func=run_overdue)


def _read_warnings(path: str) -> list[SimpleNamespace]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: missing column(s) {', '.join(missing)}; "
                              f"found {', '.join(reader.fieldnames or []) or 'none'}")
        rows, issues = [], []
        for row_number, row in enumerate(reader):
            pid = (row.get("patient_id") or "").strip()
            if not pid:
                issues.append(RowIssue(row_number, "patient_id", "is empty"))
            try:
                RiskLevel.parse(row.get("level") or "")
            except ValueError as exc:
                issues.append(RowIssue(row_number, "level", str(exc), row.get("level") or "", pid))
            try:
                ReasonCode((row.get("reason") or "").strip())
            except ValueError:
                known = ", ".join(r.value for r in ReasonCode)
                issues.append(RowIssue(row_number, "reason", f"not one of {known}",
                                       row.get("reason") or "", pid))
            score = (row.get("score") or "").strip()
            try:
                float(score or 0)
            except ValueError:
                issues.append(RowIssue(row_number, "score", "not a number", score, pid))
            rows.append(SimpleNamespace(
                patient_id=pid, level=(row.get("level") or "").strip(),
                reason=(row.get("reason") or "").strip(), score=score or None,
                evidence=row.get("evidence") or "", change=row.get("change") or "",
            ))
    if issues:
        shown = "\n".join(str(issue) for issue in issues[:20])
        more = f"\n... and {len(issues) - 20} more" if len(issues) > 20 else ""
        raise ConfigError(f"{path}: {len(issues)} problem(s); nothing was stored:\n{shown}{more}")
    return rows


def run_open(args: argparse.Namespace) -> int:
    """Open or escalate cases from a warning CSV."""
    warnings = _read_warnings(args.warnings)
    playbook = SPEC_PLAYBOOK
    if args.working_hours:
        playbook = playbook.with_deadline_unit(DeadlineUnit.WORKING_HOURS)
    calendar = WorkingCalendar(timezone=args.timezone)
    notifier = JsonLinesNotifier(args.notify) if args.notify else None
    with SQLiteCaseStore(args.db) as store:
        book = CaseBook(store, playbook=playbook, calendar=calendar, notifier=notifier)
        report = intake_warnings(book, warnings, warned_at=args.at)
    counts = ", ".join(f"{n} {action.value}" for action, n in report.counts.items())
    print(f"{len(warnings)} warning(s): {counts}")
    return 0


def run_overdue(args: argparse.Namespace) -> int:
    """List overdue deadlines (and notify about new ones)."""
    if not os.path.exists(args.db):
        raise ConfigError(f"no case database at {args.db}\nHint: create it with "
                          "'rfm-retention cases open'.")
    with SQLiteCaseStore(args.db) as store:
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
