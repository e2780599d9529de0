"""The columnar base every patient source is built on.

A :class:`PatientTable` is validated once, its patient ids factorised once and
its rows sorted once by (patient, time). After that every per-patient
computation is a ``bincount`` / ``reduceat`` over contiguous groups.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._display import Display
from rfm_retention._frames import frame_columns, is_frame
from rfm_retention._progress import Progress, report_progress
from rfm_retention.data._arrow_csv import read_columns
from rfm_retention.data._build import LazyColumns, gather, group_codes, layout_rows
from rfm_retention.data._csv import CsvColumns, read_csv_columns
from rfm_retention.data._csv_options import CsvOptions, CsvReader, IdType
from rfm_retention.data._schema import (
    OnError,
    RejectedRows,
    Schema,
    Validated,
    validate_columns,
)
from rfm_retention.data._time import ISO, DateParsing
from rfm_retention.errors import ConfigError, ValidationError

__all__ = ["IdArray", "PatientTable", "read_csv_columns", "union_patients"]

_BUILD_STEPS = 4  # validate, factorise and order the rows, gather the columns, done

IdArray = npt.NDArray[Any]
"""Patient ids: ``int64`` when the host's ids are integers, text (``str_``) otherwise."""


@attrs.frozen(eq=False)
class PatientTable:
    """Rows of one source, validated, sorted by (patient, time), patients factorised.

    Same-time rows of a patient are ordered by their other columns (schema
    order), so a table never depends on the order its input rows came in.

    Attributes:
        patient_ids: the distinct patient ids, sorted ascending.
        patient_index: for each row, the position of its patient in ``patient_ids``.
        group_starts: for each patient, the first row of its contiguous group
            (``group_starts[-1] == len(self)``, so it has one more entry).
        source_row: for each row, its position in the input as given.
        rejected: rows set aside by ``on_error='quarantine'``.

    Example:
        >>> import numpy as np
        >>> from rfm_retention.data import RatingTable
        >>> ratings = RatingTable.from_arrays(
        ...     patient_id=["b", "a", "b"],
        ...     rated_at=["2024-02-01", "2024-01-15", "2024-01-10"],
        ...     score=[70, 90, 40],
        ... )
        >>> ratings.patient_ids.tolist(), ratings.patient_index.tolist(), ratings.score.tolist()
        (['a', 'b'], [0, 1, 1], [90.0, 40.0, 70.0])
        >>> ratings.source_row.tolist(), ratings.group_starts.tolist()
        ([1, 2, 0], [0, 1, 3])
        >>> ratings.positions_in(np.array(["a", "b", "c"])).tolist()
        [0, 1, 1]
        >>> ratings.before(np.datetime64("2024-01-31T23:59:59")).tolist()
        [True, True, False]
    """

    SCHEMA: ClassVar[Schema]

    columns: Mapping[str, npt.NDArray[Any]] = attrs.field(repr=False)
    patient_ids: IdArray = attrs.field(repr=False)
    _patient_index: npt.NDArray[np.int64] | None = attrs.field(repr=False, alias="patient_index")
    """The row-level patient codes when given; None: derived from ``group_starts`` when read."""
    group_starts: npt.NDArray[np.int64] = attrs.field(repr=False)
    source_row: npt.NDArray[np.int64] = attrs.field(repr=False)
    rejected: RejectedRows = attrs.field(repr=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_arrays(
        cls,
        *,
        parsing: DateParsing = ISO,
        on_error: OnError = "raise",
        progress: Progress | None = None,
        **columns: Any,
    ) -> Self:
        """Build from one array (or sequence) per field; see the class's schema for names.

        ``progress`` (a :data:`~rfm_retention.Progress`) hears of the build's
        four steps (stage ``"build <source>"``): validation, factorising the
        patients, ordering the rows, gathering the columns.
        """
        return cls.from_columns(columns, parsing=parsing, on_error=on_error, progress=progress)

    @classmethod
    def from_columns(
        cls,
        columns: Mapping[str, Any],
        *,
        parsing: DateParsing = ISO,
        on_error: OnError = "raise",
        progress: Progress | None = None,
    ) -> Self:
        """Build from a mapping of field name to column; ``progress`` as for :meth:`from_arrays`."""
        _refuse_frame(columns, "from_columns")
        stage = f"build {cls.SCHEMA.source}"
        report_progress(progress, stage, 0, _BUILD_STEPS)
        checked = validate_columns(cls.SCHEMA, columns, parsing=parsing, on_error=on_error)
        return cls._from_validated(checked, progress)

    @classmethod
    def _from_validated(cls, checked: Validated, progress: Progress | None = None) -> Self:
        """Factorise the patients of validated columns and sort the rows by (patient, time)."""
        cols = checked.columns
        schema = cls.SCHEMA
        stage = f"build {schema.source}"
        report_progress(progress, stage, 1, _BUILD_STEPS)
        id_name = schema.fields[0].name
        layout = layout_rows(cols[id_name], cols[schema.time_field],
                             time_range=checked.time_ranges.get(schema.time_field))
        report_progress(progress, stage, 2, _BUILD_STEPS)
        content = [
            cols[f.name]
            for f in schema.fields[1:]
            if f.name != schema.time_field and f.name not in checked.absent
        ]
        order = _order_ties_by_content(layout.order, layout.tied, content)
        sorted_cols = {}
        for name, col in cols.items():
            if name in checked.absent:
                sorted_cols[name] = col  # one value throughout: already in any order
            elif name == schema.time_field:  # tied rows share their time: the sort knows it
                sorted_cols[name] = layout.seconds.view("datetime64[s]")
            elif name != id_name:
                sorted_cols[name] = col if order is None else gather(col, order)
        report_progress(progress, stage, 3, _BUILD_STEPS)
        later = {id_name: layout.row_ids}  # the row-level id column: made when first read
        if order is None:
            source_row = checked.source_row
        else:
            source_row = order if checked.kept is None else checked.kept[order]
        report_progress(progress, stage, _BUILD_STEPS, _BUILD_STEPS)
        return cls(
            columns=LazyColumns(sorted_cols, later, tuple(cols)),
            patient_ids=layout.patient_ids,
            patient_index=None,  # most work reads the groups: made when first read
            group_starts=layout.group_starts,
            source_row=source_row,
            rejected=checked.rejected,
        )

    @classmethod
    def from_frame(
        cls,
        frame: Any,
        *,
        mapping: Mapping[str, str] | None = None,
        parsing: DateParsing = ISO,
        on_error: OnError = "raise",
        progress: Progress | None = None,
    ) -> Self:
        """Build from a DataFrame: pandas, Polars, a pyarrow Table, a DuckDB relation, or
        anything with the Arrow PyCapsule stream interface.

        ``mapping`` maps the library's field names to the frame's column names,
        as for :meth:`from_csv`; other columns are ignored. Numeric and time
        columns are read without a copy where they are numpy-compatible;
        timezone-aware times become naive UTC. Row numbers in errors are the
        frame's row positions; ``progress`` is as for :meth:`from_arrays`.

        Example:
            >>> import pandas as pd
            >>> from rfm_retention.data import VisitLog
            >>> frame = pd.DataFrame({"PID": [7, 3], "day": pd.to_datetime(["2024-02-01",
            ...                       "2024-01-05"]), "amount": [10.0, 5.0]})
            >>> log = VisitLog.from_frame(frame, mapping={"patient_id": "PID",
            ...                                           "visit_time": "day"})
            >>> log.patient_ids.tolist(), log.amount.tolist()
            ([3, 7], [5.0, 10.0])
        """
        names = dict(mapping or {})
        unknown = set(names) - set(cls.SCHEMA.names)
        if unknown:
            raise ConfigError(
                f"{cls.SCHEMA.source}: mapping names unknown field(s) {sorted(unknown)}; "
                f"fields are {list(cls.SCHEMA.names)}"
            )
        wanted = {f.name: names.get(f.name, f.name) for f in cls.SCHEMA.fields}
        columns = frame_columns(frame, wanted)
        for f in cls.SCHEMA.fields:
            if f.name not in columns and (f.required or f.name in names):
                raise ConfigError(
                    f"{cls.SCHEMA.source}: the frame has no column {wanted[f.name]!r} for "
                    f"field {f.name!r}. Hint: mapping={{{f.name!r}: 'COLUMN'}}"
                )
        return cls.from_columns(columns, parsing=parsing, on_error=on_error, progress=progress)

    @classmethod
    def from_records(
        cls,
        records: Iterable[Any],
        *,
        parsing: DateParsing = ISO,
        on_error: OnError = "raise",
    ) -> Self:
        """Build from records: attrs records, any objects or mappings with one entry per field.

        A field a record lacks (or holds as ``None``) is missing for that row;
        a field no record has is an absent column. Row numbers in errors are
        positions in ``records``.
        """
        _refuse_frame(records, "from_records")
        rows = list(records)
        columns: dict[str, Any] = {}
        for f in cls.SCHEMA.fields:
            name = f.name
            values = [
                r.get(name) if isinstance(r, Mapping) else getattr(r, name, None) for r in rows
            ]
            if f.required or any(v is not None for v in values):
                column = np.empty(len(values), dtype=object)
                column[:] = values
                columns[name] = column
        return cls.from_columns(columns, parsing=parsing, on_error=on_error)

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str],
        *,
        mapping: Mapping[str, str] | None = None,
        parsing: DateParsing = ISO,
        on_error: OnError = "raise",
        delimiter: str = ",",
        encoding: str = "utf-8",
        id_type: IdType = "text",
        reader: CsvReader = "auto",
        progress: Progress | None = None,
    ) -> Self:
        """Read a CSV file with a header row.

        ``mapping`` maps the library's field names to the file's column names
        (``{"patient_id": "PATIENT", "visit_time": "START"}``); unmapped fields
        are looked up under their own name, file columns nobody asks for are
        ignored. Errors name file lines (:attr:`RowIssue.line
        <rfm_retention.errors.RowIssue.line>`); ``row`` counts data rows from 0.
        A file that cannot be read as CSV (missing, a folder, not ``encoding``
        text, a row with more cells than the header, a repeated column name)
        raises :class:`~rfm_retention.errors.InputFileError` naming the line.

        Patient ids stay text as written (``000123`` keeps its zeros);
        ``id_type="int"`` reads them as integers, so a CSV gives the same ids
        and order as integer arrays (a cell that is not a whole number is then
        a bad row).

        ``reader`` chooses the CSV parser: ``"auto"`` (default) uses pyarrow's
        multithreaded reader when the ``fast`` extra is installed, ``"numpy"``
        the built-in reader, ``"arrow"`` requires pyarrow. Both give the same
        table and the same errors: a file arrow cannot read exactly as the
        numpy reader does (quoted cells, bad values, a date format...) is
        read, or reported, by the numpy reader.

        ``progress`` (a :data:`~rfm_retention.Progress`) hears of each chunk
        read (stage ``"read csv"``, unit ``"bytes"`` of the file), then of the
        build's steps as for :meth:`from_arrays`.

        Example:
            >>> import tempfile, pathlib
            >>> from rfm_retention.data import VisitLog
            >>> from rfm_retention.errors import ValidationError
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "visits.csv"
            >>> _ = path.write_text("patient_id,visit_time,amount\\n\\np1,2024-01-05,-3\\n")
            >>> try:
            ...     VisitLog.from_csv(path)
            ... except ValidationError as exc:
            ...     print(exc.issues[0])
            line 3 (patient p1): amount '-3.0': negative
        """
        options = CsvOptions(mapping=mapping, parsing=parsing, on_error=on_error,
                             delimiter=delimiter, encoding=encoding, id_type=id_type,
                             reader=reader)
        return cls._read_csv(path, options, progress)

    @classmethod
    def _read_csv(
        cls, path: str | os.PathLike[str], options: CsvOptions, progress: Progress | None
    ) -> Self:
        """:meth:`from_csv` with its keywords gathered into ``options``."""
        read = read_columns(path, cls.SCHEMA, options, progress=progress)
        report_progress(progress, f"build {cls.SCHEMA.source}", 0, _BUILD_STEPS)
        checked = cls._checked_csv(read, options)
        if checked.rejected and options.on_error == "raise":
            raise ValidationError(cls.SCHEMA.source, checked.rejected.issues)
        return cls._from_validated(checked, progress)

    @classmethod
    def _checked_csv(cls, read: CsvColumns, options: CsvOptions, first_row: int = 0
                     ) -> Validated:
        """The validated rows of (a batch of) a CSV file, bad rows set aside, each issue
        naming its file line; row numbers count from ``first_row`` (the batch's first
        data row in the file)."""
        columns = read.columns
        not_int: dict[int, str] = {}
        id_type = options.id_type
        if id_type == "int":
            id_name = cls.SCHEMA.fields[0].name
            columns = dict(columns)
            columns[id_name], not_int = integer_ids(columns[id_name])
        elif id_type != "text":
            raise ConfigError(f"id_type must be 'text' or 'int', not {id_type!r}")
        checked = validate_columns(cls.SCHEMA, columns, parsing=options.parsing,
                                   on_error="quarantine")
        id_field = cls.SCHEMA.fields[0].name
        issues = tuple(
            attrs.evolve(
                i,
                row=i.row + first_row,
                line=int(read.lines[i.row]),
                message="not a whole number (ids are read as integers)",
                value=not_int[i.row],
            )
            if i.row in not_int and i.field == id_field
            else attrs.evolve(i, row=i.row + first_row, line=int(read.lines[i.row]))
            for i in checked.rejected.issues
        )
        return attrs.evolve(
            checked,
            kept=checked.source_row + first_row if first_row else checked.kept,
            rejected=attrs.evolve(checked.rejected, issues=issues),
        )

    @classmethod
    def empty(cls) -> Self:
        """A table with no rows (a valid result, not an error)."""
        return cls.from_columns({f.name: [] for f in cls.SCHEMA.fields})

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return int(self.group_starts[-1])

    @property
    def patient_index(self) -> npt.NDArray[np.int64]:
        """For each row, the position of its patient in ``patient_ids``.

        A table builds it the first time it is read (per-patient work reads
        ``group_starts`` instead), then keeps it.
        """
        index = self._patient_index
        if index is None:
            index = group_codes(self.group_starts)
            object.__setattr__(self, "_patient_index", index)
        return index

    def __repr__(self) -> str:
        return self._display().text()

    def _repr_html_(self) -> str:
        return self._display().html()

    def _display(self) -> Display:
        times = self.time
        span = (f"{times.min().astype('datetime64[D]')} to {times.max().astype('datetime64[D]')}"
                if len(times) else "none")
        figures = {"patients": self.n_patients, "times": span, "rejected": len(self.rejected)}
        return Display(type(self).__name__, self.columns, figures)

    @property
    def n_patients(self) -> int:
        """How many distinct patients have at least one row."""
        return int(self.patient_ids.shape[0])

    @property
    def time(self) -> npt.NDArray[np.datetime64]:
        """The column that orders each patient's rows (``datetime64[s]``)."""
        return self.columns[self.SCHEMA.time_field]

    def row_patient_ids(self) -> IdArray:
        """The patient id of every row."""
        return self.patient_ids[self.patient_index]

    def positions_in(self, universe: IdArray) -> npt.NDArray[np.int64]:
        """For each row, the position of its patient in ``universe`` (sorted, unique ids).

        Raises ConfigError when a patient of this table is not in ``universe``
        or the id types differ (integer ids vs text ids).
        """
        if len(self.patient_ids) == 0:
            return np.empty(0, np.int64)
        if (universe.dtype.kind in "iu") != (self.patient_ids.dtype.kind in "iu"):
            raise ConfigError(
                f"{self.SCHEMA.source}: patient ids are {self.patient_ids.dtype} but the "
                f"other sources use {universe.dtype}; use one id type for every source"
            )
        if universe.shape == self.patient_ids.shape and np.array_equal(universe, self.patient_ids):
            return self.patient_index.copy()  # the same patients: positions are the index
        where = np.searchsorted(universe, self.patient_ids)
        found = where < len(universe)
        found[found] = universe[where[found]] == self.patient_ids[found]
        if not found.all():
            missing = self.patient_ids[~found]
            raise ConfigError(
                f"{self.SCHEMA.source}: {len(missing)} patient(s) not in the patient universe, "
                f"e.g. {missing[:3].tolist()}"
            )
        return where.astype(np.int64)[self.patient_index]

    def before(self, instant: np.datetime64) -> npt.NDArray[np.bool_]:
        """Mask of rows whose time is at or before ``instant``."""
        t = self.time
        return ~np.isnat(t) & (t <= instant)


def _order_ties_by_content(
    order: npt.NDArray[np.intp] | None,
    tied: npt.NDArray[np.int64],
    content: list[npt.NDArray[Any]],
) -> npt.NDArray[np.intp] | None:
    """Put rows that share (patient, time) in the order of their other columns.

    Which of two same-time rows is "last" (the last visit's department, the
    latest rating) then never depends on the order the host happened to give
    the rows in. Each ``i`` in ``tied`` says row ``i`` (in ``order``; None: the
    input order) shares its (patient, time) with row ``i + 1``; only tied rows
    are sorted again, and rows equal in every column keep their input order.
    """
    if tied.size == 0 or not content:
        return order
    rows, run = _tied_runs(tied)
    sub = rows if order is None else order[rows]  # ascending within each run
    resorted = sub[_by_run_then_content(run, [column[sub] for column in content])]
    if np.array_equal(resorted, sub):
        return order
    out = np.arange(content[0].shape[0], dtype=np.intp) if order is None else order
    out[rows] = resorted  # ``order`` is the layout's own array: ours to change
    return out


def _tied_runs(tied: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(every tied row, ascending; the run each belongs to) from the ascending positions
    ``i`` tied to row ``i + 1``: a run of consecutive positions covers one more row."""
    breaks = np.flatnonzero(tied[1:] != tied[:-1] + 1) + 1
    first = tied[np.concatenate(([0], breaks))]
    lengths = tied[np.concatenate((breaks - 1, [tied.size - 1]))] + 2 - first
    run = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    before = np.cumsum(lengths) - lengths  # where each run starts among the rows
    rows = np.arange(run.size, dtype=np.int64) + np.repeat(first - before, lengths)
    return rows, run


_RANKABLE = frozenset("biufUSM")  # dtypes np.unique orders as a lexsort does


def _by_run_then_content(
    run: npt.NDArray[np.int64], keys: list[npt.NDArray[Any]]
) -> npt.NDArray[np.intp]:
    """The stable order of rows by (run, keys[0], keys[1], ...).

    Each key becomes dense ranks (equal values, NaN included, share one), so
    one sort of packed integers (run, ranks, position) gives the order; keys
    too many or too varied to pack, or of other dtypes, go through a lexsort.
    """
    m = run.shape[0]
    position_bits = max(m - 1, 0).bit_length()
    bits = max(int(run[-1]), 0).bit_length() + position_bits
    ranks: list[tuple[npt.NDArray[np.int64], int]] = []
    for values in keys:
        if values.dtype.kind not in _RANKABLE:
            break
        uniques, inverse = np.unique(values, return_inverse=True)
        width = max(uniques.shape[0] - 1, 0).bit_length()
        ranks.append((inverse.reshape(-1).astype(np.int64, copy=False), width))
        bits += width
    if len(ranks) < len(keys) or bits > 63:
        return np.lexsort((*reversed(keys), run))
    packed = run.copy()
    for rank, width in ranks:
        packed <<= np.int64(width)
        packed |= rank
    packed <<= np.int64(position_bits)
    packed |= np.arange(m, dtype=np.int64)
    packed.sort()
    packed &= np.int64((1 << position_bits) - 1)
    return packed


def integer_ids(cells: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], dict[int, str]]:
    """Id cells read as integers, and the text of each cell that is not a whole number.

    All good: an ``int64`` array. Otherwise an object array with ``None`` at
    the bad rows, which validation then reports.

    Example:
        >>> import numpy as np
        >>> integer_ids(np.array([b"000123", b"7"]))[0].tolist()
        [123, 7]
        >>> integer_ids(np.array(["12", "x1"]))[1]
        {1: 'x1'}
    """
    try:
        if cells.dtype.kind in "SU":
            return cells.astype(np.int64), {}
    except (ValueError, OverflowError):
        pass
    values: list[int | None] = []
    bad: dict[int, str] = {}
    for row, cell in enumerate(cells.tolist()):
        text = cell.decode("utf-8", "replace") if isinstance(cell, bytes) else str(cell)
        try:
            values.append(int(text.strip()))
        except ValueError:
            values.append(None)
            if text.strip():
                bad[row] = text.strip()[:80]
    out = np.empty(len(values), object)
    out[:] = values
    return out, bad


def _refuse_frame(value: Any, method: str) -> None:
    """A DataFrame given to ``from_columns``/``from_records`` is a clear error naming the
    right method, not a confusing failure row by row."""
    if is_frame(value):
        module = type(value).__module__.split(".")[0]
        raise ConfigError(
            f"{method} was given a {module} {type(value).__name__}; "
            "use from_frame(frame, mapping=...) for DataFrames, Arrow tables and DuckDB relations"
        )


def union_patients(tables: Iterable[PatientTable]) -> IdArray:
    """The sorted union of every table's patient ids."""
    id_arrays = [t.patient_ids for t in tables if len(t.patient_ids)]
    if not id_arrays:
        return np.empty(0, "U1")
    kinds = {a.dtype.kind in "iu" for a in id_arrays}
    if len(kinds) > 1:
        raise ConfigError("patient ids are integers in some sources and text in others")
    return np.unique(np.concatenate(id_arrays))
