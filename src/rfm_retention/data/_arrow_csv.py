"""Reading a CSV file's columns with pyarrow's multithreaded parser (the ``fast`` extra).

:func:`read_columns` is the one place the CSV loading path chooses its reader:
``"numpy"`` (:func:`~rfm_retention.data._csv.read_csv_columns`, always
available), ``"arrow"`` (pyarrow's ``csv.read_csv``) or ``"auto"`` (arrow when
pyarrow is installed). Both give the same :class:`~rfm_retention.data._csv.CsvColumns`.

Arrow reads only files it reads exactly as the numpy reader would: UTF-8 text
without quote characters, lone carriage returns, blank lines or lines longer
than :data:`~rfm_retention.data._csv.MAX_LINE_BYTES`, every row as wide as the
header, every ISO time and number converting cleanly. Anything else (a bad
date, a ragged row, undecodable bytes, a quoted cell, a date format to apply)
is handed to the numpy reader, so errors are the numpy reader's, with the same
messages and file lines: arrow is only ever a faster way to the same columns.
The file is checked for those cases in bounded chunks on one thread while
arrow parses it on the others.
Cells of text columns go through the numpy reader's own cell functions, so
spaces are trimmed and wide cells kept apart exactly as there.
"""

from __future__ import annotations

import codecs
import importlib.util
import io
import mmap
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrow_bits import bitmap_flags
from rfm_retention._optional import import_optional
from rfm_retention._progress import Progress, report_progress
from rfm_retention.data._csv import (
    _NUMBER_KINDS,
    MAX_LINE_BYTES,
    CsvColumns,
    _convert,
    _gather,
    _join,
    _positions,
    read_csv_columns,
)
from rfm_retention.data._csv_options import CSV_READERS, DEFAULT_OPTIONS, CsvOptions, CsvReader
from rfm_retention.data._schema import Schema
from rfm_retention.errors import ConfigError, MissingDependencyError

__all__ = ["CSV_READERS", "ArrowRead", "CsvReader", "arrow_available", "arrow_chosen",
           "hash_encoded", "read_arrow", "read_arrow_csv_columns", "read_columns"]

_SCAN_BYTES = 8 << 20  # bytes checked at a time, while arrow reads the file
_NAT = np.iinfo(np.int64).min


def arrow_available() -> bool:
    """Whether pyarrow is installed (found without importing it).

    Example:
        >>> isinstance(arrow_available(), bool)
        True
    """
    return importlib.util.find_spec("pyarrow") is not None


def read_columns(
    path: str | os.PathLike[str],
    schema: Schema,
    options: CsvOptions = DEFAULT_OPTIONS,
    *,
    progress: Progress | None = None,
) -> CsvColumns:
    """The schema's columns of a CSV file, read by ``options.reader``; same result whichever
    reads.

    ``"auto"`` uses arrow when pyarrow is installed, ``"arrow"`` requires it
    (:class:`~rfm_retention.errors.MissingDependencyError` otherwise). Files
    arrow cannot read exactly as the numpy reader would go to the numpy reader.
    ``progress`` hears of the bytes read (stage ``"read csv"``): chunk by
    chunk from the numpy reader, at the start and the end from arrow's.

    Example:
        >>> import tempfile, pathlib
        >>> from rfm_retention.data import VisitLog
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "v.csv"
        >>> _ = path.write_text("patient_id,visit_time,amount\\np1,2024-01-05,12.5\\n")
        >>> read = read_columns(path, VisitLog.SCHEMA, CsvOptions(reader="numpy"))
        >>> read.columns["amount"].tolist(), read.lines.tolist()
        ([12.5], [2])
    """
    if arrow_chosen(options.reader):
        read = read_arrow(path, schema, options, progress)
        if read is not None:
            return read.rows(0, len(read))
    return read_csv_columns(path, schema, options, progress=progress)


def arrow_chosen(reader: CsvReader) -> bool:
    """Whether ``reader`` asks for arrow's reader (``"auto"`` with pyarrow installed, or
    ``"arrow"``); ConfigError for an unknown reader, MissingDependencyError for ``"arrow"``
    without pyarrow.

    Example:
        >>> arrow_chosen("numpy")
        False
    """
    if reader not in CSV_READERS:
        raise ConfigError(f"reader must be one of {list(CSV_READERS)}, not {reader!r}")
    if reader == "arrow" and not arrow_available():
        raise MissingDependencyError("pyarrow", "fast", "reading CSV files with reader='arrow'")
    return reader == "arrow" or (reader == "auto" and arrow_available())


def read_arrow(
    path: str | os.PathLike[str],
    schema: Schema,
    options: CsvOptions = DEFAULT_OPTIONS,
    progress: Progress | None = None,
) -> ArrowRead | None:
    """The file read by arrow (its rows become numpy columns on demand), or None when the
    numpy reader must read it; ``progress`` hears of the bytes at the start and the end.

    Example:
        >>> import tempfile, pathlib
        >>> from rfm_retention.data import VisitLog
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "v.csv"
        >>> _ = path.write_text("patient_id,visit_time,amount\\n"
        ...                     "p1,2024-01-05,3\\np2,2024-01-06,4\\n")
        >>> read = read_arrow(path, VisitLog.SCHEMA)
        >>> len(read), read.rows(1, 2).columns["amount"].tolist(), read.rows(1, 2).lines.tolist()
        (2, [4.0], [3])
    """
    size = _size(path)
    report_progress(progress, "read csv", 0, size, "bytes")
    read = _read_arrow(path, schema, options)
    if read is not None:
        report_progress(progress, "read csv", size or 0, size, "bytes")
    return read


def _size(path: str | os.PathLike[str]) -> int | None:
    try:
        return os.stat(path).st_size or None
    except OSError:
        return None


def read_arrow_csv_columns(
    path: str | os.PathLike[str], schema: Schema, options: CsvOptions = DEFAULT_OPTIONS
) -> CsvColumns | None:
    """The file's columns read by pyarrow, or None when the numpy reader must read it.

    None means the file is not one arrow reads exactly as the numpy reader
    does (see the module's docstring); the numpy reader then gives the result
    or the error.

    Example:
        >>> import tempfile, pathlib
        >>> from rfm_retention.data import VisitLog
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "v.csv").write_text("patient_id,visit_time,amount\\np1,2024-01-05,3\\n")
        >>> read_arrow_csv_columns(folder / "v.csv", VisitLog.SCHEMA).columns["amount"].tolist()
        [3.0]
        >>> _ = (folder / "q.csv").write_text('patient_id,visit_time,amount\\n"p1",2024-01-05,3\\n')
        >>> read_arrow_csv_columns(folder / "q.csv", VisitLog.SCHEMA) is None
        True
    """
    read = _read_arrow(path, schema, options)
    return None if read is None else read.rows(0, len(read))


@attrs.frozen
class ArrowRead:
    """The wanted columns of a file arrow has read, as an arrow table (a few bytes per
    cell), turned into the numpy reader's columns a range of rows at a time, so a
    streamed read holds one batch of numpy columns, not the whole file's."""

    table: Any
    position: Mapping[str, int]
    kinds: Mapping[str, str]
    iso: bool

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def column(self, field: str) -> npt.NDArray[Any]:
        """One field's cells of every row as the numpy reader reads them."""
        return _numpy_column(self.table.column(f"c{self.position[field]}"), self.kinds[field],
                             self.iso)

    def coded_column(self, field: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
        """One text field as (each row's position among the distinct cells, the distinct
        cells as the numpy reader reads them), by arrow's hash encoding: a column of few
        distinct values (departments) without a numpy text value per row."""
        pa = import_optional("pyarrow", "fast", "reading CSV files with reader='arrow'")
        column = self.table.column(f"c{self.position[field]}")
        chunks = [c for c in column.chunks if len(c)]
        if not chunks:
            return np.zeros(0, np.int64), np.zeros(0, "S1")
        encoded = hash_encoded(pa.chunked_array(chunks))
        positions = _values([c.indices for c in encoded.chunks], np.int32, 0)
        cells = _numpy_column(pa.chunked_array([encoded.chunk(0).dictionary]),
                              self.kinds[field], self.iso)
        return positions.astype(np.int64), cells

    def rows(self, start: int, stop: int, *, bytes_ids: bool = False) -> CsvColumns:
        """Rows ``start`` to ``stop`` (data rows, from 0) as the numpy reader reads them;
        with ``bytes_ids``, ASCII ids stay ``bytes_`` (a quarter of ``str_``'s memory, for
        a caller that validates and builds them, which decodes only the distinct ids)."""
        part = self.table.slice(start, max(stop - start, 0))
        columns = {field: _numpy_column(part.column(f"c{at}"), self.kinds[field], self.iso,
                                        bytes_ids)
                   for field, at in self.position.items()}
        return CsvColumns(columns, np.arange(start + 2, start + part.num_rows + 2,
                                             dtype=np.int64))


def hash_encoded(column: Any) -> Any:
    """A non-empty chunked arrow column dictionary-encoded by arrow's hash, every chunk with
    one dictionary: the one arrow's encoding of a chunked column shares between its chunks
    (unifying a million-entry dictionary across hundreds of chunks would cost seconds),
    unified only where the chunks' dictionaries differ."""
    pa = import_optional("pyarrow", "fast", "reading CSV files with reader='arrow'")
    pc = import_optional("pyarrow.compute", "fast", "reading CSV files with reader='arrow'")
    pool = pa.system_memory_pool()
    encoded = pc.dictionary_encode(column, memory_pool=pool)
    first = encoded.chunk(0).dictionary
    if all(c.dictionary.buffers()[1].address == first.buffers()[1].address
           and len(c.dictionary) == len(first) for c in encoded.chunks):
        return encoded
    return encoded.unify_dictionaries(memory_pool=pool)


def _read_arrow(
    path: str | os.PathLike[str], schema: Schema, options: CsvOptions
) -> ArrowRead | None:
    """arrow's reading of a plain file (see the module's docstring), else None."""
    mapping, delimiter = options.mapping, options.delimiter
    if set(mapping) - set(schema.names) or not _plain_delimiter(delimiter):
        return None
    if not _is_utf8(options.encoding):
        return None
    name = os.fspath(path)
    iso = options.parsing.format is None
    kinds = {f.name: f.kind for f in schema.fields}
    try:
        with open(name, "rb") as handle:
            header = _header(handle, delimiter)
            try:
                position = _positions(header or [], schema, mapping, name)
            except ConfigError:  # a column is missing: numpy's reader words the error
                return None
            if header is None:
                return None
            with ThreadPoolExecutor(1) as pool:  # arrow reads while the file is checked
                reading = pool.submit(_arrow_table, name, header, position, kinds, iso, delimiter)
                plain = _plain_file(handle)
                table = reading.result()
    except OSError:
        return None
    if not plain or table is None or _has_blank_lines(table, schema, position):
        return None
    return ArrowRead(table, dict(position), kinds, iso)


def _has_blank_lines(table: Any, schema: Schema, position: Mapping[str, int]) -> bool:
    """Whether arrow's table may hold a blank line of the file (which arrow, told not to skip
    them, reads as a row of empty cells, and the numpy reader counts as a line but no row):
    some row's id is empty. Such a file is the numpy reader's (an empty id is an error
    either way, which that reader words)."""
    ids = schema.fields[0]
    if ids.kind != "id" or ids.name not in position:
        return True
    column = table.column(f"c{position[ids.name]}")
    for chunk in column.chunks:
        n = len(chunk)
        offsets = np.frombuffer(chunk.buffers()[1], np.int32)[chunk.offset : chunk.offset + n + 1]
        if n and int(np.diff(offsets).min()) == 0:
            return True
    return False


# ---------------------------------------------------------------- is the file plain?
def _plain_delimiter(delimiter: str) -> bool:
    return len(delimiter) == 1 and delimiter not in "\r\n\"" and ord(delimiter) < 128


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
    except LookupError:
        return False


def _header(handle: IO[bytes], delimiter: str) -> list[str] | None:
    """The header's names (stripped), or None when it is not a plain, unique list of names."""
    raw = handle.readline(MAX_LINE_BYTES + 1)
    raw = raw.removeprefix(codecs.BOM_UTF8)
    if not raw.endswith(b"\n") or b'"' in raw or b"\r" in raw[:-2]:
        return None
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return None
    names = [cell.strip() for cell in text.split(delimiter)]
    if not text.strip() or len(set(names)) != len(names):
        return None
    return names


def _plain_file(handle: io.BufferedReader) -> bool:
    """:func:`_plain_body` of the rest of the file, from a memory map of it where the file
    is plain ASCII without carriage returns (the usual case): then each check is one byte
    search or reduction over the mapped file, and nothing is copied."""
    start = handle.tell()
    try:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # an empty file, or one that cannot be mapped
        return _plain_body(handle)
    with mapped:
        if mapped.find(b'"', start) >= 0:
            return False
        if mapped.find(b"\r", start) >= 0 or not _ascii(mapped, start):
            return _plain_body(handle)  # line ends and UTF-8 checked chunk by chunk
        return _short_lines(mapped, start)


def _ascii(mapped: mmap.mmap, start: int) -> bool:
    """Whether every byte of the map from ``start`` on is ASCII (one reduction)."""
    data = np.frombuffer(mapped, np.uint8)[start:]
    try:
        return data.size == 0 or int(data.max()) < 128
    finally:
        del data  # the map cannot close while an array views it


def _short_lines(mapped: mmap.mmap, start: int) -> bool:
    """Whether no line of the map from ``start`` on is longer than the numpy reader accepts
    (a search for the first and last line break of each window)."""
    run = 0  # bytes since the last line break
    for at in range(start, len(mapped), _SCAN_BYTES):
        stop = min(at + _SCAN_BYTES, len(mapped))
        end = mapped.rfind(b"\n", at, stop)
        first = -1 if end < 0 else mapped.find(b"\n", at, stop) - at
        after = _line_run(run, first, end - at if end >= 0 else -1, stop - at)
        if after is None:
            return False
        run = after
    return True


def _line_run(run: int, first: int, last: int, size: int) -> int | None:
    """The bytes since the last line break after a window of ``size`` bytes whose first and
    last line breaks are at ``first`` and ``last`` (-1: none), given ``run`` before it; None
    when a line is longer than the numpy reader accepts (lines inside one window are
    shorter than that: only the one across windows is measured)."""
    if last < 0:
        run += size
    elif run + first > MAX_LINE_BYTES:
        return None
    else:
        run = size - last - 1
    return None if run > MAX_LINE_BYTES else run


def _plain_body(handle: io.BufferedIOBase) -> bool:
    """Whether the rest of the file is UTF-8 with no quote character, no lone carriage
    return and no line longer than the numpy reader accepts (blank lines are found in
    arrow's table: see :func:`_has_blank_lines`). Each check is a byte search (no line is
    counted); the file is read in bounded chunks, into one reused buffer (a new one per
    chunk is new memory for the system to clear every time)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    run = 0  # bytes since the last line break
    tail = b""  # the chunk before's last byte
    buffer = bytearray(_SCAN_BYTES)
    while True:
        size = handle.readinto(buffer)
        if not size:
            break
        chunk = buffer if size == len(buffer) else buffer[:size]
        if b'"' in chunk:
            return False
        if b"\r" in chunk or tail == b"\r":
            joined = tail + chunk
            if joined.count(b"\r") - (joined[-1:] == b"\r") != joined.count(b"\r\n"):
                return False
        tail = bytes(chunk[-1:])
        end = chunk.rfind(b"\n")
        after = _line_run(run, chunk.find(b"\n"), end, len(chunk))
        if after is None:
            return False
        run = after
        if not chunk.isascii():
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
    if tail == b"\r":
        return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# ---------------------------------------------------------------- arrow's reading
def _arrow_table(
    name: str,
    header: list[str],
    position: Mapping[str, int],
    kinds: Mapping[str, str],
    iso: bool,
    delimiter: str,
) -> Any:
    """The wanted columns as an arrow Table, or None when arrow refuses the file."""
    pa = import_optional("pyarrow", "fast", "reading CSV files with reader='arrow'")
    csv = import_optional("pyarrow.csv", "fast", "reading CSV files with reader='arrow'")
    types = {}
    for field, at in position.items():
        kind = kinds[field]
        if kind == "time" and iso:
            types[f"c{at}"] = pa.timestamp("s")
        elif kind in _NUMBER_KINDS:
            types[f"c{at}"] = pa.float64()
        else:
            types[f"c{at}"] = pa.string()
    try:
        return csv.read_csv(
            name,
            read_options=csv.ReadOptions(
                column_names=[f"c{i}" for i in range(len(header))], skip_rows=1,
                use_threads=True,
            ),
            parse_options=csv.ParseOptions(
                delimiter=delimiter, quote_char=False, ignore_empty_lines=False
            ),
            convert_options=csv.ConvertOptions(
                column_types=types, include_columns=list(types), null_values=[""],
                strings_can_be_null=False,
            ),
            # malloc's pool: arrow's default (mimalloc) returns and re-faults its pages
            # on every block, which costs more system time than the parse itself
            memory_pool=pa.system_memory_pool(),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
        return None


def _numpy_column(column: Any, kind: str, iso: bool, bytes_ids: bool = False
                  ) -> npt.NDArray[Any]:
    """One arrow column as the numpy reader gives it (times, numbers, or its cell text;
    ASCII ids as bytes with ``bytes_ids``)."""
    chunks = [c for c in column.chunks if len(c)] or list(column.chunks[:1])
    if kind == "time" and iso:
        return _values(chunks, np.int64, _NAT).view("datetime64[s]")
    if kind in _NUMBER_KINDS:
        return _values(chunks, np.float64, np.nan)
    if len(chunks) > 1 and sum(_data_bytes(c) for c in chunks) < 2**31:
        pa = import_optional("pyarrow", "fast", "reading CSV files with reader='arrow'")
        chunks = [column.combine_chunks(memory_pool=pa.system_memory_pool())]  # one gather
    return _join([_convert(_cells(c), kind, iso, bytes_ids) for c in chunks])


def _values(chunks: list[Any], dtype: type[Any], missing: Any) -> npt.NDArray[Any]:
    """Fixed-width arrow arrays' values, one after another in one new array, ``missing``
    where arrow has a null."""
    out = np.empty(sum(len(c) for c in chunks), dtype)
    at = 0
    for chunk in chunks:
        n, first = len(chunk), chunk.offset
        part = out[at : at + n]
        part[:] = np.frombuffer(chunk.buffers()[1], dtype)[first : first + n]
        if chunk.null_count:
            part[~bitmap_flags(chunk.buffers()[0], first, n)] = missing
        at += n
    return out


def _data_bytes(chunk: Any) -> int:
    """How many bytes of text a string arrow array's cells hold."""
    offsets = np.frombuffer(chunk.buffers()[1], np.int32)
    return int(offsets[chunk.offset + len(chunk)]) - int(offsets[chunk.offset])


def _cells(chunk: Any) -> npt.NDArray[Any]:
    """A string arrow array's cells as the numpy reader's splitter gives them (bytes)."""
    n = len(chunk)
    offsets = np.frombuffer(chunk.buffers()[1], np.int32)[chunk.offset : chunk.offset + n + 1]
    data = chunk.buffers()[2]
    start, stop = int(offsets[0]), int(offsets[-1])
    # the cells' bytes and zeros after them: one byte more than the cells is the buffer (as
    # the numpy reader's ends with its line break), the rest lets reads run past a cell's end
    padded = np.zeros(stop - start + 65, np.uint8)
    if data is not None:
        padded[: stop - start] = np.frombuffer(data, np.uint8)[start:stop]
    lo = offsets[:-1].astype(np.int64) - start
    hi = offsets[1:].astype(np.int64) - start
    return _gather(padded[: stop - start + 1], padded, lo, hi)
