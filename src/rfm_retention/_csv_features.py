"""Patient features straight from a visits CSV file, without holding every visit in memory.

The file is read a batch of rows at a time (:func:`~rfm_retention.data._csv.iter_csv_columns`);
each batch is validated exactly as :meth:`VisitLog.from_csv
<rfm_retention.data.PatientTable.from_csv>` validates a whole file (issues
name file lines and count rows from the file's first data row), its visits on
or before ``as_of`` become a :class:`~rfm_retention.FeatureState`, compacted
to the days the features can still need, and the states merge pairwise as the
batches come (a binary counter, so merging costs ``O(patients x log batches)``).
Memory follows the batch size and the number of patients, not the file's size.
With pyarrow's reader (the ``fast`` extra) the wanted columns are read whole
into an arrow table (a few bytes per cell) and become numpy columns a batch
at a time, so the numpy columns and the table build, the largest costs in
memory, still hold one batch at a time; its batches are larger (fewer states
to merge), and a file of up to :data:`ARROW_BATCH_ROWS` rows is one batch.
A file arrow cannot read exactly as the numpy reader does is streamed by the
numpy reader.

The fastest path needs neither batches nor a table build: when arrow has read
a file of patient ids, ISO times, amounts and at most a department and a
diagnosis, the ids are coded (plain digits, as medical record numbers usually
are, as numbers: :func:`~rfm_retention.data._digit_ids.digit_ids`; other text
ids by arrow's hash: :func:`~rfm_retention.data._hashed_ids.hashed_ids`; text
order kept), the whole file is validated at once, and the features are
aggregated from the unsorted columns
(:func:`~rfm_retention._unsorted_features.unsorted_features`): no visit is
ordered and no state merged. The numpy reader's batches take the
same path when they are as simple (:func:`~rfm_retention.data._csv_coded.coded_visits`
holds each row's id number, time and amount, up to
:data:`~rfm_retention.data._csv_coded.CODED_MAX_ROWS` rows). A file with any
bad row, an id validation would trim, or another column takes the batch path,
which reports the rows exactly as above.

Streaming gives the in-memory path's features only when every rule it applies
is a rule of one row. Two are not, and a file that meets one is read whole
instead (the same result, memory as for :meth:`VisitLog.from_csv`):

* a ``visit_id`` column: visit ids must be unique across the file;
* a batch whose times are not all plain ISO dates or times (text that might
  carry a time zone): naive and zone-aware times must not be mixed anywhere in
  the file, and which of the two sets is rejected depends on the whole column.

Spend totals are added batch by batch (on the fastest path, in file order), so
for amounts that are not exact binary fractions a total can differ from the
one-pass sum in its last bit (far below the 9 decimals the command line writes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

import attrs
import numpy as np
import numpy.typing as npt
from dateutil.relativedelta import relativedelta

from rfm_retention._feature_state import FeatureState
from rfm_retention._progress import Progress
from rfm_retention._unsorted_features import CodedText, unsorted_features
from rfm_retention.data._arrow_csv import ArrowRead, arrow_chosen, read_arrow
from rfm_retention.data._csv import BATCH_ROWS, CsvColumns, iter_csv_columns
from rfm_retention.data._csv_coded import coded_visits
from rfm_retention.data._csv_options import CsvOptions, CsvReader, IdType
from rfm_retention.data._digit_ids import DigitIds, digit_ids
from rfm_retention.data._hashed_ids import hashed_ids
from rfm_retention.data._schema import (
    OnError,
    RejectedRows,
    Validated,
    _convert_text,
    validate_columns,
)
from rfm_retention.data._sources import VisitLog
from rfm_retention.data._time import ISO, DateParsing
from rfm_retention.errors import RowIssue, ValidationError
from rfm_retention.features import PatientFeatures, _FeatureBounds, patient_features
from rfm_retention.time import TimeLike

__all__ = ["csv_features"]

ARROW_BATCH_ROWS = 3 << 20
"""Most rows in one batch of an arrow read. Arrow holds the file's wanted columns (a few
bytes per cell), so only a batch's numpy columns and table build add to memory; fewer,
larger batches than the numpy reader's leave fewer states to merge (a 10M-row file: four
batches, peak memory well under 1.5 GB)."""

_TIME = VisitLog.SCHEMA.time_field
_ID = VisitLog.SCHEMA.fields[0].name
_TEXTS = ("department", "diagnosis")
_CODED_FIELDS = frozenset({_ID, _TIME, "amount", *_TEXTS})  # what the fastest path reads
_ZONE_MARKS = np.array([ord(c) for c in "+Zz"], np.uint32)


class _ReadWhole(Exception):
    """A rule spans the whole file: the features are computed from the file read whole."""


def csv_features(
    path: str | os.PathLike[str],
    as_of: TimeLike,
    *,
    window: int | relativedelta | None = None,
    min_exposure_days: int = 365,
    mapping: Mapping[str, str] | None = None,
    parsing: DateParsing = ISO,
    on_error: OnError = "raise",
    delimiter: str = ",",
    encoding: str = "utf-8",
    id_type: IdType = "text",
    reader: CsvReader = "auto",
    batch_rows: int | None = None,
    progress: Progress | None = None,
) -> tuple[PatientFeatures, RejectedRows]:
    """``patient_features(VisitLog.from_csv(path, ...), as_of, ...)`` and the rows set aside,
    computed a batch of rows at a time (see the module's notes for when the file is read
    whole instead).

    With ``on_error="raise"`` every batch is still validated, so the
    :class:`~rfm_retention.errors.ValidationError` lists every bad row of the
    file, each with its line, exactly as :meth:`VisitLog.from_csv
    <rfm_retention.data.PatientTable.from_csv>` does. ``reader`` is as for
    ``from_csv``: the numpy reader streams the file (``batch_rows`` rows at a
    time, :data:`~rfm_retention.data._csv.BATCH_ROWS` by default); pyarrow's
    reads the wanted columns whole (fast, a few bytes per cell) and turns them
    into numpy columns a batch at a time (by default as few even batches as keep
    each under :data:`ARROW_BATCH_ROWS`), so the table build still holds one
    batch at a time. ``progress`` hears of the reading (stage ``"read csv"``, in
    bytes); the next batch is read on a thread while one is built, so the numpy
    reader's reports come from that thread.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "visits.csv"
        >>> _ = path.write_text("patient_id,visit_time,amount\\n"
        ...                     "a,2024-01-05,10\\nb,2024-02-01,5\\na,2024-03-01,20\\n")
        >>> f, rejected = csv_features(path, "2024-03-31", batch_rows=1)
        >>> f.patient_id.tolist(), f.total_visits.tolist(), len(rejected)
        (['a', 'b'], [2, 1], 0)
    """
    bounds = _FeatureBounds.of(as_of, window, min_exposure_days)
    options = CsvOptions(mapping=mapping, parsing=parsing, on_error=on_error,
                         delimiter=delimiter, encoding=encoding, id_type=id_type, reader=reader)
    whole = read_arrow(path, VisitLog.SCHEMA, options, progress) if arrow_chosen(
        options.reader) else None
    if whole is not None:
        coded = _coded_features(whole, bounds, min_exposure_days, options)
        if coded is not None:
            return coded, RejectedRows(VisitLog.SCHEMA.source, ())
    batches = _batches(path, options, batch_rows, progress, whole)
    if whole is None:  # the numpy reader's batches, as codes when the file is simple enough
        held, batches = coded_visits(batches, options.id_type, (_ID, _TIME, "amount"))
        checked = None if held is None else _checked_codes(held.ids, held.times, held.amount)
        if held is not None and checked is not None:
            features = _unsorted_of(held.ids, checked, bounds, min_exposure_days, {})
            return features, RejectedRows(VisitLog.SCHEMA.source, ())
    del whole  # the batches hold arrow's table until the last one is made
    try:
        state, rejected = _streamed_state(batches, bounds, window, options)
    except _ReadWhole:
        log = VisitLog._read_csv(path, options, progress)
        features = patient_features(log, as_of, window=window,
                                    min_exposure_days=min_exposure_days)
        return features, log.rejected
    features = state.features(as_of, window=window, min_exposure_days=min_exposure_days)
    return features, rejected


def _coded_features(
    read: ArrowRead, bounds: _FeatureBounds, min_exposure_days: int, options: CsvOptions
) -> PatientFeatures | None:
    """The features of a file arrow has read whole, aggregated without ordering the visits
    (:func:`~rfm_retention._unsorted_features.unsorted_features`), or None when the file
    is not one this path reads: ids coded as numbers (plain digits) or by arrow's hash
    (other text ids validation keeps as they are), ISO times, amounts and at most a
    department and a diagnosis (coded by their distinct values), every row valid (any
    issue is left to the batch path, which words it)."""
    if not set(read.position) <= _CODED_FIELDS or not read.iso:
        return None
    column = read.table.column(f"c{read.position[_ID]}")
    ids = digit_ids(column, options.id_type)
    if ids is None and options.id_type == "text":
        ids = hashed_ids(column)  # other text ids: by arrow's hash
    if ids is None:
        return None
    checked = _checked_codes(ids, read.column(_TIME), read.column("amount"))
    if checked is None:
        return None
    texts = {name: _coded_text(read, name) for name in _TEXTS if name in read.position}
    del read
    return _unsorted_of(ids, checked, bounds, min_exposure_days, texts)


def _checked_codes(
    ids: DigitIds, times: npt.NDArray[np.datetime64], amount: npt.NDArray[np.float64]
) -> Validated | None:
    """Every row validated at once, its patient given as a dense code, or None when a row
    is not valid (left to the batch path, which words it)."""
    checked = validate_columns(VisitLog.SCHEMA, {_ID: ids.codes, _TIME: times,
                                                 "amount": amount}, on_error="quarantine")
    return None if checked.rejected else checked


def _unsorted_of(
    ids: DigitIds,
    checked: Validated,
    bounds: _FeatureBounds,
    min_exposure_days: int,
    texts: Mapping[str, CodedText],
) -> PatientFeatures:
    """The features of validated coded rows, aggregated without ordering the visits."""
    return unsorted_features(bounds, min_exposure_days, patient_ids=ids.patient_ids,
                             codes=ids.codes, seconds=checked.columns[_TIME].view(np.int64),
                             amount=checked.columns["amount"], **texts)


def _coded_text(read: ArrowRead, name: str) -> CodedText:
    """A text column coded by its distinct values, each validated (trimmed, defaulted) as
    validation would the column's cells, then sorted: the visit log's text and order."""
    positions, cells = read.coded_column(name)
    text, _ = _convert_text(VisitLog.SCHEMA.field(name), cells)  # an optional text: no issue
    values, rank = np.unique(text, return_inverse=True)  # distinct cells may trim alike
    return CodedText(rank.reshape(-1).astype(np.int64, copy=False)[positions], values)


def _batches(
    path: str | os.PathLike[str],
    options: CsvOptions,
    batch_rows: int | None,
    progress: Progress | None,
    whole: ArrowRead | None,
) -> Iterator[CsvColumns]:
    """The file's rows a batch at a time: from arrow's read of it when there is one, else
    streamed by the numpy reader."""
    if whole is None:
        return iter_csv_columns(path, VisitLog.SCHEMA, options,
                                batch_rows=batch_rows or BATCH_ROWS, progress=progress,
                                bytes_ids=True)  # the batch's table build decodes them
    return _slices(whole, batch_rows or _even_batches(len(whole)))


def _streamed_state(
    batches: Iterator[CsvColumns],
    bounds: _FeatureBounds,
    window: int | relativedelta | None,
    options: CsvOptions,
) -> tuple[FeatureState, RejectedRows]:
    """The merged state of every batch's visits on or before the cutoff, and every issue."""
    on_error = options.on_error
    cutoff = np.datetime64(bounds.cutoff_seconds, "s")
    issues: list[RowIssue] = []
    first_row = 0
    states = _MergedStates()
    # Three threads, for numpy and arrow release the GIL in their loops: one reads the next
    # batch and one merges the states so far while this one builds the batch it has.
    with ThreadPoolExecutor(1) as reading, ThreadPoolExecutor(1) as merging:
        upcoming = reading.submit(next, batches, None)
        merges = []
        while (read := upcoming.result()) is not None:
            upcoming = reading.submit(next, batches, None)
            _check_streamable(read)
            checked = VisitLog._checked_csv(read, options, first_row)
            first_row += int(read.lines.shape[0])
            issues.extend(checked.rejected.issues)
            if issues and on_error == "raise":
                continue  # no features will be given: only the problems are still needed
            log = VisitLog._from_validated(_until(checked, cutoff))
            del read, checked  # the batch's columns: its table holds what the state needs
            part = FeatureState.from_visits(log).compact(bounds.as_of_day, window=window)
            del log
            merges.append(merging.submit(states.add, part))
        for merge in merges:
            merge.result()  # a merge's error, if any
        state = merging.submit(states.total).result()
    rejected = RejectedRows(VisitLog.SCHEMA.source, tuple(issues))
    if issues and on_error == "raise":
        raise ValidationError(VisitLog.SCHEMA.source, issues)
    return state, rejected


class _MergedStates:
    """The batches' states merged pairwise as they come, like a binary counter (each state
    takes part in ``O(log batches)`` merges); used from one thread."""

    def __init__(self) -> None:
        self.stack: list[tuple[FeatureState, int]] = []  # (state, how many batches it holds)

    def add(self, part: FeatureState) -> None:
        """Add the next batch's state (batches in file order)."""
        stack = self.stack
        stack.append((part, 1))
        while len(stack) > 1 and stack[-1][1] >= stack[-2][1]:
            (right, m), (left, k) = stack.pop(), stack.pop()
            stack.append((left | right, k + m))

    def total(self) -> FeatureState:
        """The state of every batch added."""
        state = FeatureState.empty()
        for part, _ in self.stack:
            state = state | part
        return state


def _even_batches(rows: int) -> int:
    """Rows per batch of an arrow read: as few batches as keep each under
    :data:`ARROW_BATCH_ROWS`, of even size (a small file is one batch, so nothing merges)."""
    batches = max(-(-rows // ARROW_BATCH_ROWS), 1)
    return max(-(-rows // batches), 1)


def _slices(read: ArrowRead, rows: int) -> Iterator[CsvColumns]:
    """The rows of arrow's read, ``rows`` at a time, as numpy columns (ASCII ids as bytes:
    the batch's validation and table build take them so); at least one batch."""
    starts = range(0, max(len(read), 1), rows)
    for at in starts:
        batch = read.rows(at, at + rows, bytes_ids=True)
        if at == starts[-1]:
            del read  # arrow's table: nothing more is made from it
        yield batch


def _check_streamable(read: CsvColumns) -> None:
    """Raise :class:`_ReadWhole` when a file-wide rule could apply to this batch."""
    if "visit_id" in read.columns:
        raise _ReadWhole
    times = read.columns[_TIME]
    if times.dtype.kind != "M" and _may_carry_zones(times):
        raise _ReadWhole


def _may_carry_zones(cells: npt.NDArray[np.generic]) -> bool:
    """Whether any time cell could be read as zone-aware (an offset, ``Z`` or a zone name)."""
    if cells.dtype.kind == "S":
        text: npt.NDArray[np.generic] = cells.astype(f"U{max(cells.dtype.itemsize, 1)}")
    elif cells.dtype.kind == "U":
        text = cells
    else:
        return True
    if text.shape[0] == 0:
        return False
    width = text.dtype.itemsize // 4
    codes = text.view(np.uint32).reshape(text.shape[0], width)
    if np.isin(codes, _ZONE_MARKS).any():
        return True
    lower = codes | 32
    letters = ((lower >= ord("a")) & (lower <= ord("z")) & (codes != ord("T"))) | (codes > 127)
    if letters.any():
        return True  # month or zone names: free-form text a zone name could hide in
    dashes = (codes == ord("-")).sum(axis=1)
    return bool((dashes > 2).any())  # a negative offset after a dashed date


def _until(checked: Validated, cutoff: np.datetime64) -> Validated:
    """The validated rows whose time is at or before ``cutoff`` (the others count in no
    feature; they were still validated)."""
    keep = checked.columns[_TIME] <= cutoff
    if keep.all():
        return checked
    count = int(keep.sum())
    return attrs.evolve(
        checked,
        columns={name: column[:count] if name in checked.absent else column[keep]
                 for name, column in checked.columns.items()},  # absent: one value throughout
        kept=checked.source_row[keep],
    )
