"""Segmenters: learn cut points from one snapshot, assign segments to any snapshot.

The split between ``fit`` and ``assign`` is what a hospital needs in
practice: cut points are fitted once a quarter (and stored as JSON), then
every day's features - or one patient at check-in - are labelled with the
same cut points, so a patient's segment does not change because other
patients came in today.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention._arrays import FloatArray
from rfm_retention.errors import ConfigError, RowIssue, ValidationError
from rfm_retention.features import FEATURE_COLUMNS, PatientFeatures
from rfm_retention.segmentation._cuts import Cuts, LabelArray
from rfm_retention.segmentation._maps import (
    EIGHT_SEGMENT_MAP,
    TEN_SEGMENT_MAP,
    SegmentMap,
    eight_segments_from_scores,
)
from rfm_retention.segmentation._reading import reading
from rfm_retention.segmentation._results import Segmentation
from rfm_retention.segmentation._splits import MedianSplit, ScoreSplit, Split
from rfm_retention.time import TimeLike, as_instant

if TYPE_CHECKING:
    from rfm_retention.segmentation._persist import PathLike

__all__ = [
    "FittedRFM",
    "FittedSegmenter",
    "GroupedSegmenter",
    "RFMColumns",
    "RFMCuts",
    "RFMSegmenter",
    "Segmenter",
    "eight_segments",
    "score_segments",
]

OVERALL = "overall"
GROUP_COLUMNS = ("last_department", "last_diagnosis")

_NUMERIC = frozenset(
    name for name in FEATURE_COLUMNS
    if name not in {"patient_id", "first_visit", "last_visit", "last_department",
                    "last_diagnosis"}
)


@attrs.frozen
class RFMColumns:
    """Which feature columns are R, F and M.

    Defaults follow SPEC section 2: recency is days since the last visit
    (fewer days = higher R), frequency is visits per year (so a patient of ten
    years and one of ten weeks are compared fairly; use ``"visits_in_window"``
    with a windowed snapshot to count visits instead), monetary is the spend
    in the features' window.

    Example:
        >>> RFMColumns(frequency="visits_in_window").frequency
        'visits_in_window'
    """

    recency: str = "days_since_last_visit"
    frequency: str = "visits_per_year"
    monetary: str = "spend_in_window"

    def __attrs_post_init__(self) -> None:
        for name in self.names:
            if name not in _NUMERIC:
                raise ConfigError(
                    f"{name!r} is not a numeric feature column; choose from {sorted(_NUMERIC)}"
                )

    @property
    def names(self) -> tuple[str, str, str]:
        """(recency, frequency, monetary) column names."""
        return self.recency, self.frequency, self.monetary

    def values(self, features: PatientFeatures) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The three columns as float arrays; ValidationError naming any non-finite value."""
        out = []
        issues: list[RowIssue] = []
        for name in self.names:
            arr = np.asarray(getattr(features, name), dtype=np.float64)
            bad = np.flatnonzero(~np.isfinite(arr))
            issues.extend(
                RowIssue(row=int(i), field=name, message="must be a finite number for RFM",
                         value=str(arr[i]), patient_id=str(features.patient_id[i]))
                for i in bad[:50]
            )
            out.append(arr)
        if issues:
            raise ValidationError("patient features", issues)
        return out[0], out[1], out[2]


@attrs.frozen
class RFMCuts:
    """Fitted cut points of the three dimensions of one population.

    Example:
        >>> import numpy as np
        >>> from rfm_retention.segmentation._splits import FixedSplit
        >>> cuts = RFMCuts(
        ...     recency=FixedSplit(90).fit(np.zeros(1), higher_is_better=False),
        ...     frequency=FixedSplit(2).fit(np.zeros(1), higher_is_better=True),
        ...     monetary=FixedSplit(1000).fit(np.zeros(1), higher_is_better=True),
        ... )
        >>> r, f, m = cuts.apply(np.array([30.0]), np.array([3.0]), np.array([10.0]))
        >>> int(r[0]), int(f[0]), int(m[0])
        (1, 1, 0)
    """

    recency: Cuts
    frequency: Cuts
    monetary: Cuts

    def apply(
        self, r: FloatArray, f: FloatArray, m: FloatArray
    ) -> tuple[LabelArray, LabelArray, LabelArray]:
        """Labels of the three dimensions."""
        return self.recency.apply(r), self.frequency.apply(f), self.monetary.apply(m)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "recency": self.recency.to_dict(),
            "frequency": self.frequency.to_dict(),
            "monetary": self.monetary.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RFMCuts:
        """Inverse of :meth:`to_dict`."""
        with reading("RFM cut points"):
            return cls(*(Cuts.from_dict(data[d]) for d in ("recency", "frequency", "monetary")))


@runtime_checkable
class FittedSegmenter(Protocol):
    """Something that labels a snapshot with cut points it already holds."""

    def assign(self, features: PatientFeatures) -> Segmentation:
        """Segments of every patient in ``features``."""
        ...


@runtime_checkable
class Segmenter(Protocol):
    """Something that learns cut points from a snapshot (configuration in the constructor)."""

    def fit(self, features: PatientFeatures) -> FittedSegmenter:
        """Learn from ``features``; the result assigns any snapshot."""
        ...


def _segmentation(
    features: PatientFeatures,
    values: tuple[FloatArray, FloatArray, FloatArray],
    labels: tuple[LabelArray, LabelArray, LabelArray],
    segment_map: SegmentMap,
    columns: RFMColumns,
    group: npt.NDArray[np.str_] | None = None,
    cut_source: npt.NDArray[np.str_] | None = None,
) -> Segmentation:
    return Segmentation(
        as_of=features.as_of,
        patient_id=features.patient_id,
        recency=values[0],
        frequency=values[1],
        monetary=values[2],
        r=labels[0],
        f=labels[1],
        m=labels[2],
        segment=segment_map.apply(*labels),
        segment_map=segment_map,
        columns=columns.names,
        group=group,
        cut_source=cut_source,
    )


def _fitted_as_of(value: TimeLike | None) -> np.datetime64 | None:
    """When the cut points were learned, as the instant (text from a saved file is read once)."""
    return None if value is None else as_instant(value, field="fitted_as_of")


@attrs.frozen(eq=False)
class FittedRFM:
    """Fitted cut points (overall, and per group when fitted per group) plus how to name segments.

    This is what :meth:`RFMSegmenter.fit` and :meth:`GroupedSegmenter.fit`
    return, and what :meth:`to_json` stores. Per group, a patient gets the cut
    points of their own group if it was large enough to fit; otherwise those of
    the group's parent (``parents``) if that was large enough; otherwise the
    overall cut points. Groups never seen in fitting follow the same rule.

    Attributes:
        overall: cut points fitted on every patient.
        segment_map: names the label combinations.
        columns: the feature columns used as R, F and M.
        by: the feature column holding each patient's group (None: no groups).
        group_of: column value -> group (diagnosis -> family, department ->
            branch); values not listed are their own group.
        groups: cut points of each group large enough to fit.
        parents: group -> parent group (e.g. diagnosis -> diagnosis family).
        parent_cuts: cut points of each parent, fitted on all its groups' patients.
        fitted_as_of: the instant of the features the cut points were learned on
            (``datetime64[s]``, as every ``as_of`` is; a date given is its last
            second), None when unknown.
        fitted_patients: how many patients they were learned on.
    """

    overall: RFMCuts
    segment_map: SegmentMap = EIGHT_SEGMENT_MAP
    columns: RFMColumns = RFMColumns()
    by: str | None = None
    groups: Mapping[str, RFMCuts] = attrs.field(factory=dict)
    parents: Mapping[str, str] = attrs.field(factory=dict)
    group_of: Mapping[str, str] = attrs.field(factory=dict)
    parent_cuts: Mapping[str, RFMCuts] = attrs.field(factory=dict)
    fitted_as_of: np.datetime64 | None = attrs.field(default=None, converter=_fitted_as_of)
    fitted_patients: int = 0

    def __attrs_post_init__(self) -> None:
        if self.by not in (None, *GROUP_COLUMNS):
            raise ConfigError(f"groups come from one of {GROUP_COLUMNS}, not {self.by!r}")

    def cuts_for(self, group: str) -> tuple[RFMCuts, str]:
        """The cut points a patient of ``group`` gets, and where they come from."""
        if group in self.groups:
            return self.groups[group], f"group:{group}"
        parent = self.parents.get(group)
        if parent is not None and parent in self.parent_cuts:
            return self.parent_cuts[parent], f"parent:{parent}"
        return self.overall, OVERALL

    def assign(self, features: PatientFeatures) -> Segmentation:
        """Label every patient of ``features`` with the stored cut points (nothing is refitted).

        Example:
            >>> import datetime as dt
            >>> f = PatientFeatures.from_rfm(as_of=dt.date(2024, 6, 30), patient_id=[1, 2, 3, 4],
            ...     days_since_last_visit=[5, 10, 200, 300], visits_in_window=[6, 1, 5, 1],
            ...     spend_in_window=[900.0, 50.0, 800.0, 40.0])
            >>> fitted = eight_segments().fit(f)
            >>> fitted.assign(f).codes.tolist()
            ['core', 'general', 'at_risk', 'inactive']
            >>> fitted.assign(f.take([2])).codes.tolist()
            ['at_risk']
        """
        values = self.columns.values(features)
        if self.by is None:
            labels = self.overall.apply(*values)
            return _segmentation(features, values, labels, self.segment_map, self.columns)
        group = _group_values(features, self.by, self.group_of)
        n = len(features)
        out = [np.empty(n, np.int8) for _ in range(3)]
        source = np.empty(n, dtype=object)
        for name, rows in _group_rows(group):
            cuts, where = self.cuts_for(name)
            part = cuts.apply(*(v[rows] for v in values))
            for target, labels_part in zip(out, part, strict=True):
                target[rows] = labels_part
            source[rows] = where
        return _segmentation(
            features, values, (out[0], out[1], out[2]), self.segment_map, self.columns,
            group=group, cut_source=source.astype(str),
        )

    def to_json(self, *, indent: int | None = 2) -> str:
        """The cut points, map and grouping as JSON text; :meth:`from_json` reads it back."""
        from rfm_retention.segmentation._persist import dumps

        return dumps(self, indent=indent)

    @classmethod
    def from_json(cls, text: str) -> FittedRFM:
        """Fitted cut points stored by :meth:`to_json`."""
        from rfm_retention.segmentation._persist import loads

        return loads(text)

    def save(self, path: PathLike) -> None:
        """Write :meth:`to_json` to a file (UTF-8)."""
        from rfm_retention.segmentation._persist import save

        save(self, path)


def _group_values(
    features: PatientFeatures, by: str, group_of: Mapping[str, str]
) -> npt.NDArray[np.str_]:
    """Each patient's group: the ``by`` column, mapped through ``group_of`` (per distinct value)."""
    raw = np.asarray(getattr(features, by)).astype(str)
    if not group_of or raw.shape[0] == 0:
        return raw
    names, inverse = np.unique(raw, return_inverse=True)
    mapped = np.asarray([group_of.get(str(name), str(name)) for name in names], dtype=str)
    return mapped[inverse]


def _group_rows(group: npt.NDArray[np.str_]) -> list[tuple[str, npt.NDArray[np.int64]]]:
    """(group value, rows) for every distinct group: one sort, no per-patient loop."""
    if group.shape[0] == 0:
        return []
    names, inverse = np.unique(group, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=names.shape[0]))[:-1]
    return [(str(n), rows) for n, rows in zip(names, np.split(order, bounds), strict=True)]


@attrs.frozen
class RFMSegmenter:
    """Three split strategies and a segment map: the general RFM segmenter.

    Splits are checked against the map when the segmenter is built: a map of
    low/high flags cannot be fed 1-5 scores.

    Example:
        >>> import datetime as dt
        >>> from rfm_retention.segmentation._splits import FixedSplit
        >>> seg = RFMSegmenter(recency=FixedSplit(90), frequency=MedianSplit())
        >>> f = PatientFeatures.from_rfm(as_of=dt.date(2024, 6, 30), patient_id=["a", "b"],
        ...     days_since_last_visit=[30, 120], visits_in_window=[4, 1],
        ...     spend_in_window=[100.0, 900.0])
        >>> seg.fit(f).assign(f).codes.tolist()
        ['value', 'dormant']
    """

    recency: Split = attrs.field(factory=MedianSplit)
    frequency: Split = attrs.field(factory=MedianSplit)
    monetary: Split = attrs.field(factory=MedianSplit)
    segment_map: SegmentMap = EIGHT_SEGMENT_MAP
    columns: RFMColumns = attrs.field(factory=RFMColumns)

    def __attrs_post_init__(self) -> None:
        for dim, (name, split) in enumerate(
            (("recency", self.recency), ("frequency", self.frequency),
             ("monetary", self.monetary))
        ):
            if not isinstance(split, Split):
                raise ConfigError(f"{name}: {split!r} is not a split strategy (fit + labels)")
            if not self.segment_map.accepts(dim, split.labels):
                raise ConfigError(
                    f"{name}: {type(split).__name__} gives labels {split.labels} but segment "
                    f"map {self.segment_map.name!r} expects {self.segment_map.domain[dim]}"
                )

    def fit_values(self, r: FloatArray, f: FloatArray, m: FloatArray) -> RFMCuts:
        """Cut points from raw R, F and M arrays (at least one patient)."""
        if r.shape[0] == 0:
            raise ConfigError("cannot fit cut points on zero patients")
        return RFMCuts(
            recency=self.recency.fit(r, higher_is_better=False),
            frequency=self.frequency.fit(f, higher_is_better=True),
            monetary=self.monetary.fit(m, higher_is_better=True),
        )

    def fit(self, features: PatientFeatures) -> FittedRFM:
        """Learn cut points on every patient of ``features``."""
        return FittedRFM(
            overall=self.fit_values(*self.columns.values(features)),
            segment_map=self.segment_map,
            columns=self.columns,
            fitted_as_of=features.as_of,
            fitted_patients=len(features),
        )

    def fit_assign(self, features: PatientFeatures) -> Segmentation:
        """Fit on ``features`` and label the same snapshot."""
        return self.fit(features).assign(features)


def _parents(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


@attrs.frozen
class GroupedSegmenter:
    """Fit cut points within each group, so cardiology's "high spend" is not dermatology's.

    ``by`` names a feature column (``last_department`` or ``last_diagnosis``);
    ``group_of`` optionally maps its values to coarser groups (diagnosis code
    -> diagnosis family, department -> branch), values not listed being their
    own group. A group with fewer than ``min_group_size`` patients has too little data for
    cut points of its own; its patients get, in order: the cut points of the
    group's parent in ``parents`` (e.g. a diagnosis family, fitted on all the
    family's patients) if the parent has ``min_group_size`` patients, else the
    cut points fitted on all patients. :attr:`Segmentation.cut_source` says
    which one each patient got.

    Example:
        >>> import datetime as dt
        >>> f = PatientFeatures.from_rfm(as_of=dt.date(2024, 6, 30), patient_id=[1, 2, 3, 4],
        ...     days_since_last_visit=[5, 9, 5, 9], visits_in_window=[2, 1, 2, 1],
        ...     spend_in_window=[5000.0, 3000.0, 300.0, 100.0],
        ...     last_department=["cardio", "cardio", "derm", "derm"])
        >>> seg = GroupedSegmenter(eight_segments(), min_group_size=2).fit_assign(f)
        >>> seg.codes.tolist()
        ['core', 'inactive', 'core', 'inactive']
    """

    segmenter: RFMSegmenter = attrs.field(factory=lambda: eight_segments())
    by: str = "last_department"
    min_group_size: int = 30
    parents: Mapping[str, str] = attrs.field(factory=dict, converter=_parents)
    group_of: Mapping[str, str] = attrs.field(factory=dict, converter=_parents)

    def __attrs_post_init__(self) -> None:
        if self.by not in GROUP_COLUMNS:
            raise ConfigError(
                f"groups come from a text feature column: 'last_department' or "
                f"'last_diagnosis', not {self.by!r}"
            )
        if self.min_group_size < 1:
            raise ConfigError(f"min_group_size must be at least 1, got {self.min_group_size}")

    def fit(self, features: PatientFeatures) -> FittedRFM:
        """Overall cut points, plus cut points per large-enough group and parent."""
        values = self.segmenter.columns.values(features)
        group = _group_values(features, self.by, self.group_of)
        groups: dict[str, RFMCuts] = {}
        for name, rows in _group_rows(group):
            if rows.shape[0] >= self.min_group_size:
                groups[name] = self.segmenter.fit_values(*(v[rows] for v in values))
        parent_cuts: dict[str, RFMCuts] = {}
        if self.parents and group.shape[0]:
            # map each distinct group (not each patient) to its parent
            names, inverse = np.unique(group, return_inverse=True)
            parent_of = np.asarray([self.parents.get(str(g), "") for g in names], dtype=str)
            has_parent = np.asarray([str(g) in self.parents for g in names], dtype=bool)
            known = np.flatnonzero(has_parent[inverse])
            for name, rows in _group_rows(parent_of[inverse][known]):
                if rows.shape[0] >= self.min_group_size:
                    pick = known[rows]
                    parent_cuts[name] = self.segmenter.fit_values(*(v[pick] for v in values))
        return FittedRFM(
            overall=self.segmenter.fit_values(*values),
            segment_map=self.segmenter.segment_map,
            columns=self.segmenter.columns,
            by=self.by,
            groups=groups,
            parents=self.parents,
            group_of=self.group_of,
            parent_cuts=parent_cuts,
            fitted_as_of=features.as_of,
            fitted_patients=len(features),
        )

    def fit_assign(self, features: PatientFeatures) -> Segmentation:
        """Fit on ``features`` and label the same snapshot."""
        return self.fit(features).assign(features)


def eight_segments(
    recency: Split | None = None,
    frequency: Split | None = None,
    monetary: Split | None = None,
    *,
    columns: RFMColumns | None = None,
) -> RFMSegmenter:
    """The source documents' eight segments from three low/high splits (median by default).

    Example:
        >>> from rfm_retention.segmentation._splits import FixedSplit, QuantileSplit
        >>> seg = eight_segments(recency=FixedSplit(180), monetary=QuantileSplit(0.8))
        >>> seg.segment_map.name
        'eight'
    """
    return RFMSegmenter(
        recency=recency or MedianSplit(),
        frequency=frequency or MedianSplit(),
        monetary=monetary or MedianSplit(),
        segment_map=EIGHT_SEGMENT_MAP,
        columns=columns or RFMColumns(),
    )


def score_segments(
    k: int = 5,
    segment_map: SegmentMap | None = None,
    *,
    columns: RFMColumns | None = None,
) -> RFMSegmenter:
    """1..k scores on all three dimensions (tie rule), named by a score map.

    The default map is the widely used 10-segment map for ``k=5`` and the
    eight segments (:func:`~rfm_retention.segmentation._maps.eight_segments_from_scores`)
    for any other ``k``; the 10-segment map is refused with ``k != 5``.

    Example:
        >>> score_segments().segment_map.name
        'ten'
    """
    split = ScoreSplit(k)
    if segment_map is None:
        segment_map = TEN_SEGMENT_MAP if k == 5 else eight_segments_from_scores(k)
    elif segment_map is TEN_SEGMENT_MAP and k != 5:
        raise ConfigError(f"the 10-segment map reads 1-5 scores; got k={k}")
    return RFMSegmenter(
        recency=split,
        frequency=split,
        monetary=split,
        segment_map=segment_map,
        columns=columns or RFMColumns(),
    )
