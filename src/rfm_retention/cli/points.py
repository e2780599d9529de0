"""``rfm-retention points``: award, inspect, redeem and audit loyalty points in a ledger store."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import Any

from rfm_retention._storage._postgres import is_dsn
from rfm_retention.cli._common import add_input_options, load_typed, progress_of, read_file
from rfm_retention.cli._format import format_table
from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.loyalty import (
    MemoryStore,
    PointsLedger,
    PostgresStore,
    SQLiteStore,
    Voucher,
    award_referrals,
    award_reviews,
    privileges,
    read_referrals_csv,
    read_reviews_csv,
    verify,
)
from rfm_retention.testing import SyntheticCohort
from rfm_retention.time import TimeLike, to_datetime, to_instant

__all__ = ["demo_section", "register"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _time(text: str | None, what: str) -> dt.datetime:
    if text is None:
        return _now()
    return to_datetime(text, field=f"--{what}")


def _db_option(parser: argparse.ArgumentParser, *, create: bool = False) -> None:
    parser.add_argument("--db", required=True, metavar="FILE|DSN",
                        help="SQLite ledger file or postgresql://user@host/database"
                        + (" (created if missing)" if create else ""))


def _common(parser: argparse.ArgumentParser, *, create: bool = False, at: str = "",
            actor: str = "") -> None:
    """--at (``at``: what the time is), --actor (``actor``: what the actor does), --db, --branch."""
    if at:
        parser.add_argument("--at", metavar="TIME", help=f"{at} (default: now, UTC)")
    if actor:
        parser.add_argument("--actor", default="cli", help=f"who {actor} (default: cli)")
    _db_option(parser, create=create)
    parser.add_argument("--branch", default="main", help="hospital branch (default: main)")


def _action(points: Any, name: str, text: str, run: Callable[[argparse.Namespace], int], *,
            patient: bool = False) -> argparse.ArgumentParser:
    """One ``points`` action, whose ``--help`` opens with the same sentence as its listing."""
    parser: argparse.ArgumentParser = points.add_parser(
        name, help=text, description=text[:1].upper() + text[1:] + "."
    )
    if patient:
        parser.add_argument("patient", metavar="PATIENT")
    parser.set_defaults(func=run)
    return parser


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "points",
        help="loyalty points ledger: award, balance, history, redeem, cancel, expire, verify",
        description="An append-only points ledger in a SQLite file or on a PostgreSQL server "
        "(--db postgresql://...). Every operation is one "
        "transaction and is safe to retry with the same key.",
    )
    points = parser.add_subparsers(dest="points_command", metavar="ACTION", required=True)

    award = _action(points, "award", "award revisit, referral and review points "
                              "(reruns award nothing twice)", run_award)
    award.add_argument("--visits", metavar="FILE",
                       help="visits CSV file: revisit points (and first visits, for --referrals)")
    award.add_argument("--referrals", metavar="FILE",
                       help="patient registry CSV (patients.csv: patient_id, first_contact, "
                       "referred_by...): the referrer earns when the referred patient's first "
                       "visit is in --visits, once per referred patient; an award whose "
                       "patient no longer has a visit (first visit cancelled) is reversed; "
                       "its bad rows are reported, never set aside")
    award.add_argument("--reviews", metavar="FILE",
                       help="reviews CSV file: points for each posted review, the same whatever "
                       "its rating (bad rows are reported, never set aside)")
    award.add_argument("--since", metavar="TIME", help="only award visits at or after TIME "
                       "(default: none, so every visit in the file earns, however old; "
                       "the whole file still decides each patient's first visit)")
    _common(award, create=True)
    add_input_options(award)

    _common(_action(points, "balance", "a patient's balance, debt and lots", run_balance,
                    patient=True))
    _common(_action(points, "history", "a patient's events, oldest first", run_history,
                    patient=True))

    redeem = _action(points, "redeem", "redeem a reward and print the voucher", run_redeem,
                     patient=True)
    redeem.add_argument("reward", metavar="REWARD",
                        help="reward code: health_assessment (1000) or half_price_exam (2000)")
    redeem.add_argument("--key", required=True, help="idempotency key (reuse it to retry)")
    _common(redeem, at="redemption time", actor="redeems")

    cancel = _action(points, "cancel", "cancel a voucher (by its redemption key)", run_cancel)
    cancel.add_argument("key", metavar="KEY", help="the redemption's key")
    _common(cancel, at="cancellation time", actor="cancels")

    _common(_action(points, "expire", "expire every lot due by --at (idempotent)", run_expire),
            at="expiry time")

    _db_option(_action(points, "verify", "recompute every balance and lot from the events; "
                                         "exit 1 if anything does not add up", run_verify))


def _ledger(args: argparse.Namespace, *, create: bool = False) -> PointsLedger:
    return PointsLedger(_store(args.db, create=create), branch=args.branch)


def _store(db: str, *, create: bool) -> SQLiteStore | PostgresStore:
    """The ledger store ``--db`` names: a PostgreSQL server address or an SQLite file."""
    return PostgresStore(db, create=create) if is_dsn(db) else SQLiteStore(db, create=create)


def _close(ledger: PointsLedger) -> None:
    if isinstance(ledger.store, SQLiteStore | PostgresStore):
        ledger.store.close()


def run_award(args: argparse.Namespace) -> int:
    if not (args.visits or args.reviews):
        raise ConfigError("points award needs --visits (revisits, referrals) or --reviews")
    if args.referrals and not args.visits:
        raise ConfigError("--referrals needs --visits: the referred patients' first visits")
    log = load_typed(args, "visits", args.visits, VisitLog) if args.visits else None
    referrals = (read_file(args, "registry", args.referrals, read_referrals_csv)
                 if args.referrals else None)
    reviews = read_file(args, "reviews", args.reviews, read_reviews_csv) if args.reviews else None
    ledger = _ledger(args, create=True)
    try:
        if log is not None:
            since = None if args.since is None else _time(args.since, "since")
            if since is None and len(log):
                print(_whole_file_note(log))
            result = ledger.award_visits(log, since=since, actor="cli award",
                                         progress=progress_of(args))
            print(f"{result.visits} visit(s), {result.earning} earning; awarded "
                  f"{result.awarded} ({result.points} points), {result.already_awarded} "
                  "already awarded.")
            if referrals is not None:
                ref = award_referrals(ledger, referrals, log, actor="cli award")
                print(f"{ref.candidates} referral(s) with a first visit; awarded "
                      f"{ref.awarded} ({ref.points} points), {ref.already_awarded} already "
                      f"awarded, {ref.capped} over the yearly cap, {ref.reversed} reversed "
                      "(first visit cancelled).")
        if reviews is not None:
            rev = award_reviews(ledger, reviews, actor="cli award")
            print(f"{rev.candidates} review(s); awarded {rev.awarded} ({rev.points} points), "
                  f"{rev.already_awarded} already awarded, {rev.capped} over the yearly cap.")
    finally:
        _close(ledger)
    return 0


def _whole_file_note(log: VisitLog) -> str:
    """Without ``--since`` every visit in the file earns, however old: say how far back."""
    first, last = (str(t)[:10] for t in (log.time.min(), log.time.max()))
    return (f"no --since: awarding every visit in the file, {first} to {last} "
            "(pass --since TIME to award only visits from TIME on).")


def _balance_text(ledger: PointsLedger, patient: str) -> str:
    b = ledger.balance(patient)
    head = (f"patient {b.patient_id} (branch {b.branch}): balance {b.balance}, "
            f"available {b.available}, debt {b.debt}, {b.n_events} event(s)")
    rows = [[lot.key, lot.earned_at, lot.expires_at or "", lot.points, lot.remaining,
             lot.expired, "yes" if lot.reversed else ""] for lot in b.lots]
    if not rows:
        return head
    table = format_table(["lot", "earned_at", "expires_at", "points", "remaining", "expired",
                          "reversed"], rows)
    return head + "\n" + table


def run_balance(args: argparse.Namespace) -> int:
    ledger = _ledger(args)
    try:
        print(_balance_text(ledger, args.patient))
    finally:
        _close(ledger)
    return 0


def run_history(args: argparse.Namespace) -> int:
    ledger = _ledger(args)
    try:
        events = ledger.history(args.patient)
    finally:
        _close(ledger)
    rows = [[e.seq, e.at, e.kind.value, e.points, e.key, e.reverses or e.reward, e.actor,
             e.reason] for e in events]
    print(format_table(["seq", "at", "kind", "points", "key", "reverses/reward", "actor",
                        "reason"], rows, title=f"patient {args.patient} (branch {args.branch})"))
    return 0


def _voucher_text(v: Voucher) -> str:
    return (f"voucher {v.code}: {v.reward_name} for patient {v.patient_id} "
            f"({v.points} points, {v.issued_at}, key {v.key})")


def run_redeem(args: argparse.Namespace) -> int:
    ledger = _ledger(args)
    try:
        voucher = ledger.redeem(args.patient, args.reward, key=args.key,
                                at=_time(args.at, "at"), actor=args.actor)
        left = ledger.balance(args.patient).available
    finally:
        _close(ledger)
    print(_voucher_text(voucher))
    print(f"available now: {left}")
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    ledger = _ledger(args)
    try:
        event = ledger.cancel_voucher(args.key, at=_time(args.at, "at"), actor=args.actor)
    finally:
        _close(ledger)
    print(f"cancelled {args.key}: {event.points} point(s) back to patient {event.patient_id}")
    return 0


def run_expire(args: argparse.Namespace) -> int:
    ledger = _ledger(args)
    try:
        events = ledger.expire(at=_time(args.at, "at"))
    finally:
        _close(ledger)
    print(f"expired {len(events)} lot(s), {-sum(e.points for e in events)} point(s)")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    store = _store(args.db, create=False)
    try:
        report = verify(store)
    finally:
        store.close()
    print(report.summary())
    return 0 if report.ok else 1


def demo_section(cohort: SyntheticCohort, as_of: TimeLike) -> str:
    """Revisit points for the sample cohort in an in-memory ledger, and one redemption."""
    ledger = PointsLedger(MemoryStore())
    result = ledger.award_visits(cohort.data.visits)
    again = ledger.award_visits(cohort.data.visits)
    instant = to_instant(as_of)  # a date means the end of that day; converted once
    at: dt.datetime = instant.astype(dt.datetime)
    balances = sorted((ledger.balance(str(p)) for p in cohort.data.visits.patient_ids),
                      key=lambda b: (-b.available, b.patient_id))
    rows = [[b.patient_id, b.balance, b.available, len(b.lots)] for b in balances[:5]]
    lines = [
        f"Awarded {result.awarded} revisit(s) = {result.points} points "
        f"({result.visits - result.earning} first visits earn nothing); "
        f"a rerun awarded {again.awarded}.",
        "",
        format_table(["patient_id", "balance", "available", "lots"], rows,
                     title="Top balances (100 points per revisit)"),
    ]
    top = balances[0]
    if top.available >= 1000:
        voucher = ledger.redeem(top.patient_id, "health_assessment", key="demo-redeem-1", at=at)
        retry = ledger.redeem(top.patient_id, "health_assessment", key="demo-redeem-1", at=at)
        lines += ["", _voucher_text(voucher),
                  f"retry with the same key returns the same voucher: {retry == voucher}; "
                  f"available now {ledger.balance(top.patient_id).available}.", ""]
    for pid in (top.patient_id, "NEW-PATIENT"):
        decided = privileges(pid, cohort.data.visits, as_of=instant, ledger=ledger)
        shown = "; ".join(
            f"{d.privilege.name}: {'yes' if d.granted else 'no'} ({d.rule}"
            + (f": {d.reason}" if d.reason else "") + ")"
            for d in decided.decisions)
        lines.append(f"privileges of {pid}: {shown}")
    lines += ["", "verify: " + verify(ledger.store).summary().replace("\n", " ")]
    return "\n".join(lines)
