"""``rfm-retention report``: the programme's KPIs month by month."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from rfm_retention.cli._common import (
    add_input_options,
    add_signal_options,
    ids_like,
    load_bundle,
    progress_of,
    read_rows,
    write_csv,
)
from rfm_retention.cli._format import format_table
from rfm_retention.errors import ConfigError
from rfm_retention.metrics import (
    DIMENSIONS,
    MIN_GROUP_SIZE,
    AcquisitionReport,
    BeforeAfter,
    CaseColumns,
    CauseReport,
    ChannelCosts,
    ControlGroup,
    Exclusions,
    GroupedKPIReport,
    KPIReport,
    LapseRule,
    ReferralTree,
    kpi_report,
    programme_review,
)
from rfm_retention.time import as_date

__all__ = ["register"]

_SHOWN = (
    ("month", "month"),
    ("active_at_start", "active"),
    ("lapsed", "lapsed"),
    ("churn_rate", "churn %"),
    ("revisit_3m_rate", "revisit 3m %"),
    ("revisit_6m_rate", "revisit 6m %"),
    ("satisfaction", "satisfaction"),
    ("coverage", "coverage %"),
    ("contact_compliance", "on time %"),
    ("win_back_rate", "win-back %"),
    ("control_rate", "control %"),
    ("uplift", "uplift pts"),
)
_PERCENT = {"churn_rate", "revisit_3m_rate", "revisit_6m_rate", "coverage",
            "contact_compliance", "win_back_rate", "control_rate", "uplift"}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="monthly KPIs: churn, revisit at 3/6 months, satisfaction, coverage, win-back",
        description="KPIs of every calendar month from --from to --to, as known on --as-of "
        "(default: the last visit day). Churn uses the lapse rule (expected interval from the "
        "patient's history or diagnosis norm, plus --grace-days). Revisit rates are "
        "right-censored: months whose windows have not closed show no rate. With --cases, "
        "follow-up coverage, first-contact compliance and the win-back rate of medium/high "
        "cases are added; with --control as well, the same win-back rate of untreated control "
        "patients and the uplift over them (monthly, and pooled over the period with its 95 % "
        "confidence interval). Prints a table, or writes every column as CSV with --out.",
    )
    parser.add_argument("--visits", required=True, metavar="FILE", help="visits CSV file")
    parser.add_argument("--cases", metavar="DB", help="SQLite case store of the interventions")
    parser.add_argument("--from", dest="start", required=True, metavar="DATE",
                        help="first month of the report (ISO date)")
    parser.add_argument("--to", dest="end", required=True, metavar="DATE",
                        help="last month of the report (ISO date)")
    parser.add_argument("--as-of", metavar="DATE",
                        help="the day the data covers up to (default: the last visit day)")
    parser.add_argument("--grace-days", type=float, default=30.0, metavar="N",
                        help="lapse rule: days past the expected interval (default 30)")
    parser.add_argument("--win-back-days", type=int, default=30, metavar="N",
                        help="a case is won back by a visit within N days of the first "
                        "contact (default 30)")
    parser.add_argument("--exclusions", metavar="FILE",
                        help="CSV of patients no longer counted: patient_id,since[,reason] "
                        "(reason deceased or transferred); applies to churn, revisit and "
                        "win-back (both sides of the uplift); default with --registry: its "
                        "deceased_at and transferred_at days")
    parser.add_argument("--control", metavar="FILE",
                        help="CSV of untreated control patients: patient_id,level,warned_at "
                        "(needs --cases for the treated side)")
    parser.add_argument("--by", choices=DIMENSIONS, metavar="DIMENSION",
                        help="one row per group and month: department (of the last visit "
                        "before the month for churn, of the index visit for revisit), team "
                        "(case owner; needs --cases), segment (RFM segment the day before "
                        "--from), level (case level; needs --cases) or channel (acquisition "
                        "channel; needs --patients); the groups' counts add up to the "
                        "programme-wide ones")
    parser.add_argument("--min-group-size", type=int, default=MIN_GROUP_SIZE, metavar="N",
                        help="with --by: rates over fewer than N patients/cases are not shown "
                        f"(counts are; default {MIN_GROUP_SIZE})")
    parser.add_argument("--causes", action="store_true",
                        help="also the causes per group (department without --by): primary "
                        "reasons of warned or lapsed patients (needs --cases) and valid "
                        "complaint categories, ranked by over-representation against the "
                        "hospital; with --out, written to FILE's name + .causes")
    parser.add_argument("--programme-start", metavar="DATE",
                        help="also churn and revisit before vs after this day, with the "
                        "difference and its 95 %% CI (and for the --control patients); "
                        "with --out, written to FILE's name + .before_after")
    parser.add_argument("--costs", metavar="FILE",
                        help="with --registry: CSV channel,month,cost of each acquisition "
                        "channel (month as YYYY-MM), for the cost per new and per retained "
                        "patient")
    parser.add_argument("--out", metavar="FILE", help="write the full table as CSV ('-' = stdout)")
    parser.add_argument("--html", metavar="FILE",
                        help="also write the monthly review as one self-contained web page: "
                        "headline KPIs, charts, segments with their playbook actions, today's "
                        "high-risk list, overdue cases, win-back vs control (needs the 'plot' "
                        "extra); bad rows are set aside as with --quarantine")
    add_signal_options(parser)
    add_input_options(parser)
    parser.set_defaults(func=run)


def read_exclusions(path: str) -> Exclusions:
    """``patient_id,since[,reason]`` rows (header required) as :class:`Exclusions`."""
    rows = [(r["patient_id"], r["since"], r.get("reason") or "deceased")
            for r in read_rows(path, ("patient_id", "since"))]
    return Exclusions.from_records(rows)


def read_control(path: str, id_like: Any) -> ControlGroup:
    """``patient_id,level,warned_at`` rows (header required) as a :class:`ControlGroup`."""
    rows = [(r["patient_id"].strip(), r["level"].strip(), r["warned_at"].strip() or None)
            for r in read_rows(path, ("patient_id", "level", "warned_at"))]
    try:
        return ControlGroup.from_arrays(
            patient_id=ids_like([r[0] for r in rows], id_like, where=path),
            level=[r[1] for r in rows],
            warned_at=np.array([r[2] for r in rows], dtype=object),
        )
    except ConfigError as exc:
        raise ConfigError(f"{path} (data rows counted from 0): {exc}") from None


def load_cases(path: str, id_like: Any) -> CaseColumns:
    """Every case of a SQLite case store, as the columns the KPIs read."""
    from rfm_retention.interventions import CaseBook, SQLiteCaseStore

    with SQLiteCaseStore(path) as store:
        return CaseColumns.from_cases(CaseBook(store).cases(), id_like=id_like)


def _cell(name: str, value: Any) -> Any:
    if name in _PERCENT:
        return float(value) * 100.0
    return value


def _table(cols: Mapping[str, Any], title: str, lead: tuple[tuple[str, str], ...] = ()) -> str:
    shown = [*lead, *((key, label) for key, label in _SHOWN if key in cols)]
    rows = [[_cell(key, cols[key][i]) for key, _ in shown] for i in range(len(cols["month"]))]
    month_at = len(lead)
    for i, row in enumerate(rows):
        if not cols["complete"][i]:
            row[month_at] = f"{row[month_at]} *"
        if cols.get("small", [False] * len(rows))[i]:
            row[0] = f"{row[0]} (small)"
    return format_table([label for _, label in shown], rows, title=title)


def render_by(report: GroupedKPIReport) -> str:
    """The grouped report as a terminal table: one row per group and month."""
    overall = report.overall
    title = (f"KPIs by {report.dimension} {overall.start} to {overall.end}, as of "
             f"{as_date(overall.as_of)} ({report.basis}; * = month not over; (small) = fewer than "
             f"{report.min_group_size} patients at risk; blank = no data, not yet known or "
             "too few to show)")
    return _table(report.to_columns(), title, lead=((("group", report.dimension)),))


def render(report: KPIReport) -> str:
    """The report as a terminal table (the columns the data supports)."""
    title = (f"KPIs {report.start} to {report.end}, as of {as_date(report.as_of)} "
             "(* = month not over; blank = no data or not yet known)")
    table = _table(report.to_columns(), title)
    pooled = pooled_uplift(report)
    return table if pooled is None else f"{table}\n{pooled}"


def pooled_uplift(report: KPIReport) -> str | None:
    """One line on the period's pooled uplift (None without a control group)."""
    up = report.uplift
    if up is None:
        return None
    low, high = up.confidence_interval
    return (
        f"Win-back uplift over the period: {up.uplift * 100:+.1f} pts "
        f"(95 % CI {low * 100:+.1f} to {high * 100:+.1f}); contacted "
        f"{up.treated.won_back}/{up.treated.eligible} won back, control "
        f"{up.control.won_back}/{up.control.eligible}"
    )


def run(args: argparse.Namespace) -> int:
    if args.html:
        # the review page is written whatever rows are bad: they are set aside (and listed
        # on stderr), since a monthly review must not wait for one bad export row
        args.quarantine = True
    data = load_bundle(args)
    visits = data.visits
    if args.as_of:
        as_of = args.as_of
    elif len(visits):
        as_of = str(visits.time.max().astype("datetime64[D]"))
    else:
        raise ConfigError(f"{args.visits}: no visits, and no --as-of given")
    if args.control and not args.cases:
        raise ConfigError("--control needs --cases: the case store is the treated side")
    cases = load_cases(args.cases, visits.patient_ids) if args.cases else None
    control = read_control(args.control, visits.patient_ids) if args.control else None
    exclusions = read_exclusions(args.exclusions) if args.exclusions else None
    if args.by in ("team", "level") and cases is None:
        raise ConfigError(f"--by {args.by} needs --cases: the {args.by} is the case's")
    if args.by == "channel" and data.registry is None:
        raise ConfigError("--by channel needs --registry: the channel is the registry's")
    review = programme_review(
        visits, args.start, args.end, as_of=as_of, by=args.by, causes=args.causes,
        programme_start=args.programme_start, ratings=data.ratings,
        registry=data.registry, costs=read_costs(args.costs) if args.costs else None,
        complaints=data.complaints, cases=cases,
        lapse_rule=LapseRule(grace_days=args.grace_days), exclusions=exclusions,
        win_back_days=args.win_back_days, control=control, min_group_size=args.min_group_size,
        progress=progress_of(args),
    )
    if args.html:
        write_page(args.html, review, data, as_of, args)
    report, grouped = review.kpis, review.by
    if grouped is not None:
        emit(args.out, grouped.to_rows(), lambda: render_by(grouped), what="group-month(s)")
    else:
        emit(args.out, report.to_rows(), lambda: render(report), what="month(s)")
        pooled = pooled_uplift(report)
        if args.out and pooled is not None:
            print(pooled, file=sys.stderr)
    extras = (("causes", review.causes, render_causes),
              ("before_after", review.before_after, render_before_after),
              ("acquisition", review.acquisition, render_acquisition),
              ("referrals", review.referrals, render_referrals))
    for tag, part, text in extras:
        if part is not None:
            out = _beside(args.out, tag) if args.out else None
            emit(out, part.to_rows(), lambda p=part, t=text: t(p), what="row(s)")  # type: ignore[misc]
    return 0


def write_page(path: str, review: Any, data: Any, as_of: Any, args: argparse.Namespace) -> None:
    """The review, today's scan, segments and cases as one HTML file (see ``plot.report_page``)."""
    from rfm_retention.interventions import CaseBook, SQLiteCaseStore
    from rfm_retention.plot import report_page
    from rfm_retention.risk import scan
    from rfm_retention.segmentation import eight_segments

    warnings = scan(data, as_of)
    features = data.visits.features(as_of)
    segments = eight_segments().fit(features).assign(features) if len(features) else None
    store = SQLiteCaseStore(args.cases) if args.cases else None
    try:
        page = report_page(review, data=data, warnings=warnings, segments=segments,
                           book=CaseBook(store) if store is not None else None,
                           programme_start=args.programme_start)
    finally:
        if store is not None:
            store.close()
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
    print(f"monthly review page written to {path}", file=sys.stderr)


def _beside(out: str, tag: str) -> str:
    """``by.csv`` -> ``by.causes.csv`` (``-`` stays stdout)."""
    if out == "-":
        return out
    stem, dot, ext = out.rpartition(".")
    return f"{stem}.{tag}.{ext}" if dot else f"{out}.{tag}"


def read_costs(path: str) -> ChannelCosts:
    """``channel,month,cost`` rows (header required) as :class:`ChannelCosts`."""
    rows = [(r["channel"].strip(), r["month"].strip(), r["cost"].strip())
            for r in read_rows(path, ("channel", "month", "cost"))]
    try:
        return ChannelCosts.from_records(rows)
    except ConfigError as exc:
        raise ConfigError(f"{path} (data rows counted from 0): {exc}") from None


def render_acquisition(acq: AcquisitionReport) -> str:
    """New patients per channel and month, their revisit and cost."""
    cols = acq.to_columns()
    names = ("channel", "month", "acquired", "visited", "revisit_3m_rate", "revisit_6m_rate",
             "cost_per_acquired", "cost_per_retained")
    pct = {"revisit_3m_rate", "revisit_6m_rate"}
    rows = [[cols[n][i] * 100 if n in pct else cols[n][i] for n in names]
            for i in range(len(cols["month"]))]
    title = (f"New patients by acquisition channel {acq.start} to {acq.end}, as of "
             f"{as_date(acq.as_of)} (revisit from the first visit; cost per retained once "
             "6-month windows close)")
    return format_table(["channel", "month", "new", "visited", "revisit 3m %", "revisit 6m %",
                         "cost/new", "cost/retained"], rows, title=title)


def render_referrals(tree: ReferralTree, top: int = 10) -> str:
    """The referral tree's counts and its top referrers."""
    ref = tree.referrers()
    order = sorted(range(len(ref["referrer"])), key=lambda i: (-ref["descendants"][i],
                                                               ref["referrer"][i]))[:top]
    rows = [[ref[k][i] for k in ("referrer", "referred", "visited", "descendants")]
            for i in order]
    depth = max(tree.generation.tolist(), default=0)
    title = (f"Referrals: {len(tree)} referred patients, {tree.by_retained} of them by a "
             f"retained patient, {len(ref['referrer'])} referrers, {depth} generation(s); "
             f"top {top} referrers")
    return format_table(["referrer", "referred", "visited", "all generations"], rows,
                        title=title)


def render_causes(causes: CauseReport, top: int = 3) -> str:
    """Each group's most over-represented causes beside their hospital-wide share."""
    rows = []
    for g in causes.groups:
        for c in g.over_represented()[:top]:
            small = causes.is_small(c)
            rows.append([g.group, c.kind, c.cause, c.count, c.total,
                         float("nan") if small else c.share * 100, c.hospital_share * 100,
                         float("nan") if small else c.over_representation,
                         float("nan") if small else c.z])
    title = (f"Causes by {causes.dimension} {causes.start} to {causes.end}: the {top} most "
             "over-represented per group (reasons of warned or lapsed patients, categories "
             f"of valid complaints; blank = fewer than {causes.min_group_size})")
    return format_table(["group", "kind", "cause", "count", "of", "share %", "hospital %",
                         "x hospital", "z"], rows, title=title)


def render_before_after(change: BeforeAfter) -> str:
    """Churn and revisit before vs after the programme start, with the 95 % intervals."""
    cols = change.to_columns()
    pct = ("before_rate", "after_rate", "difference", "ci_low", "ci_high", "did", "did_low",
           "did_high")
    names = ["arm", "kpi", "before_months", "before_rate", "after_months", "after_rate",
             "difference", "ci_low", "ci_high", *(("did", "did_low", "did_high")
                                                   if "did" in cols else ())]
    rows = [[cols[n][i] * 100 if n in pct else cols[n][i] for n in names]
            for i in range(len(cols["kpi"]))]
    labels = ["arm", "kpi", "months before", "before %", "months after", "after %",
              "change pts", "95 % CI low", "95 % CI high"]
    if "did" in cols:
        labels += ["vs control pts", "CI low", "CI high"]
    title = (f"Before vs after the programme start {change.programme_start} (complete months; "
             "the month it starts in is left out)")
    return format_table(labels, rows, title=title)


def emit(
    out: str | None,
    table: tuple[list[str], list[list[str]]],
    text: Callable[[], str],
    *,
    what: str,
) -> None:
    """The ``(header, rows)`` table as CSV to ``out`` (``-`` = stdout), or the terminal table
    ``text()``."""
    if not out:
        print(text())
        return
    header, rows = table
    write_csv(out, header, rows)
    if out != "-":
        print(f"{len(rows)} {what} written to {out}", file=sys.stderr)


def demo_section(cohort: Any, as_of: Any) -> str:
    """The sample cohort's last twelve months of KPIs."""
    from dateutil.relativedelta import relativedelta

    from rfm_retention.time import as_date

    end = as_date(as_of)
    start = end.replace(day=1) - relativedelta(months=11)
    report = kpi_report(cohort.data.visits, start, end, as_of=end, ratings=cohort.data.ratings)
    return render(report)
