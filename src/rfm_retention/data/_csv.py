"""Reading a CSV file into a schema's columns: streamed in chunks, parsed in bulk.

The file is read as bytes in chunks of whole lines, so memory stays bounded
whatever its size, and a file without line breaks fails as soon as one line
outgrows :data:`MAX_LINE_BYTES` instead of being read whole. A chunk without
quote characters is split into cells with numpy (newline and delimiter
positions, one gather per column); only chunks with quoted cells go through the
:mod:`csv` module. ISO dates and plain numbers are converted per chunk while
the chunk is in memory; a chunk whose cells do not all convert cleanly keeps
its text, so the validator reports each bad cell exactly as it would for any
other input.

Every data row keeps the file line it starts on (blank lines and quoted cells
that span lines counted as they are in the file), so errors name file lines.
File-level problems (missing file, a folder, undecodable bytes, a row with more
cells than the header, a repeated column name) are
:class:`~rfm_retention.errors.InputFileError`, naming the file and the line.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._progress import Progress, report_progress
from rfm_retention.data._csv_options import DEFAULT_OPTIONS, CsvOptions
from rfm_retention.data._schema import Schema
from rfm_retention.errors import ConfigError, InputFileError

__all__ = [
    "BATCH_ROWS",
    "CHUNK_BYTES",
    "MAX_LINE_BYTES",
    "CsvColumns",
    "iter_csv_columns",
    "read_csv_columns",
]

CHUNK_BYTES = 4 << 20
"""Bytes read from the file at a time (a chunk holds whole lines)."""

BATCH_ROWS = 4 << 20
"""Rows per batch of :func:`iter_csv_columns` (whole chunks, so a batch may hold more).

Large enough that streaming a 10M-row file into features leaves three batch states to
merge, small enough that a batch's columns and table build stay well under 1 GB."""

MAX_LINE_BYTES = 16 << 20
"""The longest physical line accepted; a longer one means the file is not line-based CSV."""

_WIDE = 64  # cells wider than this are kept as separate objects when few are that wide
_SPACE = np.zeros(256, bool)
_SPACE[[9, 11, 12, 13, 32]] = True
_NUMBER_KINDS = frozenset({"amount", "score", "stars", "count"})


@attrs.frozen
class CsvColumns:
    """A file's columns, renamed to the schema's field names, and each row's file line.

    A column holds ``datetime64[s]`` or ``float64`` values where every cell
    converted cleanly (an empty cell is NaT / NaN), text otherwise.
    """

    columns: dict[str, npt.NDArray[Any]]
    lines: npt.NDArray[np.int64]


def read_csv_columns(
    path: str | os.PathLike[str],
    schema: Schema,
    options: CsvOptions = DEFAULT_OPTIONS,
    *,
    progress: Progress | None = None,
) -> CsvColumns:
    """The schema's columns of a CSV file with a header row, and the file line of each row.

    ``options.mapping`` maps field names to the file's column names; unmapped
    fields are looked up under their own name, other file columns are ignored;
    ``options.delimiter``, ``encoding`` and ``parsing`` say how the text is read
    (its ``reader``, ``id_type`` and ``on_error`` are not this reader's).
    ``progress`` hears of each chunk (stage ``"read csv"``, unit ``"bytes"``).

    Example:
        >>> import tempfile, pathlib
        >>> from rfm_retention.data import VisitLog
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "v.csv").write_text(
        ...     "patient_id,visit_time,amount\\np1,2024-01-05,12.5\\n\\np2,2024-02-01,3\\n")
        >>> read = read_csv_columns(folder / "v.csv", VisitLog.SCHEMA)
        >>> read.columns["amount"].tolist(), read.lines.tolist()
        ([12.5, 3.0], [2, 4])
    """
    return next(iter_csv_columns(path, schema, options, batch_rows=None, progress=progress))


def iter_csv_columns(
    path: str | os.PathLike[str],
    schema: Schema,
    options: CsvOptions = DEFAULT_OPTIONS,
    *,
    batch_rows: int | None = BATCH_ROWS,
    progress: Progress | None = None,
    bytes_ids: bool = False,
) -> Iterator[CsvColumns]:
    """:func:`read_csv_columns` a batch of rows at a time: memory follows the batch, not
    the file.

    Each batch holds whole chunks and at least ``batch_rows`` rows (the last
    one fewer; ``None``: one batch of every row), with the same columns in
    every batch; a file with no data rows gives one empty batch. Problems
    with the file raise when the reading reaches them. ``options`` and
    ``progress`` are as for :func:`read_csv_columns`. With ``bytes_ids``,
    ASCII id columns stay ``bytes_`` (a quarter of ``str_``'s memory; the
    table build decodes only the distinct ids).

    Example:
        >>> import tempfile, pathlib
        >>> from rfm_retention.data import VisitLog
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "v.csv"
        >>> _ = path.write_text("patient_id,visit_time,amount\\np1,2024-01-05,12.5\\n")
        >>> [b.lines.tolist() for b in iter_csv_columns(path, VisitLog.SCHEMA)]
        [[2]]
    """
    mapping, delimiter = options.mapping, options.delimiter
    unknown = set(mapping) - set(schema.names)
    if unknown:
        raise ConfigError(
            f"{schema.source}: mapping= names unknown field(s) {sorted(unknown)}; "
            f"fields are {list(schema.names)}"
        )
    if len(delimiter) != 1 or delimiter in "\r\n\"" or ord(delimiter) > 127:
        raise ConfigError(f"delimiter must be one ASCII character, not {delimiter!r}")
    name = os.fspath(path)
    codec = _codec(options.encoding)
    kinds = {f.name: f.kind for f in schema.fields}
    ids = {name for name, kind in kinds.items() if kind == "id"}
    iso = options.parsing.format is None
    limit = batch_rows if batch_rows is not None else np.iinfo(np.int64).max
    with _open(name) as handle:
        size = os.fstat(handle.fileno()).st_size or None  # None: a pipe, size unknown
        report_progress(progress, "read csv", 0, size, "bytes")
        pieces = _pieces(handle, name, codec)
        first = next(pieces, None)
        if first is None:
            raise InputFileError(name, "the file is empty (no header row)")
        text, start = first
        header_end = text.find(b"\n") + 1
        header = _header(text[:header_end], name, delimiter)
        position = _positions(header, schema, mapping, name)
        layout = _Layout(name, delimiter, len(header), position)
        chunks: dict[str, list[npt.NDArray[Any]]] = {field: [] for field in position}
        lines: list[npt.NDArray[np.int64]] = []
        rows = 0
        batches = 0
        done = header_end  # bytes read and converted, for progress

        def parse(piece: bytes, line: int) -> _Parsed:
            cells, chunk_lines = _split(piece, line, layout)
            return {field: _convert(values, kinds[field], iso, bytes_ids=True)
                    for field, values in cells.items()}, chunk_lines

        parsed = _in_order(itertools.chain([(text[header_end:], start + 1)], pieces), parse)
        item = next(parsed, None)
        while item is not None:
            result, piece = item
            done += len(piece)
            if result is not None:
                converted, chunk_lines = result
                lines.append(chunk_lines)
                rows += chunk_lines.shape[0]
                for field, values in converted.items():
                    chunks[field].append(values)
            item = next(parsed, None)
            if progress is not None:  # the exact size only once the last chunk is in
                at = done if size is None else size if item is None else min(done, size - 1)
                report_progress(progress, "read csv", at, size, "bytes")
            if rows >= limit or (item is None and (rows or not batches)):
                yield _batch(chunks, lines, set() if bytes_ids else ids)
                batches += 1
                rows = 0
                chunks = {field: [] for field in position}
                lines = []


_Parsed = tuple[dict[str, npt.NDArray[Any]], npt.NDArray[np.int64]]


def _in_order(
    pieces: Iterator[tuple[bytes, int]], parse: Callable[[bytes, int], _Parsed]
) -> Iterator[tuple[_Parsed | None, bytes]]:
    """Each piece parsed (None for an empty one), in file order, two at a time: one on a
    second thread while this one reads and parses the next (numpy releases the GIL in its
    loops). A problem is raised where the one-at-a-time reading would raise it: a piece's
    before any later piece's."""
    with ThreadPoolExecutor(1) as second:
        for piece, line in pieces:
            earlier = second.submit(parse, piece, line) if piece else None
            try:
                after = next(pieces, None)
                mine = parse(*after) if after is not None and after[0] else None
            except BaseException:
                if earlier is not None:
                    earlier.result()  # the earlier piece's problem, if it has one, first
                raise
            yield (None if earlier is None else earlier.result()), piece
            if after is None:
                return
            yield mine, after[0]


def _batch(
    chunks: Mapping[str, list[npt.NDArray[Any]]],
    lines: list[npt.NDArray[np.int64]],
    widen: set[str],
) -> CsvColumns:
    """One batch from its chunks' columns; ASCII ids of the ``widen`` fields as ``str_``
    (widened once, after the chunks are joined)."""
    columns = {field: _join(parts) for field, parts in chunks.items()}
    for field in widen & columns.keys():
        if columns[field].dtype.kind == "S":
            columns[field] = _widened(columns[field])
    row_lines = np.concatenate(lines) if lines else np.empty(0, np.int64)
    return CsvColumns(columns, row_lines.astype(np.int64, copy=False))


# ---------------------------------------------------------------- file level
def _codec(encoding: str) -> str:
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(f"unknown text encoding {encoding!r}") from None
    if info.name in ("utf-8", "utf-8-sig"):
        return "utf-8"
    probe = "\n\r,;\t|\"' 0123456789-.:abcdefghijklmnopqrstuvwxyzTZ"
    try:
        ascii_compatible = probe.encode(info.name) == probe.encode("ascii")
    except (UnicodeError, LookupError):
        ascii_compatible = False
    if not ascii_compatible:
        raise ConfigError(
            f"encoding {encoding!r} does not keep ASCII characters as they are; "
            "convert the file to UTF-8 first"
        )
    return info.name


def _open(name: str) -> IO[bytes]:
    try:
        return open(name, "rb")
    except FileNotFoundError:
        raise InputFileError(name, "no such file") from None
    except IsADirectoryError:
        raise InputFileError(name, "is a folder, not a file") from None
    except PermissionError:
        raise InputFileError(name, "permission denied") from None
    except OSError as exc:
        raise InputFileError(name, f"cannot be read ({exc.strerror or exc})") from None


def _pieces(handle: IO[bytes], name: str, codec: str) -> Iterator[tuple[bytes, int]]:
    """(UTF-8 bytes of whole lines, file line of their first line), chunk after chunk.

    A piece never ends inside a quoted cell (its quote characters pair up),
    and ends with a newline (one is added after a last line that lacks it).
    """
    buffer = b""
    line = 1
    at_start = True
    while True:
        try:
            data = handle.read(CHUNK_BYTES)
        except OSError as exc:
            raise InputFileError(name, f"cannot be read ({exc.strerror or exc})") from None
        if at_start and data.startswith(codecs.BOM_UTF8) and codec == "utf-8":
            data = data[len(codecs.BOM_UTF8):]
        at_start = False
        if not data:
            if buffer:
                if not buffer.endswith(b"\n"):
                    buffer += b"\n"
                if buffer.count(b'"') % 2:
                    raise InputFileError(name, "a quoted cell is never closed", line=line)
                yield _decoded(buffer, line, name, codec), line
            return
        buffer += data
        cut = buffer.rfind(b"\n") + 1
        quoted = b'"' in buffer  # one quick search; counting is slower
        while quoted and cut and buffer.count(b'"', 0, cut) % 2:  # in a quoted cell: wait
            cut = buffer.rfind(b"\n", 0, cut - 1) + 1
        if len(buffer) - cut > MAX_LINE_BYTES:
            at = line + buffer.count(b"\n", 0, cut)
            raise InputFileError(
                name,
                f"no line break within {MAX_LINE_BYTES} bytes; not a CSV file with one "
                "record per line",
                line=at,
            )
        if cut:
            piece, buffer = buffer[:cut], buffer[cut:]
            yield _decoded(piece, line, name, codec), line
            line += int(np.count_nonzero(np.frombuffer(piece, np.uint8) == 10))


def _decoded(piece: bytes, line: int, name: str, codec: str) -> bytes:
    """``piece`` checked to be text in ``codec``, as UTF-8 bytes."""
    if piece.isascii():  # the same bytes in UTF-8 and in every codec allowed
        return piece
    try:
        text = piece.decode(codec)
    except UnicodeDecodeError as exc:
        at = line + piece.count(b"\n", 0, exc.start)
        raise InputFileError(
            name,
            f"not {codec} text (byte 0x{piece[exc.start]:02x}). Hint: give the file's "
            "encoding, e.g. encoding='latin-1' (--encoding latin-1)",
            line=at,
        ) from None
    return piece if codec == "utf-8" else text.encode("utf-8")


def _header(raw: bytes, name: str, delimiter: str) -> list[str]:
    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8")), delimiter=delimiter))
    except csv.Error as exc:
        raise InputFileError(name, f"not a readable CSV header ({exc})", line=1) from None
    if not rows or not rows[0]:
        raise InputFileError(name, "the first line is empty; it must be the header row", line=1)
    header = [h.strip() for h in rows[0]]
    repeated = sorted(h for h, count in Counter(header).items() if count > 1)
    if repeated:
        raise InputFileError(
            name, f"the header names column(s) {repeated} more than once", line=1
        )
    return header


def _positions(
    header: list[str], schema: Schema, mapping: Mapping[str, str], name: str
) -> dict[str, int]:
    position: dict[str, int] = {}
    for f in schema.fields:
        column = mapping.get(f.name, f.name)
        if column in header:
            position[f.name] = header.index(column)
        elif f.required or f.name in mapping:
            raise MissingColumnError(name, schema.source, f.name, column, header)
    return position


class MissingColumnError(ConfigError):
    """A field's column is not in the file's header; the hint names the Python keyword.

    Callers with another way of mapping columns (the command line's ``--map``)
    read ``source``, ``field``, ``column`` and ``header`` to word their own hint.
    """

    def __init__(
        self, name: str, source: str, field: str, column: str, header: list[str]
    ) -> None:
        self.name, self.source, self.field = name, source, field
        self.column, self.header = column, header
        super().__init__(
            f"{name}: no column {column!r} for field {field!r}; the header has {header}. "
            f"Hint: map it with mapping={{{field!r}: 'COLUMN'}}"
        )


# ---------------------------------------------------------------- splitting
@attrs.frozen
class _Layout:
    """What every chunk of one file is split by: its name (for errors), its delimiter, the
    header's width and the wanted fields' column positions."""

    name: str
    delimiter: str
    width: int
    position: Mapping[str, int]


def _split(
    piece: bytes, first_line: int, layout: _Layout
) -> tuple[dict[str, npt.NDArray[Any]], npt.NDArray[np.int64]]:
    """Cells (bytes) of the wanted columns of every non-blank row, and each row's line."""
    if b'"' in piece:
        return _split_quoted(piece, first_line, layout)
    width, position, delimiter = layout.width, layout.position, layout.delimiter
    buf = np.frombuffer(piece, np.uint8)
    newline = np.flatnonzero(buf == 10)
    starts = np.empty_like(newline)
    starts[0] = 0
    starts[1:] = newline[:-1] + 1
    ends = newline.copy()
    crlf = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    ends[crlf] -= 1
    line_of = first_line + np.arange(newline.shape[0], dtype=np.int64)
    delim = np.flatnonzero(buf == ord(delimiter))
    spaced = _has_spaces(buf, newline.shape[0])
    grid = _every_line_full(delim, starts, ends, width)
    if grid is not None:  # the usual file: no blank line, every row with every cell
        padded = np.concatenate((buf, np.zeros(_WIDE, np.uint8)))
        return {
            field: _gather(buf, padded, starts if k == 0 else grid[:, k - 1] + 1,
                           ends if k == width - 1 else grid[:, k], spaced=spaced)
            for field, k in position.items()
        }, line_of
    per_line = np.bincount(np.searchsorted(newline, delim), minlength=newline.shape[0])
    first_delim = np.zeros(newline.shape[0], np.int64)
    np.cumsum(per_line[:-1], out=first_delim[1:])
    used = ends > starts  # blank lines hold no row
    if not used.all():
        starts, ends, line_of = starts[used], ends[used], line_of[used]
        per_line, first_delim = per_line[used], first_delim[used]
    _check_widths(per_line + 1, line_of, layout)
    cells: dict[str, npt.NDArray[Any]] = {}
    padded = np.concatenate((buf, np.zeros(_WIDE, np.uint8)))
    for field, k in position.items():
        if k == 0:
            lo = starts
        else:
            lo = np.where(
                per_line >= k, delim[np.minimum(first_delim + k - 1, delim.shape[0] - 1)] + 1,
                ends,
            ) if delim.shape[0] else ends
        hi = (
            np.where(per_line > k, delim[np.minimum(first_delim + k, delim.shape[0] - 1)], ends)
            if delim.shape[0] else ends
        )
        cells[field] = _gather(buf, padded, lo, hi, spaced=spaced)
    return cells, line_of


def _has_spaces(buf: npt.NDArray[np.uint8], newlines: int | None = None) -> bool:
    """Whether the buffer holds a space byte (space, tab, carriage return, ...) anywhere.

    Usually the only bytes below 33 are the ``newlines`` line breaks, when the
    caller knows how many: one count says so, without gathering them.
    """
    if newlines is not None and np.count_nonzero(buf <= 32) == newlines:
        return False
    return bool(_SPACE[buf[buf <= 32]].any())


def _every_line_full(
    delim: npt.NDArray[np.intp],
    starts: npt.NDArray[np.intp],
    ends: npt.NDArray[np.intp],
    width: int,
) -> npt.NDArray[np.intp] | None:
    """The delimiter positions as one row per line when every line holds exactly ``width``
    cells (so no blank line either), else None.

    With ``width - 1`` delimiters per line in all, and each line's share of the
    sorted positions lying inside that line, every line has exactly its share.
    """
    lines, per_line = starts.shape[0], width - 1
    if per_line == 0 or delim.shape[0] != lines * per_line:
        return None
    grid = delim.reshape(lines, per_line)
    if not ((grid[:, 0] >= starts).all() and (grid[:, -1] < ends).all()):
        return None
    return grid


def _check_widths(
    cells: npt.NDArray[np.int64], lines: npt.NDArray[np.int64], layout: _Layout
) -> None:
    width = layout.width
    long = np.flatnonzero(cells > width)
    if long.shape[0]:
        shown = ", ".join(str(int(lines[r])) for r in long[:5])
        more = f" and {long.shape[0] - 5} more" if long.shape[0] > 5 else ""
        raise InputFileError(
            layout.name,
            f"{int(cells[long[0]])} cells but the header has {width} column(s) "
            f"(line(s) {shown}{more}); a cell holding the delimiter must be quoted",
            line=int(lines[long[0]]),
        )


def _keep_apart(sizes: npt.NDArray[np.int64], widest: int) -> bool:
    """Whether cells of these byte sizes are kept as separate objects: a few are much wider
    than the rest, so one fixed-width array would be mostly padding."""
    n = sizes.shape[0]
    return widest > _WIDE and widest * n > 8 * (int(sizes.sum()) + n)


def _gather(
    buf: npt.NDArray[np.uint8],
    padded: npt.NDArray[np.uint8],
    lo: npt.NDArray[np.int64],
    hi: npt.NDArray[np.int64],
    *,
    spaced: bool | None = None,
) -> npt.NDArray[Any]:
    """The bytes ``buf[lo[i]:hi[i]]`` of every row, spaces around them removed.

    Narrow cells come back as one fixed-width ``bytes_`` array, gathered one
    byte position at a time (``padded`` is ``buf`` followed by at least
    ``_WIDE`` zero bytes, so reading past a cell's end stays inside); when a few cells are
    much wider than the rest, as an object array of ``bytes`` (so one long
    value does not widen every row). ``spaced`` says whether ``buf`` holds any
    space byte, when the caller knows.
    """
    # no space byte anywhere (``spaced`` False, or one pass over the bytes): no cell to
    # trim; else usually no cell has surrounding spaces: one cheap check of the cells' ends
    if spaced is None:
        spaced = _has_spaces(buf)
    for attempt in range(8 if spaced else 0):
        pad = (lo < hi) & _SPACE[buf[np.minimum(lo, buf.shape[0] - 1)]]
        pad |= (lo < hi) & _SPACE[buf[np.maximum(hi - 1, 0)]]
        spaced = bool(pad.any())
        if not spaced:
            break
        if not attempt:  # the caller's bounds stay as they are
            lo, hi = lo.copy(), hi.copy()
        lo[pad & _SPACE[buf[np.minimum(lo, buf.shape[0] - 1)]]] += 1
        hi[(lo < hi) & pad & _SPACE[buf[np.maximum(hi - 1, 0)]]] -= 1
    sizes = hi - lo
    n = sizes.shape[0]
    widest = int(sizes.max()) if n else 0
    if _keep_apart(sizes, widest):
        raw = buf.tobytes()
        out = np.empty(n, object)
        out[:] = [raw[a:b].strip() for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]
        return out
    if widest == 0:
        return np.zeros(n, "S1")
    if padded.shape[0] < buf.shape[0] + widest or not padded.flags.c_contiguous:
        padded = np.concatenate((buf, np.zeros(widest, np.uint8)))
    # every run of ``widest`` bytes of the buffer, one starting at each byte (a view): one
    # gather takes each cell's bytes and the bytes after it, which are then cleared
    windows = np.ndarray((padded.shape[0] - widest + 1,), f"S{widest}", padded, strides=(1,))
    cells: npt.NDArray[Any] = windows[lo]
    matrix = cells.view(np.uint8).reshape(n, widest)
    for at in range(int(sizes.min()), widest):  # past the end of the shorter cells
        np.multiply(matrix[:, at], sizes > at, out=matrix[:, at])
    if spaced:  # more spaces than the cheap passes removed
        cells = np.char.strip(cells)
    return cells


def _split_quoted(
    piece: bytes, first_line: int, layout: _Layout
) -> tuple[dict[str, npt.NDArray[Any]], npt.NDArray[np.int64]]:
    """The :mod:`csv` module's reading of a piece that has quoted cells."""
    text = io.StringIO(piece.decode("utf-8"), newline="")
    reader = csv.reader(text, delimiter=layout.delimiter)
    values: dict[str, list[bytes]] = {field: [] for field in layout.position}
    lines: list[int] = []
    counts: list[int] = []
    items = list(layout.position.items())
    done = 0
    try:
        for row in reader:
            start, done = done + 1, reader.line_num
            if not row:
                continue
            lines.append(first_line + start - 1)
            counts.append(len(row))
            n = len(row)
            for field, k in items:
                values[field].append(row[k].strip().encode("utf-8") if k < n else b"")
    except csv.Error as exc:
        raise InputFileError(
            layout.name, f"not a readable CSV row ({exc})", line=first_line + reader.line_num - 1
        ) from None
    line_of = np.array(lines, np.int64)
    _check_widths(np.array(counts, np.int64), line_of, layout)
    cells: dict[str, npt.NDArray[Any]] = {}
    for field, items_ in values.items():
        sizes = np.fromiter(map(len, items_), np.int64, len(items_))
        widest = int(sizes.max()) if sizes.shape[0] else 0
        if _keep_apart(sizes, widest):
            column = np.empty(len(items_), object)
            column[:] = items_
            cells[field] = column
        else:
            cells[field] = np.array(items_, dtype=f"S{max(widest, 1)}")
    return cells, line_of


# ---------------------------------------------------------------- converting
def _convert(
    cells: npt.NDArray[Any], kind: str, iso: bool, bytes_ids: bool = False
) -> npt.NDArray[Any]:
    """A chunk's cells as datetimes or numbers where every cell converts, else as text
    (ASCII text stays ``bytes_``: the validator decodes each distinct value once; ASCII
    ids become ``str_`` unless ``bytes_ids``)."""
    if cells.dtype.kind == "S":
        if kind == "time" and iso:
            times = _iso_times(cells)
            if times is not None:
                return times
        elif kind in _NUMBER_KINDS:
            numbers = _numbers(cells)
            if numbers is not None:
                return numbers
        elif kind == "id" and _ascii(cells):
            # mostly distinct values: no use decoding each once; as bytes when the caller
            # validates them itself (the table build then decodes only the distinct ids)
            return cells if bytes_ids else _widened(cells)
        elif kind not in ("time", *_NUMBER_KINDS) and _ascii(cells):
            return cells
    return _text(cells)


def _widened(cells: npt.NDArray[np.bytes_]) -> npt.NDArray[np.str_]:
    """ASCII ``bytes_`` cells as ``str_`` of the same width: one widening copy of the bytes."""
    width = max(cells.dtype.itemsize, 1)
    codes = np.zeros((cells.shape[0], width), np.uint32)
    if cells.dtype.itemsize:
        codes[:] = cells.view(np.uint8).reshape(cells.shape[0], width)
    out: npt.NDArray[np.str_] = codes.view(f"U{width}").reshape(-1)
    return out


def _ascii(cells: npt.NDArray[np.bytes_]) -> bool:
    raw = cells.view(np.uint8)
    return raw.shape[0] == 0 or int(raw.max()) < 128


def _iso_times(cells: npt.NDArray[np.bytes_]) -> npt.NDArray[np.datetime64] | None:
    """ISO dates (``YYYY-MM-DD``) and times (``YYYY-MM-DDTHH:MM:SS``) in bulk, else None."""
    width = cells.dtype.itemsize
    if width not in (10, 19) and not (cells.shape[0] and width == 1):
        return None
    raw = cells.view(np.uint8).reshape(cells.shape[0], width)
    empty = raw[:, 0] == 0
    if width == 1:
        return np.full(cells.shape[0], np.datetime64("NaT", "s")) if empty.all() else None
    some_empty = bool(empty.any())
    filled = raw[~empty] if some_empty else raw
    short = filled[:, 10] == 0 if width == 19 else np.zeros(filled.shape[0], bool)
    check = filled[~short] if short.any() else filled
    low, span = _ISO_SHAPES[width]
    if not (check - low <= span).all():
        return None
    if width == 19 and not np.isin(check[:, 10], (84, 32)).all():
        return None
    if short.any():  # dates among datetimes: their cells are the first ten bytes
        dates = filled[short]
        low, span = _ISO_SHAPES[10]
        if (dates[:, 10:] != 0).any() or not (dates[:, :10] - low <= span).all():
            return None
    text = np.where(empty, b"NaT", cells) if some_empty else cells
    try:
        return text.astype("datetime64[s]")
    except ValueError:
        return None


def _iso_shape(pattern: str) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Per byte of an ISO pattern (``9`` a digit, ``?`` any byte, else that byte): the lowest
    byte allowed and how far above it a byte may be (``byte - low <= span`` in ``uint8``,
    where a byte below ``low`` wraps round to a large number)."""
    low = np.array([48 if c == "9" else 0 if c == "?" else ord(c) for c in pattern], np.uint8)
    span = np.array([9 if c == "9" else 255 if c == "?" else 0 for c in pattern], np.uint8)
    return low, span


_ISO_SHAPES = {10: _iso_shape("9999-99-99"), 19: _iso_shape("9999-99-99?99:99:99")}


def _numbers(cells: npt.NDArray[np.bytes_]) -> npt.NDArray[np.float64] | None:
    """Numbers of a chunk's cells in bulk, else None (some cell is not a number)."""
    empty = cells == b""
    text = np.where(empty, b"nan", cells) if empty.any() else cells
    try:
        values: npt.NDArray[np.float64] = text.astype(np.float64)
    except ValueError:
        return None
    return values


def _text(cells: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Cells as text: a ``str_`` array, or an object array of ``str`` for wide cells."""
    if cells.dtype.kind == "O":
        out = np.empty(cells.shape[0], object)
        out[:] = [b.decode("utf-8") for b in cells.tolist()]
        return out
    if _ascii(cells):
        return _widened(cells)
    return np.char.decode(cells, "utf-8")


def _join(parts: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
    """One column from its chunks; chunks of different kinds join as objects."""
    if not parts:
        return np.empty(0, "U1")
    if len(parts) == 1:
        return parts[0]
    kinds = {p.dtype.kind for p in parts}
    if "S" in kinds and len(kinds) > 1:  # ASCII chunks kept as bytes, others decoded
        parts = [_text(p) if p.dtype.kind == "S" else p for p in parts]
        kinds = {p.dtype.kind for p in parts}
    if len(kinds) == 1 and kinds != {"O"}:
        return np.concatenate(parts)
    out = np.empty(sum(p.shape[0] for p in parts), object)
    at = 0
    for p in parts:
        out[at : at + p.shape[0]] = p.tolist() if p.dtype.kind == "M" else p
        at += p.shape[0]
    return out
