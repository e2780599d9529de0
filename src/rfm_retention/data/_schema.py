"""Column schemas and the one validator every input table goes through.

Each source (visits, ratings, complaints, ...) declares its columns once as a
:class:`Schema`; records, arrays and CSV files all reach the same
:func:`validate_columns`, so a rule is written once and every bad row is
reported the same way, whatever the input path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.data._build import factorise
from rfm_retention.data._time import ISO, DateParsing, is_missing, parse_times
from rfm_retention.errors import ConfigError, RowIssue, ValidationError

__all__ = [
    "Field",
    "FieldKind",
    "Fill",
    "OnError",
    "RejectedRows",
    "RowRule",
    "Schema",
    "stars_to_score",
    "validate_columns",
]

FieldKind = Literal["id", "time", "amount", "score", "stars", "count", "flag", "choice", "text"]
OnError = Literal["raise", "quarantine"]

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


@attrs.frozen
class Field:
    """One column of a source: its name, kind and rules.

    Kinds: ``id`` (non-empty text or integer), ``time`` (see
    :class:`~rfm_retention.data.DateParsing`), ``amount`` (finite, >= 0),
    ``score`` (finite, 0-100), ``stars`` (finite, 1-5), ``count`` (whole number >= 0), ``flag``
    (true/false, yes/no, 1/0), ``choice`` (one of ``choices``, case-insensitive,
    ``-`` and spaces read as ``_``), ``text`` (free text).

    An optional numeric or time field stores a missing value as NaN / NaT; an
    optional flag, choice or text field takes ``default``.
    """

    name: str
    kind: FieldKind
    required: bool = True
    choices: tuple[str, ...] = ()
    unique: bool = False
    default: str | bool = ""
    doc: str = ""


Columns = Mapping[str, npt.NDArray[Any]]


@attrs.frozen
class RowRule:
    """A rule that looks at several fields of a row at once.

    ``broken`` receives the converted columns (NaN / NaT where a value is
    missing) and returns a mask of the rows that break the rule; they are
    reported against ``field`` with ``message``, like any other bad value.

    Example:
        >>> import numpy as np
        >>> rule = RowRule(
        ...     "completed_sessions",
        ...     "more than prescribed_sessions",
        ...     lambda c: c["completed_sessions"] > c["prescribed_sessions"],
        ... )
        >>> rule.broken({"completed_sessions": np.array([3, 9]),
        ...              "prescribed_sessions": np.array([5, 5])}).tolist()
        [False, True]
    """

    field: str
    message: str
    broken: Callable[[Columns], npt.NDArray[np.bool_]]


@attrs.frozen
class Fill:
    """Fill a field's missing values from another field, converted.

    ``Fill("score", "stars", stars_to_score)`` lets a review file give 1-5
    stars instead of a 0-100 score: where ``score`` is empty, it becomes the
    converted ``stars``.
    """

    target: str
    source: str
    convert: Callable[[npt.NDArray[Any]], npt.NDArray[Any]]


@attrs.frozen
class Schema:
    """The columns of one source; ``time_field`` orders each patient's rows.

    ``rules`` are checks across fields of a row; ``fills`` complete a field from
    another (applied before the rules); ``one_of`` lists groups of optional
    columns of which the input must have at least one (checked per file, so a
    file without any of them is one clear error, not one per row).
    """

    source: str
    fields: tuple[Field, ...]
    time_field: str
    rules: tuple[RowRule, ...] = ()
    fills: tuple[Fill, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()

    def field(self, name: str) -> Field:
        """The field called ``name``; ConfigError when there is none."""
        for f in self.fields:
            if f.name == name:
                return f
        raise ConfigError(f"{self.source}: no field named {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        """Field names in declaration order (the id field first)."""
        return tuple(f.name for f in self.fields)


@attrs.frozen
class RejectedRows:
    """Rows set aside by ``on_error='quarantine'``, with every reason for each.

    ``rows`` are positions in the input as given (for CSV: data rows after the
    header). Nothing is dropped silently: every input row is either in the
    table or here.

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> log = VisitLog.from_arrays(patient_id=["a", "b"], visit_time=["2024-01-01", "x"],
        ...                            amount=[1.0, 2.0], on_error="quarantine")
        >>> log.rejected.rows, log.rejected.issues[0].field, log.source_row.tolist()
        ((1,), 'visit_time', [0])
    """

    source: str
    issues: tuple[RowIssue, ...] = ()

    @property
    def rows(self) -> tuple[int, ...]:
        return tuple(sorted({i.row for i in self.issues}))

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.issues)

    def to_records(self) -> list[dict[str, str | int]]:
        """One dict per issue (row, patient_id, field, value, message), for a CSV report."""
        return [attrs.asdict(i) for i in self.issues]


@attrs.frozen
class Validated:
    """What survives validation: clean columns, their input row numbers, the rejects."""

    columns: dict[str, npt.NDArray[Any]]
    source_row: npt.NDArray[np.int64]
    rejected: RejectedRows
    absent: frozenset[str] = frozenset()
    """Fields the input did not have: their columns hold one default value throughout."""


def stars_to_score(stars: Any, *, scale: int = 5) -> npt.NDArray[np.float64]:
    """Map 1..``scale`` stars to 0-100 (1 star -> 0, ``scale`` stars -> 100), linearly.

    Values outside 1..scale (and missing values) become NaN, which a table
    then reports as a bad row.

    >>> stars_to_score([1, 3, 5]).tolist()
    [0.0, 50.0, 100.0]
    >>> stars_to_score([4.5]).tolist()
    [87.5]
    """
    if scale < 2:
        raise ConfigError(f"a star scale needs at least 2 stars, not {scale}")
    s = np.asarray(stars, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        inside = (s >= 1) & (s <= scale)
    return np.where(inside, (s - 1.0) / (scale - 1) * 100.0, np.nan)


def _column_length(columns: Mapping[str, Any]) -> int:
    lengths: dict[str, int] = {}
    for name, col in columns.items():
        flat = isinstance(col, list | tuple) and not (
            col and isinstance(col[0], list | tuple | np.ndarray)
        )  # np.shape of a list of text would build a fixed-width copy of it
        shape = (len(col),) if flat else np.shape(col)
        if len(shape) > 1:
            raise ConfigError(f"column {name!r} must be one-dimensional, got shape {shape}")
        lengths[name] = 1 if not shape else int(shape[0])
    if len(set(lengths.values())) > 1:
        raise ConfigError(f"columns have different lengths: {lengths}")
    return next(iter(lengths.values()), 0)


def validate_columns(
    schema: Schema,
    columns: Mapping[str, Any],
    *,
    parsing: DateParsing = ISO,
    on_error: OnError = "raise",
) -> Validated:
    """Check every row of every column against ``schema``.

    Raises :class:`~rfm_retention.errors.ValidationError` listing every problem
    (``on_error='raise'``), or drops the bad rows into
    :class:`RejectedRows` (``on_error='quarantine'``).
    """
    if on_error not in ("raise", "quarantine"):
        raise ConfigError(f"on_error must be 'raise' or 'quarantine', not {on_error!r}")
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise ConfigError(
            f"{schema.source}: unknown column(s) {sorted(unknown)}; known: {list(schema.names)}"
        )
    absent = [f.name for f in schema.fields if f.required and f.name not in columns]
    if absent:
        raise ConfigError(f"{schema.source}: required column(s) missing: {absent}")
    n = _column_length(columns)
    for group in schema.one_of:
        if n and not any(name in columns for name in group):
            raise ConfigError(
                f"{schema.source}: needs at least one of the columns {list(group)}"
            )
    issues: list[RowIssue] = []
    clean: dict[str, npt.NDArray[Any]] = {}
    for f in schema.fields:
        raw = columns.get(f.name)
        if raw is None:
            clean[f.name] = _absent_column(f, n)
            continue
        arr = as_array(raw)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        values, problems = _convert(f, arr.reshape(-1), parsing)
        clean[f.name] = values
        issues.extend(
            RowIssue(row=row, field=f.name, message=msg, value=_shown(arr, row))
            for row, msg in problems.items()
        )
    for fill in schema.fills:
        if fill.source in columns:
            target = clean[fill.target]
            converted = fill.convert(clean[fill.source])
            clean[fill.target] = np.where(np.isnan(target), converted, target)
    bad_rows = {i.row for i in issues}  # a rule adds nothing to a row already rejected
    for rule in schema.rules:
        with np.errstate(invalid="ignore"):
            broken = rule.broken(clean)
        for row in np.flatnonzero(broken):
            if int(row) not in bad_rows:
                issues.append(
                    RowIssue(
                        row=int(row),
                        field=rule.field,
                        message=rule.message,
                        value=_shown(clean[rule.field], int(row)),
                    )
                )
    issues.extend(_duplicate_issues(schema, clean, given=columns))
    id_name = schema.fields[0].name
    id_col = clean[id_name]
    no_id = {i.row for i in issues if i.field == id_name}
    issues = [
        attrs.evolve(i, patient_id="" if i.row in no_id else _shown(id_col, i.row))
        for i in issues
    ]
    if issues and on_error == "raise":
        raise ValidationError(schema.source, issues)
    rejected = RejectedRows(schema.source, tuple(sorted(issues, key=lambda i: (i.row, i.field))))
    not_given = frozenset(f.name for f in schema.fields if f.name not in columns)
    if not issues:  # nothing to drop: no copy
        return Validated(clean, np.arange(n, dtype=np.int64), rejected, not_given)
    keep = np.ones(n, bool)
    keep[[i.row for i in issues]] = False
    return Validated(
        columns={k: v[keep] for k, v in clean.items()},
        source_row=np.flatnonzero(keep).astype(np.int64),
        rejected=rejected,
        absent=not_given,
    )


def _shown(arr: npt.NDArray[Any], row: int) -> str:
    value = arr[row]
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, float | np.floating) and np.isnan(value):
        return ""
    if isinstance(value, np.datetime64) and np.isnat(value):
        return ""
    return str(value)[:80]


def _absent_column(f: Field, n: int) -> npt.NDArray[Any]:
    if f.kind == "time":
        return np.full(n, np.datetime64("NaT", "s"))
    if f.kind in ("amount", "score", "stars"):
        return np.full(n, np.nan)
    if f.kind == "count":
        return np.full(n, -1, np.int64)
    if f.kind == "flag":
        return np.full(n, bool(f.default))
    text = str(f.default)
    if not text:
        return np.zeros(n, "U1")  # all '' (zero bytes), and free until written
    return np.full(n, text, dtype=f"U{len(text)}")


def _convert(
    f: Field, arr: npt.NDArray[Any], parsing: DateParsing
) -> tuple[npt.NDArray[Any], dict[int, str]]:
    if f.kind == "id":
        return _convert_id(f, arr)
    if f.kind == "time":
        parsed = parse_times(arr, parsing)
        problems = dict(parsed.problems)
        if f.required:
            for row in np.flatnonzero(parsed.missing):
                problems[int(row)] = "missing"
        return parsed.values, problems
    if f.kind in ("amount", "score", "stars", "count"):
        return _convert_number(f, arr)
    return _convert_text(f, arr)


def _text(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Text values, stripped; None, NaN and pandas' NA become ''."""
    if arr.dtype.kind == "U":
        return np.char.strip(arr)
    if arr.dtype.kind == "T":
        return np.strings.strip(arr)
    if arr.dtype.kind == "S":  # UTF-8 bytes: each distinct value decoded once
        uniques, codes = factorise(arr)
        return np.char.strip(np.char.decode(uniques, "utf-8"))[codes]
    if arr.dtype.kind in "iub":
        return arr.astype(str)
    return text_array(["" if is_missing(v) else str(v).strip() for v in arr.tolist()])


_WIDE_TEXT = 64


def text_array(values: list[str]) -> npt.NDArray[Any]:
    """``values`` as a numpy text array whose memory follows the text's total length.

    Fixed-width ``str_`` arrays give every row the width of the longest value,
    so one 10 KB value among short ones would cost 40 KB per row; such columns
    use numpy's variable-width ``StringDType`` instead.

    Example:
        >>> text_array(["a", "bc"]).dtype, text_array(["a"] * 99 + ["x" * 10_000]).dtype.kind
        (dtype('<U2'), 'T')
    """
    if not values:
        return np.empty(0, "U1")
    lengths = np.fromiter(map(len, values), np.int64, len(values))
    widest = int(lengths.max())
    if widest > _WIDE_TEXT and widest * len(values) > 8 * (int(lengths.sum()) + len(values)):
        return np.array(values, dtype=np.dtypes.StringDType())
    return np.array(values, dtype=f"U{max(widest, 1)}")


def as_array(raw: Any) -> npt.NDArray[Any]:
    """A column as a numpy array without widening text or wrapping big integers.

    ``np.asarray`` gives a list of strings the width of its longest one and a
    list with an int beyond int64 a float dtype; such lists become object
    arrays here, which the kind conversions then store compactly.
    """
    if isinstance(raw, np.ndarray):
        return raw
    if isinstance(raw, list | tuple) and (
        any(isinstance(v, str) for v in raw)
        or any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in raw)
    ):
        out = np.empty(len(raw), object)
        out[:] = raw
        return out
    return np.asarray(raw)


_EXACT_FLOAT = 2.0**53  # every whole float up to this is exactly one integer
_INT64_MAX = 2**63 - 1


def _integer_ids(
    arr: npt.NDArray[Any],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], dict[int, str]] | None:
    """(int64 ids, missing mask, problems) when every present value is a whole number, else None.

    Integer ids stay integers whether they come as an int array, as Python ints
    in records, or as a float array (how pandas stores an int column with gaps).
    An id that has no exact int64 value (a float beyond 2**53, an int beyond
    2**63 - 1) is a problem of its row, never wrapped or rounded into another
    patient's id.
    """
    n = arr.shape[0]
    if arr.dtype.kind == "i":
        return arr.astype(np.int64, copy=False), np.zeros(n, bool), {}
    if arr.dtype.kind == "u":
        too_big = arr > _INT64_MAX
        return (
            np.where(too_big, 0, arr).astype(np.int64),
            np.zeros(n, bool),
            dict.fromkeys(np.flatnonzero(too_big).tolist(), _ID_RANGE),
        )
    if arr.dtype.kind == "f" and arr.size:
        missing = np.isnan(arr)
        values = arr[~missing]
        if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
            inexact = np.abs(arr) > _EXACT_FLOAT
            problems = dict.fromkeys(
                np.flatnonzero(inexact).tolist(),
                "a float id beyond 2**53 has no exact integer value; "
                "give ids as integers or text",
            )
            return np.where(missing | inexact, 0, arr).astype(np.int64), missing, problems
        return None
    if arr.dtype.kind == "O" and arr.size:
        items = arr.tolist()
        n_int = sum(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in items)
        gaps = np.array([is_missing(v) for v in items], bool)
        if n_int and n_int + int(gaps.sum()) == len(items):
            big = {
                row: _ID_RANGE
                for row, v in enumerate(items)
                if not gaps[row] and not -_INT64_MAX - 1 <= int(v) <= _INT64_MAX
            }
            ints = [
                0 if gap or row in big else int(v)
                for row, (v, gap) in enumerate(zip(items, gaps.tolist(), strict=True))
            ]
            return np.array(ints, np.int64), gaps, big
    return None


_ID_RANGE = "beyond the 64-bit integer range; give such ids as text"


def _convert_id(f: Field, arr: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], dict[int, str]]:
    as_ints = _integer_ids(arr)
    if as_ints is not None:
        ints, missing, problems = as_ints
        if f.required:
            problems.update(dict.fromkeys(np.flatnonzero(missing).tolist(), "missing"))
        return ints, problems
    text = _text(arr)
    problems = {int(r): "missing" for r in np.flatnonzero(text == "")} if f.required else {}
    return text, problems


def _to_float(arr: npt.NDArray[Any]) -> tuple[npt.NDArray[np.float64], dict[int, str]]:
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64, copy=False), {}
    text = _text(arr)
    out = np.full(text.shape[0], np.nan)
    problems: dict[int, str] = {}
    filled = text != ""
    try:
        out[filled] = text[filled].astype(np.float64)
    except ValueError:
        for row in np.flatnonzero(filled):
            try:
                out[row] = float(text[row])
            except ValueError:
                problems[int(row)] = "not a number"
    return out, problems


def _convert_number(f: Field, arr: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], dict[int, str]]:
    values, problems = _to_float(arr)
    if f.kind == "amount" and f.required and not problems:
        with np.errstate(invalid="ignore", over="ignore"):  # a total overflow is no bad row
            fine = bool(np.all(values >= 0)) and bool(np.isfinite(values.sum()))
        if fine:  # one pass for the usual case: every amount a finite number >= 0
            return values, problems
    nan = np.isnan(values)
    checks: list[tuple[npt.NDArray[np.bool_], str]] = [(np.isinf(values), "not finite")]
    if f.required:
        checks.append((nan, "missing or NaN"))
    if f.kind == "stars":
        checks.append((~nan & ((values < 1) | (values > 5)), "not 1-5 stars"))
    checks.append((~nan & (values < 0), "negative"))
    if f.kind == "score":
        checks.append((~nan & (values > 100), "above 100 (scores run 0-100)"))
    if f.kind == "count":
        checks.append((~nan & np.isfinite(values) & (values != np.round(values)), "not whole"))
    for mask, message in checks:
        for row in np.flatnonzero(mask):
            problems.setdefault(int(row), message)
    if f.kind == "count":
        ints = np.where(np.isfinite(values), values, -1).astype(np.int64)
        return ints, problems
    return values, problems


def _convert_text(f: Field, arr: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], dict[int, str]]:
    text = _text(arr)
    if text.size == 0:  # numpy's string functions refuse empty arrays
        return (np.zeros(0, bool) if f.kind == "flag" else text), {}
    empty = text == ""
    problems: dict[int, str] = {}
    if f.required:
        problems.update({int(r): "missing" for r in np.flatnonzero(empty)})
    if f.kind == "text":
        return np.where(empty, str(f.default), text) if len(text) else text, problems
    lowered = np.char.replace(np.char.replace(np.char.lower(text), "-", "_"), " ", "_")
    if f.kind == "flag":
        values = np.isin(lowered, list(_TRUE))
        known = values | np.isin(lowered, list(_FALSE)) | empty
        problems.update(
            {int(r): "not a yes/no value" for r in np.flatnonzero(~known)}
        )
        return np.where(empty, bool(f.default), values), problems
    known = np.isin(lowered, list(f.choices)) | empty
    problems.update(
        {int(r): f"not one of {', '.join(f.choices)}" for r in np.flatnonzero(~known)}
    )
    return np.where(empty, str(f.default), lowered) if len(text) else lowered, problems


def _duplicate_issues(
    schema: Schema, clean: Mapping[str, npt.NDArray[Any]], *, given: Mapping[str, Any]
) -> list[RowIssue]:
    issues: list[RowIssue] = []
    for f in schema.fields:
        if not f.unique or f.name not in given:
            continue
        values = clean[f.name]
        present = np.flatnonzero(values != "") if values.dtype.kind == "U" else np.arange(
            len(values)
        )
        if present.size == 0:
            continue
        vals = values[present]
        order = np.argsort(vals, kind="stable")
        sorted_vals = vals[order]
        dup = np.zeros(len(order), bool)
        dup[1:] = sorted_vals[1:] == sorted_vals[:-1]
        if not dup.any():
            continue
        group_start = np.maximum.accumulate(np.where(~dup, np.arange(len(order)), 0))
        for k in np.flatnonzero(dup):
            row = int(present[order[k]])
            first = int(present[order[group_start[k]]])
            issues.append(
                RowIssue(
                    row=row,
                    field=f.name,
                    message=f"duplicate (first seen in row {first})",
                    value=str(values[row]),
                )
            )
    return issues
