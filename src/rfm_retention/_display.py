"""How results look in a notebook and at the prompt: one helper for every table.

Every result a host looks at (visit log, features, segmentation, warning list,
KPI report, backtest, case book ...) builds a :class:`Display` (a title, a few
key figures, and its columns) and hands it to ``_repr_html_`` and ``__repr__``.
One helper means one look: the first and last rows with the middle marked as
cut, the shape, and every value HTML-escaped (patient ids and free text come
from the host's data and may hold markup).
"""

from __future__ import annotations

import datetime as dt
import html
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

__all__ = ["Display", "cell_text"]

HEAD_ROWS = 5
"""Rows shown from the top of a long table (as many again from the bottom)."""
_CSS = (
    "<style>.rfm-display table{border-collapse:collapse;font-size:12px}"
    ".rfm-display th,.rfm-display td{padding:2px 8px;border-bottom:1px solid #ddd;"
    "text-align:right}.rfm-display td.t,.rfm-display th.t{text-align:left}"
    ".rfm-display caption{text-align:left;font-weight:bold;padding-bottom:4px}"
    ".rfm-display .fig{color:#555;margin:2px 0 6px 0}</style>"
)


def cell_text(value: Any) -> str:
    """A table cell as text: floats to 4 significant digits, NaN and None blank, dates ISO.

    Example:
        >>> cell_text(0.123456), cell_text(float("nan")), cell_text(np.datetime64("2024-01-02"))
        ('0.1235', '', '2024-01-02')
    """
    if value is None:
        return ""
    if isinstance(value, np.datetime64) and np.datetime_data(value.dtype)[0] in ("Y", "M"):
        return str(value)  # a month reads 2024-03, not its first day
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ""
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, dt.datetime) and value.hour == value.minute == value.second == 0:
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "value") and hasattr(value, "name"):  # an enum member
        return str(value.value)
    return str(value)


def _is_numeric(column: Any) -> bool:
    arr = np.asarray(column)
    return arr.dtype.kind in "iuf"


@attrs.frozen
class Display:
    """What one result shows: a title, key figures, and its columns.

    ``rows`` is the full row count (the columns may hold only the rows to show,
    so a million-row table formats ten rows, not a million).

    Example:
        >>> d = Display("Scores", {"patient_id": ["a", "<b>"], "score": [1.5, 2.0]},
        ...             figures={"patients": 2})
        >>> print(d.text())
        Scores: 2 rows x 2 columns; patients=2
          patient_id  score
          a             1.5
          <b>             2
        >>> '<td class="t">&lt;b&gt;</td>' in d.html()
        True
    """

    title: str
    columns: Mapping[str, Any]  # each a sequence or an array, one entry per row
    figures: Mapping[str, Any] = attrs.field(factory=dict)
    rows: int | None = None
    head: int = HEAD_ROWS

    @property
    def n_rows(self) -> int:
        """Rows of the whole table (not only those shown)."""
        if self.rows is not None:
            return self.rows
        return max((len(c) for c in self.columns.values()), default=0)

    def _shown(self) -> tuple[list[list[str]], int | None]:
        """Cell texts of the rows to show, and where the cut goes (None: nothing cut)."""
        present = max((len(c) for c in self.columns.values()), default=0)
        if present > 2 * self.head + 1:
            picks = [*range(self.head), *range(present - self.head, present)]
            cut: int | None = self.head
        else:
            picks, cut = list(range(present)), None
        if cut is None and self.n_rows > present:
            cut = present
        cols = list(self.columns.values())
        return [[cell_text(c[i]) for c in cols] for i in picks], cut

    def _headline(self) -> str:
        shape = f"{self.n_rows:,} rows x {len(self.columns)} columns"
        figures = "; ".join(f"{k}={cell_text(v)}" for k, v in self.figures.items())
        return f"{self.title}: {shape}" + (f"; {figures}" if figures else "")

    def text(self, width: int | None = None) -> str:
        """The readable ``__repr__``: headline, then the first and last rows aligned.

        Columns that do not fit ``width`` (default: the terminal's) are left out
        and counted, never cut in the middle of a value.
        """
        names = list(self.columns)
        if not names:
            return self._headline()
        rows, cut = self._shown()
        numeric = [_is_numeric(c) for c in self.columns.values()]
        widths = [max([len(n)] + [len(r[j]) for r in rows]) for j, n in enumerate(names)]
        room = width or shutil.get_terminal_size().columns
        keep = 1
        while keep < len(names) and 2 + sum(widths[: keep + 1]) + 2 * keep <= room:
            keep += 1
        hidden = len(names) - keep
        names, widths, numeric = names[:keep], widths[:keep], numeric[:keep]
        rows = [r[:keep] for r in rows]

        def line(values: Sequence[str]) -> str:
            return "  " + "  ".join(
                v.rjust(w) if num else v.ljust(w)
                for v, w, num in zip(values, widths, numeric, strict=True)
            ).rstrip()

        more = f"  ... {self.n_rows - len(rows):,} more row(s) ..."
        out = [self._headline(), line(names)]
        for i, r in enumerate(rows):
            if i == cut:
                out.append(more)
            out.append(line(r))
        if cut == len(rows):
            out.append(more)
        if hidden:
            out.append(f"  ({hidden} more column(s): {', '.join(list(self.columns)[keep:])})")
        return "\n".join(out)

    def html(self) -> str:
        """The notebook's ``_repr_html_``: one small, escaped HTML table."""
        esc = html.escape
        names = list(self.columns)
        numeric = [_is_numeric(c) for c in self.columns.values()]
        rows, cut = self._shown()
        shape = f"{self.n_rows:,} rows &times; {len(names)} columns"
        parts = [_CSS, '<div class="rfm-display">']
        if self.figures:
            figures = ", ".join(
                f"{esc(str(k))}: <b>{esc(cell_text(v))}</b>" for k, v in self.figures.items()
            )
            parts.append(f'<div class="fig">{figures}</div>')
        parts.append(f"<table><caption>{esc(self.title)} <small>({shape})</small></caption>")
        klass = ["" if num else ' class="t"' for num in numeric]
        parts.append("<thead><tr>" + "".join(
            f"<th{k}>{esc(n)}</th>" for n, k in zip(names, klass, strict=True)) + "</tr></thead>")
        parts.append("<tbody>")
        skipped = f"&hellip; {self.n_rows - len(rows):,} more row(s) &hellip;"
        gap = f'<tr><td class="t" colspan="{max(len(names), 1)}">{skipped}</td></tr>'
        for i, r in enumerate(rows):
            if i == cut:
                parts.append(gap)
            parts.append("<tr>" + "".join(
                f"<td{k}>{esc(v)}</td>" for v, k in zip(r, klass, strict=True)) + "</tr>")
        if cut == len(rows) and rows:
            parts.append(gap)
        parts.append("</tbody></table></div>")
        return "".join(parts)
