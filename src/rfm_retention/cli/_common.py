"""Pieces every sub-command shares: column-mapping options, loading, safe CSV output."""

from __future__ import annotations

import argparse
import csv
import functools
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO, TypeVar

import numpy as np

from rfm_retention._cells import escape_cell
from rfm_retention._progress import Progress
from rfm_retention.data import DateParsing, PatientData, RejectedRows
from rfm_retention.data._arrow_csv import CSV_READERS
from rfm_retention.data._bundle import SOURCE_FILES
from rfm_retention.data._csv import MissingColumnError
from rfm_retention.data._table import PatientTable
from rfm_retention.errors import ConfigError

__all__ = [
    "add_input_options",
    "add_signal_options",
    "cli_hint",
    "file_mapping",
    "ids_like",
    "load_bundle",
    "load_table",
    "load_typed",
    "parse_mapping",
    "progress_of",
    "read_file",
    "read_rows",
    "report_rejected",
    "safe_cell",
    "write_csv",
]

T = TypeVar("T")
TableT = TypeVar("TableT", bound=PatientTable)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that reads files takes: --map, --dayfirst, --date-format."""
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="read the library's FIELD from the file's COLUMN (repeatable), e.g. "
        "--map patient_id=PATIENT --map visit_time=START; prefix with a source name to map "
        "another file's column: --map ratings.score=SCORE",
    )
    parser.add_argument(
        "--dayfirst", action="store_true", help="read free-form dates day first (03/01 = 3 Jan)"
    )
    parser.add_argument(
        "--date-format", metavar="FMT", help="strptime format of the dates, e.g. %%d.%%m.%%Y"
    )
    parser.add_argument(
        "--quarantine",
        action="store_true",
        help="set bad rows aside (reported on stderr) instead of failing",
    )
    parser.add_argument(
        "--id-type",
        choices=("text", "int"),
        default="text",
        help="read patient ids as text, as written (default: 000123 keeps its zeros), or as "
        "integers (the same ids and order as integer arrays)",
    )
    parser.add_argument(
        "--encoding",
        default="utf-8",
        metavar="NAME",
        help="text encoding of the input files (default utf-8), e.g. latin-1 or cp1252",
    )
    parser.add_argument(
        "--csv-reader",
        choices=CSV_READERS,
        default="auto",
        help="CSV parser: auto (default: pyarrow's when the fast extra is installed), numpy "
        "(built in) or arrow; both give the same tables and the same errors",
    )


def add_signal_options(parser: argparse.ArgumentParser) -> None:
    """--ratings, --complaints, ... : the optional sources besides visits."""
    for name in SOURCE_FILES:
        if name != "visits":
            parser.add_argument(f"--{name}", metavar="FILE", help=f"{name} CSV file (optional)")


def parse_mapping(items: Sequence[str]) -> dict[str, dict[str, str]]:
    """``["patient_id=PATIENT", "ratings.score=S"]`` -> ``{"visits": {...}, "ratings": {...}}``.

    A field without a source prefix belongs to every source that has it (so
    ``patient_id=PATIENT`` maps the id column of every file).
    """
    out: dict[str, dict[str, str]] = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise ConfigError(f"--map takes FIELD=COLUMN, got {item!r}")
        source, dot, name = field.strip().rpartition(".")
        if dot and source not in SOURCE_FILES:
            raise ConfigError(f"--map {item!r}: unknown source {source!r}")
        if dot and name not in SOURCE_FILES[source][1].SCHEMA.names:
            fields = list(SOURCE_FILES[source][1].SCHEMA.names)
            raise ConfigError(f"--map {item!r}: {source} has no field {name!r}; fields are "
                              f"{fields}")
        targets = [source] if dot else [
            s for s, (_, cls) in SOURCE_FILES.items() if name in cls.SCHEMA.names
        ]
        if not targets:
            raise ConfigError(f"--map {item!r}: no source has a field named {name!r}")
        for target in targets:
            out.setdefault(target, {})[name] = column.strip()
    return out


def _unprefixed(items: Sequence[str]) -> dict[str, str]:
    """The ``FIELD=COLUMN`` items without a source prefix, ``{field: column}``."""
    return {
        field.strip(): column.strip()
        for field, _, column in (item.partition("=") for item in items)
        if "." not in field
    }


def _header(path: str, encoding: str) -> list[str]:
    """The first row of a CSV file, stripped, without a byte-order mark ([] if unreadable)."""
    try:
        with open(path, newline="", encoding=encoding) as handle:
            row = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    return [cell.strip().lstrip("\ufeff") for cell in row]


def file_mapping(args: argparse.Namespace, source: str, path: str) -> dict[str, str]:
    """The ``--map`` entries for one file: an unprefixed optional field only where its column is.

    ``--map department=ENCOUNTERCLASS`` maps the department of every file that
    has an ``ENCOUNTERCLASS`` column and leaves the others alone; a prefixed
    entry (``--map appointments.department=CLINIC``) always applies, and a
    required field's column must be there (the error names the file's prefix).
    """
    mapping = dict(parse_mapping(args.map).get(source, {}))
    header = _header(path, args.encoding)
    schema = SOURCE_FILES[source][1].SCHEMA
    optional = {f.name for f in schema.fields if not f.required}
    prefixed = parse_mapping([m for m in args.map if "." in m.partition("=")[0]])
    for field, column in _unprefixed(args.map).items():
        if (header and field in optional and column not in header
                and field not in prefixed.get(source, {})):
            mapping.pop(field, None)
    return mapping


def cli_hint(error: MissingColumnError) -> ConfigError:
    """The library's missing-column error reworded for the command line (``--map``)."""
    return ConfigError(
        f"{error.name}: no column {error.column!r} for field {error.field!r}; the header "
        f"has {error.header}. Hint: map this file's column with "
        f"--map {error.source}.{error.field}=COLUMN"
    )


def progress_of(args: argparse.Namespace) -> Progress | None:
    """The command's progress bar (None when stderr is not a terminal, or outside ``main``)."""
    progress: Progress | None = getattr(args, "progress", None)
    return progress


def _parsing(args: argparse.Namespace) -> DateParsing:
    return DateParsing(format=args.date_format, dayfirst=args.dayfirst)


def report_rejected(path: str, rejected: RejectedRows) -> None:
    """Say on stderr how many rows of ``path`` were set aside, and the first reasons."""
    if rejected:
        print(
            f"{path}: {len(rejected)} row(s) set aside: "
            + "; ".join(str(i) for i in rejected.issues[:5]),
            file=sys.stderr,
        )


def read_file(args: argparse.Namespace, source: str, path: str, reader: Callable[..., T]) -> T:
    """``reader(path, ...)`` with the command's --map/--dayfirst/--date-format/--encoding/--id-type
    for one ``source`` file; a missing column is reworded for the command line (``--map``)."""
    try:
        return reader(path, mapping=file_mapping(args, source, path), parsing=_parsing(args),
                      encoding=args.encoding, id_type=args.id_type)
    except MissingColumnError as error:
        raise cli_hint(error) from None


def load_typed(args: argparse.Namespace, source: str, path: str, table_cls: type[TableT]
               ) -> TableT:
    """Load one ``source`` file as ``table_cls``, with the command's input options and
    --quarantine (rows set aside are reported on stderr)."""
    read = functools.partial(table_cls.from_csv, progress=progress_of(args),
                             reader=args.csv_reader,
                             on_error="quarantine" if args.quarantine else "raise")
    table = read_file(args, source, path, read)
    report_rejected(path, table.rejected)
    return table


def load_table(args: argparse.Namespace, source: str, path: str) -> PatientTable:
    """Load one source file with the command's --map/--dayfirst/--date-format/--quarantine."""
    return load_typed(args, source, path, SOURCE_FILES[source][1])


def load_bundle(args: argparse.Namespace) -> PatientData:
    """Visits plus every optional source named on the command line."""
    tables: dict[str, Any] = {"visits": load_table(args, "visits", args.visits)}
    for name in SOURCE_FILES:
        path = getattr(args, name, None)
        if name != "visits" and path:
            tables[name] = load_table(args, name, path)
    return PatientData(**tables)


def read_rows(path: str, required: Iterable[str]) -> list[dict[str, str]]:
    """The rows of a small CSV file with a header, as dicts; ``required`` columns must be there.

    Example:
        ``read_rows("exclusions.csv", ("patient_id", "since"))`` gives
        ``[{"patient_id": "P1", "since": "2024-02-01"}, ...]``.
    """
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = set(required) - set(reader.fieldnames or ())
        if missing:
            raise ConfigError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return list(reader)


def ids_like(values: list[str], id_like: Any, *, where: str) -> Any:
    """Patient ids read as text, turned into integers when the visit log's ids are integers."""
    if np.asarray(id_like).dtype.kind not in "iu":
        return values
    out = []
    for row, value in enumerate(values):
        try:
            out.append(int(value))
        except ValueError:
            raise ConfigError(
                f"{where} row {row + 1}: patient id {value!r} is not an integer like the "
                "visits' ids"
            ) from None
    return out


def safe_cell(value: Any) -> str:
    """Text for a CSV cell that a spreadsheet cannot run as a formula (reversibly).

    The library's rule (:func:`rfm_retention._cells.escape_cell`): a cell
    starting with a formula character or with ``'`` gets a leading ``'``;
    plain numbers (``-3.5``) are left as they are. The library's readers
    remove exactly that quote.
    """
    return escape_cell(value)


def write_csv(
    path: str | None,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    stdout: TextIO | None = None,
) -> None:
    """Write a header and rows, every cell through :func:`safe_cell`; ``-``/None = stdout."""
    def emit(handle: TextIO) -> None:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([safe_cell(v) for v in row] for row in rows)

    if path is None or path == "-":
        emit(stdout or sys.stdout)
        return
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        emit(handle)


def columns_to_rows(columns: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Header and row lists from a mapping of equal-length columns (arrays or lists)."""
    header = list(columns)
    values = [list(getattr(c, "tolist", lambda c=c: list(c))()) for c in columns.values()]
    return header, [list(r) for r in zip(*values, strict=True)] if values else []
