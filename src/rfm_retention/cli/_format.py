"""Plain-text tables for the terminal (the demo and summaries), fitted to its width."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

__all__ = ["cut_at_word", "format_table"]

_MIN_TEXT = 12  # a text column is never squeezed narrower than this (or its header)
_GAP = 2


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating | np.bool_)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:,.1f}"
    return str(value)


def cut_at_word(text: str, width: int) -> str:
    """``text`` cut to ``width`` at a word boundary with an ellipsis; never inside a word.

    A first word longer than ``width`` is kept whole (and followed by the ellipsis).

    Examples:
        >>> cut_at_word("interval_extension: last visit 309 days ago", 30)
        'interval_extension: last…'
        >>> cut_at_word("short", 30)
        'short'
    """
    if len(text) <= width:
        return text
    head = text[: max(width - 1, 0)]
    space = head.rfind(" ")
    if space > 0:
        return head[:space].rstrip(" ,;:|") + "…"
    first = text.split(" ", 1)[0]
    return first + ("…" if len(first) < len(text) else "")


def _terminal_width() -> int:
    """The terminal's width, or no limit when the output is not a terminal (pipe, file)."""
    if sys.stdout.isatty() or "COLUMNS" in os.environ:
        return shutil.get_terminal_size().columns
    return 1 << 30


def format_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str = "",
    width: int | None = None,
    right: Collection[str] = (),
) -> str:
    """Columns aligned, numbers right-aligned, a rule under the header, fitted to ``width``.

    ``width`` defaults to the terminal's (``shutil.get_terminal_size``) when
    printing to a terminal or when ``COLUMNS`` is set; output to a pipe or a
    file is not fitted (nothing is cut). When the table is wider, the widest
    text columns are narrowed and their cells cut at a word with an
    ellipsis; numbers are never cut. Columns named in ``right`` are aligned
    like numbers although their cells are text (counts already formatted).

    Examples:
        >>> print(format_table(["id", "note"], [["a", "one two three four"]], width=16))
        id  note
        --  ------------
        a   one two…
    """
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in header]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    numeric = [
        header[i] in right or (all(_is_number(r[i]) for r in rows) and bool(rows))
        for i in range(len(header))
    ]
    room = width or _terminal_width()
    floor = [w if num else max(len(h), _MIN_TEXT)
             for w, h, num in zip(widths, header, numeric, strict=True)]
    while sum(widths) + _GAP * (len(widths) - 1) > room:
        wide = [i for i, w in enumerate(widths) if w > floor[i]]
        if not wide:
            break
        i = max(wide, key=lambda j: widths[j])
        widths[i] -= 1
    cells = [[c if len(c) <= w else cut_at_word(c, w) for c, w in zip(row, widths, strict=True)]
             for row in cells]

    def line(values: Sequence[str]) -> str:
        return (" " * _GAP).join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [title] if title else []
    out += [line(header), (" " * _GAP).join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)
