"""Segment maps: data that turns per-dimension labels into named segments.

A map is a list of rules ``(pattern, segment code)``. A pattern is a regular
expression matched against the patient's labels written as three digits,
recency first: ``"545"`` is R=5, F=4, M=5; ``"011"`` is R low, F high, M high.
The map is checked when it is built: every label combination the splits can
produce must match exactly one rule, so no patient is ever left without a
segment or given two. Applying a map is one table lookup per patient.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from rfm_retention.errors import ConfigError
from rfm_retention.segmentation._cuts import LabelArray
from rfm_retention.segmentation._reading import reading
from rfm_retention.segmentation._segments import Segment, SegmentInfo
from rfm_retention.segmentation._splits import FLAG_LABELS

__all__ = [
    "EIGHT_SEGMENT_MAP",
    "TEN_SEGMENT_MAP",
    "SegmentMap",
    "eight_segments_from_scores",
]

SegmentArray = npt.NDArray[np.int8]


def _rules(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(p), str(c)) for p, c in value)


def _segments(value: Any) -> tuple[SegmentInfo, ...]:
    out = tuple(value)
    if not all(isinstance(s, SegmentInfo) for s in out):
        raise ConfigError("a segment map's segments must be SegmentInfo records")
    return out


def _domain(value: Any) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    dims = tuple(tuple(sorted({int(v) for v in d})) for d in value)
    if len(dims) != 3 or any(not d for d in dims):
        raise ConfigError("a segment map needs the labels of exactly three dimensions (R, F, M)")
    if any(not 0 <= v <= 9 for d in dims for v in d):
        raise ConfigError(f"segment map labels must be single digits 0-9, got {dims}")
    return dims[0], dims[1], dims[2]


@attrs.frozen(eq=False)
class SegmentMap:
    """Rules from label patterns to named segments, checked to cover every combination once.

    Attributes:
        name: what the map is called (stored with fitted cut points).
        segments: every segment the map can give, in display order.
        rules: ``(pattern, code)`` pairs; ``pattern`` must match the whole
            three-digit label string.
        domain: the labels each dimension can take (R, F, M).

    Example:
        >>> flags = ((0, 1), (0, 1), (0, 1))
        >>> simple = SegmentMap(
        ...     name="recent or not",
        ...     segments=(SegmentInfo("recent", "Recent"), SegmentInfo("away", "Away")),
        ...     rules=(("1..", "recent"), ("0..", "away")),
        ...     domain=flags,
        ... )
        >>> simple.code_of(1, 0, 0)
        'recent'
    """

    name: str
    segments: tuple[SegmentInfo, ...] = attrs.field(converter=_segments)
    rules: tuple[tuple[str, str], ...] = attrs.field(converter=_rules)
    domain: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] = attrs.field(
        converter=_domain
    )
    _table: npt.NDArray[np.int8] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        codes = [s.code for s in self.segments]
        if not codes or len(set(codes)) != len(codes):
            raise ConfigError(f"segment map {self.name!r}: segment codes must be unique, {codes}")
        if len(codes) > 127:
            raise ConfigError(f"segment map {self.name!r}: at most 127 segments")
        position = {code: i for i, code in enumerate(codes)}
        unknown = sorted({c for _, c in self.rules} - set(position))
        if unknown:
            raise ConfigError(f"segment map {self.name!r}: rules name unknown segments {unknown}")
        try:
            compiled = [(re.compile(p), position[c]) for p, c in self.rules]
        except re.error as exc:
            raise ConfigError(f"segment map {self.name!r}: bad pattern: {exc}") from None
        table = np.full(1000, -1, dtype=np.int8)
        unmatched: list[str] = []
        doubled: list[str] = []
        for r, f, m in itertools.product(*self.domain):
            text = f"{r}{f}{m}"
            hits = {seg for pattern, seg in compiled if pattern.fullmatch(text)}
            if not hits:
                unmatched.append(text)
            elif len(hits) > 1:
                doubled.append(f"{text} -> {sorted(codes[h] for h in hits)}")
            else:
                table[r * 100 + f * 10 + m] = hits.pop()
        if unmatched or doubled:
            parts = []
            if unmatched:
                parts.append(f"no segment for {', '.join(unmatched[:20])}")
            if doubled:
                parts.append(f"more than one segment for {'; '.join(doubled[:20])}")
            raise ConfigError(
                f"segment map {self.name!r}: every label combination must map to exactly one "
                f"segment: {' and '.join(parts)}"
            )
        table.flags.writeable = False
        object.__setattr__(self, "_table", table)

    @property
    def codes(self) -> tuple[str, ...]:
        """Segment codes in display order (index = the numbers :meth:`apply` returns)."""
        return tuple(s.code for s in self.segments)

    def index(self, code: str) -> int:
        """Position of a segment code; ConfigError naming the known codes otherwise."""
        try:
            return self.codes.index(str(code))
        except ValueError:
            raise ConfigError(
                f"segment map {self.name!r} has no segment {code!r}; known: {list(self.codes)}"
            ) from None

    def accepts(self, dimension: int, labels: Sequence[int]) -> bool:
        """Whether every label in ``labels`` is in the domain of one dimension (0=R, 1=F, 2=M)."""
        return set(labels) <= set(self.domain[dimension])

    def apply(self, r: LabelArray, f: LabelArray, m: LabelArray) -> SegmentArray:
        """Segment position of every patient (one lookup in a 1,000-entry table)."""
        key = r.astype(np.int16) * 100 + f.astype(np.int16) * 10 + m.astype(np.int16)
        out: SegmentArray = self._table[key]
        if out.size and int(out.min()) < 0:
            bad = int(np.flatnonzero(out < 0)[0])
            raise ConfigError(
                f"segment map {self.name!r}: labels {int(r[bad])}{int(f[bad])}{int(m[bad])} "
                f"are outside its domain {self.domain}"
            )
        return out

    def code_of(self, r: int, f: int, m: int) -> str:
        """The segment code of one label combination."""
        arr = [np.asarray([v], dtype=np.int8) for v in (r, f, m)]
        return self.codes[int(self.apply(*arr)[0])]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data; :meth:`from_dict` rebuilds (and re-checks) the map."""
        return {
            "name": self.name,
            "segments": [attrs.asdict(s) for s in self.segments],
            "rules": [list(rule) for rule in self.rules],
            "domain": [list(d) for d in self.domain],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmentMap:
        """Inverse of :meth:`to_dict`."""
        with reading("segment map data"):
            return cls(
                name=data["name"],
                segments=tuple(SegmentInfo(**s) for s in data["segments"]),
                rules=tuple((p, c) for p, c in data["rules"]),
                domain=data["domain"],
            )


def _flag(high: bool) -> str:
    return "1" if high else "0"


EIGHT_SEGMENT_MAP = SegmentMap(
    name="eight",
    segments=tuple(s.info for s in Segment),
    rules=tuple(("".join(_flag(h) for h in s.pattern), s.value) for s in Segment),
    domain=(FLAG_LABELS, FLAG_LABELS, FLAG_LABELS),
)
"""The source documents' eight segments from three low/high flags (``"011"`` = at risk)."""


def eight_segments_from_scores(k: int = 5, high_from: int | None = None) -> SegmentMap:
    """The eight segments from 1..k scores: a score of ``high_from`` or more counts as high.

    ``high_from`` defaults to ``k // 2 + 1`` (3 of 5): the upper half of the
    scale, the middle score included.

    Example:
        >>> eight_segments_from_scores(5).code_of(2, 4, 5)
        'at_risk'
    """
    if not 2 <= k <= 9:
        raise ConfigError(f"scores run from 1 to k with 2 <= k <= 9, got k={k}")
    high = k // 2 + 1 if high_from is None else high_from
    if not 2 <= high <= k:
        raise ConfigError(f"high_from must be between 2 and {k}, got {high}")
    classes = {True: f"[{high}-{k}]", False: f"[1-{high - 1}]"}
    return SegmentMap(
        name=f"eight_from_scores_{k}_{high}",
        segments=tuple(s.info for s in Segment),
        rules=tuple(("".join(classes[h] for h in s.pattern), s.value) for s in Segment),
        domain=(tuple(range(1, k + 1)),) * 3,
    )


TEN_SEGMENT_MAP = SegmentMap(
    name="ten",
    segments=(
        SegmentInfo("champions", "Champions", "冠军患者", "came recently, come often"),
        SegmentInfo("loyal", "Loyal", "忠诚患者", "come often, fairly recent"),
        SegmentInfo("potential_loyalist", "Potential loyalist", "潜在忠诚患者",
                    "recent, a few visits"),
        SegmentInfo("new", "New", "新患者", "very recent, one visit's worth"),
        SegmentInfo("promising", "Promising", "有潜力患者", "recent, few visits"),
        SegmentInfo("need_attention", "Need attention", "需要关注患者",
                    "middle recency and frequency"),
        SegmentInfo("about_to_sleep", "About to sleep", "即将沉睡患者",
                    "fading, few visits"),
        SegmentInfo("at_risk", "At risk", "风险患者", "came often, not lately"),
        SegmentInfo("cant_lose", "Can't lose", "不能失去的患者",
                    "came most often, long ago"),
        SegmentInfo("hibernating", "Hibernating / lost", "休眠或流失患者",
                    "few visits, long ago"),
    ),
    # The widely used recency x frequency grid; spend (third digit) is not used.
    rules=(
        ("5[45].", "champions"),
        ("[34][45].", "loyal"),
        ("[45][23].", "potential_loyalist"),
        ("51.", "new"),
        ("41.", "promising"),
        ("33.", "need_attention"),
        ("3[12].", "about_to_sleep"),
        ("[12][34].", "at_risk"),
        ("[12]5.", "cant_lose"),
        ("[12][12].", "hibernating"),
    ),
    domain=((1, 2, 3, 4, 5),) * 3,
)
"""The widely used 10-segment map on 1-5 recency and frequency scores."""
