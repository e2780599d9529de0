"""The monthly review as one web page: a self-contained HTML file, charts inline.

:func:`report_page` turns the report's result (:class:`~rfm_retention.metrics.ProgrammeReview`
or a bare :class:`~rfm_retention.metrics.KPIReport`) and the day's picture
(warnings, segments, cases) into one HTML document for the monthly review:

1. headline KPIs of the last complete month with the change from the month before;
2. the charts (inline SVG drawn by :mod:`rfm_retention.plot`);
3. the segment table with the playbook's action for each segment;
4. today's high-risk list with reasons, evidence and deadlines;
5. overdue cases;
6. win-back of contacted patients against the untreated control group, with its interval;
7. every further part of the review (groups, causes, before/after) as a table.

The page loads nothing: no script, no font, no stylesheet from the network;
the CSS is inline and the charts are SVG elements in the page, so it can be
mailed or archived as one file. It reads on a phone (one column, tables
scroll sideways) and prints (no cut charts or rows). Everything that comes
from the host's data (patient ids, evidence, notes) is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from rfm_retention._display import cell_text
from rfm_retention.errors import ConfigError
from rfm_retention.interventions import CaseBook, InMemoryCaseStore
from rfm_retention.metrics import KPIReport
from rfm_retention.plot._axes import figure
from rfm_retention.plot._kpis import kpi_lines, revisit_curves
from rfm_retention.plot._risk import risk_funnel
from rfm_retention.plot._segments import rfm_grid, segment_sizes
from rfm_retention.risk import RiskLevel, WarningList
from rfm_retention.segmentation import Segmentation, actions
from rfm_retention.time import TimeLike, as_date

__all__ = ["SECTIONS", "report_page"]

SECTIONS = ("headline", "charts", "segments", "high-risk", "overdue", "win-back")
"""The ``id`` of every section the page always has (in page order)."""

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
 max-width:1100px;padding:12px;color:#222;line-height:1.4}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;border-bottom:2px solid #16a085;
 padding-bottom:2px;margin-top:1.6em}
.sub{color:#555}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{flex:1 1 150px;border:1px solid #ddd;border-radius:6px;padding:8px 10px}
.card .v{font-size:1.6em;font-weight:600}.card .d{font-size:.9em;color:#555}
.up{color:#1e8449}.down{color:#c0392b}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px}
figure{margin:0;border:1px solid #eee;border-radius:6px;padding:4px}
figure svg{width:100%;height:auto;display:block}
figcaption{font-size:.85em;color:#555;padding:2px 4px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.85em;width:100%}
th,td{padding:3px 6px;border-bottom:1px solid #e5e5e5;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;white-space:nowrap}
.lvl-high{color:#c0392b;font-weight:600}.lvl-medium{color:#e67e22;font-weight:600}
.empty{color:#777;font-style:italic}
@media (max-width:600px){body{padding:6px}.card .v{font-size:1.3em}}
@media print{body{max-width:none}.charts{display:block}figure,tr,.card{break-inside:avoid}
 h2{break-after:avoid}.scroll{overflow:visible}}
"""

_HEADLINE = (
    ("churn_rate", "Churn", True, False),
    ("revisit_3m_rate", "Revisit within 3 months", True, True),
    ("revisit_6m_rate", "Revisit within 6 months", True, True),
    ("satisfaction", "Satisfaction", False, True),
    ("coverage", "Follow-up coverage", True, True),
    ("win_back_rate", "Win-back", True, True),
)

esc = html.escape


def _svg(draw: Callable[[Any], Any], size: tuple[float, float] = (6.4, 3.6)) -> str:
    """One chart as an inline ``<svg>`` element (no XML prolog, no external references)."""
    import matplotlib

    fig = figure("report_page", size)
    draw(fig.subplots())
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "rfm_retention", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, numeric: Sequence[bool],
           empty: str) -> str:
    if not rows:
        return f'<p class="empty">{esc(empty)}</p>'
    cls = [' class="n"' if n else "" for n in numeric]
    head = "".join(f"<th{c}>{esc(h)}</th>" for h, c in zip(header, cls, strict=True))
    body = "".join(
        "<tr>" + "".join(f"<td{c}>{v}</td>" for v, c in zip(row, cls, strict=True)) + "</tr>"
        for row in rows
    )
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _columns_table(columns: Mapping[str, Sequence[Any]], empty: str) -> str:
    names = list(columns)
    n = max((len(c) for c in columns.values()), default=0)
    numeric = [np.asarray(columns[k]).dtype.kind in "iuf" for k in names]
    rows = [[esc(cell_text(columns[k][i])) for k in names] for i in range(n)]
    return _table(names, rows, numeric=numeric, empty=empty)


def _headline(report: KPIReport) -> str:
    cols = report.to_columns()
    complete = [i for i, ok in enumerate(cols["complete"]) if ok] or list(range(len(cols["month"])))
    cards = []
    for key, label, percent, higher_is_better in _HEADLINE:
        values = [float(v) for v in cols.get(key, [])]
        known = [i for i in complete if i < len(values) and values[i] == values[i]]
        if not known:
            continue
        last = known[-1]
        value = values[last]
        shown = f"{value * 100:.1f} %" if percent else f"{value:.1f}"
        change = ""
        if last >= 1 and values[last - 1] == values[last - 1]:
            delta = (value - values[last - 1]) * (100 if percent else 1)
            better = (delta > 0) == higher_is_better
            unit = " pts" if percent else ""
            cls = "" if abs(delta) < 1e-9 else (" up" if better else " down")
            change = (f'<span class="d{cls}">{delta:+.1f}{unit} vs '
                      f"{esc(str(cols['month'][last - 1]))}</span>")
        cards.append(f'<div class="card"><div>{esc(label)}</div><div class="v">{shown}</div>'
                     f"<div class=\"d\">{esc(str(cols['month'][last]))}</div>{change}</div>")
    if not cards:
        return '<p class="empty">No KPI has data in this period.</p>'
    return '<div class="cards">' + "".join(cards) + "</div>"


def _segments(segments: Segmentation | None) -> str:
    if segments is None:
        return '<p class="empty">No segmentation given.</p>'
    summary = segments.summary()
    try:
        recommended = actions(segments)
        per = dict(zip(recommended.segment_codes, recommended.per_segment, strict=True))
    except ConfigError:  # a map without a built-in playbook: the table still shows the sizes
        per = {}
    rows = []
    for r in summary.rows:
        act = per.get(r.code)
        what = "" if act is None else (f"{esc(act.description)} <small>({esc(act.channel)}, "
                                       f"{esc(act.owner_role)})</small>")
        rows.append([esc(r.name), f"{r.patients:,}", f"{r.share * 100:.1f} %",
                     f"{r.monetary_share * 100:.1f} %", f"{r.median_recency:.0f}"
                     if r.patients else "", what])
    return _table(["segment", "patients", "share", "spend share", "median days since visit",
                   "playbook action"], rows, numeric=[False, True, True, True, True, False],
                  empty="No patients.")


def _deadlines(warnings: WarningList, book: CaseBook | None, at: dt.datetime,
               top: Sequence[int]) -> dict[Any, str]:
    """Each listed patient's open case deadlines, or the ones a case opened now would get."""
    out: dict[Any, str] = {}
    planner = CaseBook(InMemoryCaseStore(), playbook=book.playbook,
                       calendar=book.calendar) if book is not None else CaseBook(
        InMemoryCaseStore())
    records = warnings.to_records()
    for i in top:
        w = records[i]
        case = None
        if book is not None:
            open_cases = book.cases(patient_id=w.patient_id, open_only=True)
            case = open_cases[-1] if open_cases else None
        if case is None:
            case = planner.intake(w, at).case
        if case is None:
            continue
        due = [f"{d.name.replace('_', ' ')} by {d.due_at:%Y-%m-%d %H:%M}"
               + (" (met)" if d.met_at is not None else "") for d in case.deadlines]
        out[w.patient_id] = "; ".join(due)
    return out


def _high_risk(warnings: WarningList | None, book: CaseBook | None, limit: int) -> str:
    if warnings is None:
        return '<p class="empty">No scan given.</p>'
    high = [i for i in range(len(warnings)) if warnings.level[i] == RiskLevel.HIGH][:limit]
    at = warnings.as_of.astype("datetime64[s]").astype(dt.datetime)
    due = _deadlines(warnings, book, at, high)
    rows = []
    for i in high:
        w = warnings[i]
        rows.append([esc(str(w.patient_id)), f"{w.score:.1f}",
                     esc(", ".join(r.value.replace("_", " ") for r in w.reasons)),
                     esc(w.evidence), esc(due.get(w.patient_id, ""))])
    n_high = int(np.sum(warnings.level == RiskLevel.HIGH))
    note = (f'<p class="sub">{n_high:,} patients at high risk on '
            f"{warnings.as_of.astype('datetime64[D]')}"
            + (f"; the {limit} riskiest shown" if n_high > limit else "") + ".</p>")
    return note + _table(["patient", "score", "reasons", "evidence", "deadlines"], rows,
                         numeric=[False, True, False, False, False],
                         empty="No patient at high risk today.")


def _overdue(book: CaseBook | None, at: dt.datetime) -> str:
    if book is None:
        return '<p class="empty">No case store given.</p>'
    rows = [
        [esc(b.case.case_id), f'<span class="lvl-{esc(b.case.level.label)}">'
         f"{esc(b.case.level.label)}</span>", esc(b.deadline.name.replace("_", " ")),
         f"{b.deadline.due_at:%Y-%m-%d %H:%M}", f"{b.overdue_hours:,.0f}",
         esc(", ".join(b.notify))]
        for b in book.overdue(at)
    ]
    return _table(["case", "level", "deadline", "was due", "hours over", "tell"], rows,
                  numeric=[False, False, False, False, True, False],
                  empty=f"No overdue case on {at:%Y-%m-%d}.")


def _win_back(report: KPIReport) -> str:
    up = report.uplift
    if up is None:
        return ('<p class="empty">No control group given: the win-back rate of contacted '
                "patients cannot be compared with untreated ones.</p>")
    low, high = up.confidence_interval
    rows = [
        ["contacted (treated)", f"{up.treated.eligible:,}", f"{up.treated.won_back:,}",
         f"{up.treated.rate * 100:.1f} %"],
        ["control (untreated)", f"{up.control.eligible:,}", f"{up.control.won_back:,}",
         f"{up.control.rate * 100:.1f} %"],
    ]
    table = _table(["group", "eligible", "won back", "rate"], rows,
                   numeric=[False, True, True, True], empty="")
    return (table + f"<p><b>Uplift {up.uplift * 100:+.1f} pts</b> (95 % CI {low * 100:+.1f} "
            f"to {high * 100:+.1f} pts), pooled over {report.start} to {report.end}.</p>")


def _extras(review: Any) -> str:
    """Every further part of a review object (groups, causes, before/after) as a table."""
    if not attrs.has(type(review)):
        return ""
    parts = []
    for field in attrs.fields(type(review)):
        value = getattr(review, field.name)
        if field.name == "kpis" or value is None or not hasattr(value, "to_columns"):
            continue
        title = field.name.replace("_", " ")
        parts.append(f'<section id="{esc(field.name.replace("_", "-"))}"><h2>'
                     f"{esc(title.capitalize())}</h2>"
                     f"{_columns_table(value.to_columns(), 'Nothing to show.')}</section>")
    return "".join(parts)


def report_page(
    review: Any,
    *,
    data: Any = None,
    warnings: WarningList | None = None,
    segments: Segmentation | None = None,
    book: CaseBook | None = None,
    programme_start: TimeLike | None = None,
    title: str = "Patient retention: monthly review",
    top: int = 50,
) -> str:
    """The monthly review as one self-contained HTML document (needs matplotlib).

    Args:
        review: the report's result: a ``ProgrammeReview`` (its KPIs and every
            further part it holds are shown) or a ``KPIReport``.
        data: the patient data (for the revisit curves).
        warnings: today's scan (high-risk list, funnel).
        segments: today's segmentation (segment table, R x F grid).
        book: the case book (overdue cases, deadlines, the funnel's cases).
        programme_start: marked on the KPI chart.
        title: the page's heading.
        top: how many high-risk patients to list at most.

    Examples:
        >>> from rfm_retention.metrics import kpi_report
        >>> from rfm_retention.testing import synthetic_cohort
        >>> data = synthetic_cohort(200, seed=3).data
        >>> page = report_page(kpi_report(data.visits, "2024-01-01", "2024-06-30",
        ...                               as_of="2024-06-30"), data=data)
        >>> page.startswith("<!DOCTYPE html>"), page.count("<svg") >= 2
        (True, True)
    """
    report: KPIReport = review if isinstance(review, KPIReport) else review.kpis
    at = (warnings.as_of.astype("datetime64[s]").astype(dt.datetime) if warnings is not None
          else report.as_of.astype(dt.datetime))
    charts = [("Monthly KPIs", lambda ax: kpi_lines(report, programme_start=programme_start,
                                                    ax=ax))]
    if segments is not None:
        charts += [("Segments: patients and spend", lambda ax: segment_sizes(segments, ax=ax)),
                   ("R x F grid", lambda ax: rfm_grid(segments, ax=ax))]
    if warnings is not None:
        cases = book.cases() if book is not None else ()
        charts.append(("From scan to win-back", lambda ax: risk_funnel(warnings, cases, ax=ax)))
    if data is not None:
        charts.append(("Revisit curves", lambda ax: revisit_curves(
            data.visits, as_of=report.as_of, ax=ax)))
    figures = "".join(
        f'<figure class="chart">{_svg(draw)}<figcaption>{esc(name)}</figcaption></figure>'
        for name, draw in charts
    )
    sections = [
        ("headline", "Headline KPIs", _headline(report)),
        ("charts", "Charts", f'<div class="charts">{figures}</div>'),
        ("segments", "Segments and what to do", _segments(segments)),
        ("high-risk", "Today's high-risk patients", _high_risk(warnings, book, top)),
        ("overdue", "Overdue cases", _overdue(book, at)),
        ("win-back", "Win-back against the control group", _win_back(report)),
    ]
    body = "".join(f'<section id="{sid}"><h2>{esc(name)}</h2>{content}</section>'
                   for sid, name, content in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p class=\"sub\">{report.start} to {report.end}, "
        f"data as of {as_date(report.as_of)}</p></header>{body}{_extras(review)}"
        f"<footer class=\"sub\"><p>Written by rfm_retention on {as_date(report.as_of)}.</p>"
        "</footer>"
        "</body></html>"
    )
