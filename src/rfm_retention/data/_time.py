"""Reading time columns into ``datetime64[s]``, row by row problems kept.

Times are stored as naive ``datetime64[s]``. Timezone-aware inputs are converted
to UTC first; a column that mixes naive and aware values is rejected (row by
row), because there is no safe way to compare them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from dateutil import parser as dateutil_parser

from rfm_retention.errors import ConfigError
from rfm_retention.time import parse_iso

__all__ = ["ISO", "DateParsing", "ParsedTimes", "is_missing", "parse_times"]

_NAT = np.datetime64("NaT", "s")
_ISO_START = re.compile(r"\d{4}-\d{2}-\d{2}")
# Two defaults that differ in every component: a field the text lacks shows up
# as a difference between the two parses.
_DEFAULTS = (dt.datetime(2001, 1, 1), dt.datetime(2002, 2, 2))


def _free_form(text: str, *, dayfirst: bool) -> dt.datetime:
    """dateutil parsing that refuses to complete a partial date from a default."""
    first, second = (
        dateutil_parser.parse(text, dayfirst=dayfirst, default=d) for d in _DEFAULTS
    )
    if first.date() != second.date():
        raise ValueError("incomplete date: day, month and year are all needed")
    return first


@attrs.frozen
class DateParsing:
    """How text dates are read.

    The default reads ISO 8601 (``2024-03-01``, ``2024-03-01T08:30:00``,
    ``2024-03-01T08:30:00+08:00``, ``...Z``). Set ``format`` for a fixed
    :func:`~datetime.datetime.strptime` format, or ``dayfirst`` to read free-form
    dates with python-dateutil, day before month (``03/01/2024`` is 3 January).
    ``dayfirst=False`` with ``fuzzy=True`` reads free-form month-first dates
    (``03/01/2024`` is 1 March). ``fuzzy`` means "free-form"; unlike
    dateutil's own ``fuzzy`` option it never skips words it does not understand.

    Free-form parsing still reads ISO dates (``2024-03-01``) as ISO, whatever
    ``dayfirst`` says, and rejects text that lacks a day, month or year
    (``"March 2024"``) instead of filling the gap from today's date.

    Example:
        >>> DateParsing(dayfirst=True).parse_one("03/01/2024")
        datetime.datetime(2024, 1, 3, 0, 0)
        >>> DateParsing(format="%d.%m.%Y").parse_one("03.01.2024")
        datetime.datetime(2024, 1, 3, 0, 0)
    """

    format: str | None = None
    dayfirst: bool = False
    fuzzy: bool = False

    def __attrs_post_init__(self) -> None:
        if self.format is not None and (self.dayfirst or self.fuzzy):
            raise ConfigError("DateParsing: give either format= or dayfirst=/fuzzy=, not both")

    def parse_one(self, text: str) -> dt.datetime:
        """One text value as a datetime; raises ValueError when it is not a valid time."""
        if self.format is not None:
            return dt.datetime.strptime(text, self.format)
        if (self.dayfirst or self.fuzzy) and not _ISO_START.match(text):
            return _free_form(text, dayfirst=self.dayfirst)
        value = parse_iso(text)
        return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())


ISO = DateParsing()


@attrs.frozen
class ParsedTimes:
    """A parsed time column: values (NaT where bad), a message per bad row, and missing rows."""

    values: npt.NDArray[np.datetime64]
    problems: dict[int, str]
    missing: npt.NDArray[np.bool_]


def _naive_utc(value: dt.datetime) -> tuple[dt.datetime, bool]:
    if value.tzinfo is None or value.utcoffset() is None:
        return value, False
    return value.astimezone(dt.UTC).replace(tzinfo=None), True


def parse_times(values: Any, parsing: DateParsing = ISO) -> ParsedTimes:
    """Parse a column of dates, datetimes, datetime64 values or text.

    Text is parsed once per distinct value, so a large file of repeated dates
    costs little. Empty text and ``None`` are reported as missing.
    """
    arr = np.asarray(values)
    n = arr.shape[0] if arr.ndim else 0
    if arr.dtype.kind == "M":
        out = arr.astype("datetime64[s]")
        missing = np.isnat(out)
        return ParsedTimes(out, {}, missing)
    if n == 0:
        return ParsedTimes(np.empty(0, "datetime64[s]"), {}, np.zeros(0, bool))
    uniques, inverse = _unique_objects(arr)
    parsed = np.full(len(uniques), _NAT)
    aware = np.zeros(len(uniques), bool)
    bad: dict[int, str] = {}
    missing_u = np.zeros(len(uniques), bool)
    for k, raw in enumerate(uniques):
        try:
            value = _one_value(raw, parsing)
        except (ValueError, OverflowError, TypeError) as exc:
            bad[k] = f"not a valid date or time ({exc})" if str(exc) else "not a valid date or time"
            continue
        if value is None:
            missing_u[k] = True
            continue
        naive, is_aware = _naive_utc(value)
        aware[k] = is_aware
        parsed[k] = np.datetime64(naive.replace(microsecond=0), "s")
    values_out = parsed[inverse]
    problems: dict[int, str] = {}
    if bad:
        bad_u = np.zeros(len(uniques), bool)
        bad_u[list(bad)] = True
        for row in np.flatnonzero(bad_u[inverse]):
            problems[int(row)] = bad[int(inverse[row])]
    row_aware = aware[inverse]
    row_ok = ~np.isnat(values_out)
    n_aware = int((row_aware & row_ok).sum())
    n_naive = int((~row_aware & row_ok).sum())
    if n_aware and n_naive:
        minority = row_aware if n_aware <= n_naive else ~row_aware
        msg = (
            f"naive and timezone-aware times are mixed in this column "
            f"({n_aware} aware, {n_naive} naive); give every time an offset or none"
        )
        for row in np.flatnonzero(minority & row_ok):
            problems[int(row)] = msg
            values_out[row] = _NAT
    return ParsedTimes(values_out, problems, missing_u[inverse])


def _unique_objects(arr: npt.NDArray[Any]) -> tuple[list[Any], npt.NDArray[np.intp]]:
    if arr.dtype.kind in "US":
        uniq, inverse = np.unique(arr, return_inverse=True)
        return list(uniq.tolist()), inverse.reshape(-1)
    index: dict[Any, int] = {}
    inverse_list = np.empty(arr.shape[0], np.intp)
    for i, v in enumerate(arr.tolist()):
        key = (type(v), v)
        inverse_list[i] = index.setdefault(key, len(index))
    return [k[1] for k in index], inverse_list


_MISSING_TYPES = frozenset({"NAType", "NaTType"})  # pandas' pd.NA and pd.NaT


def is_missing(value: Any) -> bool:
    """None, a float NaN, or pandas' NA/NaT markers (recognised without importing pandas)."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return bool(value != value)
    return type(value).__name__ in _MISSING_TYPES


def _one_value(raw: Any, parsing: DateParsing) -> dt.datetime | None:
    if is_missing(raw):
        return None
    if isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, dt.date):
        return dt.datetime.combine(raw, dt.time())
    if isinstance(raw, np.datetime64):
        if np.isnat(raw):
            return None
        return dt.datetime.fromisoformat(str(raw.astype("datetime64[us]")))
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        return parsing.parse_one(text)
    raise TypeError(f"expected a date, datetime or text, got {type(raw).__name__}")
