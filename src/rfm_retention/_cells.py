"""Spreadsheet-safe CSV cells, reversibly: what the library writes, its readers read back exactly.

A cell a spreadsheet would run as a formula (it starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is written with a leading ``'``; so
is a cell that already starts with ``'``, so that the rule can be undone
without guessing: a reader removes one leading ``'`` whenever there is one.
Plain numbers (``-3.5``) are left as they are. ``unescape_cell(escape_cell(x))
== x`` for every text ``x``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FORMULA_STARTS", "escape_cell", "unescape_cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""

_QUOTE = "'"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def escape_cell(value: Any) -> str:
    """Text for a CSV cell that no spreadsheet runs as a formula, undone by :func:`unescape_cell`.

    Example:
        >>> [escape_cell(v) for v in ["=p1", "'=x", "-3.5", "plain", None]]
        ["'=p1", "''=x", '-3.5', 'plain', '']
    """
    text = "" if value is None else str(value)
    if text.startswith(_QUOTE) or (text.startswith(FORMULA_STARTS) and not _is_number(text)):
        return _QUOTE + text
    return text


def unescape_cell(text: str) -> str:
    """The text :func:`escape_cell` was given: one leading ``'`` removed, when there is one.

    Example:
        >>> [unescape_cell(t) for t in ["'=p1", "''=x", "-3.5", "plain"]]
        ['=p1', "'=x", '-3.5', 'plain']
    """
    return text[1:] if text.startswith(_QUOTE) else text
