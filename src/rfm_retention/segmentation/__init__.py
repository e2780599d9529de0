"""RFM segmentation: split strategies, the eight segments, score maps, migrations, the playbook.

Fit cut points once, assign any snapshot (or one patient) with them::

    from rfm_retention.segmentation import eight_segments, actions

    fitted = eight_segments().fit(features)       # median splits by default
    segments = fitted.assign(features)            # per-patient arrays
    segments.summary()                            # one row per segment
    actions(segments).codes                       # each patient's recommended action
    fitted.save("cuts.json")                      # assign daily with the same cuts

See the segmentation guide for every strategy and the tie rule.
"""

from rfm_retention.segmentation._cuts import Cuts
from rfm_retention.segmentation._maps import (
    EIGHT_SEGMENT_MAP,
    TEN_SEGMENT_MAP,
    SegmentMap,
    eight_segments_from_scores,
)
from rfm_retention.segmentation._migration import MigrationMatrix, migration
from rfm_retention.segmentation._persist import dumps, load, loads, save
from rfm_retention.segmentation._playbook import (
    ACTIONS,
    EIGHT_SEGMENT_PLAYBOOK,
    TEN_SEGMENT_PLAYBOOK,
    RecommendedActions,
    SegmentAction,
    SegmentPlaybook,
    actions,
)
from rfm_retention.segmentation._results import (
    PatientSegment,
    Segmentation,
    SegmentSummary,
    SegmentSummaryRow,
)
from rfm_retention.segmentation._segmenter import (
    FittedRFM,
    FittedSegmenter,
    GroupedSegmenter,
    RFMColumns,
    RFMCuts,
    RFMSegmenter,
    Segmenter,
    eight_segments,
    score_segments,
)
from rfm_retention.segmentation._segments import Segment, SegmentInfo
from rfm_retention.segmentation._splits import (
    FixedScores,
    FixedSplit,
    MedianSplit,
    QuantileSplit,
    ScoreSplit,
    Split,
)
from rfm_retention.segmentation._ties import balanced_levels

__all__ = [
    "ACTIONS",
    "EIGHT_SEGMENT_MAP",
    "EIGHT_SEGMENT_PLAYBOOK",
    "TEN_SEGMENT_MAP",
    "TEN_SEGMENT_PLAYBOOK",
    "Cuts",
    "FittedRFM",
    "FittedSegmenter",
    "FixedScores",
    "FixedSplit",
    "GroupedSegmenter",
    "MedianSplit",
    "MigrationMatrix",
    "PatientSegment",
    "QuantileSplit",
    "RFMColumns",
    "RFMCuts",
    "RFMSegmenter",
    "RecommendedActions",
    "ScoreSplit",
    "Segment",
    "SegmentAction",
    "SegmentInfo",
    "SegmentMap",
    "SegmentPlaybook",
    "SegmentSummary",
    "SegmentSummaryRow",
    "Segmentation",
    "Segmenter",
    "Split",
    "actions",
    "balanced_levels",
    "dumps",
    "eight_segments",
    "eight_segments_from_scores",
    "load",
    "loads",
    "migration",
    "save",
    "score_segments",
]
