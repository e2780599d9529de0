"""Migration between two snapshots: who moved from core to at-risk since last quarter.

Both snapshots must name segments with the same codes (fit once, assign at
both dates, or use the same map). Patients are matched by id; patients only
in the later snapshot are *entered*, patients only in the earlier one *left*.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._optional import import_pandas
from rfm_retention._tabular import Tabular
from rfm_retention.data._table import IdArray
from rfm_retention.errors import ConfigError
from rfm_retention.segmentation._results import Segmentation

__all__ = ["MigrationMatrix", "migration"]


@attrs.frozen(eq=False)
class MigrationMatrix(Tabular):
    """Counts of patients from each segment (rows, earlier) to each segment (columns, later).

    Attributes:
        before, after: the ``as_of`` instants of the two snapshots (``datetime64[s]``).
        codes: segment codes, the order of rows and columns.
        counts: ``counts[i, j]`` patients were in ``codes[i]`` and are now in ``codes[j]``.
        entered: ids only in the later snapshot (new patients), sorted.
        entered_segment: their segment positions in the later snapshot.
        left: ids only in the earlier snapshot, sorted.
    """

    before: np.datetime64
    after: np.datetime64
    codes: tuple[str, ...]
    counts: npt.NDArray[np.int64] = attrs.field(repr=False)
    entered: IdArray = attrs.field(repr=False)
    entered_segment: npt.NDArray[np.int8] = attrs.field(repr=False)
    left: IdArray = attrs.field(repr=False)
    _ids: IdArray = attrs.field(repr=False, alias="_ids")
    _offsets: npt.NDArray[np.int64] = attrs.field(repr=False, alias="_offsets")

    def count(self, source: str, target: str) -> int:
        """How many patients moved from ``source`` to ``target`` (codes)."""
        return int(self.counts[self._pos(source), self._pos(target)])

    def patients(self, source: str, target: str) -> IdArray:
        """The ids behind one cell, ascending (``patients("core", "at_risk")``)."""
        cell = self._pos(source) * len(self.codes) + self._pos(target)
        return self._ids[self._offsets[cell]:self._offsets[cell + 1]]

    def moved(self) -> int:
        """Patients in both snapshots whose segment changed."""
        return int(self.counts.sum() - np.trace(self.counts))

    ROW_KEY = "from"
    ROW_KEYS_ORDERED = False  # the segment map's order

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """``from`` (the earlier segment) and one count column per later segment; the pandas
        view puts ``from`` in the index instead."""
        columns: dict[str, npt.NDArray[Any]] = {"from": np.array(self.codes, dtype=str)}
        for k, code in enumerate(self.codes):
            columns[code] = np.asarray(self.counts, np.int64)[:, k]
        return columns

    def to_rows(self) -> tuple[list[str], list[list[str]]]:
        """Header (``from \\ to`` then codes) and one row of counts per earlier segment."""
        header, rows = super().to_rows()
        return ["from \\ to", *header[1:]], rows

    def record(self, row: int) -> dict[str, int]:
        """``{later segment: patients}`` of the earlier segment at ``row``."""
        return {code: int(c) for code, c in zip(self.codes, self.counts[row], strict=True)}

    def to_pandas(self) -> Any:
        """Counts as a DataFrame, earlier segments as rows, later ones as columns (needs pandas)."""
        pd = import_pandas("MigrationMatrix.to_pandas")
        return pd.DataFrame(self.counts, index=pd.Index(self.codes, name="from"),
                            columns=pd.Index(self.codes, name="to"))

    def _pos(self, code: str) -> int:
        try:
            return self.codes.index(code)
        except ValueError:
            raise KeyError(f"no segment {code!r}; known: {list(self.codes)}") from None


def migration(before: Segmentation, after: Segmentation) -> MigrationMatrix:
    """The migration matrix from ``before`` to ``after``, with the ids behind every cell.

    Example:
        >>> import datetime as dt
        >>> from rfm_retention.features import PatientFeatures
        >>> from rfm_retention.segmentation import FixedSplit, eight_segments
        >>> seg = eight_segments(FixedSplit(90), FixedSplit(3), FixedSplit(1000))
        >>> def snap(day, days):
        ...     return PatientFeatures.from_rfm(as_of=day, patient_id=[1, 2],
        ...         days_since_last_visit=days, visits_in_window=[5, 5],
        ...         spend_in_window=[2000.0, 2000.0])
        >>> q1 = seg.fit_assign(snap(dt.date(2024, 3, 31), [10, 20]))
        >>> q2 = seg.fit_assign(snap(dt.date(2024, 6, 30), [101, 5]))
        >>> m = migration(q1, q2)
        >>> m.count("core", "at_risk"), m.patients("core", "at_risk").tolist()
        (1, [1])
    """
    codes = before.segment_map.codes
    if after.segment_map.codes != codes:
        raise ConfigError(
            "a migration needs both snapshots named by the same segments: "
            f"{list(codes)} vs {list(after.segment_map.codes)}"
        )
    if before.patient_id.dtype.kind != after.patient_id.dtype.kind and len(before) and len(after):
        raise ConfigError(
            "patient ids of the two snapshots have different types "
            f"({before.patient_id.dtype} vs {after.patient_id.dtype})"
        )
    common, ib, ia = np.intersect1d(
        before.patient_id, after.patient_id, assume_unique=True, return_indices=True
    )
    k = len(codes)
    cell = before.segment[ib].astype(np.int64) * k + after.segment[ia].astype(np.int64)
    flat = np.bincount(cell, minlength=k * k).astype(np.int64)
    order = np.argsort(cell, kind="stable")  # common is sorted, so ids stay sorted per cell
    new = ~np.isin(after.patient_id, common, assume_unique=True)
    gone = ~np.isin(before.patient_id, common, assume_unique=True)
    return MigrationMatrix(
        before=before.as_of,
        after=after.as_of,
        codes=codes,
        counts=flat.reshape(k, k),
        entered=after.patient_id[new],
        entered_segment=after.segment[new],
        left=before.patient_id[gone],
        _ids=common[order],
        _offsets=np.concatenate(([0], np.cumsum(flat))).astype(np.int64),
    )
