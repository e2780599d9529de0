"""``rfm-retention sample``: write a synthetic cohort's tables as the CSV files the loaders read.

Every source goes to its default file name (``visits.csv``, ``ratings.csv``
...) with the library's field names as the header, so
``PatientData.from_directory(DIR)`` and every command's default column
names read them back unchanged. ``truth.csv`` adds who churned, from when
and why, to score warnings against.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from rfm_retention.cli._common import columns_to_rows, write_csv
from rfm_retention.data._bundle import SOURCE_FILES
from rfm_retention.data._table import PatientTable
from rfm_retention.errors import ConfigError
from rfm_retention.testing import (
    SAMPLE_END,
    SAMPLE_PATIENTS,
    SAMPLE_SEED,
    SAMPLE_START,
    SyntheticCohort,
    synthetic_cohort,
)

__all__ = ["TRUTH_FILE", "csv_text", "register", "write_cohort"]

TRUTH_FILE = "truth.csv"


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "sample",
        help="write a synthetic cohort's tables (visits.csv, ratings.csv, ...) and truth.csv",
        description="Draw a synthetic cohort (by default the demo's sample: "
        f"{SAMPLE_PATIENTS} patients, seed {SAMPLE_SEED}, {SAMPLE_START}..{SAMPLE_END}) and "
        "write one CSV per source, in the column layout the loaders read by default, plus "
        f"{TRUTH_FILE} (patient_id, churned, churned_from, degrading_from, reason, "
        "primary_diagnosis).",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    parser.add_argument(
        "--patients", type=int, default=SAMPLE_PATIENTS, metavar="N", help="number of patients"
    )
    parser.add_argument("--seed", type=int, default=SAMPLE_SEED, metavar="S", help="random seed")
    parser.add_argument(
        "--start", type=_date, default=SAMPLE_START, metavar="DATE", help="first day (ISO)"
    )
    parser.add_argument("--end", type=_date, default=SAMPLE_END, metavar="DATE", help="last day")
    parser.set_defaults(func=run_sample)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def run_sample(args: argparse.Namespace) -> int:
    if args.patients < 1:
        raise ConfigError(f"--patients must be at least 1, got {args.patients}")
    cohort = synthetic_cohort(args.patients, args.seed, args.start, args.end)
    written = write_cohort(cohort, args.out)
    print(
        f"wrote {len(written)} files for {cohort.n_patients} patients "
        f"({cohort.start}..{cohort.end}, seed {cohort.seed}) to {args.out}",
        file=sys.stderr,
    )
    return 0


def write_cohort(cohort: SyntheticCohort, directory: str | os.PathLike[str]) -> list[str]:
    """Write every source of ``cohort`` and its truth as CSV files; returns the paths.

    Example:
        >>> import tempfile
        >>> from rfm_retention.data import PatientData
        >>> from rfm_retention.testing import synthetic_cohort
        >>> cohort = synthetic_cohort(50, seed=3)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     _ = write_cohort(cohort, folder)
        ...     len(PatientData.from_directory(folder).visits) == len(cohort.data.visits)
        True
    """
    folder = os.fspath(directory)
    paths = []
    for name, table in cohort.data.sources():
        path = os.path.join(folder, SOURCE_FILES[name][0])
        _write(path, table_columns(table))
        paths.append(path)
    path = os.path.join(folder, TRUTH_FILE)
    _write(path, {name: csv_text(col) for name, col in cohort.truth.to_columns().items()})
    paths.append(path)
    return paths


def table_columns(table: PatientTable) -> dict[str, npt.NDArray[np.str_]]:
    """Every field of ``table``'s schema as CSV text, in schema order, rows in input order."""
    rows = np.argsort(table.source_row, kind="stable")
    columns: dict[str, npt.NDArray[np.str_]] = {}
    for field in table.SCHEMA.fields:
        values = table.columns[field.name][rows]
        if field.kind == "count":
            columns[field.name] = np.where(values < 0, "", values.astype(str))
        else:
            columns[field.name] = csv_text(values)
    return columns


def csv_text(values: npt.NDArray[Any]) -> npt.NDArray[np.str_]:
    """Column values as the text the loaders read back to the same values.

    Times as ISO 8601 (``2024-03-01T08:30:00``; a column that is all
    midnights as dates, ``2024-03-01``), NaN and NaT as empty cells, flags as
    ``true``/``false``, whole floats without a decimal point and other floats
    in their shortest exact form.

    Example:
        >>> csv_text(np.array([1.5, 88.0, np.nan])).tolist()
        ['1.5', '88', '']
    """
    if values.dtype.kind == "M":
        seconds = values.astype("datetime64[s]")
        midnight = bool(np.all(np.isnat(seconds) | (seconds == seconds.astype("datetime64[D]"))))
        text = np.datetime_as_string(seconds, unit="D" if midnight else "s")
        return np.where(np.isnat(seconds), "", text)
    if values.dtype.kind == "f":
        whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**53)
        out = [
            str(int(v)) if w else repr(v)
            for v, w in zip(values.tolist(), whole.tolist(), strict=True)
        ]
        text = np.array(out, dtype=str) if out else np.empty(0, "U1")
        return np.where(np.isnan(values), "", text)
    if values.dtype.kind == "b":
        return np.where(values, "true", "false")
    result: npt.NDArray[np.str_] = values.astype(str)
    return result


def _write(path: str, columns: dict[str, npt.NDArray[np.str_]]) -> None:
    header, rows = columns_to_rows(columns)
    write_csv(path, header, rows)
