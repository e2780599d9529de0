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

from rfm_retention.data._build import char_matrix, factorise, value_range
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
    rejected: RejectedRows
    absent: frozenset[str] = frozenset()
    """Fields the input did not have (nor filled from another): their columns hold one
    default value throughout (a read-only view of it)."""
    kept: npt.NDArray[np.int64] | None = None
    """The input rows kept, ascending; None when every row was kept."""
    time_ranges: Mapping[str, tuple[int, int]] = attrs.field(factory=dict)
    """(least, greatest) of time columns kept as given, as integers, read while checking
    them for NaT (every row kept only), so the table build need not read them again."""

    @property
    def source_row(self) -> npt.NDArray[np.int64]:
        """For each clean row, its position in the input as given."""
        if self.kept is not None:
            return self.kept
        n = next((len(c) for c in self.columns.values()), 0)
        return np.arange(n, dtype=np.int64)


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

    The check is a pipeline of small steps, each with one job: the column set
    and lengths, each field's conversion, fills, row rules, duplicates, then
    the rejection mask applied once.

    Example:
        >>> from rfm_retention.data import VisitLog
        >>> checked = validate_columns(VisitLog.SCHEMA, {"patient_id": ["a", "b"],
        ...     "visit_time": ["2024-01-01", "x"], "amount": [1.0, 2.0]}, on_error="quarantine")
        >>> checked.source_row.tolist(), [i.field for i in checked.rejected.issues]
        ([0], ['visit_time'])
    """
    _check_on_error(on_error)
    columns = {name: col for name, col in columns.items() if col is not None}  # None: not given
    _check_column_names(schema, columns)
    arrays = _as_arrays(columns)
    n = _column_length(arrays)
    _check_one_of(schema, columns, n)
    time_ranges: dict[str, tuple[int, int]] = {}
    clean, issues = _convert_fields(schema, arrays, n, parsing, time_ranges)
    _apply_fills(schema, columns, clean)
    issues.extend(_rule_issues(schema, clean, already=issues))
    issues.extend(_duplicate_issues(schema, clean, given=columns))
    issues = _name_patients(schema, clean, issues)
    if issues and on_error == "raise":
        raise ValidationError(schema.source, issues)
    checked = _reject(schema, clean, issues, n, _absent_fields(schema, columns))
    return checked if issues else attrs.evolve(checked, time_ranges=time_ranges)


def _absent_fields(schema: Schema, columns: Mapping[str, Any]) -> frozenset[str]:
    """Fields whose column holds one default value: not given, and not filled from another."""
    given = set(columns) | {fill.target for fill in schema.fills if fill.source in columns}
    return frozenset(f.name for f in schema.fields if f.name not in given)


def _check_on_error(on_error: str) -> None:
    if on_error not in ("raise", "quarantine"):
        raise ConfigError(f"on_error must be 'raise' or 'quarantine', not {on_error!r}")


def _check_column_names(schema: Schema, columns: Mapping[str, Any]) -> None:
    """No unknown column, every required one present."""
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise ConfigError(
            f"{schema.source}: unknown column(s) {sorted(unknown)}; known: {list(schema.names)}"
        )
    absent = [f.name for f in schema.fields if f.required and f.name not in columns]
    if absent:
        raise ConfigError(f"{schema.source}: required column(s) missing: {absent}")


def _as_arrays(columns: Mapping[str, Any]) -> dict[str, npt.NDArray[Any]]:
    """Each given column as a numpy array, converted once (a scalar becomes one row)."""
    arrays = {}
    for name, raw in columns.items():
        arr = as_array(raw)
        arrays[name] = arr.reshape(1) if arr.ndim == 0 else arr
    return arrays


def _column_length(arrays: Mapping[str, npt.NDArray[Any]]) -> int:
    """The one length every column shares; ConfigError for a 2-D or a shorter column."""
    lengths: dict[str, int] = {}
    for name, arr in arrays.items():
        if arr.ndim > 1:
            raise ConfigError(f"column {name!r} must be one-dimensional, got shape {arr.shape}")
        lengths[name] = int(arr.shape[0])
    if len(set(lengths.values())) > 1:
        raise ConfigError(f"columns have different lengths: {lengths}")
    return next(iter(lengths.values()), 0)


def _check_one_of(schema: Schema, columns: Mapping[str, Any], n: int) -> None:
    """A file without any column of a ``one_of`` group is one error, not one per row."""
    for group in schema.one_of:
        if n and not any(name in columns for name in group):
            raise ConfigError(
                f"{schema.source}: needs at least one of the columns {list(group)}"
            )


def _convert_fields(
    schema: Schema, arrays: Mapping[str, npt.NDArray[Any]], n: int, parsing: DateParsing,
    time_ranges: dict[str, tuple[int, int]],
) -> tuple[dict[str, npt.NDArray[Any]], list[RowIssue]]:
    """Every field converted to its stored dtype (absent ones filled), with each bad value;
    the range of each time column read on the way goes into ``time_ranges``."""
    issues: list[RowIssue] = []
    clean: dict[str, npt.NDArray[Any]] = {}
    for f in schema.fields:
        arr = arrays.get(f.name)
        if arr is None:
            clean[f.name] = _absent_column(f, n)
            continue
        clean[f.name], problems = _convert(f, arr, parsing, time_ranges)
        issues.extend(
            RowIssue(row=row, field=f.name, message=msg, value=_shown(arr, row))
            for row, msg in problems.items()
        )
    return clean, issues


def _apply_fills(
    schema: Schema, columns: Mapping[str, Any], clean: dict[str, npt.NDArray[Any]]
) -> None:
    """Complete each fill's target from its source where the target is missing."""
    for fill in schema.fills:
        if fill.source in columns:
            target = clean[fill.target]
            converted = fill.convert(clean[fill.source])
            clean[fill.target] = np.where(np.isnan(target), converted, target)


def _rule_issues(
    schema: Schema, clean: Mapping[str, npt.NDArray[Any]], *, already: list[RowIssue]
) -> list[RowIssue]:
    """Rows breaking a row rule; a rule adds nothing to a row already rejected."""
    if not schema.rules:
        return []
    bad_rows = {i.row for i in already}
    issues: list[RowIssue] = []
    for rule in schema.rules:
        with np.errstate(invalid="ignore"):
            broken = rule.broken(clean)
        issues.extend(
            RowIssue(
                row=row,
                field=rule.field,
                message=rule.message,
                value=_shown(clean[rule.field], row),
            )
            for row in np.flatnonzero(broken).tolist()
            if row not in bad_rows
        )
    return issues


def _name_patients(
    schema: Schema, clean: Mapping[str, npt.NDArray[Any]], issues: list[RowIssue]
) -> list[RowIssue]:
    """Each issue with its row's patient id ('' where the id itself is the problem)."""
    if not issues:
        return issues
    id_name = schema.fields[0].name
    id_col = clean[id_name]
    no_id = {i.row for i in issues if i.field == id_name}
    return [
        attrs.evolve(i, patient_id="" if i.row in no_id else _shown(id_col, i.row))
        for i in issues
    ]


def _reject(
    schema: Schema,
    clean: dict[str, npt.NDArray[Any]],
    issues: list[RowIssue],
    n: int,
    absent: frozenset[str],
) -> Validated:
    """The clean columns without the rows that have an issue: one mask, applied once."""
    rejected = RejectedRows(schema.source, tuple(sorted(issues, key=lambda i: (i.row, i.field))))
    if not issues:  # nothing to drop: no copy
        return Validated(clean, rejected, absent)
    keep = np.ones(n, bool)
    keep[[i.row for i in issues]] = False
    n_kept = int(keep.sum())
    return Validated(
        columns={
            k: np.broadcast_to(v[:1], (n_kept,)) if k in absent and n else v[keep]
            for k, v in clean.items()
        },
        rejected=rejected,
        absent=absent,
        kept=np.flatnonzero(keep).astype(np.int64),
    )


def _shown(arr: npt.NDArray[Any], row: int) -> str:
    value = arr[row]
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, float | np.floating) and np.isnan(value):
        return ""
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return ""
        value = value.astype("datetime64[s]")
    return str(value)[:80]


def _full_text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _absent_column(f: Field, n: int) -> npt.NDArray[Any]:
    """A field the input lacks: one default value, never materialised row by row.

    The column is a read-only view of that one value (zero strides), so an
    absent column costs nothing whatever the row count.
    """
    return np.broadcast_to(_absent_value(f), (n,))


def _absent_value(f: Field) -> npt.NDArray[Any]:
    if f.kind == "time":
        return np.array(np.datetime64("NaT", "s"))
    if f.kind in ("amount", "score", "stars"):
        return np.array(np.nan)
    if f.kind == "count":
        return np.array(-1, np.int64)
    if f.kind == "flag":
        return np.array(bool(f.default))
    text = str(f.default)
    return np.array(text, dtype=f"U{max(len(text), 1)}")


def _convert(
    f: Field, arr: npt.NDArray[Any], parsing: DateParsing,
    time_ranges: dict[str, tuple[int, int]],
) -> tuple[npt.NDArray[Any], dict[int, str]]:
    if f.kind == "id":
        return _convert_id(f, arr)
    if f.kind == "time":
        return _convert_time(f, arr, parsing, time_ranges)
    if f.kind in ("amount", "score", "stars", "count"):
        return _convert_number(f, arr)
    return _convert_text(f, arr)


_WHOLE_UNITS = frozenset({"D", "h", "m", "s"})  # exact whole seconds: kept as given, no copy
_NAT = int(np.iinfo(np.int64).min)


def _convert_time(
    f: Field, arr: npt.NDArray[Any], parsing: DateParsing,
    time_ranges: dict[str, tuple[int, int]],
) -> tuple[npt.NDArray[Any], dict[int, str]]:
    """Times as ``datetime64``: days, hours, minutes and seconds as given, anything else
    (text, dates, finer units) as seconds."""
    if arr.dtype.kind == "M":
        unit = np.datetime_data(arr.dtype)[0]
        values = arr if unit in _WHOLE_UNITS else arr.astype("datetime64[s]")
        problems: dict[int, str] = {}
        if f.required and values.size:  # NaT is the least int64: one reduction finds any
            least, most = (int(v) for v in value_range(values.view(np.int64)))
            if least == _NAT:
                problems.update(dict.fromkeys(np.flatnonzero(np.isnat(values)).tolist(),
                                              "missing"))
            else:
                time_ranges[f.name] = (least, most)
        return values, problems
    parsed = parse_times(arr, parsing)
    problems = dict(parsed.problems)
    if f.required and parsed.missing.any():
        problems.update(dict.fromkeys(np.flatnonzero(parsed.missing).tolist(), "missing"))
    return parsed.values, problems


def _text(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Text values, stripped; None, NaN and pandas' NA become ''."""
    if arr.dtype.kind in "US" and _edges_clean(arr):  # nothing to strip: no copy, no decoding
        return arr if arr.dtype.kind == "U" else arr.astype(f"U{arr.dtype.itemsize}")
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


_SPACES = np.zeros(128, bool)
_SPACES[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True  # what str.strip() takes, in ASCII


def _edges_clean(text: npt.NDArray[Any]) -> bool:
    """Whether every value of an ASCII text column neither starts nor ends with whitespace
    (False for non-ASCII text), checked block by block: stripping it would change nothing."""
    chars = char_matrix(text)
    if chars is None:  # not fixed-width text, not contiguous, or width 0 (every value '')
        return text.dtype.kind in "US" and text.dtype.itemsize == 0
    step = max((1 << 16) // chars.shape[1], 1)
    for at in range(0, chars.shape[0], step):
        block = chars[at : at + step]
        if block.size == 0 or int(block.max()) > 127:
            return block.size == 0
        last = np.maximum(np.strings.str_len(text[at : at + step]) - 1, 0)
        if _SPACES[block[:, 0]].any() or _SPACES[block[np.arange(block.shape[0]), last]].any():
            return False
    return True


def _empty_text(text: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Mask of the empty values of a text column (``str_``, ``bytes_`` or ``StringDType``)."""
    empty: npt.NDArray[np.bool_] = text == (b"" if text.dtype.kind == "S" else "")
    return empty


def _id_text(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Text ids as text; ASCII bytes with nothing to strip stay bytes, so the table build
    decodes only the distinct ids."""
    if arr.dtype.kind == "S" and _edges_clean(arr):
        return arr
    return _text(arr)


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
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_] | None, dict[int, str]] | None:
    """(int64 ids, missing mask or None when none is missing, problems) when every present
    value is a whole number, else None.

    Integer ids stay integers whether they come as an int array, as Python ints
    in records, or as a float array (how pandas stores an int column with gaps).
    An id that has no exact int64 value (a float beyond 2**53, an int beyond
    2**63 - 1) is a problem of its row, never wrapped or rounded into another
    patient's id.
    """
    if arr.dtype.kind == "i":
        return arr.astype(np.int64, copy=False), None, {}
    if arr.dtype.kind == "u":
        too_big = arr > _INT64_MAX
        return (
            np.where(too_big, 0, arr).astype(np.int64),
            None,
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
        if f.required and missing is not None and missing.any():
            problems.update(dict.fromkeys(np.flatnonzero(missing).tolist(), "missing"))
        return ints, problems
    text = _id_text(arr)
    problems = (
        dict.fromkeys(np.flatnonzero(_empty_text(text)).tolist(), "missing") if f.required else {}
    )
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


_BOUNDS = {"amount": (0.0, np.inf), "score": (0.0, 100.0), "stars": (1.0, 5.0)}


def _within_bounds(f: Field, values: npt.NDArray[np.float64]) -> bool:
    """Whether every value is finite and within the kind's range (NaN allowed where the
    field is optional), by a min and a max: no per-row mask in the usual case."""
    if f.kind not in _BOUNDS or values.size == 0:
        return values.size == 0
    low, high = _BOUNDS[f.kind]
    # a NaN makes a required field's min and max NaN, and every comparison below False
    least, most = value_range(values, ignore_nan=not f.required)
    return bool(least >= low) and bool(most <= high) and bool(np.isfinite(most))


def _convert_number(f: Field, arr: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], dict[int, str]]:
    values, problems = _to_float(arr)
    if not problems and _within_bounds(f, values):  # the usual case: two reductions
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
        present = (np.flatnonzero(~_empty_text(values)) if values.dtype.kind in "US"
                   else np.arange(len(values)))
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
                    value=_full_text(values[row]),
                )
            )
    return issues
