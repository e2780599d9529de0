"""How a CSV file is read, as one frozen value built once where the caller's keywords arrive.

The public entry points (:meth:`PatientTable.from_csv
<rfm_retention.data.PatientTable.from_csv>`, :meth:`PatientData.from_directory
<rfm_retention.data.PatientData.from_directory>`, the command line's streamed
features) take the reading options as keywords, so users keep writing
``from_csv(path, delimiter=";")``; each builds one :class:`CsvOptions` and the
readers below it (numpy's, arrow's, the streamed one, the validation of the
cells) take that object instead of repeating the keyword list. The values are
checked where they are used, as before, so a bad option fails with the same
error at the same point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

from rfm_retention._frozen import frozen_mapping
from rfm_retention.data._schema import OnError
from rfm_retention.data._time import ISO, DateParsing

__all__ = ["CSV_READERS", "DEFAULT_OPTIONS", "CsvOptions", "CsvReader", "IdType"]

CsvReader = Literal["auto", "numpy", "arrow"]
"""Which CSV reader loads a file: ``auto`` (arrow when pyarrow is installed), or one named."""

CSV_READERS: tuple[CsvReader, ...] = ("auto", "numpy", "arrow")

IdType = Literal["text", "int"]
"""How a file's patient ids are read: as text, as written (default), or as integers."""


def _read_only(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    """A private read-only copy, so the options never change after they are built."""
    return frozen_mapping(mapping or {})


@attrs.frozen
class CsvOptions:
    """How one CSV file is read and its rows validated (every ``from_csv`` keyword but
    ``progress``).

    Attributes:
        mapping: field name -> the file's column name; unmapped fields are looked
            up under their own name (a read-only copy of what was given).
        parsing: how text dates are read.
        on_error: ``"raise"`` on the first bad row's file, or ``"quarantine"``.
        delimiter: the one ASCII character between cells.
        encoding: the file's text encoding.
        id_type: patient ids read as ``"text"`` (as written) or ``"int"``.
        reader: ``"auto"``, ``"numpy"`` or ``"arrow"``.

    Example:
        >>> options = CsvOptions(mapping={"patient_id": "PID"}, delimiter=";")
        >>> options.mapping["patient_id"], options.delimiter, options.reader
        ('PID', ';', 'auto')
        >>> CsvOptions().mapping
        mappingproxy({})
    """

    mapping: Mapping[str, str] = attrs.field(default=None, converter=_read_only)
    parsing: DateParsing = ISO
    on_error: OnError = "raise"
    delimiter: str = ","
    encoding: str = "utf-8"
    id_type: IdType = "text"
    reader: CsvReader = "auto"


DEFAULT_OPTIONS = CsvOptions()
"""Every option at its default (a comma-separated UTF-8 file, ISO dates, text ids)."""
