"""Fitted cut points as JSON: fit once a quarter, store, assign every day.

The JSON holds everything :meth:`FittedRFM.assign` needs - the cut points in
each dimension's own unit (readable: ``"edges": [30.0]`` on recency means
30 days), the feature columns, the segment map with its rules, and the
groups - plus when (the features' instant, ``"2024-06-30T23:59:59"``; a file
that holds a bare date, as files saved by earlier versions do, reads as that
day's last second) and on how many patients it was fitted. Reading it back
re-checks everything (a hand-edited file with descending cut points or a map
that leaves a combination unnamed is refused with a :class:`ConfigError`).
"""

from __future__ import annotations

import json
import os
from typing import Any

from rfm_retention.errors import ConfigError
from rfm_retention.segmentation._maps import SegmentMap
from rfm_retention.segmentation._reading import reading
from rfm_retention.segmentation._segmenter import FittedRFM, RFMColumns, RFMCuts

__all__ = ["FORMAT", "PathLike", "dumps", "load", "loads", "save"]

PathLike = str | os.PathLike[str]

FORMAT = "rfm_retention.segmentation._cuts/1"
"""Format tag written into every file; a different tag is refused."""


def to_dict(fitted: FittedRFM) -> dict[str, Any]:
    """Plain JSON-ready data of a fitted segmenter."""
    return {
        "format": FORMAT,
        "fitted_as_of": None if fitted.fitted_as_of is None else str(fitted.fitted_as_of),
        "fitted_patients": fitted.fitted_patients,
        "columns": {
            "recency": fitted.columns.recency,
            "frequency": fitted.columns.frequency,
            "monetary": fitted.columns.monetary,
        },
        "segment_map": fitted.segment_map.to_dict(),
        "overall": fitted.overall.to_dict(),
        "by": fitted.by,
        "groups": {name: cuts.to_dict() for name, cuts in sorted(fitted.groups.items())},
        "parents": dict(sorted(fitted.parents.items())),
        "group_of": dict(sorted(fitted.group_of.items())),
        "parent_cuts": {
            name: cuts.to_dict() for name, cuts in sorted(fitted.parent_cuts.items())
        },
    }


def from_dict(data: Any) -> FittedRFM:
    """Inverse of :func:`to_dict`; ConfigError on anything that does not fit the format."""
    if not isinstance(data, dict):
        raise ConfigError("fitted cut points must be a JSON object")
    if data.get("format") != FORMAT:
        raise ConfigError(
            f"not a fitted-cut-points file: format is {data.get('format')!r}, expected {FORMAT!r}"
        )
    with reading("fitted cut points"):
        as_of = data.get("fitted_as_of")
        return FittedRFM(
            overall=RFMCuts.from_dict(data["overall"]),
            segment_map=SegmentMap.from_dict(data["segment_map"]),
            columns=RFMColumns(**data["columns"]),
            by=data.get("by"),
            groups={str(k): RFMCuts.from_dict(v) for k, v in data.get("groups", {}).items()},
            parents={str(k): str(v) for k, v in data.get("parents", {}).items()},
            group_of={str(k): str(v) for k, v in data.get("group_of", {}).items()},
            parent_cuts={
                str(k): RFMCuts.from_dict(v) for k, v in data.get("parent_cuts", {}).items()
            },
            fitted_as_of=as_of,  # ISO text; a bare date (older files) is its last second
            fitted_patients=int(data.get("fitted_patients", 0)),
        )


def dumps(fitted: FittedRFM, *, indent: int | None = 2) -> str:
    """JSON text of a fitted segmenter.

    Example:
        >>> import numpy as np
        >>> from rfm_retention.segmentation._splits import FixedSplit
        >>> flag = FixedSplit(1).fit(np.zeros(1), higher_is_better=True)
        >>> fitted = FittedRFM(overall=RFMCuts(flag, flag, flag))
        >>> loads(dumps(fitted)).overall == fitted.overall
        True
    """
    return json.dumps(to_dict(fitted), indent=indent, ensure_ascii=False)


def loads(text: str) -> FittedRFM:
    """A fitted segmenter from :func:`dumps` text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"fitted cut points are not valid JSON: {exc}") from None
    return from_dict(data)


def save(fitted: FittedRFM, path: PathLike) -> None:
    """Write :func:`dumps` to ``path`` (UTF-8)."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(dumps(fitted))
        handle.write("\n")


def load(path: PathLike) -> FittedRFM:
    """Read a file written by :func:`save`."""
    with open(path, encoding="utf-8") as handle:
        return loads(handle.read())
