"""What assigning segments gives back: per-patient arrays and a per-segment summary.

A host reads one patient (:meth:`Segmentation.patient`), an analyst reads the
columns (:meth:`Segmentation.to_columns`) and the summary table
(:meth:`Segmentation.summary`). Migrations between two snapshots live in
:mod:`rfm_retention.segmentation._migration`.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray
from rfm_retention._display import Display
from rfm_retention._optional import import_pandas
from rfm_retention._tabular import Tabular, row_position
from rfm_retention.data._table import IdArray
from rfm_retention.segmentation._cuts import LabelArray
from rfm_retention.segmentation._maps import SegmentArray, SegmentMap
from rfm_retention.time import as_date

__all__ = ["PatientSegment", "SegmentSummary", "SegmentSummaryRow", "Segmentation"]


@attrs.frozen
class PatientSegment:
    """One patient's segment, labels and the values behind them (what a host shows at check-in).

    Example:
        >>> PatientSegment("p1", 12.0, 4.0, 900.0, 1, 1, 1, "core", "Core", "核心客户").segment
        'core'
    """

    patient_id: Any
    recency: float
    frequency: float
    monetary: float
    r: int
    f: int
    m: int
    segment: str
    name: str
    name_zh: str
    group: str = ""


@attrs.frozen
class SegmentSummaryRow:
    """One segment's size and the typical recency, frequency and spend of its patients.

    Means and medians are NaN for an empty segment.
    """

    code: str
    name: str
    name_zh: str
    patients: int
    share: float
    mean_recency: float
    median_recency: float
    mean_frequency: float
    median_frequency: float
    mean_monetary: float
    median_monetary: float
    total_monetary: float
    monetary_share: float


SUMMARY_HEADER = (
    "segment", "name", "patients", "share", "mean_days_since", "median_days_since",
    "mean_frequency", "median_frequency", "mean_spend", "median_spend", "total_spend",
    "spend_share",
)


@attrs.frozen(repr=False)
class SegmentSummary(Tabular):
    """Per-segment table, in the segment map's order, every segment listed (empty ones too).

    Example:
        >>> import datetime as dt
        >>> from rfm_retention.features import PatientFeatures
        >>> from rfm_retention.segmentation import eight_segments
        >>> f = PatientFeatures.from_rfm(as_of=dt.date(2024, 6, 30), patient_id=[1, 2, 3, 4],
        ...     days_since_last_visit=[5, 10, 200, 300], visits_in_window=[6, 1, 5, 1],
        ...     spend_in_window=[900.0, 50.0, 800.0, 40.0])
        >>> summary = eight_segments().fit(f).assign(f).summary()
        >>> summary.row("core").patients, round(summary.row("core").monetary_share, 3)
        (1, 0.503)
    """

    as_of: np.datetime64
    patients: int
    rows: tuple[SegmentSummaryRow, ...]

    ROW_KEY = "segment"

    def _display(self) -> Display:
        figures = {"as_of": as_date(self.as_of), "patients": self.patients}
        return Display("SegmentSummary", self._cells(), figures)

    def row(self, code: str) -> SegmentSummaryRow:
        """The row of one segment code; KeyError if the map has no such segment."""
        return self.rows[self.row_of(code)]

    def row_of(self, key: Any) -> int:
        """Position of one segment code; KeyError if the map has no such segment."""
        for i, row in enumerate(self.rows):
            if row.code == key:
                return i
        raise KeyError(f"no segment {key!r} in this summary; known: {[r.code for r in self.rows]}")

    def record(self, row: int) -> SegmentSummaryRow:
        """The summary row of one segment."""
        return self.rows[row]

    def _cells(self) -> dict[str, list[Any]]:
        """One row per segment, in :data:`SUMMARY_HEADER` order."""
        values = [
            [r.code, r.name, r.patients, r.share, r.mean_recency, r.median_recency,
             r.mean_frequency, r.median_frequency, r.mean_monetary, r.median_monetary,
             r.total_monetary, r.monetary_share]
            for r in self.rows
        ]
        return {name: [v[k] for v in values] for k, name in enumerate(SUMMARY_HEADER)}

    def to_pandas(self) -> Any:
        """The summary as a DataFrame indexed by segment code (needs pandas)."""
        pd = import_pandas("SegmentSummary.to_pandas")
        return pd.DataFrame(self.to_columns()).set_index("segment")


def _per_segment_median(
    values: FloatArray, segment: SegmentArray, count: npt.NDArray[np.int64]
) -> FloatArray:
    """Median of ``values`` within each segment: one lexsort, then the middle of each run."""
    order = np.lexsort((values, segment))
    ordered = values[order]
    starts = np.concatenate(([0], np.cumsum(count)[:-1]))
    out = np.full(count.shape[0], np.nan)
    has = count > 0
    lo = starts[has] + (count[has] - 1) // 2
    hi = starts[has] + count[has] // 2
    out[has] = (ordered[lo] + ordered[hi]) / 2.0
    return out.astype(np.float64)


@attrs.frozen(eq=False, repr=False)
class Segmentation(Tabular):
    """Segments of every patient in one snapshot: arrays in the features' row order.

    Attributes:
        as_of: the instant of the features that were segmented (``datetime64[s]``).
        patient_id: ids, sorted ascending (the features' order).
        recency, frequency, monetary: the values the labels were computed from
            (see ``columns`` for which feature columns they are).
        r, f, m: labels per dimension (0/1 flags or 1..k scores).
        segment: position of each patient's segment in ``segment_map.segments``.
        segment_map: the map that named the segments.
        columns: the feature columns used as (recency, frequency, monetary).
        group: each patient's group value, when segmented per group.
        cut_source: which fitted cut points each patient got (``"group:..."``,
            ``"parent:..."`` or ``"overall"``), when segmented per group.
    """

    FRAME_CATEGORIES = ("segment", "segment_name", "r", "f", "m")

    as_of: np.datetime64
    patient_id: IdArray = attrs.field(repr=False)
    recency: FloatArray = attrs.field(repr=False)
    frequency: FloatArray = attrs.field(repr=False)
    monetary: FloatArray = attrs.field(repr=False)
    r: LabelArray = attrs.field(repr=False)
    f: LabelArray = attrs.field(repr=False)
    m: LabelArray = attrs.field(repr=False)
    segment: SegmentArray = attrs.field(repr=False)
    segment_map: SegmentMap
    columns: tuple[str, str, str]
    group: npt.NDArray[np.str_] | None = attrs.field(default=None, repr=False)
    cut_source: npt.NDArray[np.str_] | None = attrs.field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.patient_id.shape[0])

    def _display(self) -> Display:
        sizes = sorted(self.counts().items(), key=lambda kv: -kv[1])[:3]
        figures = {"as_of": as_date(self.as_of), "largest": ", ".join(f"{c} {n}" for c, n in sizes)}
        return Display("Segmentation", self.to_columns(), figures)

    @property
    def codes(self) -> npt.NDArray[np.str_]:
        """Segment code of every patient (``"core"``, ``"at_risk"``, ...)."""
        return np.asarray(self.segment_map.codes)[self.segment]

    @property
    def names(self) -> npt.NDArray[np.str_]:
        """English segment name of every patient."""
        return np.asarray([s.name for s in self.segment_map.segments])[self.segment]

    @property
    def label_codes(self) -> npt.NDArray[np.str_]:
        """The three labels written as one code per patient (``"545"``, ``"011"``)."""
        digits = (self.r.astype(np.int16) * 100 + self.f.astype(np.int16) * 10
                  + self.m.astype(np.int16))
        return np.char.zfill(digits.astype(str), 3)

    def row_of(self, patient_id: Any) -> int:
        """Row of one patient; KeyError if the patient is not in this snapshot."""
        missing = f"patient {patient_id!r} is not in the segmentation as of {as_date(self.as_of)}"
        return row_position(self.patient_id, patient_id, missing)

    def index_of(self, patient_id: Any) -> int:
        """Row of one patient (the same as :meth:`row_of`)."""
        return self.row_of(patient_id)

    def patient(self, patient_id: Any) -> PatientSegment:
        """One patient's segment as a record; KeyError if the patient is not in this snapshot."""
        return self.record(self.row_of(patient_id))

    def record(self, i: int) -> PatientSegment:
        """The segment of the patient at row ``i``, as a record."""
        info = self.segment_map.segments[int(self.segment[i])]
        pid = self.patient_id[i]
        return PatientSegment(
            patient_id=pid.item() if hasattr(pid, "item") else pid,
            recency=float(self.recency[i]),
            frequency=float(self.frequency[i]),
            monetary=float(self.monetary[i]),
            r=int(self.r[i]),
            f=int(self.f[i]),
            m=int(self.m[i]),
            segment=info.code,
            name=info.name,
            name_zh=info.name_zh,
            group="" if self.group is None else str(self.group[i]),
        )

    def counts(self) -> dict[str, int]:
        """Patients per segment code, every segment of the map included."""
        n = np.bincount(self.segment, minlength=len(self.segment_map.segments))
        return {code: int(c) for code, c in zip(self.segment_map.codes, n, strict=True)}

    def summary(self) -> SegmentSummary:
        """Size, share and typical recency/frequency/spend of every segment."""
        k = len(self.segment_map.segments)
        seg = self.segment.astype(np.int64)
        count = np.bincount(seg, minlength=k).astype(np.int64)
        total = max(len(self), 1)
        spend_total = float(self.monetary.sum())

        def sums(values: FloatArray) -> FloatArray:
            return np.bincount(seg, weights=values, minlength=k).astype(np.float64)

        with np.errstate(divide="ignore", invalid="ignore"):
            means = [sums(v) / count for v in (self.recency, self.frequency, self.monetary)]
        medians = [
            _per_segment_median(v, self.segment, count)
            for v in (self.recency, self.frequency, self.monetary)
        ]
        spend = sums(self.monetary)
        rows = tuple(
            SegmentSummaryRow(
                code=info.code,
                name=info.name,
                name_zh=info.name_zh,
                patients=int(count[i]),
                share=float(count[i] / total),
                mean_recency=float(means[0][i]),
                median_recency=float(medians[0][i]),
                mean_frequency=float(means[1][i]),
                median_frequency=float(medians[1][i]),
                mean_monetary=float(means[2][i]),
                median_monetary=float(medians[2][i]),
                total_monetary=float(spend[i]),
                monetary_share=float(spend[i] / spend_total) if spend_total else 0.0,
            )
            for i, info in enumerate(self.segment_map.segments)
        )
        return SegmentSummary(as_of=self.as_of, patients=len(self), rows=rows)

    def to_columns(self) -> dict[str, npt.NDArray[Any]]:
        """Column name -> array: ids, the three values, the three labels, segment code and name."""
        out: dict[str, npt.NDArray[Any]] = {
            "patient_id": self.patient_id,
            self.columns[0]: self.recency,
            self.columns[1]: self.frequency,
            self.columns[2]: self.monetary,
            "r": self.r,
            "f": self.f,
            "m": self.m,
            "segment": self.codes,
            "segment_name": self.names,
        }
        if self.group is not None:
            out["group"] = self.group
        return out

