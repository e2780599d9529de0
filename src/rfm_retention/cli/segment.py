"""``rfm-retention segment``: RFM segments and each patient's recommended action, as CSV."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from rfm_retention._frozen import frozen_mapping
from rfm_retention.cli._common import add_input_options, load_table, write_csv
from rfm_retention.cli._format import format_table
from rfm_retention.data import VisitLog
from rfm_retention.errors import ConfigError
from rfm_retention.features import patient_features
from rfm_retention.segmentation import (
    FittedRFM,
    FixedSplit,
    GroupedSegmenter,
    QuantileSplit,
    RFMColumns,
    RFMSegmenter,
    Segmentation,
    actions,
    eight_segments,
    eight_segments_from_scores,
    load,
    score_segments,
)
from rfm_retention.segmentation._maps import TEN_SEGMENT_MAP
from rfm_retention.segmentation._splits import FLAG_LABELS
from rfm_retention.time import as_date

__all__ = ["register"]

METHODS = ("median", "quantile", "scores", "fixed")
GROUP_COLUMNS = frozen_mapping({"department": "last_department", "diagnosis": "last_diagnosis"})


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "segment",
        help="RFM segments (core, at-risk, ...) and the recommended action per patient, as CSV",
        description="Segment every patient seen on or before --as-of. Columns: patient_id, "
        "days_since_last_visit, visits, spend, the frequency value used, r/f/m flags (or "
        "scores), segment, segment_name, action (plus group and cut_source with --by).",
    )
    parser.add_argument("--visits", required=True, metavar="FILE", help="visits CSV file")
    parser.add_argument("--as-of", required=True, metavar="DATE", help="ISO date, e.g. 2024-06-30")
    parser.add_argument(
        "--method", choices=METHODS, default=None,
        help="how high/low is decided: median (default), quantile (--quantile), scores "
        "(1-5 with the tie rule), fixed (--recency-days, --min-frequency, --min-spend)",
    )
    parser.add_argument("--quantile", type=float, default=0.8, metavar="Q",
                        help="quantile method: share of patients that is low (default 0.8)")
    parser.add_argument("--recency-days", type=float, default=90, metavar="DAYS",
                        help="fixed method: seen within DAYS is recent (default 90)")
    parser.add_argument("--min-frequency", type=float, default=2, metavar="N",
                        help="fixed method: frequency of N or more is high (default 2)")
    parser.add_argument("--min-spend", type=float, metavar="AMOUNT",
                        help="fixed method: spend of AMOUNT or more is high (required)")
    parser.add_argument("--score-map", choices=("eight", "ten"), default="eight",
                        help="scores method: name segments by the eight segments (score >= 3 "
                        "is high) or by the 10-segment score map")
    parser.add_argument("--frequency", choices=("visits_per_year", "visits_in_window"),
                        default="visits_per_year", help="the F column (default visits_per_year)")
    parser.add_argument("--window-days", type=int, metavar="N",
                        help="frequency/spend window in days (default: all history)")
    parser.add_argument("--by", choices=tuple(GROUP_COLUMNS), metavar="GROUP",
                        help="fit within groups: department or diagnosis (last visit's)")
    parser.add_argument("--min-group-size", type=int, default=30, metavar="N",
                        help="--by: smaller groups use the overall cut points (default 30)")
    parser.add_argument("--cuts", metavar="FILE.json",
                        help="assign with cut points saved earlier instead of fitting")
    parser.add_argument("--save-cuts", metavar="FILE.json", help="save the fitted cut points")
    parser.add_argument("--out", default="-", metavar="FILE", help="output CSV (default stdout)")
    add_input_options(parser)
    parser.set_defaults(func=run_segment)


def _segmenter(args: argparse.Namespace) -> RFMSegmenter:
    columns = RFMColumns(frequency=args.frequency)
    method = args.method or "median"
    if method == "median":
        return eight_segments(columns=columns)
    if method == "quantile":
        split = QuantileSplit(args.quantile)
        return eight_segments(split, split, split, columns=columns)
    if method == "fixed":
        if args.min_spend is None:
            raise ConfigError("--method fixed needs --min-spend AMOUNT (the money threshold)")
        return eight_segments(
            FixedSplit(args.recency_days), FixedSplit(args.min_frequency),
            FixedSplit(args.min_spend), columns=columns,
        )
    segment_map = TEN_SEGMENT_MAP if args.score_map == "ten" else eight_segments_from_scores(5)
    return score_segments(5, segment_map, columns=columns)


def _fitted(args: argparse.Namespace, features: Any) -> FittedRFM:
    if args.cuts:
        if args.method:
            raise ConfigError("--cuts assigns with saved cut points; drop --method")
        fitted = load(args.cuts)
        by = GROUP_COLUMNS.get(args.by) if args.by else None
        if args.by and fitted.by != by:
            raise ConfigError(f"--by {args.by}, but {args.cuts} was fitted by {fitted.by}")
        return fitted
    segmenter = _segmenter(args)
    if args.by:
        return GroupedSegmenter(
            segmenter, by=GROUP_COLUMNS[args.by], min_group_size=args.min_group_size
        ).fit(features)
    return segmenter.fit(features)


def run_segment(args: argparse.Namespace) -> int:
    log = load_table(args, "visits", args.visits)
    if not isinstance(log, VisitLog):
        raise RuntimeError("internal: log is not a VisitLog")
    features = patient_features(log, args.as_of, window=args.window_days)
    fitted = _fitted(args, features)
    if args.save_cuts:
        fitted.save(args.save_cuts)
    segments = fitted.assign(features)
    recommended = actions(segments)
    flags = segments.segment_map.domain == (FLAG_LABELS,) * 3
    kind = "high" if flags else "score"
    columns: dict[str, Any] = {
        "patient_id": features.patient_id,
        "days_since_last_visit": features.days_since_last_visit,
        "visits": features.visits_in_window,
        "spend": features.spend_in_window,
    }
    if fitted.columns.frequency != "visits_in_window":
        columns[fitted.columns.frequency] = segments.frequency
    columns |= {
        f"r_{kind}": segments.r,
        f"f_{kind}": segments.f,
        f"m_{kind}": segments.m,
        "segment": segments.codes,
        "segment_name": segments.names,
        "action": recommended.codes,
    }
    if segments.group is not None and segments.cut_source is not None:
        columns["group"] = segments.group
        columns["cut_source"] = segments.cut_source
    header = list(columns)
    # floats to 9 decimals, so sums print as 9464.73, not 9464.730000000001
    cells = [np.round(c, 9) if c.dtype.kind == "f" else c for c in columns.values()]
    rows = zip(*(c.tolist() for c in cells), strict=True)
    write_csv(args.out, header, rows)
    if args.out not in (None, "-"):
        print(summary_table(
            segments, f"Segments as of {as_date(features.as_of)} ({len(segments)} patients)"))
    return 0


def summary_table(segments: Segmentation, title: str) -> str:
    """The segment summary for the terminal: size, shares in percent, medians."""
    columns = {name: values.tolist() for name, values in segments.summary().to_columns().items()}
    keep = ["segment", "patients", "share", "median_days_since", "median_frequency",
            "median_spend", "spend_share"]
    percent = {"share", "spend_share"}
    return format_table(
        [f"{name}_%" if name in percent else name for name in keep],
        [[columns[name][j] * 100 if name in percent else columns[name][j] for name in keep]
         for j in range(len(columns["segment"]))],
        title=title,
    )


def segments_section(cohort: Any, as_of: Any) -> str:
    """Demo: the eight-segment summary and a few patients per segment with their action."""
    features = patient_features(cohort.data.visits, as_of)
    segments = eight_segments().fit_assign(features)
    recommended = actions(segments)
    summary = summary_table(
        segments, f"RFM segments as of {as_of} (median splits, {len(segments)} patients)"
    )
    rows: list[list[Any]] = []
    codes = segments.codes
    for code in segments.segment_map.codes:
        for i in np.flatnonzero(codes == code)[:2]:
            rows.append([
                str(segments.patient_id[i]), code, int(segments.recency[i]),
                float(segments.frequency[i]), float(segments.monetary[i]),
                str(recommended.codes[i]),
            ])
    examples = format_table(
        ["patient_id", "segment", "days_since", "visits/yr", "spend", "action"], rows,
        title="Two patients per segment and their recommended action",
    )
    return summary + "\n\n" + examples
